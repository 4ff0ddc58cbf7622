#include "server/pipeline/pipeline.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace inputserve {
namespace {

// A dataset of `n` records (0 = unbounded) whose 2x2x3 image holds the
// record index in its first 4 bytes and whose label is index % 10. Records
// listed in `bad` fail to decode; with `all_bad` every record fails.
class CountingDataset : public Dataset {
 public:
  CountingDataset(uint64_t n, std::set<uint64_t> bad = {}, bool all_bad = false)
      : n_(n), bad_(std::move(bad)), all_bad_(all_bad) {}

  ExampleShape shape() const override { return {2, 2, 3, 10}; }
  uint64_t examples_per_epoch() const override { return n_; }

  std::unique_ptr<ExampleReader> NewReader(SkipSink*) const override {
    class Reader : public ExampleReader {
     public:
      explicit Reader(uint64_t n) : n_(n) {}
      absl::Status StartEpoch(uint64_t) override {
        next_ = 0;
        return absl::OkStatus();
      }
      absl::StatusOr<RawExample> Next() override {
        if (n_ != 0 && next_ >= n_) return absl::OutOfRangeError("end");
        RawExample ex;
        ex.index = next_++;
        return ex;
      }

     private:
      uint64_t n_;
      uint64_t next_ = 0;
    };
    return std::make_unique<Reader>(n_);
  }

  std::unique_ptr<ExampleDecoder> NewDecoder() const override {
    class Decoder : public ExampleDecoder {
     public:
      explicit Decoder(const CountingDataset* d) : d_(d) {}
      absl::Status Decode(const RawExample& ex, uint64_t seed, uint8_t* image,
                          int32_t* label) override {
        if (d_->all_bad_ || d_->bad_.count(ex.index)) {
          return absl::DataLossError("bad record");
        }
        const uint32_t index = static_cast<uint32_t>(ex.index);
        std::memset(image, 0, 12);
        std::memcpy(image, &index, 4);
        std::memcpy(image + 4, &seed, 8);  // shows the augmentation seed
        *label = static_cast<int32_t>(ex.index % 10);
        return absl::OkStatus();
      }

     private:
      const CountingDataset* d_;
    };
    return std::make_unique<Decoder>(this);
  }

 private:
  uint64_t n_;
  std::set<uint64_t> bad_;
  bool all_bad_;
};

struct Example {
  uint32_t index;
  uint64_t seed;
  int32_t label;
  bool operator==(const Example& o) const {
    return index == o.index && seed == o.seed && label == o.label;
  }
};

std::vector<Example> Unpack(const PipelineBatch& batch) {
  const int64_t b = batch.tensors[0].shape[0];
  const uint8_t* p = batch.payload->data();
  std::vector<Example> out(b);
  for (int64_t i = 0; i < b; ++i) {
    std::memcpy(&out[i].index, p + i * 12, 4);
    std::memcpy(&out[i].seed, p + i * 12 + 4, 8);
    std::memcpy(&out[i].label, p + b * 12 + i * 4, 4);
  }
  return out;
}

std::vector<Example> Take(Pipeline& pipeline, int batches) {
  std::vector<Example> all;
  for (int i = 0; i < batches; ++i) {
    BatchPtr b = pipeline.queue().Pop(absl::Seconds(10));
    EXPECT_NE(b, nullptr);
    if (b == nullptr) break;
    std::vector<Example> ex = Unpack(*b);
    all.insert(all.end(), ex.begin(), ex.end());
  }
  return all;
}

std::unique_ptr<Pipeline> MakePipeline(std::unique_ptr<Dataset> dataset,
                                       ServerMetrics* metrics,
                                       PipelineOptions options) {
  absl::StatusOr<std::unique_ptr<Pipeline>> p =
      Pipeline::Create(std::move(dataset), options, metrics);
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

TEST(PipelineTest, BatchesRecordsInReaderOrderWithoutShuffle) {
  ServerMetrics metrics;
  PipelineOptions options;
  options.batch_size = 4;
  options.decode_threads = 3;
  auto pipeline =
      MakePipeline(std::make_unique<CountingDataset>(10), &metrics, options);
  ASSERT_EQ(pipeline->layouts().size(), 2u);
  EXPECT_EQ(pipeline->layouts()[0].shape,
            (std::vector<int64_t>{4, 2, 2, 3}));
  EXPECT_EQ(pipeline->payload_bytes(), 4u * 12 + 4u * 4);
  std::vector<Example> got = Take(*pipeline, 5);  // 20 records = 2 epochs
  ASSERT_EQ(got.size(), 20u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index, i % 10) << i;
    EXPECT_EQ(got[i].label, static_cast<int32_t>(i % 10));
  }
  // Same record, different epoch: different augmentation seed.
  EXPECT_NE(got[0].seed, got[10].seed);
  EXPECT_GE(metrics.examples_decoded().Value(), 20);
}

TEST(PipelineTest, BatchHeadersCarrySequenceAndEpoch) {
  ServerMetrics metrics;
  PipelineOptions options;
  options.batch_size = 5;
  auto pipeline =
      MakePipeline(std::make_unique<CountingDataset>(10), &metrics, options);
  for (uint64_t i = 0; i < 5; ++i) {
    BatchPtr b = pipeline->queue().Pop(absl::Seconds(10));
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->sequence, i);
    EXPECT_EQ(b->epoch, i / 2);
  }
}

