// libFuzzer target: the client's handling of hostile server bytes. A stream's
// BatchChunk messages go through ParseBatchChunk and a BatchAssembler that
// copies their data into a batch buffer; whatever a server sends, the client
// must answer with an error, never a crash or a write outside the buffer.
//
// Input: byte 0 picks the dataset layout (0-3: fixed layouts; otherwise the
// first record is a DatasetInfo, as GetDatasetInfo would return it). Then
// records [cuts][length, 2 bytes little-endian][that many bytes], one chunk
// each, cut into 1-4 spans as gRPC slices would be.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/batch_layout.h"
#include "client/transport/batch_assembler.h"
#include "client/transport/chunk_parser.h"
#include "google/protobuf/stubs/logging.h"
#include "inputserve/v1/common.pb.h"
#include "inputserve/v1/input_service.pb.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using inputserve::fuzz::Check;
using namespace inputserve::client_internal;
namespace v1 = inputserve::v1;

// Larger layouts than this are skipped: the target is about chunk framing,
// not about allocating what a hostile DatasetInfo asks for.
constexpr size_t kMaxPayload = size_t{1} << 20;

struct Record {
  uint8_t cuts = 0;
  absl::string_view bytes;
};

std::vector<Record> SplitRecords(absl::string_view in) {
  std::vector<Record> out;
  while (in.size() >= 3) {
    Record r;
    r.cuts = static_cast<uint8_t>(in[0]);
    size_t len = static_cast<uint8_t>(in[1]) |
                 (static_cast<size_t>(static_cast<uint8_t>(in[2])) << 8);
    in.remove_prefix(3);
    if (len > in.size()) len = in.size();
    r.bytes = in.substr(0, len);
    in.remove_prefix(len);
    out.push_back(r);
  }
  return out;
}

std::vector<ByteSpan> Spans(const Record& r) {
  std::vector<ByteSpan> spans;
  const auto* p = reinterpret_cast<const uint8_t*>(r.bytes.data());
  const size_t n = 1 + r.cuts % 4;
  size_t begin = 0;
  for (size_t i = 1; i <= n; ++i) {
    size_t end = i == n ? r.bytes.size()
                        : r.bytes.size() * i * ((r.cuts >> 2) | 1) / (n * 63);
    if (end < begin) end = begin;
    if (end > r.bytes.size()) end = r.bytes.size();
    spans.push_back({p + begin, end - begin});
    begin = end;
  }
  return spans;
}

void AddSpec(v1::DatasetInfo* info, const char* name, v1::DType dtype,
             std::vector<int64_t> shape) {
  v1::TensorSpec* t = info->add_tensors();
  t->set_name(name);
  t->set_dtype(dtype);
  for (int64_t d : shape) t->add_shape(d);
}

// The fixed layouts match what fuzz_seeds encodes with EncodeBatch.
v1::DatasetInfo FixedInfo(int which) {
  v1::DatasetInfo info;
  switch (which) {
    case 0:
      info.set_batch_size(2);
      AddSpec(&info, "image", v1::DTYPE_UINT8, {2, 4, 4, 3});
      AddSpec(&info, "label", v1::DTYPE_INT32, {2});
      break;
    case 1:
      info.set_batch_size(4);
      AddSpec(&info, "image", v1::DTYPE_FLOAT32, {4, 2, 2, 1});
      AddSpec(&info, "label", v1::DTYPE_INT64, {4});
      break;
    case 2:
      info.set_batch_size(1);
      AddSpec(&info, "image", v1::DTYPE_BFLOAT16, {1, 3, 5, 3});
      break;
    default:
      info.set_batch_size(3);
      AddSpec(&info, "image", v1::DTYPE_UINT8, {3, 0, 4, 3});
      AddSpec(&info, "label", v1::DTYPE_INT32, {3});
      break;
  }
  return info;
}

// Both parsers accepted the chunk: they must agree on every field.
void CompareWithProtobuf(const ParsedChunk& ours,
                         absl::Span<const ByteSpan> spans,
                         const v1::BatchChunk& theirs) {
  Check(ours.has_header == theirs.has_header(), "has_header disagrees");
  if (ours.has_header) {
    Check(
        ours.header.SerializeAsString() == theirs.header().SerializeAsString(),
        "header disagrees with protobuf");
  }
  Check(ours.last == theirs.last(), "last disagrees with protobuf");
  Check(ours.data_size == theirs.data().size(), "data size disagrees");
  std::string data(ours.data_size, '\0');
  CopyFromSpans(spans, ours.data_start, ours.data_size,
                reinterpret_cast<uint8_t*>(data.data()));
  Check(data == theirs.data(), "data bytes disagree with protobuf");
}

}  // namespace

