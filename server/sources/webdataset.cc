#include "server/sources/webdataset.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/sources/file_list.h"
#include "server/sources/shard_plan.h"
#include "server/sources/tar.h"

namespace inputserve {
namespace {

// A cls member longer than this is not an integer label.
constexpr uint64_t kMaxLabelBytes = 64;

// The sample being assembled from consecutive members.
struct PendingSample {
  std::string key;
  uint64_t offset = 0;  // Header offset of its first member.
  std::optional<TarMember> image;
  std::optional<int64_t> label;
  std::string error_reason;
  std::string error_detail;
};

// Splits "dir/name.ext1.ext2" into key "dir/name" and extension "ext1.ext2"
// (lower case), as WebDataset does. False when the basename has no key.
bool SplitKey(const std::string& name, std::string* key, std::string* ext) {
  const size_t slash = name.rfind('/');
  const size_t base = slash == std::string::npos ? 0 : slash + 1;
  const size_t dot = name.find('.', base);
  if (dot == std::string::npos || dot == base) return false;
  *key = name.substr(0, dot);
  *ext = absl::AsciiStrToLower(absl::string_view(name).substr(dot + 1));
  return true;
}

absl::StatusOr<int64_t> ParseLabel(absl::string_view text) {
  int64_t label = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &label)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cls member is not an integer: '",
                     absl::CHexEscape(text.substr(0, 32)), "'"));
  }
  if (label < 0 || label >= kMaxWebDatasetClasses) {
    return absl::InvalidArgumentError(absl::StrCat(
        "label ", label, " not in [0, ", kMaxWebDatasetClasses - 1, "]"));
  }
  return label;
}

class ShardScanner {
 public:
  explicit ShardScanner(const std::string& path) : path_(path) {}

  absl::StatusOr<WebDatasetShard> Scan() {
    if (absl::Status s = tar_.Open(path_); !s.ok()) return s;
    TarMember m;
    while (true) {
      absl::StatusOr<bool> more = tar_.Next(&m);
      if (!more.ok()) return more.status();
      if (!*more) break;
      if (absl::Status s = Add(m); !s.ok()) return s;
    }
    Flush();
    if (!tar_.problem().reason.empty()) {
      Problem(tar_.problem().reason, tar_.problem().offset,
              tar_.problem().detail);
    }
    return std::move(shard_);
  }

 private:
  void Problem(absl::string_view reason, uint64_t offset, std::string detail) {
    IndexProblem p;
    p.position = shard_.samples.size();
    p.reason = std::string(reason);
    p.file = path_;
    p.offset = offset;
    p.detail = std::move(detail);
    shard_.problems.push_back(std::move(p));
  }

  absl::Status Add(const TarMember& m) {
    std::string key, ext;
    if (!IsSafeTarName(m.name) || !SplitKey(m.name, &key, &ext)) {
      Flush();
      Problem("bad_name", m.header_offset,
              absl::StrCat("member '", absl::CHexEscape(m.name),
                           "' has an unsafe name or no key"));
      return absl::OkStatus();
    }
    if (!pending_.has_value() || pending_->key != key) {
      Flush();
      pending_.emplace();
      pending_->key = key;
      pending_->offset = m.header_offset;
    }
    PendingSample& s = *pending_;
    if ((ext == "jpg" || ext == "jpeg" || ext == "png") && !s.image) {
      s.image = m;
    } else if (ext == "cls" && !s.label && s.error_reason.empty()) {
      if (m.size > kMaxLabelBytes) {
        s.error_reason = "bad_label";
        s.error_detail = absl::StrCat("cls member of ", m.size, " bytes");
        return absl::OkStatus();
      }
      absl::StatusOr<absl::string_view> data = tar_.ReadData(m);
      if (!data.ok()) return data.status();
      absl::StatusOr<int64_t> label = ParseLabel(*data);
      if (label.ok()) {
        s.label = *label;
      } else {
        s.error_reason = "bad_label";
        s.error_detail = std::string(label.status().message());
      }
    }
    return absl::OkStatus();
  }

  void Flush() {
    if (!pending_.has_value()) return;
    PendingSample s = *std::move(pending_);
    pending_.reset();
    const std::string what =
        absl::StrCat("sample '", absl::CHexEscape(s.key), "'");
    if (!s.error_reason.empty()) {
      Problem(s.error_reason, s.offset,
              absl::StrCat(what, ": ", s.error_detail));
    } else if (!s.image) {
      Problem("missing_feature", s.offset,
              absl::StrCat(what, " has no jpg, jpeg or png member"));
    } else if (!s.label) {
      Problem("missing_feature", s.offset,
              absl::StrCat(what, " has no cls member"));
    } else if (s.image->size > kMaxEncodedImageBytes) {
      Problem("bad_size", s.offset,
              absl::StrCat(what, " has an image of ", s.image->size,
                           " bytes (limit ", kMaxEncodedImageBytes, ")"));
    } else {
      WebDatasetSample out;
      out.image_offset = s.image->data_offset;
      out.image_size = static_cast<uint32_t>(s.image->size);
      out.label = static_cast<int32_t>(*s.label);
      shard_.max_label = std::max(shard_.max_label, out.label);
      shard_.samples.push_back(out);
    }
  }