TEST(PipelineTest, ShuffleIsDeterministicAndExactlyOncePerEpoch) {
  PipelineOptions options;
  options.batch_size = 10;
  options.shuffle_buffer = 16;
  options.seed = 42;
  std::vector<Example> runs[3];
  for (int run = 0; run < 3; ++run) {
    ServerMetrics metrics;
    options.decode_threads = run + 1;  // thread count must not matter
    options.seed = run < 2 ? 42 : 43;
    auto pipeline =
        MakePipeline(std::make_unique<CountingDataset>(50), &metrics, options);
    runs[run] = Take(*pipeline, 10);  // two epochs
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_NE(runs[0], runs[2]);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<uint32_t> indices;
    for (int i = 0; i < 50; ++i) indices.push_back(runs[0][epoch * 50 + i].index);
    std::vector<uint32_t> sorted = indices;
    std::sort(sorted.begin(), sorted.end());
    for (uint32_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
    bool in_order = std::is_sorted(indices.begin(), indices.end());
    EXPECT_FALSE(in_order) << "epoch " << epoch << " was not shuffled";
  }
}

TEST(PipelineTest, FailedDecodesAreSkippedCountedAndBatchesStayFull) {
  ServerMetrics metrics;
  PipelineOptions options;
  options.batch_size = 4;
  options.decode_threads = 2;
  auto pipeline = MakePipeline(
      std::make_unique<CountingDataset>(10, std::set<uint64_t>{1, 5, 6}),
      &metrics, options);
  std::vector<Example> got = Take(*pipeline, 2);
  std::vector<uint32_t> indices;
  for (const Example& e : got) indices.push_back(e.index);
  EXPECT_EQ(indices, (std::vector<uint32_t>{0, 2, 3, 4, 7, 8, 9, 0}));
  EXPECT_GE(metrics.decode_errors().Value(), 3);
  EXPECT_GE(metrics.records_skipped("decode_error").Value(), 3);
}

TEST(PipelineTest, PayloadBuffersAreRecycledInSteadyState) {
  ServerMetrics metrics;
  PipelineOptions options;
  options.batch_size = 4;
  options.prefetch_batches = 2;
  auto pipeline =
      MakePipeline(std::make_unique<CountingDataset>(0), &metrics, options);
  for (int i = 0; i < 200; ++i) {
    ASSERT_NE(pipeline->queue().Pop(absl::Seconds(10)), nullptr);
  }
  // The first batch stays referenced (synthetic cache); the rest cycle
  // through the queue: capacity + the one being built + a few in flight.
  EXPECT_LE(pipeline->payload_allocations(), 8u);
}

TEST(PipelineTest, FirstBatchIsSharedNotTaken) {
  ServerMetrics metrics;
  PipelineOptions options;
  options.batch_size = 3;
  auto pipeline =
      MakePipeline(std::make_unique<CountingDataset>(0), &metrics, options);
  absl::StatusOr<BatchPtr> first = pipeline->FirstBatch(absl::Seconds(10));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->sequence, 0u);
  BatchPtr popped = pipeline->queue().Pop(absl::Seconds(10));
  EXPECT_EQ(popped, *first);  // the same object: the cache costs no copy
}

TEST(PipelineTest, UnusableDataStopsThePipelineWithAnError) {
  ServerMetrics metrics;
  PipelineOptions options;
  options.batch_size = 8;
  auto pipeline = MakePipeline(
      std::make_unique<CountingDataset>(100, std::set<uint64_t>{}, true),
      &metrics, options);
  absl::StatusOr<BatchPtr> first = pipeline->FirstBatch(absl::Seconds(30));
  EXPECT_EQ(first.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pipeline->queue().Pop(absl::Seconds(1)), nullptr);
}

TEST(PipelineTest, StopsWhileBlockedOnAFullQueue) {
  ServerMetrics metrics;
  PipelineOptions options;
  options.batch_size = 2;
  options.prefetch_batches = 1;
  auto pipeline =
      MakePipeline(std::make_unique<CountingDataset>(0), &metrics, options);
  ASSERT_TRUE(pipeline->FirstBatch(absl::Seconds(10)).ok());
  pipeline->Stop();  // must not hang
  EXPECT_TRUE(pipeline->queue().closed());
}

}  // namespace
}  // namespace inputserve
