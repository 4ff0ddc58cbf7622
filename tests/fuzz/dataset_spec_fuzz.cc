// libFuzzer target: --dataset spec parsing and opening. The input is
// "<spec>\n<image_size>\n<shard_index>\n<num_shards>". The path part of a
// file-backed spec is placed inside the fuzzer's scratch directory,
// which holds small valid, empty and corrupt files; a spec whose path could
// leave it ("..") is not tried, so the target never touches other files.
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "server/sources/dataset.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "server/tools/encoders.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using inputserve::fuzz::ScratchDir;
using inputserve::fuzz::WriteFileOrAbort;

// A 2x2 baseline JPEG would need an encoder; a record whose image does not
// decode is enough here (decoding has its own target).
void PopulateScratch() {
  static bool done = false;
  if (done) return;
  done = true;
  const std::string& d = ScratchDir();
  std::string cifar(2 * 3073, '\x07');
  cifar[0] = 3;
  cifar[3073] = 11;  // An out-of-range label in the second record.
  WriteFileOrAbort(d + "/data_batch_1.bin", cifar);
  WriteFileOrAbort(d + "/test_batch.bin", cifar.substr(0, 3073));
  WriteFileOrAbort(d + "/odd.bin", cifar.substr(0, 100));
  WriteFileOrAbort(d + "/empty.bin", "");
  inputserve::ExampleFeatures f;
  f.bytes.emplace_back("image/encoded", "\xff\xd8\xff\xd9");
  f.int64s.emplace_back("image/class/label", 5);
  std::string records;
  inputserve::AppendTfrecord(inputserve::EncodeExample(f), &records);
  inputserve::AppendTfrecord("not an example", &records);
  WriteFileOrAbort(d + "/train-0.tfrecord", records);
  WriteFileOrAbort(d + "/cut.tfrecord", records.substr(0, records.size() - 3));
  std::string bad = records;
  bad[bad.size() - 1] ^= 1;
  WriteFileOrAbort(d + "/badcrc.tfrecord", bad);
  // An ImageFolder tree (two classes, one empty) and WebDataset shards.
  for (const char* dir : {"/tree", "/tree/cat", "/tree/dog", "/tree/cat/sub"}) {
    ::mkdir((d + dir).c_str(), 0755);
  }
  WriteFileOrAbort(d + "/tree/cat/a.jpg", "\xff\xd8\xff\xd9");
  WriteFileOrAbort(d + "/tree/cat/sub/b.PNG", "\x89PNG\r\n\x1a\n");
  WriteFileOrAbort(d + "/tree/cat/c.txt", "x");
  std::string tar;
  inputserve::AppendTarMember("k.jpg", "\xff\xd8\xff\xd9", &tar);
  inputserve::AppendTarMember("k.cls", "4", &tar);
  inputserve::AppendTarMember("nolabel.png", "\x89PNG", &tar);
  WriteFileOrAbort(d + "/shard-0.tar", tar);
  WriteFileOrAbort(d + "/shard-1.tar", tar.substr(0, tar.size() - 600));
  WriteFileOrAbort(d + "/junk.tar", cifar.substr(0, 1500));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  PopulateScratch();
  const std::vector<std::string> lines = absl::StrSplit(
      absl::string_view(reinterpret_cast<const char*>(data), size), '\n');
  std::string spec = lines[0];
  if (absl::StrContains(spec, "..")) return 0;
  const size_t colon = spec.find(':');
  if (colon != std::string::npos) {
    const std::string format = spec.substr(0, colon);
    if (format != "synthetic") {
      spec = format + ":" + ScratchDir() + "/" + spec.substr(colon + 1);
    }
  }
  DatasetOptions options;
  options.spec = spec;
  int value = 0;
  if (lines.size() > 1 && absl::SimpleAtoi(lines[1], &value)) {
    options.image_size = value;
  }
  if (lines.size() > 2 && absl::SimpleAtoi(lines[2], &value)) {
    options.shard_index = static_cast<uint32_t>(value);
  }
  if (lines.size() > 3 && absl::SimpleAtoi(lines[3], &value)) {
    options.num_shards = static_cast<uint32_t>(value);
  }
  // Tiny images keep synthetic decodes fast; a huge size must be refused.
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(options);
  if (!ds.ok()) {
    fuzz::Check(!ds.status().message().empty(), "error without a message");
    return 0;
  }
  fuzz::Check(
      options.num_shards >= 1 && options.shard_index < options.num_shards,
      "a dataset opened with an impossible shard");
  if ((*ds)->shape().image_bytes() <= (1u << 20)) {
    fuzz::ReadAndDecodeEpoch(**ds, 8);
  }
  return 0;
}
