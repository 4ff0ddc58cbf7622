#include "server/sources/cifar10.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/codec/augment.h"
#include "server/codec/rng.h"
#include "server/sources/file_list.h"
#include "server/sources/shard_plan.h"

namespace inputserve {
namespace {

// Whole records per read: about 3 MiB, a few dozen reads per 30 MB file.
constexpr size_t kReadBuffer = kCifarRecordBytes * 1024;

class Cifar10Reader final : public ExampleReader {
 public:
  Cifar10Reader(const ShardPlan* plan, SkipSink* skips)
      : plan_(plan), skips_(skips) {}

  absl::Status StartEpoch(uint64_t epoch) override {
    files_ = plan_->EpochFiles(epoch);
    next_file_ = 0;
    current_ = nullptr;
    file_.Close();
    started_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<RawExample> Next() override {
    if (!started_) {
      return absl::FailedPreconditionError("Next() before StartEpoch()");
    }
    while (true) {
      if (current_ == nullptr) {
        if (next_file_ == files_.size()) {
          return absl::OutOfRangeError("end of epoch");
        }
        current_ = files_[next_file_++];
        ordinal_ = 0;
        if (absl::Status s = file_.Open(current_->path, kReadBuffer); !s.ok()) {
          return s;
        }
      }
      // Stop at the count taken at open time so the epoch size stays exact
      // even if the file changes underneath.
      if (ordinal_ == current_->num_records) {
        current_ = nullptr;
        continue;
      }
      const uint64_t offset = file_.offset();
      absl::StatusOr<absl::string_view> rec = file_.Read(kCifarRecordBytes);
      if (!rec.ok()) return rec.status();
      if (rec->size() < kCifarRecordBytes) {
        skips_->OnSkip("truncated", current_->path, offset,
                       "file shrank since the dataset was opened");
        current_ = nullptr;
        continue;
      }
      const uint64_t index = current_->first_record + ordinal_++;
      if (!plan_->Owns(index)) continue;
      const uint8_t label = static_cast<uint8_t>((*rec)[0]);
      if (label >= kCifarClasses) {
        skips_->OnSkip("bad_label", current_->path, offset,
                       absl::StrCat("label ", label, " not in [0, 9]"));
        continue;
      }
      RawExample ex;
      ex.data.assign(rec->data() + 1, kCifarImageBytes);
      ex.label = label;
      ex.index = index;
      return ex;
    }
  }

 private:
  const ShardPlan* const plan_;
  SkipSink* const skips_;
  bool started_ = false;
  std::vector<const DataFile*> files_;
  size_t next_file_ = 0;
  const DataFile* current_ = nullptr;
  uint64_t ordinal_ = 0;
  BufferedFile file_;
};

class Cifar10Decoder final : public ExampleDecoder {
 public:
  explicit Cifar10Decoder(bool augment) : augment_(augment) {}

  absl::Status Decode(const RawExample& example, uint64_t rng_seed,
                      uint8_t* image, int32_t* label) override {
    if (example.data.size() != static_cast<size_t>(kCifarImageBytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CIFAR-10 example ", example.index, " has ", example.data.size(),
          " image bytes, want ", kCifarImageBytes));
    }
    if (example.label < 0 || example.label >= kCifarClasses) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CIFAR-10 example ", example.index, " has label ", example.label));
    }
    const auto* chw = reinterpret_cast<const uint8_t*>(example.data.data());
    if (augment_) {
      Rng rng(rng_seed);
      CifarToHwc(chw, &rng, image);
    } else {
      CifarToHwc(chw, nullptr, image);
    }
    *label = static_cast<int32_t>(example.label);
    return absl::OkStatus();
  }

 private:
  const bool augment_;
};

class Cifar10Dataset final : public Dataset {
 public:
  Cifar10Dataset(ShardPlan plan, bool augment)
      : plan_(std::move(plan)), augment_(augment) {}

  ExampleShape shape() const override {
    ExampleShape s;
    s.height = s.width = kCifarSide;
    s.channels = 3;
    s.num_classes = kCifarClasses;
    return s;
  }
  uint64_t examples_per_epoch() const override {
    return plan_.examples_per_epoch();
  }
  std::unique_ptr<ExampleReader> NewReader(SkipSink* skips) const override {
    return std::make_unique<Cifar10Reader>(&plan_, skips);
  }
  std::unique_ptr<ExampleDecoder> NewDecoder() const override {
    return std::make_unique<Cifar10Decoder>(augment_);
  }

 private:
  const ShardPlan plan_;
  const bool augment_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Dataset>> OpenCifar10Dataset(
    absl::string_view path, const DatasetOptions& options) {
  if (absl::Status s =
          CheckShardOptions(options.shard_index, options.num_shards);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<std::string>> paths =
      ExpandDataFiles(path, {"data_batch_*.bin", "test_batch.bin", "*.bin"});
  if (!paths.ok()) return paths.status();
  std::vector<DataFile> files;
  for (const std::string& p : *paths) {
    absl::StatusOr<uint64_t> size = FileSize(p);
    if (!size.ok()) return size.status();
    if (*size == 0 || *size % kCifarRecordBytes != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "CIFAR-10 file '", p, "' has ", *size,
          " bytes; expected a non-zero multiple of ", kCifarRecordBytes,
          " (1 label byte + 3072 image bytes per record)"));
    }
    DataFile f;
    f.path = p;
    f.num_records = *size / kCifarRecordBytes;
    files.push_back(std::move(f));
  }
  absl::StatusOr<ShardPlan> plan = ShardPlan::Create(
      std::move(files), options.shard_index, options.num_shards, options.seed,
      options.shuffle_files);
  if (!plan.ok()) return plan.status();
  return std::make_unique<Cifar10Dataset>(*std::move(plan), options.augment);
}

}  // namespace inputserve
