#include "server/sources/imagenet.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/sources/example_proto.h"
#include "server/sources/file_dataset.h"
#include "server/sources/file_list.h"
#include "server/sources/shard_plan.h"
#include "server/sources/tfrecord.h"

namespace inputserve {
namespace {

class ImagenetReader final : public ShardedFileReader {
 public:
  using ShardedFileReader::ShardedFileReader;

 private:
  absl::Status OpenFile(const DataFile& file, uint64_t) override {
    return tfrecord_.Open(file.path, file.num_records);
  }

  absl::StatusOr<std::optional<RawExample>> NextInFile(
      const DataFile& file) override {
    while (true) {
      const uint64_t first = file.first_record;
      TfrecordRecord rec;
      absl::StatusOr<bool> more = tfrecord_.Next(
          [&](uint64_t ordinal) { return plan().Owns(first + ordinal); },
          skips(), &rec);
      if (!more.ok()) return more.status();
      if (!*more) {
        // A problem found at open time after the last countable record is
        // reported by the shard that owns that position.
        if (!file.tail_reason.empty() &&
            plan().Owns(first + file.num_records)) {
          skips()->OnSkip(file.tail_reason, file.path, file.tail_offset,
                          file.tail_detail);
        }
        return std::nullopt;
      }
      const uint64_t index = first + rec.ordinal;
      if (!plan().Owns(index)) continue;
      absl::StatusOr<ImageExample> ex = ParseImageExample(rec.data);
      if (!ex.ok()) {
        skips()->OnSkip(
            absl::IsNotFound(ex.status()) ? "missing_feature" : "bad_record",
            file.path, rec.offset, ex.status().message());
        continue;
      }
      if (ex->label < 0 || ex->label >= kImagenetClasses) {
        skips()->OnSkip("bad_label", file.path, rec.offset,
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

  TfrecordReader tfrecord_;
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
  // Record offsets per file (by sorted position): the random-access index.
  auto offsets = std::make_shared<std::vector<std::vector<uint64_t>>>();
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
    offsets->push_back(std::move(scan->offsets));
  }
  absl::StatusOr<ShardPlan> plan = ShardPlan::Create(
      std::move(files), options.shard_index, options.num_shards, options.seed,
      options.shuffle_files);
  if (!plan.ok()) return plan.status();
  FileDataset::Parts parts;
  parts.shape = EncodedImageShape(options, kImagenetClasses);
  parts.new_reader = [](const ShardPlan* plan, SkipSink* skips) {
    return std::make_unique<ImagenetReader>(plan, skips);
  };
  const PreprocessOptions preprocess = ImagePreprocessOptions(options);
  parts.new_decoder = [preprocess] {
    return std::make_unique<EncodedImageDecoder>(preprocess);
  };
  parts.read_record = [offsets](const ShardPlan& plan,
                                uint64_t index) -> absl::StatusOr<RawExample> {
    const DataFile& file = plan.FileOf(index);
    absl::StatusOr<std::string> data = ReadTfrecordAt(
        file.path, (*offsets)[file.ordinal][index - file.first_record]);
    if (!data.ok()) return data.status();
    absl::StatusOr<ImageExample> ex = ParseImageExample(*data);
    if (!ex.ok()) {
      return absl::DataLossError(absl::StrCat(
          "record ", index, " of '", file.path, "': ", ex.status().message()));
    }
    if (ex->label < 0 || ex->label >= kImagenetClasses) {
      return absl::DataLossError(
          absl::StrCat("record ", index, " of '", file.path, "': label ",
                       ex->label, " not in [0, ", kImagenetClasses - 1, "]"));
    }
    RawExample out;
    out.data.assign(ex->image.data(), ex->image.size());
    out.label = ex->label;
    out.index = index;
    return out;
  };
  return std::make_unique<FileDataset>(*std::move(plan), std::move(parts));
}

}  // namespace inputserve
