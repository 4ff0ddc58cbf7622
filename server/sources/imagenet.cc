#include "server/sources/imagenet.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/codec/image_preprocessor.h"
#include "server/sources/example_proto.h"
#include "server/sources/file_list.h"
#include "server/sources/shard_plan.h"
#include "server/sources/tfrecord.h"

namespace inputserve {
namespace {

class ImagenetReader final : public ExampleReader {
 public:
  ImagenetReader(const ShardPlan* plan, SkipSink* skips)
      : plan_(plan), skips_(skips) {}

  absl::Status StartEpoch(uint64_t epoch) override {
    files_ = plan_->EpochFiles(epoch);
    next_file_ = 0;
    current_ = nullptr;
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
        if (absl::Status s =
                tfrecord_.Open(current_->path, current_->num_records);
            !s.ok()) {
          return s;
        }
      }
      const uint64_t first = current_->first_record;
      TfrecordRecord rec;
      absl::StatusOr<bool> more = tfrecord_.Next(
          [&](uint64_t ordinal) { return plan_->Owns(first + ordinal); },
          skips_, &rec);
      if (!more.ok()) return more.status();
      if (!*more) {
        // A problem found at open time after the last countable record is
        // reported by the shard that owns that position.
        if (!current_->tail_reason.empty() &&
            plan_->Owns(first + current_->num_records)) {
          skips_->OnSkip(current_->tail_reason, current_->path,
                         current_->tail_offset, current_->tail_detail);
        }
        current_ = nullptr;
        continue;
      }
      const uint64_t index = first + rec.ordinal;
      if (!plan_->Owns(index)) continue;
      absl::StatusOr<ImageExample> ex = ParseImageExample(rec.data);
      if (!ex.ok()) {
        skips_->OnSkip(
            absl::IsNotFound(ex.status()) ? "missing_feature" : "bad_record",
            current_->path, rec.offset, ex.status().message());
        continue;
      }
      if (ex->label < 0 || ex->label >= kImagenetClasses) {
        skips_->OnSkip("bad_label", current_->path, rec.offset,
                       absl::StrCat("label ", ex->label, " not in [0, ",
                                    kImagenetClasses - 1, "]"));
        continue;
      }
      RawExample out;
      out.data.assign(ex->image.data(), ex->image.size());
      out.label = ex->label;
      out.index = index;
      return out;
    }
  }

 private:
  const ShardPlan* const plan_;
  SkipSink* const skips_;
  bool started_ = false;
  std::vector<const DataFile*> files_;
  size_t next_file_ = 0;
  const DataFile* current_ = nullptr;
  TfrecordReader tfrecord_;
};

class ImagenetDecoder final : public ExampleDecoder {
 public:
  explicit ImagenetDecoder(const PreprocessOptions& options)
      : preprocessor_(options) {}

  absl::Status Decode(const RawExample& example, uint64_t rng_seed,
                      uint8_t* image, int32_t* label) override {
    if (absl::Status s = preprocessor_.Process(example.data, rng_seed, image);
        !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat("example ", example.index, ": ", s.message()));
    }
    *label = static_cast<int32_t>(example.label);
    return absl::OkStatus();
  }

 private:
  ImagePreprocessor preprocessor_;
};

class ImagenetDataset final : public Dataset {
 public:
  ImagenetDataset(ShardPlan plan, const DatasetOptions& options)
      : plan_(std::move(plan)) {
    preprocess_.out_size = options.image_size;
    preprocess_.augment = options.augment;
  }

  ExampleShape shape() const override {
    ExampleShape s;
    s.height = s.width = preprocess_.out_size;
    s.channels = 3;
    s.num_classes = kImagenetClasses;
    return s;
  }
  uint64_t examples_per_epoch() const override {
    return plan_.examples_per_epoch();
  }
  std::unique_ptr<ExampleReader> NewReader(SkipSink* skips) const override {
    return std::make_unique<ImagenetReader>(&plan_, skips);
  }
  std::unique_ptr<ExampleDecoder> NewDecoder() const override {
    return std::make_unique<ImagenetDecoder>(preprocess_);
  }

 private:
  const ShardPlan plan_;
  PreprocessOptions preprocess_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Dataset>> OpenImagenetDataset(
    absl::string_view pattern, const DatasetOptions& options) {
  if (absl::Status s =
          CheckShardOptions(options.shard_index, options.num_shards);
      !s.ok()) {
    return s;
  }
  // No directory patterns: a directory is an error that asks for a glob.
  absl::StatusOr<std::vector<std::string>> paths = ExpandDataFiles(pattern, {});
  if (!paths.ok()) return paths.status();
  std::vector<DataFile> files;
  for (const std::string& p : *paths) {
    absl::StatusOr<TfrecordScan> scan = ScanTfrecordFile(p);
    if (!scan.ok()) return scan.status();
    if (!scan->has_valid_record) {
      std::string why = scan->num_records > 0
                            ? "every record fails its data CRC"
                            : "no complete record";
      if (!scan->tail_reason.empty()) {
        absl::StrAppend(&why, "; at offset ", scan->tail_offset, ": ",
                        scan->tail_detail);
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "TFRecord file '", p, "' has no valid record (", why, ")"));
    }
    DataFile f;
    f.path = p;
    f.num_records = scan->num_records;
    f.tail_reason = scan->tail_reason;
    f.tail_offset = scan->tail_offset;
    f.tail_detail = scan->tail_detail;
    files.push_back(std::move(f));
  }
  absl::StatusOr<ShardPlan> plan = ShardPlan::Create(
      std::move(files), options.shard_index, options.num_shards, options.seed,
      options.shuffle_files);
  if (!plan.ok()) return plan.status();
  return std::make_unique<ImagenetDataset>(*std::move(plan), options);
}

}  // namespace inputserve
