#include "server/sources/example_proto.h"

#include "absl/strings/str_cat.h"

namespace inputserve {
namespace {

// Wire types of the protobuf encoding.
constexpr int kVarint = 0;
constexpr int kFixed64 = 1;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

// Field numbers (tensorflow/core/example/*.proto).
constexpr uint64_t kExampleFeatures = 1;  // Example.features
constexpr uint64_t kFeaturesMap = 1;      // Features.feature (map entries)
constexpr uint64_t kMapKey = 1;
constexpr uint64_t kMapValue = 2;
constexpr uint64_t kFeatureBytesList = 1;
constexpr uint64_t kFeatureInt64List = 3;
constexpr uint64_t kListValue = 1;  // {Bytes,Float,Int64}List.value

// A cursor over one message's bytes. Every read checks the bounds; a false
// return means malformed input and leaves the cursor unusable.
class WireCursor {
 public:
  explicit WireCursor(absl::string_view data)
      : p_(reinterpret_cast<const uint8_t*>(data.data())),
        end_(p_ + data.size()) {}

  bool done() const { return p_ == end_; }

  bool ReadVarint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = *p_++;
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;  // More than 10 bytes.
  }

  bool ReadTag(uint64_t* field, int* wire_type) {
    uint64_t tag;
    if (!ReadVarint(&tag)) return false;
    *field = tag >> 3;
    *wire_type = static_cast<int>(tag & 7);
    return *field != 0;
  }