// Protobuf logs every string field with invalid UTF-8 it parses; at fuzzing
// rates that logging costs more than the target itself.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  std::vector<Record> records = SplitRecords(
      absl::string_view(reinterpret_cast<const char*>(data + 1), size - 1));

  v1::DatasetInfo info;
  int num_slices = 1;
  if (selector < 4) {
    info = FixedInfo(selector);
  } else {
    if (records.empty()) return 0;
    if (!info.ParseFromString(std::string(records[0].bytes))) return 0;
    records.erase(records.begin());
    num_slices = 1 + selector % 3;
  }
  // As the client does with the DatasetInfo of its targets.
  absl::StatusOr<BatchLayout> layout = BatchLayout::Create(
      static_cast<int>(info.batch_size()), info.tensors(), num_slices);
  if (!layout.ok()) {
    Check(absl::IsInvalidArgument(layout.status()),
          "BatchLayout::Create failed without INVALID_ARGUMENT");
    return 0;
  }
  if (layout->payload_bytes() > kMaxPayload) return 0;
  Check(layout->CheckMatches(info.tensors()).ok(),
        "a layout does not match the specs it was made from");

  BatchAssembler assembler(&*layout);
  // A fresh exact-size heap buffer per batch, so ASan sees any write past
  // payload_bytes.
  std::unique_ptr<uint8_t[]> buffer;
  size_t received = 0;
  for (const Record& r : records) {
    const std::vector<ByteSpan> spans = Spans(r);

    absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk(spans);
    const ByteSpan whole{reinterpret_cast<const uint8_t*>(r.bytes.data()),
                         r.bytes.size()};
    absl::StatusOr<ParsedChunk> flat =
        ParseBatchChunk(absl::Span<const ByteSpan>(&whole, 1));
    Check(parsed.ok() == flat.ok(), "parse result depends on slice cuts");
    if (parsed.ok()) {
      Check(parsed->data_size == flat->data_size &&
                parsed->last == flat->last &&
                parsed->has_header == flat->has_header,
            "parsed fields depend on slice cuts");
      v1::BatchChunk theirs;
      if (theirs.ParseFromString(std::string(r.bytes))) {
        CompareWithProtobuf(*parsed, spans, theirs);
      }
    } else {
      Check(absl::IsDataLoss(parsed.status()),
            "ParseBatchChunk failed without DATA_LOSS");
    }

    const bool refuse_buffer = (r.cuts & 0xf0) == 0xf0;
    absl::StatusOr<BatchAssembler::Progress> progress = assembler.Consume(
        spans, [&](const v1::BatchHeader&) -> absl::StatusOr<uint8_t*> {
          if (refuse_buffer) return absl::CancelledError("no buffer");
          buffer = std::make_unique<uint8_t[]>(layout->payload_bytes());
          received = 0;
          return buffer.get();
        });
    if (!progress.ok()) {
      Check(absl::IsDataLoss(progress.status()) ||
                absl::IsInvalidArgument(progress.status()) ||
                (refuse_buffer && absl::IsCancelled(progress.status())),
            "Consume failed with an unexpected code");
      Check(!assembler.in_batch(), "assembler still in a batch after an error");
      continue;
    }
    Check(parsed.ok(), "Consume accepted a chunk ParseBatchChunk refused");
    Check(assembler.in_batch() ||
              *progress == BatchAssembler::Progress::kComplete,
          "a consumed chunk left no batch open and completed none");
    received += assembler.last_chunk_bytes();
    Check(received <= layout->payload_bytes(), "more bytes than the payload");
    if (*progress == BatchAssembler::Progress::kComplete) {
      Check(received == layout->payload_bytes(),
            "a batch completed with the wrong number of bytes");
      Check(!assembler.in_batch(), "complete batch still open");
      Check(assembler.header().payload_bytes() == layout->payload_bytes(),
            "a completed batch's header disagrees with the layout");
    }
  }
  return 0;
}
