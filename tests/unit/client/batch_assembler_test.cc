#include "client/transport/batch_assembler.h"

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/client/image_label_specs.h"

namespace inputserve::client_internal {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int kBatch = 4;

google::protobuf::RepeatedPtrField<v1::TensorSpec> Specs() {
  return testing::ImageLabelSpecs(kBatch, 5, 5);
}

class BatchAssemblerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<BatchLayout> layout =
        BatchLayout::Create(kBatch, Specs(), 1);
    ASSERT_TRUE(layout.ok());
    layout_ = std::make_unique<BatchLayout>(*layout);
    payload_.resize(layout_->payload_bytes());
    for (size_t i = 0; i < payload_.size(); ++i) {
      payload_[i] = static_cast<char>(i * 11 + 1);
    }
    dst_.assign(payload_.size(), 0);
  }

  v1::BatchHeader Header(uint64_t sequence) {
    v1::BatchHeader h;
    h.set_sequence(sequence);
    h.set_mode(v1::MODE_REAL);
    h.set_mode_generation(1);
    *h.mutable_tensors() = Specs();
    h.set_payload_bytes(payload_.size());
    return h;
  }

  // The batch split into chunks of `size` bytes, as a server sends it.
  std::vector<std::string> Chunks(uint64_t sequence, size_t size) {
    std::vector<std::string> out;
    for (size_t off = 0; off < payload_.size(); off += size) {
      v1::BatchChunk c;
      if (off == 0) *c.mutable_header() = Header(sequence);
      c.set_data(payload_.substr(off, size));
      c.set_last(off + size >= payload_.size());
      out.push_back(c.SerializeAsString());
    }
    return out;
  }

  absl::StatusOr<BatchAssembler::Progress> Feed(BatchAssembler& a,
                                                const std::string& bytes) {
    ByteSpan span{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
    return a.Consume(
        absl::MakeConstSpan(&span, 1),
        [this](const v1::BatchHeader&) -> absl::StatusOr<uint8_t*> {
          ++acquired_;
          return dst_.data();
        });
  }

  std::unique_ptr<BatchLayout> layout_;
  std::string payload_;
  std::vector<uint8_t> dst_;
  int acquired_ = 0;
};

TEST_F(BatchAssemblerTest, ReassemblesBatchesOverManyChunks) {
  BatchAssembler a(layout_.get());
  for (uint64_t seq : {0, 1, 2}) {
    std::fill(dst_.begin(), dst_.end(), 0);
    std::vector<std::string> chunks = Chunks(seq, 37);
    ASSERT_GT(chunks.size(), 3u);
    for (size_t i = 0; i < chunks.size(); ++i) {
      absl::StatusOr<BatchAssembler::Progress> p = Feed(a, chunks[i]);
      ASSERT_TRUE(p.ok()) << p.status();
      EXPECT_EQ(*p, i + 1 == chunks.size()
                        ? BatchAssembler::Progress::kComplete
                        : BatchAssembler::Progress::kIncomplete);
    }
    EXPECT_EQ(a.header().sequence(), seq);
    EXPECT_EQ(std::string(dst_.begin(), dst_.end()), payload_);
  }
  EXPECT_EQ(acquired_, 3);
}

TEST_F(BatchAssemblerTest, EmptyFinalChunkIsFine) {
  BatchAssembler a(layout_.get());
  v1::BatchChunk first;
  *first.mutable_header() = Header(0);
  first.set_data(payload_);
  v1::BatchChunk last;
  last.set_last(true);
  ASSERT_EQ(*Feed(a, first.SerializeAsString()),
            BatchAssembler::Progress::kIncomplete);
  ASSERT_EQ(*Feed(a, last.SerializeAsString()),
            BatchAssembler::Progress::kComplete);
}

TEST_F(BatchAssemblerTest, FirstChunkWithoutHeaderIsRejected) {
  BatchAssembler a(layout_.get());
  std::vector<std::string> chunks = Chunks(0, 37);
  absl::StatusOr<BatchAssembler::Progress> p = Feed(a, chunks[1]);
  EXPECT_THAT(p.status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no header")));
  EXPECT_EQ(acquired_, 0);
}

TEST_F(BatchAssemblerTest, HeaderInsideABatchIsRejected) {
  BatchAssembler a(layout_.get());
  std::vector<std::string> chunks = Chunks(0, 37);
  ASSERT_TRUE(Feed(a, chunks[0]).ok());
  absl::StatusOr<BatchAssembler::Progress> p = Feed(a, Chunks(1, 37)[0]);
  EXPECT_THAT(p.status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("incomplete")));
  EXPECT_FALSE(a.in_batch());
}

