// The skeleton every file-backed dataset shares. ShardedFileReader walks the
// files a ShardPlan gives this shard for an epoch and asks the format for the
// owned records of one file at a time; FileDataset is the Dataset around a
// plan, a shape, optional class names, a reader and a decoder factory, and an
// optional record index for random access. A reader is used by one thread;
// a FileDataset is immutable and thread-safe.
#ifndef INPUTSERVE_SERVER_SOURCES_FILE_DATASET_H_
#define INPUTSERVE_SERVER_SOURCES_FILE_DATASET_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/codec/image_preprocessor.h"
#include "server/sources/dataset.h"
#include "server/sources/shard_plan.h"

namespace inputserve {

// Largest encoded image (JPEG or PNG) a file-backed source serves; a larger
// one is skipped as "bad_size".
constexpr uint64_t kMaxEncodedImageBytes = 64 << 20;

// A problem an index found when the dataset opened (a sample without a
// label, an unreadable directory, ...). It sits before record `position` of
// its file (== the file's record count for a problem after the last record)
// and is reported each epoch by the shard that owns that position.
struct IndexProblem {
  uint64_t position = 0;
  std::string reason;  // A SkipSink reason.
  std::string file;
  uint64_t offset = 0;
  std::string detail;
};

// Reports problems[*next] and on while their position is <= `position`,
// advancing *next; only those the plan owns (first_record + position).
void ReportProblemsUpTo(const std::vector<IndexProblem>& problems,
                        uint64_t position, const ShardPlan& plan,
                        uint64_t first_record, SkipSink* skips, size_t* next);

class ShardedFileReader : public ExampleReader {
 public:
  ShardedFileReader(const ShardPlan* plan, SkipSink* skips)
      : plan_(plan), skips_(skips) {}

  absl::Status StartEpoch(uint64_t epoch) final;
  absl::StatusOr<RawExample> Next() final;

 protected:
  // Prepares to read `file` in `epoch`.
  virtual absl::Status OpenFile(const DataFile& file, uint64_t epoch) = 0;
  // The next record of the open file that this shard owns (index set to its
  // global index), or nullopt once the file is done. Bad records go to
  // skips() and are passed over; an error stops the pipeline.
  virtual absl::StatusOr<std::optional<RawExample>> NextInFile(
      const DataFile& file) = 0;

  const ShardPlan& plan() const { return *plan_; }
  SkipSink* skips() const { return skips_; }

 private:
  const ShardPlan* const plan_;
  SkipSink* const skips_;
  bool started_ = false;
  uint64_t epoch_ = 0;
  std::vector<const DataFile*> files_;
  size_t next_file_ = 0;
  const DataFile* current_ = nullptr;
};

// Decodes encoded images (JPEG or PNG) with the ImageNet preprocessing:
// random-resized-crop + flip for training, center crop for evaluation.
class EncodedImageDecoder final : public ExampleDecoder {
 public:
  explicit EncodedImageDecoder(const PreprocessOptions& options)
      : preprocessor_(options) {}
  absl::Status Decode(const RawExample& example, uint64_t rng_seed,
                      uint8_t* image, int32_t* label) override;

 private:
  ImagePreprocessor preprocessor_;
};

// Preprocessing options and output shape for an encoded-image dataset.
PreprocessOptions ImagePreprocessOptions(const DatasetOptions& options);
ExampleShape EncodedImageShape(const DatasetOptions& options, int num_classes);

class FileDataset final : public Dataset {
 public:
  using ReaderFactory = std::function<std::unique_ptr<ExampleReader>(
      const ShardPlan* plan, SkipSink* skips)>;
  using DecoderFactory = std::function<std::unique_ptr<ExampleDecoder>()>;
  // Reads global record `index` (< plan.total_records()).
  using RecordIndex = std::function<absl::StatusOr<RawExample>(
      const ShardPlan& plan, uint64_t index)>;

  struct Parts {
    ExampleShape shape;
    std::vector<std::string> class_names;
    ReaderFactory new_reader;
    DecoderFactory new_decoder;
    RecordIndex read_record;  // May be empty: no random access.
  };

  FileDataset(ShardPlan plan, Parts parts)
      : plan_(std::move(plan)), parts_(std::move(parts)) {}

  ExampleShape shape() const override { return parts_.shape; }
  uint64_t examples_per_epoch() const override {
    return plan_.examples_per_epoch();
  }
  std::vector<std::string> class_names() const override {
    return parts_.class_names;
  }
  std::unique_ptr<ExampleReader> NewReader(SkipSink* skips) const override {
    return parts_.new_reader(&plan_, skips);
  }
  std::unique_ptr<ExampleDecoder> NewDecoder() const override {
    return parts_.new_decoder();
  }
  absl::StatusOr<RawExample> ReadRecord(uint64_t index) const override;
  bool random_access() const override {
    return static_cast<bool>(parts_.read_record);
  }
  uint64_t ShardRecord(uint64_t position) const override {
    return plan_.OwnedRecord(position);
  }

 private:
  const ShardPlan plan_;
  const Parts parts_;
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_FILE_DATASET_H_
