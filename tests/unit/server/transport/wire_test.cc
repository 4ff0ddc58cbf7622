#include "server/transport/wire.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inputserve/v1/common.pb.h"
#include "server/transport/synthetic_cache.h"

namespace inputserve {
namespace {

BatchPtr MakeBatch(size_t batch_size, int image_side) {
  auto batch = std::make_shared<PipelineBatch>();
  batch->sequence = 7;
  batch->epoch = 2;
  const int64_t b = static_cast<int64_t>(batch_size);
  batch->tensors = {
      {"image", ElementType::kUint8, {b, image_side, image_side, 3}},
      {"label", ElementType::kInt32, {b}}};
  size_t bytes = 0;
  for (const TensorLayout& t : batch->tensors) bytes += t.num_bytes();
  auto payload = PayloadBuffer::Allocate(bytes);
  for (size_t i = 0; i < bytes; ++i) payload->data()[i] = i * 31 + 7;
  batch->payload = std::move(payload);
  return batch;
}

std::vector<grpc::Slice> Slices(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  return slices;
}

v1::BatchChunk Parse(const grpc::ByteBuffer& buffer) {
  std::string flat;
  for (const grpc::Slice& s : Slices(buffer)) {
    flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  v1::BatchChunk chunk;
  EXPECT_TRUE(chunk.ParseFromString(flat));
  return chunk;
}

TEST(EncodeBatchTest, SplitsIntoStandardChunksThatReassembleExactly) {
  BatchPtr batch = MakeBatch(16, 32);  // 49152 + 64 bytes
  BatchWireInfo info{ServingMode::kReal, 5, 1, 3};
  EncodedBatch encoded = EncodeBatch(batch, info, 10000);
  ASSERT_EQ(encoded.chunks.size(), 5u);
  EXPECT_EQ(encoded.payload_bytes, batch->payload->size());
  std::string data;
  for (size_t i = 0; i < encoded.chunks.size(); ++i) {
    v1::BatchChunk chunk = Parse(encoded.chunks[i]);
    EXPECT_EQ(chunk.has_header(), i == 0);
    EXPECT_EQ(chunk.last(), i + 1 == encoded.chunks.size());
    EXPECT_LE(chunk.data().size(), 10000u);
    data += chunk.data();
    if (i == 0) {
      const v1::BatchHeader& h = chunk.header();
      EXPECT_EQ(h.sequence(), 7u);
      EXPECT_EQ(h.epoch(), 2u);
      EXPECT_EQ(h.mode(), v1::MODE_REAL);
      EXPECT_EQ(h.mode_generation(), 5u);
      EXPECT_EQ(h.payload_bytes(), batch->payload->size());
      EXPECT_EQ(h.shard_index(), 1u);
      EXPECT_EQ(h.num_shards(), 3u);
      ASSERT_EQ(h.tensors_size(), 2);
      EXPECT_EQ(h.tensors(0).name(), "image");
      EXPECT_EQ(h.tensors(0).dtype(), v1::DTYPE_UINT8);
      EXPECT_EQ(h.tensors(0).shape_size(), 4);
      EXPECT_EQ(h.tensors(1).name(), "label");
      EXPECT_EQ(h.tensors(1).dtype(), v1::DTYPE_INT32);
    }
  }
  ASSERT_EQ(data.size(), batch->payload->size());
  EXPECT_EQ(std::memcmp(data.data(), batch->payload->data(), data.size()), 0);
}

TEST(EncodeBatchTest, SingleChunkWhenTheBatchFits) {
  BatchPtr batch = MakeBatch(2, 4);
  EncodedBatch encoded = EncodeBatch(batch, {}, 1 << 20);
  ASSERT_EQ(encoded.chunks.size(), 1u);
  v1::BatchChunk chunk = Parse(encoded.chunks[0]);
  EXPECT_TRUE(chunk.has_header());
  EXPECT_TRUE(chunk.last());
}

// The payload is never copied: the data slice of every chunk points into the
// batch's own buffer, and the buffer stays alive while gRPC holds a slice.
TEST(EncodeBatchTest, DataSlicesReferenceThePayloadWithoutCopying) {
  BatchPtr batch = MakeBatch(8, 32);
  const uint8_t* base = batch->payload->data();
  EncodedBatch encoded = EncodeBatch(batch, {}, 4096);
  size_t offset = 0;
  for (const grpc::ByteBuffer& chunk : encoded.chunks) {
    std::vector<grpc::Slice> slices = Slices(chunk);
    ASSERT_GE(slices.size(), 2u);
    EXPECT_EQ(slices[1].begin(), base + offset);
    offset += slices[1].size();
  }
  EXPECT_EQ(offset, batch->payload->size());
  std::weak_ptr<const PayloadBuffer> weak = batch->payload;
  batch.reset();
  EXPECT_FALSE(weak.expired()) << "chunks must keep the payload alive";
  encoded.chunks.clear();
  EXPECT_TRUE(weak.expired()) << "the payload must be freed with the chunks";
}

TEST(SyntheticBatchCacheTest, EncodesOncePerGenerationAndSharesThePayload) {
  BatchPtr batch = MakeBatch(8, 32);
  SyntheticBatchCache cache(batch, {}, 4096);
  std::shared_ptr<const EncodedBatch> a = cache.Get(2);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(cache.Get(2), a);
  EXPECT_EQ(cache.encodings(), 1u);
  EXPECT_EQ(Parse(a->chunks[0]).header().mode(), v1::MODE_SYNTHETIC);
  EXPECT_EQ(Parse(a->chunks[0]).header().mode_generation(), 2u);

  std::shared_ptr<const EncodedBatch> b = cache.Get(4);
  EXPECT_NE(b, a);
  EXPECT_EQ(cache.encodings(), 2u);
  // Both encodings send the very same payload memory.
  EXPECT_EQ(Slices(a->chunks[0])[1].begin(), Slices(b->chunks[0])[1].begin());
  EXPECT_EQ(Slices(b->chunks[0])[1].begin(), batch->payload->data());
}

TEST(WireTest, StatusCodeNames) {
  EXPECT_STREQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED),
               "UNAUTHENTICATED");
  EXPECT_STREQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(WireTest, ServingModeFromProtoAcceptsOnlyRealAndSynthetic) {
  EXPECT_EQ(ServingModeFromProto(v1::MODE_REAL).value(), ServingMode::kReal);
  EXPECT_EQ(ServingModeFromProto(v1::MODE_SYNTHETIC).value(),
            ServingMode::kSynthetic);
  // MODE_UNSPECIFIED, a value from a newer proto, and a negative one.
  for (int bad : {0, 3, 7, -1}) {
    absl::StatusOr<ServingMode> mode =
        ServingModeFromProto(static_cast<v1::Mode>(bad));
    ASSERT_FALSE(mode.ok()) << bad;
    EXPECT_EQ(mode.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(mode.status().message(),
              absl::StrCat("mode: must be MODE_REAL (1) or MODE_SYNTHETIC "
                           "(2), got ",
                           bad));
  }
}

}  // namespace
}  // namespace inputserve