  const std::string path_;
  TarReader tar_;
  std::optional<PendingSample> pending_;
  WebDatasetShard shard_;
};

class WebDatasetReader final : public ShardedFileReader {
 public:
  WebDatasetReader(const ShardPlan* plan, SkipSink* skips,
                   std::shared_ptr<const std::vector<WebDatasetShard>> index)
      : ShardedFileReader(plan, skips), index_(std::move(index)) {}

 private:
  absl::Status OpenFile(const DataFile& file, uint64_t) override {
    next_sample_ = 0;
    next_problem_ = 0;
    return file_.Open(file.path);
  }

  absl::StatusOr<std::optional<RawExample>> NextInFile(
      const DataFile& file) override {
    const WebDatasetShard& shard = (*index_)[file.ordinal];
    while (true) {
      ReportProblemsUpTo(shard.problems, next_sample_, plan(),
                         file.first_record, skips(), &next_problem_);
      if (next_sample_ >= shard.samples.size()) return std::nullopt;
      const uint64_t ordinal = next_sample_++;
      const uint64_t index = file.first_record + ordinal;
      if (!plan().Owns(index)) continue;
      const WebDatasetSample& s = shard.samples[ordinal];
      absl::StatusOr<absl::string_view> data = ReadAt(s);
      if (!data.ok()) return data.status();
      if (data->size() < s.image_size) {
        skips()->OnSkip("truncated", file.path, s.image_offset,
                        "shard shrank since the dataset was opened");
        next_sample_ = shard.samples.size();
        continue;
      }
      RawExample ex;
      ex.data.assign(data->data(), data->size());
      ex.label = s.label;
      ex.index = index;
      return ex;
    }
  }

  // Samples come in offset order: skip forward to the image, read it.
  absl::StatusOr<absl::string_view> ReadAt(const WebDatasetSample& s) {
    if (s.image_offset < file_.offset()) {
      return absl::InternalError("WebDataset index out of order");
    }
    if (absl::Status st = file_.Skip(s.image_offset - file_.offset());
        !st.ok()) {
      return st;
    }
    if (file_.offset() != s.image_offset) return absl::string_view();
    return file_.Read(s.image_size);
  }

  const std::shared_ptr<const std::vector<WebDatasetShard>> index_;
  BufferedFile file_;
  uint64_t next_sample_ = 0;
  size_t next_problem_ = 0;
};

}  // namespace

absl::StatusOr<WebDatasetShard> ScanWebDatasetShard(const std::string& path) {
  return ShardScanner(path).Scan();
}

absl::StatusOr<std::unique_ptr<Dataset>> OpenWebDatasetDataset(
    absl::string_view pattern, const DatasetOptions& options) {
  if (absl::Status s =
          CheckShardOptions(options.shard_index, options.num_shards);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<std::string>> paths =
      ExpandDataFiles(pattern, {"*.tar"});
  if (!paths.ok()) return paths.status();
  auto index = std::make_shared<std::vector<WebDatasetShard>>();
  std::vector<DataFile> files;
  int max_label = -1;
  for (const std::string& p : *paths) {
    absl::StatusOr<WebDatasetShard> shard = ScanWebDatasetShard(p);
    if (!shard.ok()) return shard.status();
    if (shard->samples.empty()) {
      std::string why = "no member at all";
      if (!shard->problems.empty()) {
        const IndexProblem& first = shard->problems.front();
        why = absl::StrCat(first.reason, " at offset ", first.offset, ": ",
                           first.detail);
      }
      return absl::FailedPreconditionError(absl::StrCat(
          "WebDataset shard '", p,
          "' has no complete sample (an image member and a cls member "
          "sharing a key); first problem: ",
          why));
    }
    max_label = std::max(max_label, shard->max_label);
    DataFile f;
    f.path = p;
    f.num_records = shard->samples.size();
    files.push_back(std::move(f));
    index->push_back(*std::move(shard));
  }
  absl::StatusOr<ShardPlan> plan = ShardPlan::Create(
      std::move(files), options.shard_index, options.num_shards, options.seed,
      options.shuffle_files);
  if (!plan.ok()) return plan.status();
  FileDataset::Parts parts;
  parts.shape = EncodedImageShape(options, max_label + 1);
  parts.new_reader = [index](const ShardPlan* plan, SkipSink* skips) {
    return std::make_unique<WebDatasetReader>(plan, skips, index);
  };
  const PreprocessOptions preprocess = ImagePreprocessOptions(options);
  parts.new_decoder = [preprocess, cache = options.decoded_cache] {
    return std::make_unique<EncodedImageDecoder>(preprocess, cache);
  };
  parts.read_record = [index](const ShardPlan& plan,
                              uint64_t i) -> absl::StatusOr<RawExample> {
    const DataFile& file = plan.FileOf(i);
    const WebDatasetSample& s =
        (*index)[file.ordinal].samples[i - file.first_record];
    absl::StatusOr<std::string> data =
        ReadFileRange(file.path, s.image_offset, s.image_size);
    if (!data.ok()) return data.status();
    RawExample ex;
    ex.data = *std::move(data);
    ex.label = s.label;
    ex.index = i;
    return ex;
  };
  return std::make_unique<FileDataset>(*std::move(plan), std::move(parts));
}

}  // namespace inputserve
