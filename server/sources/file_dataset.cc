#include "server/sources/file_dataset.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace inputserve {

void ReportProblemsUpTo(const std::vector<IndexProblem>& problems,
                        uint64_t position, const ShardPlan& plan,
                        uint64_t first_record, SkipSink* skips, size_t* next) {
  for (; *next < problems.size() && problems[*next].position <= position;
       ++*next) {
    const IndexProblem& p = problems[*next];
    if (plan.Owns(first_record + p.position)) {
      skips->OnSkip(p.reason, p.file, p.offset, p.detail);
    }
  }
}

absl::Status ShardedFileReader::StartEpoch(uint64_t epoch) {
  files_ = plan_->EpochFiles(epoch);
  epoch_ = epoch;
  next_file_ = 0;
  current_ = nullptr;
  started_ = true;
  return absl::OkStatus();
}

absl::StatusOr<RawExample> ShardedFileReader::Next() {
  if (!started_) {
    return absl::FailedPreconditionError("Next() before StartEpoch()");
  }
  while (true) {
    if (current_ == nullptr) {
      if (next_file_ == files_.size()) {
        return absl::OutOfRangeError("end of epoch");
      }
      current_ = files_[next_file_++];
      if (absl::Status s = OpenFile(*current_, epoch_); !s.ok()) return s;
    }
    absl::StatusOr<std::optional<RawExample>> ex = NextInFile(*current_);
    if (!ex.ok()) return ex.status();
    if (!ex->has_value()) {
      current_ = nullptr;
      continue;
    }
    return **std::move(ex);
  }
}

EncodedImageDecoder::EncodedImageDecoder(const PreprocessOptions& options,
                                         std::shared_ptr<DecodedCache> cache)
    : preprocessor_(options), cache_(std::move(cache)) {
  if (cache_ != nullptr) cached_.emplace(cache_.get(), &preprocessor_);
}

absl::Status EncodedImageDecoder::Decode(const RawExample& example,
                                         uint64_t rng_seed, uint8_t* image,
                                         int32_t* label) {
  absl::Status s =
      cached_.has_value()
          ? cached_->Process(example.index, example.data, rng_seed, image)
          : preprocessor_.ProcessRecord(example.data, example.index, rng_seed,
                                        image);
  if (!s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat("example ", example.index, ": ", s.message()));
  }
  *label = static_cast<int32_t>(example.label);
  return absl::OkStatus();
}

PreprocessOptions ImagePreprocessOptions(const DatasetOptions& options) {
  PreprocessOptions p;
  p.out_size = options.image_size;
  p.augment = options.augment;
  p.jpeg_cache = options.jpeg_cache;
  return p;
}

ExampleShape EncodedImageShape(const DatasetOptions& options, int num_classes) {
  ExampleShape s;
  s.height = s.width = options.image_size;
  s.channels = 3;
  s.num_classes = num_classes;
  return s;
}

absl::StatusOr<RawExample> FileDataset::ReadRecord(uint64_t index) const {
  if (!parts_.read_record) return Dataset::ReadRecord(index);
  if (index >= plan_.total_records()) {
    return absl::OutOfRangeError(
        absl::StrCat("record ", index, " is beyond the dataset's ",
                     plan_.total_records(), " records"));
  }
  return parts_.read_record(plan_, index);
}

}  // namespace inputserve
