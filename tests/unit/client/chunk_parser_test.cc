#include "client/transport/chunk_parser.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::client_internal {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

std::vector<ByteSpan> Split(const std::string& bytes,
                            const std::vector<size_t>& cuts) {
  std::vector<ByteSpan> spans;
  size_t start = 0;
  for (size_t cut : cuts) {
    spans.push_back(
        {reinterpret_cast<const uint8_t*>(bytes.data()) + start, cut - start});
    start = cut;
  }
  spans.push_back({reinterpret_cast<const uint8_t*>(bytes.data()) + start,
                   bytes.size() - start});
  return spans;
}

v1::BatchChunk Chunk() {
  v1::BatchChunk chunk;
  chunk.mutable_header()->set_sequence(77);
  chunk.mutable_header()->set_payload_bytes(300);
  chunk.mutable_header()->add_tensors()->set_name("image");
  std::string data(300, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 3);
  chunk.set_data(data);
  chunk.set_last(true);
  return chunk;
}

TEST(ChunkParserTest, ParsesAtEverySplitPoint) {
  const v1::BatchChunk chunk = Chunk();
  const std::string bytes = chunk.SerializeAsString();
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    std::vector<ByteSpan> spans = Split(bytes, {cut});
    absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk(spans);
    ASSERT_TRUE(parsed.ok()) << cut << ": " << parsed.status();
    EXPECT_TRUE(parsed->has_header);
    EXPECT_EQ(parsed->header.sequence(), 77u);
    EXPECT_EQ(parsed->header.tensors(0).name(), "image");
    EXPECT_TRUE(parsed->last);
    ASSERT_EQ(parsed->data_size, 300u);
    std::string out(300, 'x');
    CopyFromSpans(spans, parsed->data_start, parsed->data_size,
                  reinterpret_cast<uint8_t*>(out.data()));
    ASSERT_EQ(out, chunk.data()) << "split at " << cut;
  }
}

TEST(ChunkParserTest, ParsesOneByteSpans) {
  const v1::BatchChunk chunk = Chunk();
  const std::string bytes = chunk.SerializeAsString();
  std::vector<size_t> cuts;
  for (size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
  std::vector<ByteSpan> spans = Split(bytes, cuts);
  absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk(spans);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  std::string out(300, 'x');
  CopyFromSpans(spans, parsed->data_start, parsed->data_size,
                reinterpret_cast<uint8_t*>(out.data()));
  EXPECT_EQ(out, chunk.data());
}

TEST(ChunkParserTest, FieldOrderAndUnknownFieldsDoNotMatter) {
  // data, then an unknown varint field 9, unknown fixed32 field 10, then
  // last, then the header.
  std::string bytes;
  bytes +=
      "\x12\x03"
      "abc";
  bytes += "\x48\x96\x01";
  bytes +=
      "\x55"
      "wxyz";
  bytes += "\x18\x01";
  v1::BatchHeader header;
  header.set_sequence(5);
  const std::string h = header.SerializeAsString();
  bytes += "\x0a";
  bytes += static_cast<char>(h.size());
  bytes += h;
  std::vector<ByteSpan> spans = Split(bytes, {});
  absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk(spans);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->header.sequence(), 5u);
  EXPECT_EQ(parsed->data_size, 3u);
  EXPECT_TRUE(parsed->last);
}

TEST(ChunkParserTest, EmptyMessageIsAnEmptyChunk) {
  absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk({});
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->has_header);
  EXPECT_FALSE(parsed->has_data);
  EXPECT_FALSE(parsed->last);
}

TEST(ChunkParserTest, MalformedBytesAreDataLoss) {
  const std::string good = Chunk().SerializeAsString();
  const std::vector<std::string> bad = {
      good.substr(0, good.size() - 1),  // Truncated (last varint missing).
      good.substr(0, 10),               // Truncated inside the header.
      std::string("\x12\x80"),          // Truncated length varint.
      std::string("\x12\x05"
                  "ab"),           // Data runs past the end.
      std::string("\x08"),         // Truncated varint value.
      std::string("\x0b"),         // Wire type 3 (groups): unsupported.
      std::string("\x00\x01", 2),  // Field number 0.
      std::string("\x10\x01"),     // Data as a varint.
      std::string("\x1a\x00"),     // Last as bytes.
      std::string("\x12\x01"
                  "a"
                  "\x12\x01"
                  "b"),                 // Data twice.
      std::string("\x0a\x02\xff\xff"),  // Header that does not parse.
      std::string(11, '\xff'),          // Over-long varint.
  };
  for (const std::string& bytes : bad) {
    std::vector<ByteSpan> spans = Split(bytes, {});
    absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk(spans);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss)
        << "bytes of size " << bytes.size();
  }
}

// A header length far beyond the bytes present must be refused before it is
// allocated: 4 GiB ran chunk_fuzz out of memory, and 2^63 (over
// std::string's max_size) made reserve() throw, killing the client.
TEST(ChunkParserTest, HugeHeaderLengthIsDataLossWithoutAllocating) {
  for (const std::string& length :
       {std::string("\xff\xff\xff\xff\x0f", 5),  // 2^32 - 1
        std::string("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10)}) {  // 2^63
    std::string bytes = "\x0a" + length + "a few header bytes";
    for (size_t cut : {size_t{1}, size_t{3}, bytes.size()}) {
      std::vector<ByteSpan> spans = Split(bytes, {cut});
      absl::StatusOr<ParsedChunk> parsed = ParseBatchChunk(spans);
      ASSERT_FALSE(parsed.ok());
      EXPECT_THAT(parsed.status(),
                  StatusIs(absl::StatusCode::kDataLoss,
                           HasSubstr("header runs past the end")))
          << parsed.status();
    }
  }
}

}  // namespace
}  // namespace inputserve::client_internal
