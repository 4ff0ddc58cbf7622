#include "server/sources/cifar10.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/codec/augment.h"
#include "server/codec/rng.h"
#include "server/sources/file_dataset.h"
#include "server/sources/file_list.h"
#include "server/sources/shard_plan.h"

namespace inputserve {
namespace {

// Whole records per read: about 3 MiB, a few dozen reads per 30 MB file.
constexpr size_t kReadBuffer = kCifarRecordBytes * 1024;

absl::Status CheckLabel(uint8_t label) {
  if (label >= kCifarClasses) {
    return absl::InvalidArgumentError(
        absl::StrCat("label ", label, " not in [0, 9]"));
  }
  return absl::OkStatus();
}

class Cifar10Reader final : public ShardedFileReader {
 public:
  using ShardedFileReader::ShardedFileReader;

 private:
  absl::Status OpenFile(const DataFile& file, uint64_t) override {
    ordinal_ = 0;
    return file_.Open(file.path, kReadBuffer);
  }

  absl::StatusOr<std::optional<RawExample>> NextInFile(
      const DataFile& file) override {
    while (true) {
      // Stop at the count taken at open time so the epoch size stays exact
      // even if the file changes underneath.
      if (ordinal_ == file.num_records) return std::nullopt;
      const uint64_t offset = file_.offset();
      absl::StatusOr<absl::string_view> rec = file_.Read(kCifarRecordBytes);
      if (!rec.ok()) return rec.status();
      if (rec->size() < kCifarRecordBytes) {
        skips()->OnSkip("truncated", file.path, offset,
                        "file shrank since the dataset was opened");
        return std::nullopt;
      }
      const uint64_t index = file.first_record + ordinal_++;
      if (!plan().Owns(index)) continue;
      const uint8_t label = static_cast<uint8_t>((*rec)[0]);
      if (absl::Status s = CheckLabel(label); !s.ok()) {
        skips()->OnSkip("bad_label", file.path, offset, s.message());
        continue;
      }
      RawExample ex;
      ex.data.assign(rec->data() + 1, kCifarImageBytes);
      ex.label = label;
      ex.index = index;
      return ex;
    }
  }

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
  // Records have a fixed size, so the plan itself is the record index.
  FileDataset::Parts parts;
  parts.shape.height = parts.shape.width = kCifarSide;
  parts.shape.num_classes = kCifarClasses;
  parts.new_reader = [](const ShardPlan* plan, SkipSink* skips) {
    return std::make_unique<Cifar10Reader>(plan, skips);
  };
  const bool augment = options.augment;
  parts.new_decoder = [augment] {
    return std::make_unique<Cifar10Decoder>(augment);
  };
  parts.read_record = [](const ShardPlan& plan,
                         uint64_t index) -> absl::StatusOr<RawExample> {
    const DataFile& file = plan.FileOf(index);
    absl::StatusOr<std::string> rec = ReadFileRange(
        file.path, (index - file.first_record) * kCifarRecordBytes,
        kCifarRecordBytes);
    if (!rec.ok()) return rec.status();
    const uint8_t label = static_cast<uint8_t>((*rec)[0]);
    if (absl::Status s = CheckLabel(label); !s.ok()) {
      return absl::DataLossError(absl::StrCat("record ", index, " of '",
                                              file.path, "': ", s.message()));
    }
    RawExample ex;
    ex.data = rec->substr(1);
    ex.label = label;
    ex.index = index;
    return ex;
  };
  return std::make_unique<FileDataset>(*std::move(plan), std::move(parts));
}

}  // namespace inputserve
