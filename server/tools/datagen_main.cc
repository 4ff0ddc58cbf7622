// inputserve-datagen: writes sample datasets for the demo and the tests.
// Flags are read once into DatagenOptions; everything else lives in datagen.cc.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "server/flags_help.h"
#include "server/tools/datagen.h"
#include "server/tools/datagen_prepare.h"

ABSL_FLAG(
    std::string, format, "",
    "cifar10 (CIFAR-10 binary: data_batch_<n>.bin, 3073-byte records), "
    "tfrecord (train-<n>-of-<m> TFRecord files of JPEG tf.train.Example), "
    "imagefolder (<out>/class_<c>/<n>.jpg|png, torchvision ImageFolder "
    "layout) or webdataset (<out>/shard-<n>.tar of <n>.jpg|png + <n>.cls)");
ABSL_FLAG(std::string, out, "", "Output directory (created if missing)");
ABSL_FLAG(int64_t, num_examples, 0, "Number of examples to write (>= 1)");
ABSL_FLAG(uint64_t, seed, 0,
          "Random seed; the same seed writes the same bytes");
ABSL_FLAG(int32_t, num_files, 0,
          "Number of files to split the examples over (0 = 5 for cifar10, "
          "4 for tfrecord and webdataset; imagefolder writes one per image)");
ABSL_FLAG(int32_t, min_size, 300,
          "tfrecord/imagefolder/webdataset: smallest image side in pixels");
ABSL_FLAG(int32_t, max_size, 800,
          "tfrecord/imagefolder/webdataset: largest image side in pixels");
ABSL_FLAG(double, grayscale_fraction, 0.1,
          "tfrecord/imagefolder/webdataset: share of single-channel images");
ABSL_FLAG(int32_t, quality, 90, "JPEG quality, 1..100");
ABSL_FLAG(int32_t, num_classes, 1000,
          "tfrecord/imagefolder/webdataset: labels are uniform in "
          "[0, num_classes); imagefolder makes one directory per class");
ABSL_FLAG(double, png_fraction, 0.0,
          "imagefolder/webdataset: share of images written as PNG");
ABSL_FLAG(std::string, in, "",
          "prepare: glob of the TFRecord files to rewrite with restart "
          "markers (written under --out with the same names)");

namespace {

// inputserve-datagen prepare --in=GLOB --out=DIR
int RunPrepare() {
  const std::string in = absl::GetFlag(FLAGS_in);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (in.empty() || out.empty()) {
    std::fprintf(stderr,
                 "inputserve-datagen prepare: --in=GLOB and --out=DIR are "
                 "required\n");
    return 2;
  }
  absl::StatusOr<inputserve::PrepareStats> stats =
      inputserve::PrepareTfrecordDataset(in, out);
  if (!stats.ok()) {
    std::fprintf(stderr, "inputserve-datagen prepare: %s\n",
                 std::string(stats.status().message()).c_str());
    return 1;
  }
  const double ms_per_image =
      stats->rewritten == 0
          ? 0
          : stats->rewrite_cpu_seconds * 1e3 / stats->rewritten;
  std::printf(
      "prepared %llu files into %s: %llu records (%llu JPEGs rewritten with "
      "restart markers, %llu copied unchanged, %llu corrupt dropped), "
      "%llu -> %llu bytes (%+.1f%%), %.2f ms CPU per rewritten image\n",
      static_cast<unsigned long long>(stats->files), out.c_str(),
      static_cast<unsigned long long>(stats->records),
      static_cast<unsigned long long>(stats->rewritten),
      static_cast<unsigned long long>(stats->unchanged),
      static_cast<unsigned long long>(stats->corrupt),
      static_cast<unsigned long long>(stats->bytes_in),
      static_cast<unsigned long long>(stats->bytes_out),
      stats->bytes_in == 0
          ? 0.0
          : 100.0 * (static_cast<double>(stats->bytes_out) / stats->bytes_in -
                     1),
      ms_per_image);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  inputserve::HelpListsFlagsOf("tools/datagen_main.cc");
  absl::SetProgramUsageMessage(
      "Writes a sample dataset for inputserve-server.\n"
      "  inputserve-datagen --format=cifar10|tfrecord|imagefolder|webdataset "
      "--out=DIR --num_examples=N [--seed=S]\n"
      "or rewrites an imagenet TFRecord dataset with JPEG restart markers:\n"
      "  inputserve-datagen prepare --in='DIR/train-*' --out=DIR2\n"
      "Images are class-structured (a shape and palette per label over a "
      "gradient, plus noise) so a model can learn from them. Serve them with\n"
      "  --dataset=cifar10:DIR, --dataset=imagenet:'DIR/train-*', "
      "--dataset=imagefolder:DIR or --dataset=webdataset:'DIR/*.tar'");
  const std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() == 2 && std::string(rest[1]) == "prepare") {
    return RunPrepare();
  }
  if (rest.size() > 1) {
    std::fprintf(stderr, "inputserve-datagen: unexpected argument '%s'\n",
                 rest[1]);
    return 2;
  }
  inputserve::DatagenOptions options;
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format == "cifar10") {
    options.format = inputserve::DatagenOptions::Format::kCifar10;
  } else if (format == "tfrecord") {
    options.format = inputserve::DatagenOptions::Format::kTfrecord;
  } else if (format == "imagefolder") {
    options.format = inputserve::DatagenOptions::Format::kImageFolder;
  } else if (format == "webdataset") {
    options.format = inputserve::DatagenOptions::Format::kWebDataset;
  } else {
    std::fprintf(stderr,
                 "inputserve-datagen: --format must be cifar10, tfrecord, "
                 "imagefolder or webdataset, got '%s' (see --help)\n",
                 format.c_str());
    return 2;
  }
  const int64_t num_examples = absl::GetFlag(FLAGS_num_examples);
  if (num_examples <= 0) {
    std::fprintf(stderr,
                 "inputserve-datagen: --num_examples must be >= 1, got %lld\n",
                 static_cast<long long>(num_examples));
    return 2;
  }
  options.out_dir = absl::GetFlag(FLAGS_out);
  options.num_examples = static_cast<uint64_t>(num_examples);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.num_files = absl::GetFlag(FLAGS_num_files);
  options.min_size = absl::GetFlag(FLAGS_min_size);
  options.max_size = absl::GetFlag(FLAGS_max_size);
  options.grayscale_fraction = absl::GetFlag(FLAGS_grayscale_fraction);
  options.quality = absl::GetFlag(FLAGS_quality);
  options.num_classes = absl::GetFlag(FLAGS_num_classes);
  options.png_fraction = absl::GetFlag(FLAGS_png_fraction);
  if (absl::Status s = inputserve::CheckDatagenOptions(options); !s.ok()) {
    std::fprintf(stderr, "inputserve-datagen: %s\n",
                 std::string(s.message()).c_str());
    return 2;
  }
  absl::StatusOr<std::vector<std::string>> files =
      inputserve::WriteDataset(options);
  if (!files.ok()) {
    std::fprintf(stderr, "inputserve-datagen: %s\n",
                 std::string(files.status().message()).c_str());
    return 1;
  }
  std::printf("wrote %llu examples in %zu files to %s\n",
              static_cast<unsigned long long>(options.num_examples),
              files->size(), options.out_dir.c_str());
  return 0;
}
