#include "server/sources/random_source.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/codec/rng.h"
#include "server/sources/shard_plan.h"

namespace inputserve {
namespace {

// Separates the label stream from the pixel stream of the same index.
constexpr uint64_t kLabelSalt = 0x6c6162656c73ULL;

class RandomReader final : public ExampleReader {
 public:
  RandomReader(uint32_t shard_index, uint32_t num_shards)
      : shard_index_(shard_index), num_shards_(num_shards) {}

  // Unbounded: epochs do not end, so indices simply keep counting.
  absl::Status StartEpoch(uint64_t) override { return absl::OkStatus(); }

  absl::StatusOr<RawExample> Next() override {
    RawExample ex;
    // Shards interleave so replicas never produce the same example.
    ex.index = next_++ * num_shards_ + shard_index_;
    return ex;
  }

 private:
  const uint32_t shard_index_;
  const uint32_t num_shards_;
  uint64_t next_ = 0;
};

class RandomDecoder final : public ExampleDecoder {
 public:
  RandomDecoder(ExampleShape shape, uint64_t seed)
      : shape_(shape), seed_(seed) {}

  absl::Status Decode(const RawExample& example, uint64_t /*rng_seed*/,
                      uint8_t* image, int32_t* label) override {
    FillRandomBytes(seed_, example.index, image, shape_.image_bytes());
    *label =
        static_cast<int32_t>(Mix64(MixSeed(seed_ ^ kLabelSalt, example.index)) %
                             static_cast<uint64_t>(shape_.num_classes));
    return absl::OkStatus();
  }

 private:
  const ExampleShape shape_;
  const uint64_t seed_;
};

class RandomDataset final : public Dataset {
 public:
  RandomDataset(ExampleShape shape, const DatasetOptions& options)
      : shape_(shape), options_(options) {}

  ExampleShape shape() const override { return shape_; }
  uint64_t examples_per_epoch() const override { return 0; }
  std::unique_ptr<ExampleReader> NewReader(SkipSink*) const override {
    return std::make_unique<RandomReader>(options_.shard_index,
                                          options_.num_shards);
  }
  std::unique_ptr<ExampleDecoder> NewDecoder() const override {
    return std::make_unique<RandomDecoder>(shape_, options_.seed);
  }

 private:
  const ExampleShape shape_;
  const DatasetOptions options_;
};

}  // namespace

void FillRandomBytes(uint64_t seed, uint64_t index, uint8_t* out, size_t size) {
  Rng rng(MixSeed(seed, index));
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    const uint64_t v = rng.Next();
    std::memcpy(out + i, &v, 8);
  }
  if (i < size) {
    const uint64_t v = rng.Next();
    std::memcpy(out + i, &v, size - i);
  }
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenRandomDataset(
    absl::string_view name, const DatasetOptions& options) {
  if (absl::Status s =
          CheckShardOptions(options.shard_index, options.num_shards);
      !s.ok()) {
    return s;
  }
  ExampleShape shape;
  if (name == "cifar10") {
    shape.height = shape.width = 32;
    shape.num_classes = 10;
  } else if (name == "imagenet") {
    shape.height = shape.width = options.image_size;
    shape.num_classes = 1000;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown synthetic dataset '", name,
                     "'; expected synthetic:cifar10 or synthetic:imagenet"));
  }
  return std::make_unique<RandomDataset>(shape, options);
}

}  // namespace inputserve
