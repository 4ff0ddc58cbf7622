// libFuzzer target: TFRecord framing. The input is one TFRecord file: the
// open-time scan, then the reader over every record (all wanted, then every
// other one), each record's payload parsed as a tf.train.Example.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

class NullSink final : public inputserve::SkipSink {
 public:
  void OnSkip(absl::string_view reason, absl::string_view, uint64_t,
              absl::string_view) override {
    inputserve::fuzz::Check(!reason.empty(), "skip without a reason");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  const std::string path = fuzz::ScratchDir() + "/data.tfrecord";
  fuzz::WriteFileOrAbort(
      path, absl::string_view(reinterpret_cast<const char*>(data), size));
  absl::StatusOr<TfrecordScan> scan = ScanTfrecordFile(path);
  if (!scan.ok()) return 0;
  fuzz::Check(
      scan->num_records * (kTfrecordHeaderBytes + kTfrecordFooterBytes) <= size,
      "scan counted more records than the file can hold");
  NullSink sink;
  for (int stride : {1, 2}) {
    TfrecordReader reader;
    if (!reader.Open(path, scan->num_records).ok()) continue;
    uint64_t seen = 0;
    TfrecordRecord record;
    for (;;) {
      absl::StatusOr<bool> more = reader.Next(
          [stride](uint64_t ordinal) { return ordinal % stride == 0; }, &sink,
          &record);
      if (!more.ok() || !*more) break;
      ++seen;
      fuzz::Check(record.offset + kTfrecordHeaderBytes + record.data.size() +
                          kTfrecordFooterBytes <=
                      size,
                  "record runs past the end of the file");
      if (!record.data.empty()) (void)ParseImageExample(record.data);
    }
    fuzz::Check(seen <= scan->num_records,
                "reader returned more records than the scan counted");
  }
  return 0;
}
