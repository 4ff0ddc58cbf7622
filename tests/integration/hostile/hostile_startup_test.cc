// Hostile flags and data files: each stops inputserve-server at start-up
// with a non-zero exit and a message that names the problem. These add to
// tests/integration/server/startup_errors_test.cc (no case repeated).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sources/tfrecord.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  return ReadWholeFile(path).value_or("");
}

// Builds every bad file once; returns the directory.
const std::string& Dir() {
  static const std::string* dir = [] {
    auto* d = new std::string(MakeTempDir("hostile-startup"));
    const std::string& p = *d;
    mkdir((p + "/tokendir").c_str(), 0755);
    mkdir((p + "/emptydir").c_str(), 0755);
    mkdir((p + "/globdir").c_str(), 0755);
    mkdir((p + "/globdir/data_a.bin").c_str(), 0755);  // a directory
    symlink("loop", (p + "/loop").c_str());            // points at itself
    mkdir((p + "/empty").c_str(), 0755);
    WriteFileOrDie(p + "/empty/data_batch_1.bin", "");
    WriteFileOrDie(p + "/empty_token", "\n");
    WriteFileOrDie(p + "/blank_token", "   \t  \n");
    WriteFileOrDie(p + "/spaced_token", "two words\n");
    WriteFileOrDie(p + "/secret_token", "s3cret\n");
    chmod((p + "/secret_token").c_str(), 0);
    WriteFileOrDie(p + "/not_pem", "not a certificate\n");
    // CIFAR records whose labels are all out of range (label byte 200).
    std::string bad_labels;
    for (int r = 0; r < 4; ++r) {
      bad_labels.push_back(static_cast<char>(200));
      bad_labels.append(3072, 'x');
    }
    WriteFileOrDie(p + "/bad_labels.bin", bad_labels);
    // TFRecord: a real datagen file, cut mid-record; one record with its
    // data corrupted; framing that is right around bytes that are not a
    // tf.Example; a tf.Example without image/encoded.
    CommandResult gen =
        RunCommand({BinPath("inputserve-datagen"), "--format=tfrecord",
                    "--out=" + p + "/tf", "--num_examples=2", "--num_files=1"});
    EXPECT_EQ(gen.exit_code, 0) << gen.output;
    const std::string real = ReadFile(p + "/tf/train-00000-of-00001");
    EXPECT_GT(real.size(), 100u);
    WriteFileOrDie(p + "/truncated.tfrecord", real.substr(0, real.size() / 3));
    uint64_t first_length = 0;
    for (int i = 7; i >= 0; --i) {
      first_length = (first_length << 8) | static_cast<uint8_t>(real[i]);
    }
    std::string corrupt =
        real.substr(0, kTfrecordHeaderBytes + first_length + 4);
    corrupt[kTfrecordHeaderBytes + 3] ^= 0x55;
    WriteFileOrDie(p + "/bad_crc.tfrecord", corrupt);
    std::string not_example;
    AppendTfrecord("\xff\xff\xff\xff definitely not a proto", &not_example);
    WriteFileOrDie(p + "/not_example.tfrecord", not_example);
    // tf.Example{features{feature{"image/class/label": int64_list{1}}}}.
    const std::string label_only(
        "\x0a\x1c\x0a\x1a\x0a\x11image/class/label\x12\x05\x1a\x03\x0a\x01\x01",
        30);
    std::string no_image;
    AppendTfrecord(label_only, &no_image);
    WriteFileOrDie(p + "/no_image.tfrecord", no_image);
    mkfifo((p + "/fifo.bin").c_str(), 0644);
    return d;
  }();
  return *dir;
}