  bool ReadBytes(absl::string_view* out) {
    uint64_t len;
    if (!ReadVarint(&len)) return false;
    if (len > static_cast<uint64_t>(end_ - p_)) return false;
    *out = absl::string_view(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    return true;
  }

  bool Skip(int wire_type) {
    uint64_t ignored;
    absl::string_view ignored_bytes;
    switch (wire_type) {
      case kVarint:
        return ReadVarint(&ignored);
      case kFixed64:
        return Advance(8);
      case kLengthDelimited:
        return ReadBytes(&ignored_bytes);
      case kFixed32:
        return Advance(4);
      default:
        return false;  // Groups (3, 4) never appear in an Example.
    }
  }

 private:
  bool Advance(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) return false;
    p_ += n;
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
};

absl::Status Malformed(absl::string_view where) {
  return absl::DataLossError(
      absl::StrCat("malformed tf.train.Example: bad ", where));
}

// The Feature message's chosen list (oneof: the last one on the wire wins).
struct FeatureList {
  uint64_t kind = 0;
  absl::string_view list;
};

absl::Status ParseFeature(absl::string_view feature, FeatureList* out) {
  WireCursor c(feature);
  *out = FeatureList();
  while (!c.done()) {
    uint64_t field;
    int wt;
    if (!c.ReadTag(&field, &wt)) return Malformed("Feature tag");
    if (field >= 1 && field <= 3 && wt == kLengthDelimited) {
      out->kind = field;
      if (!c.ReadBytes(&out->list)) return Malformed("Feature list");
    } else if (!c.Skip(wt)) {
      return Malformed("Feature field");
    }
  }
  return absl::OkStatus();
}

// First value of a BytesList; false when the list is empty.
absl::StatusOr<bool> FirstBytes(absl::string_view list,
                                absl::string_view* value) {
  WireCursor c(list);
  while (!c.done()) {
    uint64_t field;
    int wt;
    if (!c.ReadTag(&field, &wt)) return Malformed("BytesList tag");
    if (field == kListValue && wt == kLengthDelimited) {
      if (!c.ReadBytes(value)) return Malformed("BytesList value");
      return true;
    }
    if (!c.Skip(wt)) return Malformed("BytesList field");
  }
  return false;
}

// First value of an Int64List, packed or not; false when empty.
absl::StatusOr<bool> FirstInt64(absl::string_view list, int64_t* value) {
  WireCursor c(list);
  while (!c.done()) {
    uint64_t field;
    int wt;
    if (!c.ReadTag(&field, &wt)) return Malformed("Int64List tag");
    uint64_t v;
    if (field == kListValue && wt == kVarint) {
      if (!c.ReadVarint(&v)) return Malformed("Int64List value");
      *value = static_cast<int64_t>(v);
      return true;
    }
    if (field == kListValue && wt == kLengthDelimited) {
      absl::string_view packed;
      if (!c.ReadBytes(&packed)) return Malformed("Int64List packed");
      if (packed.empty()) continue;  // An empty packed run adds nothing.
      WireCursor pc(packed);
      if (!pc.ReadVarint(&v)) return Malformed("Int64List packed value");
      *value = static_cast<int64_t>(v);
      return true;
    }
    if (!c.Skip(wt)) return Malformed("Int64List field");
  }
  return false;
}

absl::Status Missing(absl::string_view key, absl::string_view why) {
  return absl::NotFoundError(absl::StrCat("feature '", key, "' ", why));
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutBytesField(uint64_t field, absl::string_view bytes, std::string* out) {
  PutVarint(field << 3 | kLengthDelimited, out);
  PutVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

void PutMapEntry(absl::string_view key, absl::string_view feature,
                 std::string* features) {
  std::string entry;
  PutBytesField(kMapKey, key, &entry);
  PutBytesField(kMapValue, feature, &entry);
  PutBytesField(kFeaturesMap, entry, features);
}

}  // namespace

absl::StatusOr<ImageExample> ParseImageExample(absl::string_view record,
                                               absl::string_view image_key,
                                               absl::string_view label_key) {
  // Map semantics: a key seen again replaces the earlier value, so remember
  // the last Feature for each key and decode it once at the end.
  absl::string_view image_feature, label_feature;
  bool has_image = false, has_label = false;
  WireCursor ex(record);
  while (!ex.done()) {
    uint64_t field;
    int wt;
    if (!ex.ReadTag(&field, &wt)) return Malformed("Example tag");
    if (field != kExampleFeatures || wt != kLengthDelimited) {
      if (!ex.Skip(wt)) return Malformed("Example field");
      continue;
    }
    absl::string_view features;
    if (!ex.ReadBytes(&features)) return Malformed("Features length");
    WireCursor fc(features);
    while (!fc.done()) {
      if (!fc.ReadTag(&field, &wt)) return Malformed("Features tag");
      if (field != kFeaturesMap || wt != kLengthDelimited) {
        if (!fc.Skip(wt)) return Malformed("Features field");
        continue;
      }
      absl::string_view entry;
      if (!fc.ReadBytes(&entry)) return Malformed("map entry length");
      absl::string_view key, value;
      WireCursor ec(entry);
      while (!ec.done()) {
        if (!ec.ReadTag(&field, &wt)) return Malformed("map entry tag");
        if (field == kMapKey && wt == kLengthDelimited) {
          if (!ec.ReadBytes(&key)) return Malformed("map key");
        } else if (field == kMapValue && wt == kLengthDelimited) {
          if (!ec.ReadBytes(&value)) return Malformed("map value");
        } else if (!ec.Skip(wt)) {
          return Malformed("map entry field");
        }
      }
      if (key == image_key) {
        image_feature = value;
        has_image = true;
      } else if (key == label_key) {
        label_feature = value;
        has_label = true;
      }
    }
  }
  if (!has_image) return Missing(image_key, "is missing");
  if (!has_label) return Missing(label_key, "is missing");
  ImageExample out;
  FeatureList list;
  if (absl::Status s = ParseFeature(image_feature, &list); !s.ok()) return s;
  if (list.kind != kFeatureBytesList) {
    return Missing(image_key, "is not a bytes_list");
  }
  absl::StatusOr<bool> found = FirstBytes(list.list, &out.image);
  if (!found.ok()) return found.status();
  if (!*found) return Missing(image_key, "has no value");
  // An empty value is as unusable as none (found by example_fuzz): report it
  // as a missing feature, not as a decode error later.
  if (out.image.empty()) return Missing(image_key, "is empty");
  if (absl::Status s = ParseFeature(label_feature, &list); !s.ok()) return s;
  if (list.kind != kFeatureInt64List) {
    return Missing(label_key, "is not an int64_list");
  }
  found = FirstInt64(list.list, &out.label);
  if (!found.ok()) return found.status();
  if (!*found) return Missing(label_key, "has no value");
  return out;
}

std::string EncodeExample(const ExampleFeatures& features) {
  std::string map;
  for (const auto& [key, value] : features.bytes) {
    std::string list, feature;
    PutBytesField(kListValue, value, &list);
    PutBytesField(kFeatureBytesList, list, &feature);
    PutMapEntry(key, feature, &map);
  }
  for (const auto& [key, value] : features.int64s) {
    std::string packed, list, feature;
    PutVarint(static_cast<uint64_t>(value), &packed);
    PutBytesField(kListValue, packed, &list);
    PutBytesField(kFeatureInt64List, list, &feature);
    PutMapEntry(key, feature, &map);
  }
  std::string example;
  PutBytesField(kExampleFeatures, map, &example);
  return example;
}

}  // namespace inputserve
