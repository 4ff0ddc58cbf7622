// Dataset: the interface between a data format and the decode pipeline.
//
// A Dataset splits the work the pipeline parallelises: an ExampleReader walks
// the shard's records in epoch order on one thread (cheap: I/O and framing),
// and ExampleDecoders, one per worker thread, turn each raw record into the
// final tensors (expensive: JPEG decode, crop, augmentation).
#ifndef INPUTSERVE_SERVER_SOURCES_DATASET_H_
#define INPUTSERVE_SERVER_SOURCES_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace inputserve {

// Shape of one decoded example: an HWC uint8 image and an int32 label.
struct ExampleShape {
  int height = 0;
  int width = 0;
  int channels = 3;
  int num_classes = 0;

  size_t image_bytes() const {
    return static_cast<size_t>(height) * width * channels;
  }
};

// One record before decoding.
struct RawExample {
  std::string data;    // Encoded bytes (JPEG, CIFAR record, ...); may be empty.
  int64_t label = 0;   // Label when the reader already knows it.
  uint64_t index = 0;  // Position of the record in the dataset (stable id).
};

// Receives records the reader had to skip. Thread-safe implementations only.
class SkipSink {
 public:
  virtual ~SkipSink() = default;
  // reason is one of a small fixed set ("bad_crc", "truncated",
  // "missing_feature", "bad_record" (a record that is not a valid
  // tf.train.Example), "bad_label", "decode_error", "bad_size", "bad_name"
  // (an unsafe or keyless tar member name), "unreadable" (a file that
  // cannot be opened or read)).
  virtual void OnSkip(absl::string_view reason, absl::string_view file,
                      uint64_t offset, absl::string_view detail) = 0;
};

// Walks the shard's records for one epoch after another. Used by one thread.
class ExampleReader {
 public:
  virtual ~ExampleReader() = default;
  // Begins `epoch`; file order may be reshuffled from (seed, epoch).
  virtual absl::Status StartEpoch(uint64_t epoch) = 0;
  // The next record of the epoch; OUT_OF_RANGE at the end of the epoch. A bad
  // record is reported to the SkipSink and skipped, never returned.
  virtual absl::StatusOr<RawExample> Next() = 0;
};

// Decodes raw records into the final tensors. One per worker thread (it may
// hold per-thread state such as a TurboJPEG handle).
class ExampleDecoder {
 public:
  virtual ~ExampleDecoder() = default;
  // Writes shape().image_bytes() bytes of HWC uint8 to `image` and the label
  // to `*label`. `rng_seed` drives augmentation: the same seed gives the same
  // output. An error means the record is skipped (reason "decode_error").
  virtual absl::Status Decode(const RawExample& example, uint64_t rng_seed,
                              uint8_t* image, int32_t* label) = 0;
};

// Everything the --dataset flag and its companions select.
struct DatasetOptions {
  // cifar10:<dir|glob>, imagenet:<glob>, imagefolder:<root>,
  // webdataset:<glob>, synthetic:<name>
  std::string spec;
  int image_size = 224;  // imagenet output height and width.
  bool augment = true;   // Training augmentation; false = evaluation.
  uint32_t shard_index = 0;
  uint32_t num_shards = 1;
  uint64_t seed = 0;
  // Reshuffle the file order every epoch (from seed and epoch). Off, files
  // are read in sorted order: with no shuffle buffer either, the output is the
  // dataset in file order.
  bool shuffle_files = true;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual ExampleShape shape() const = 0;
  // Records in this shard per epoch; 0 when the dataset is unbounded.
  virtual uint64_t examples_per_epoch() const = 0;
  // `skips` outlives the reader and may be shared by many readers.
  virtual std::unique_ptr<ExampleReader> NewReader(SkipSink* skips) const = 0;
  virtual std::unique_ptr<ExampleDecoder> NewDecoder() const = 0;
  // Label i names class_names()[i]; empty when the format has no names.
  virtual std::vector<std::string> class_names() const { return {}; }
  // Random access: record `index` (global, over all shards) as the reader
  // would hand it out, from an index built when the dataset opened.
  // Thread-safe. OUT_OF_RANGE past the end; UNIMPLEMENTED for formats
  // without an index; DATA_LOSS when the record's bytes are bad (a CRC,
  // label or framing problem: the same on every replica, so the record is
  // left out like one that fails to decode); any other error means the
  // record could not be read (I/O).
  virtual absl::StatusOr<RawExample> ReadRecord(uint64_t index) const;
  // Whether ReadRecord works (the format keeps a record index).
  virtual bool random_access() const { return false; }
  // The global index of this shard's record `position` (<
  // examples_per_epoch()), records in global order. Only with
  // random_access().
  virtual uint64_t ShardRecord(uint64_t position) const { return position; }
};

// Parses options.spec, checks the files it names and opens the dataset.
// INVALID_ARGUMENT for a malformed spec; NOT_FOUND / FAILED_PRECONDITION for
// files that are missing, unreadable or hold no valid record.
absl::StatusOr<std::unique_ptr<Dataset>> OpenDataset(
    const DatasetOptions& options);

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_SOURCES_DATASET_H_