std::vector<BadStart> Cases() {
  const std::string d = Dir();
  const std::string noauth = "--admin_insecure_no_auth";
  const std::string synth = "--dataset=synthetic:cifar10";
  return {
      // Flags.
      {"empty_cifar_path",
       {noauth, "--dataset=cifar10:"},
       "dataset spec 'cifar10:' has an empty path"},
      {"empty_imagenet_path",
       {noauth, "--dataset=imagenet:"},
       "dataset spec 'imagenet:' has an empty path"},
      {"unknown_synthetic_shape",
       {noauth, "--dataset=synthetic:mnist"},
       "mnist"},
      {"directory_as_token_file",
       {synth, "--admin_token_file=" + d + "/tokendir"},
       "--admin_token_file: '" + d + "/tokendir' is a directory, not a file"},
      {"empty_token_file",
       {synth, "--admin_token_file=" + d + "/empty_token"},
       "admin token is empty"},
      {"blank_token_file",
       {synth, "--admin_token_file=" + d + "/blank_token"},
       "admin token is empty"},
      {"token_with_a_space",
       {synth, "--admin_token_file=" + d + "/spaced_token"},
       "contains a space"},
      {"negative_batch_size",
       {noauth, synth, "--batch_size=-5"},
       "--batch_size=-5 is out of range: allowed 1..65536"},
      {"huge_batch_size",
       {noauth, synth, "--batch_size=1000000"},
       "--batch_size=1000000 is out of range"},
      {"batch_size_not_a_number",
       {noauth, synth, "--batch_size=lots"},
       "batch_size"},
      {"huge_chunk_bytes",
       {noauth, synth, "--chunk_bytes=2147483648"},
       "--chunk_bytes=2147483648 is out of range: allowed 4096..1073741824"},
      {"tiny_chunk_bytes",
       {noauth, synth, "--chunk_bytes=1"},
       "--chunk_bytes=1 is out of range"},
      {"zero_shards",
       {noauth, synth, "--num_shards=0"},
       "--num_shards=0 is out of range: allowed 1..65536"},
      {"negative_shard_index",
       {noauth, synth, "--shard_index=-1"},
       "--shard_index=-1 is out of range"},
      {"zero_prefetch",
       {noauth, synth, "--prefetch_batches=0"},
       "--prefetch_batches=0 is out of range"},
      {"zero_max_streams",
       {noauth, synth, "--max_streams=0"},
       "--max_streams=0 is out of range"},
      {"negative_decode_threads",
       {noauth, synth, "--decode_threads=-1"},
       "--decode_threads=-1 is out of range"},
      {"huge_image_size",
       {noauth, "--dataset=synthetic:imagenet", "--image_size=5000"},
       "--image_size=5000 is out of range"},
      {"negative_drain_timeout",
       {noauth, synth, "--drain_timeout=-1s"},
       "--drain_timeout must be between 0s and 300s"},
      {"listen_port_too_big",
       {noauth, synth, "--listen=127.0.0.1:70000"},
       "--listen='127.0.0.1:70000': port must be a number in 0..65535"},
      {"metrics_listen_without_port",
       {noauth, synth, "--metrics_listen=localhost"},
       "--metrics_listen='localhost' is not HOST:PORT"},
      {"client_ca_without_cert",
       {noauth, synth, "--tls_client_ca_file=" + d + "/not_pem"},
       "--tls_client_ca_file needs --tls_cert_file and --tls_key_file"},
      {"tls_files_not_pem",
       {noauth, synth, "--tls_cert_file=" + d + "/not_pem",
        "--tls_key_file=" + d + "/not_pem"},
       "--tls_cert_file: '" + d + "/not_pem' holds no PEM block"},
      // Data files.
      {"symlink_loop_as_dataset",
       {noauth, "--dataset=cifar10:" + d + "/loop"},
       "Too many levels of symbolic links"},
      {"symlink_loop_as_imagenet",
       {noauth, "--dataset=imagenet:" + d + "/loop"},
       "Too many levels of symbolic links"},
      {"glob_matching_a_directory",
       {noauth, "--dataset=cifar10:" + d + "/globdir/data_*"},
       "'" + d + "/globdir/data_a.bin' is a directory"},
      {"directory_without_data_files",
       {noauth, "--dataset=cifar10:" + d + "/emptydir"},
       "directory '" + d + "/emptydir' has no data files"},
      {"imagenet_path_is_a_directory",
       {noauth, "--dataset=imagenet:" + d + "/emptydir"},
       "is a directory"},
      {"empty_cifar_file",
       {noauth, "--dataset=cifar10:" + d + "/empty"},
       "has 0 bytes; expected a non-zero multiple of 3073"},
      {"cifar_labels_out_of_range",
       {noauth, "--dataset=cifar10:" + d + "/bad_labels.bin"},
       "label 200"},
      {"device_file_as_dataset",
       {noauth, "--dataset=cifar10:/dev/null"},
       "'/dev/null' is not a regular file"},
      {"fifo_as_dataset",
       {noauth, "--dataset=cifar10:" + d + "/fifo.bin"},
       "is not a regular file"},
      {"truncated_tfrecord",
       {noauth, "--dataset=imagenet:" + d + "/truncated.tfrecord"},
       "has no valid record"},
      {"tfrecord_every_crc_bad",
       {noauth, "--dataset=imagenet:" + d + "/bad_crc.tfrecord"},
       "every record fails its data CRC"},
      {"tfrecord_not_an_example",
       {noauth, "--dataset=imagenet:" + d + "/not_example.tfrecord"},
       "no valid record"},
      {"tfrecord_example_without_image",
       {noauth, "--dataset=imagenet:" + d + "/no_image.tfrecord"},
       "image/encoded"},
  };
}

class HostileStartupTest : public ::testing::TestWithParam<BadStart> {};

TEST_P(HostileStartupTest, ExitsNonZeroNamingTheProblem) {
  ExpectStartFails(GetParam(),
                   {"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                    "--metrics_listen=127.0.0.1:0"});
}

INSTANTIATE_TEST_SUITE_P(Table, HostileStartupTest,
                         ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// Root reads any file whatever its mode, so this case only means something
// for other users.
TEST(HostileStartupUnreadableTest, UnreadableTokenFileIsNamed) {
  if (geteuid() == 0) GTEST_SKIP() << "root can read a mode-000 file";
  CommandResult result =
      RunCommand({BinPath("inputserve-server"), "--listen=127.0.0.1:0",
                  "--admin_listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
                  "--dataset=synthetic:cifar10",
                  "--admin_token_file=" + Dir() + "/secret_token"});
  EXPECT_GT(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("is not readable")) << result.output;
}

}  // namespace
}  // namespace inputserve::testing