TEST_F(BatchAssemblerTest, OverflowIsRejectedBeforeCopying) {
  BatchAssembler a(layout_.get());
  v1::BatchChunk c;
  *c.mutable_header() = Header(0);
  c.set_data(payload_ + "EXTRA");
  c.set_last(true);
  std::vector<uint8_t> guard = dst_;
  absl::StatusOr<BatchAssembler::Progress> p = Feed(a, c.SerializeAsString());
  EXPECT_THAT(p.status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("overflows")));
  EXPECT_EQ(dst_, guard);
}

TEST_F(BatchAssemblerTest, ShortBatchIsRejected) {
  BatchAssembler a(layout_.get());
  v1::BatchChunk c;
  *c.mutable_header() = Header(0);
  c.set_data(payload_.substr(0, 10));
  c.set_last(true);
  absl::StatusOr<BatchAssembler::Progress> p = Feed(a, c.SerializeAsString());
  EXPECT_THAT(p.status(), StatusIs(absl::StatusCode::kDataLoss,
                                   HasSubstr("ended after 10")));
}

TEST_F(BatchAssemblerTest, HeaderThatDisagreesWithTheLayoutIsRejected) {
  BatchAssembler a(layout_.get());
  v1::BatchChunk c;
  *c.mutable_header() = Header(0);
  c.mutable_header()->set_payload_bytes(payload_.size() + 1);
  EXPECT_EQ(Feed(a, c.SerializeAsString()).status().code(),
            absl::StatusCode::kDataLoss);
  c.mutable_header()->set_payload_bytes(payload_.size());
  c.mutable_header()->mutable_tensors(1)->set_dtype(v1::DTYPE_INT64);
  EXPECT_EQ(Feed(a, c.SerializeAsString()).status().code(),
            absl::StatusCode::kInvalidArgument);
  *c.mutable_header() = Header(0);
  c.mutable_header()->set_mode(v1::MODE_UNSPECIFIED);
  EXPECT_EQ(Feed(a, c.SerializeAsString()).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(acquired_, 0);
}

TEST_F(BatchAssemblerTest, FewerExamplesOnlyWhenShortBatchesAreAllowed) {
  // Three examples, packed: 3 images of 5x5x3 bytes, then 3 labels.
  v1::BatchChunk c;
  *c.mutable_header() = Header(0);
  *c.mutable_header()->mutable_tensors() = testing::ImageLabelSpecs(3, 5, 5);
  const size_t bytes = layout_->PayloadBytes(3);
  c.mutable_header()->set_payload_bytes(bytes);
  c.set_data(payload_.substr(0, bytes));
  c.set_last(true);
  BatchAssembler strict(layout_.get());
  EXPECT_EQ(Feed(strict, c.SerializeAsString()).status().code(),
            absl::StatusCode::kInvalidArgument);
  BatchAssembler lenient(layout_.get(), /*allow_short=*/true);
  absl::StatusOr<BatchAssembler::Progress> p =
      Feed(lenient, c.SerializeAsString());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, BatchAssembler::Progress::kComplete);
  EXPECT_EQ(lenient.rows(), 3);
  EXPECT_EQ(0, std::memcmp(dst_.data(), payload_.data(), bytes));
  // The payload must still match the examples the tensors declare.
  c.mutable_header()->set_payload_bytes(bytes + 1);
  EXPECT_EQ(Feed(lenient, c.SerializeAsString()).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(BatchAssemblerTest, AcquireFailureIsReturned) {
  BatchAssembler a(layout_.get());
  const std::string bytes = Chunks(0, 1000)[0];
  ByteSpan span{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
  absl::StatusOr<BatchAssembler::Progress> p =
      a.Consume(absl::MakeConstSpan(&span, 1),
                [](const v1::BatchHeader&) -> absl::StatusOr<uint8_t*> {
                  return absl::CancelledError("paused");
                });
  EXPECT_EQ(p.status().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(a.in_batch());
}

}  // namespace
}  // namespace inputserve::client_internal
