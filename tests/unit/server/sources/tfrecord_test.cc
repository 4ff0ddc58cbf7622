// TFRecord framing and tf.train.Example parsing, against bytes this test
// builds itself: its own bitwise CRC-32C and its own protobuf encoding.
#include "server/sources/tfrecord.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "server/codec/rng.h"
#include "server/sources/example_proto.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::ReadEpoch;
using ::inputserve::testing::RecordingSkipSink;
using ::inputserve::testing::WriteBytes;

// ---- Independent encoders ------------------------------------------------

uint32_t RefCrc(const std::string& s) {
  uint32_t c = 0xffffffffu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
  }
  return ~c;
}
uint32_t RefMask(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }
std::string Le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}
std::string Frame(const std::string& data) {
  const std::string len = Le(data.size(), 8);
  return len + Le(RefMask(RefCrc(len)), 4) + data +
         Le(RefMask(RefCrc(data)), 4);
}

std::string Varint(uint64_t v) {
  std::string s;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    s.push_back(static_cast<char>(b));
  } while (v);
  return s;
}
std::string Len(int field, const std::string& payload) {
  return Varint(field << 3 | 2) + Varint(payload.size()) + payload;
}
std::string BytesFeature(const std::string& v) { return Len(1, Len(1, v)); }
std::string Int64Packed(int64_t v) {
  return Len(3, Len(1, Varint(static_cast<uint64_t>(v))));
}
std::string Int64Unpacked(int64_t v) {
  return Len(3, Varint(1 << 3 | 0) + Varint(static_cast<uint64_t>(v)));
}
std::string FloatFeature(float f) {
  std::string raw(reinterpret_cast<const char*>(&f), 4);
  return Len(2, Len(1, raw));
}
std::string Entry(const std::string& key, const std::string& feature) {
  return Len(1, Len(1, key) + Len(2, feature));
}
// Example{features{entries...}}.
std::string ExampleOf(const std::vector<std::string>& entries) {
  std::string map;
  for (const std::string& e : entries) map += e;
  return Len(1, map);
}
std::string ImageExampleBytes(const std::string& jpeg, int64_t label) {
  return ExampleOf({Entry("image/format", BytesFeature("JPEG")),
                    Entry("image/encoded", BytesFeature(jpeg)),
                    Entry("image/height", Int64Packed(7)),
                    Entry("image/class/label", Int64Packed(label))});
}

// ---- Example parsing -----------------------------------------------------

TEST(ExampleProtoTest, ParsesImageAndLabel) {
  // ImageExample::image views the serialized bytes: keep them alive.
  const std::string bytes = ImageExampleBytes("jpegbytes", 417);
  absl::StatusOr<ImageExample> ex = ParseImageExample(bytes);
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_EQ(ex->image, "jpegbytes");
  EXPECT_EQ(ex->label, 417);
}

TEST(ExampleProtoTest, UnpackedLabelsExtraFieldsAndLastKeyWins) {
  const std::string bytes =
      ExampleOf({Entry("image/class/label", Int64Unpacked(3)),
                 Entry("image/encoded", BytesFeature("old")),
                 Entry("image/class/text", BytesFeature("tench")),
                 Entry("scores", FloatFeature(0.5f)),
                 Entry("image/encoded", BytesFeature("new")),
                 Entry("image/class/label", Int64Unpacked(-2))});
  absl::StatusOr<ImageExample> ex = ParseImageExample(bytes);
  ASSERT_TRUE(ex.ok()) << ex.status();
  EXPECT_EQ(ex->image, "new");
  EXPECT_EQ(ex->label, -2);
}

TEST(ExampleProtoTest, MissingOrWrongTypedFeatureIsNotFound) {
  absl::Status s =
      ParseImageExample(ExampleOf({Entry("image/encoded", BytesFeature("x"))}))
          .status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_NE(s.message().find("image/class/label"), absl::string_view::npos);
  s = ParseImageExample(ExampleOf({Entry("image/encoded", Int64Packed(1)),
                                   Entry("image/class/label", Int64Packed(1))}))
          .status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_NE(s.message().find("image/encoded"), absl::string_view::npos);
  s = ParseImageExample(ExampleOf({Entry("image/encoded", Len(1, "")),
                                   Entry("image/class/label", Int64Packed(1))}))
          .status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;  // Empty bytes_list.
  EXPECT_TRUE(absl::IsNotFound(ParseImageExample("").status()));
}

// example_fuzz: an image/encoded whose first value is the empty string was
// accepted, although an empty image is a missing feature.
TEST(ExampleProtoTest, EmptyImageValueIsNotFound) {
  absl::Status s =
      ParseImageExample(ExampleOf({Entry("image/encoded", BytesFeature("")),
                                   Entry("image/class/label", Int64Packed(1))}))
          .status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_NE(s.message().find("'image/encoded' is empty"),
            absl::string_view::npos)
      << s;
}

TEST(ExampleProtoTest, GarbageNeverCrashesAndTruncationIsAnError) {
  const std::string good = ImageExampleBytes(std::string(300, 'j'), 5);
  // Every strict prefix cuts some length-delimited field short.
  for (size_t n = 1; n < good.size(); ++n) {
    absl::StatusOr<ImageExample> ex = ParseImageExample(good.substr(0, n));
    EXPECT_FALSE(ex.ok()) << "prefix " << n;
  }
  // Random corruption: any answer is fine as long as views stay in bounds.
  Rng rng(1);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bad = good;
    for (int k = 0; k < 3; ++k)
      bad[rng.Below(bad.size())] = static_cast<char>(rng.Next());
    absl::StatusOr<ImageExample> ex = ParseImageExample(bad);
    if (ex.ok()) {
      EXPECT_GE(ex->image.data(), bad.data());
      EXPECT_LE(ex->image.data() + ex->image.size(), bad.data() + bad.size());
    }
  }
  EXPECT_FALSE(ParseImageExample(std::string(12, '\xff')).ok());
}

TEST(ExampleProtoTest, EncoderRoundTripsThroughTheIndependentParser) {
  ExampleFeatures f;
  f.bytes = {{"image/encoded", "abc"}};
  f.int64s = {{"image/class/label", 999}};
  EXPECT_EQ(EncodeExample(f),
            ExampleOf({Entry("image/encoded", BytesFeature("abc")),
                       Entry("image/class/label", Int64Packed(999))}));
}

// ---- Framing -------------------------------------------------------------

TEST(TfrecordTest, AppendMatchesIndependentFraming) {
  std::string mine;
  AppendTfrecord("hello", &mine);
  EXPECT_EQ(mine, Frame("hello"));
}

TEST(TfrecordTest, ScanCountsRecordsAndFindsTails) {
  const std::string dir = NewTempDir("tfr");
  const std::string ok = Frame("a") + Frame(std::string(5000, 'b')) + Frame("");
  WriteBytes(dir + "/ok", ok);
  absl::StatusOr<TfrecordScan> scan = ScanTfrecordFile(dir + "/ok");
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_EQ(scan->num_records, 3u);
  EXPECT_TRUE(scan->has_valid_record);
  EXPECT_TRUE(scan->tail_reason.empty());

  const std::string third = Frame("cccc");
  WriteBytes(dir + "/cut", ok + third.substr(0, third.size() - 2));
  scan = ScanTfrecordFile(dir + "/cut");
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->num_records, 3u);
  EXPECT_EQ(scan->tail_reason, "truncated");
  EXPECT_EQ(scan->tail_offset, ok.size());

  std::string bad_len = Frame("dd");
  bad_len[9] ^= 1;  // Corrupt the length CRC.
  WriteBytes(dir + "/badlen", Frame("x") + bad_len + Frame("y"));
  scan = ScanTfrecordFile(dir + "/badlen");
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->num_records, 1u);
  EXPECT_EQ(scan->tail_reason, "bad_crc");
  EXPECT_EQ(scan->tail_offset, Frame("x").size());
}

// ---- The imagenet: dataset's reader over hand-built files -----------------

std::unique_ptr<Dataset> OpenImagenet(const std::string& glob,
                                      uint32_t shard = 0, uint32_t shards = 1,
                                      uint64_t seed = 0) {
  DatasetOptions o;
  o.spec = "imagenet:" + glob;
  o.shard_index = shard;
  o.num_shards = shards;
  o.seed = seed;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(o);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? *std::move(ds) : nullptr;
}

TEST(ImagenetReaderTest, BadRecordsAreSkippedAndReportedWithOffsets) {
  const std::string dir = NewTempDir("tfr");
  std::string corrupt = Frame(ImageExampleBytes("img1", 1));
  corrupt[20] ^= 0x40;  // Inside the data: the data CRC no longer matches.
  const std::string r0 = Frame(ImageExampleBytes("img0", 0));
  const std::string r2 =
      Frame(ExampleOf({Entry("image/encoded", BytesFeature("img2"))}));
  const std::string r3 = Frame(ImageExampleBytes("img3", 3));
  const std::string r4 = Frame(ImageExampleBytes("img4", 5000));  // Bad label.
  const std::string r5 = Frame("not a protobuf \xff\xff");
  const std::string r6 = Frame(ImageExampleBytes("img6", 6));
  const std::string file = dir + "/train-0";
  const std::string body = r0 + corrupt + r2 + r3 + r4 + r5 + r6;
  WriteBytes(file, body + r6.substr(0, 30));  // Truncated last record.
  auto ds = OpenImagenet(dir + "/train-*");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->examples_per_epoch(), 7u);  // Counted from headers.
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  const std::vector<RawExample> got = ReadEpoch(*reader, 0);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].data, "img0");
  EXPECT_EQ(got[1].data, "img3");
  EXPECT_EQ(got[1].label, 3);
  EXPECT_EQ(got[1].index, 3u);
  EXPECT_EQ(got[2].data, "img6");
  std::map<std::string, uint64_t> events;
  for (const auto& e : skips.events()) {
    EXPECT_EQ(e.file, file);
    events[e.reason] = e.offset;
  }
  ASSERT_EQ(skips.events().size(), 5u);
  EXPECT_EQ(events["bad_crc"], r0.size());
  EXPECT_EQ(events["missing_feature"], r0.size() + corrupt.size());
  EXPECT_EQ(events["bad_label"],
            r0.size() + corrupt.size() + r2.size() + r3.size());
  EXPECT_EQ(events["bad_record"],
            r0.size() + corrupt.size() + r2.size() + r3.size() + r4.size());
  EXPECT_EQ(events["truncated"], body.size());
  // Random access through the offsets kept at open: bad bytes are
  // DATA_LOSS (left out alike on every replica), good records as read.
  ASSERT_TRUE(ds->random_access());
  EXPECT_EQ(ds->ReadRecord(0)->data, "img0");
  for (uint64_t bad : {1, 2, 4, 5}) {
    absl::Status st = ds->ReadRecord(bad).status();
    EXPECT_TRUE(absl::IsDataLoss(st)) << bad << ": " << st;
  }
  absl::StatusOr<RawExample> three = ds->ReadRecord(3);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(three->data, "img3");
  EXPECT_EQ(three->label, 3);
  EXPECT_EQ(three->index, 3u);
  EXPECT_EQ(ds->ReadRecord(6)->data, "img6");
  EXPECT_TRUE(absl::IsOutOfRange(ds->ReadRecord(7).status()));
  // A file that disappears is an I/O error, not bad data.
  ASSERT_EQ(std::remove(file.c_str()), 0);
  absl::Status gone = ds->ReadRecord(0).status();
  EXPECT_FALSE(gone.ok());
  EXPECT_FALSE(absl::IsDataLoss(gone)) << gone;
}

TEST(ImagenetReaderTest, BadLengthCrcSkipsTheRestOfTheFile) {
  const std::string dir = NewTempDir("tfr");
  std::string lost = Frame(ImageExampleBytes("b", 1));
  lost[3] ^= 1;  // Length bytes no longer match their CRC.
  const std::string first = Frame(ImageExampleBytes("a", 0));
  WriteBytes(dir + "/f", first + lost + Frame(ImageExampleBytes("c", 2)));
  auto ds = OpenImagenet(dir + "/f");
  ASSERT_NE(ds, nullptr);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  const std::vector<RawExample> got = ReadEpoch(*reader, 0);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(skips.events().size(), 1u);
  EXPECT_EQ(skips.events()[0].reason, "bad_crc");
  EXPECT_EQ(skips.events()[0].offset, first.size());
}

TEST(ImagenetReaderTest, StartUpErrors) {
  const std::string dir = NewTempDir("tfr");
  DatasetOptions o;
  o.spec = "imagenet:" + dir;
  absl::Status s = OpenDataset(o).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("is a directory"), absl::string_view::npos) << s;

  o.spec = "imagenet:" + dir + "/none-*";
  EXPECT_TRUE(absl::IsNotFound(OpenDataset(o).status()));

  std::string bad = Frame("zzz");
  bad[13] ^= 1;  // The only record fails its data CRC.
  WriteBytes(dir + "/bad", bad);
  o.spec = "imagenet:" + dir + "/bad";
  s = OpenDataset(o).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find(dir + "/bad"), absl::string_view::npos) << s;

  WriteBytes(dir + "/empty", "");
  o.spec = "imagenet:" + dir + "/empty";
  s = OpenDataset(o).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("no valid record"), absl::string_view::npos);

  WriteBytes(dir + "/short", Frame("abc").substr(0, 10));
  o.spec = "imagenet:" + dir + "/short";
  EXPECT_TRUE(absl::IsFailedPrecondition(OpenDataset(o).status()));
}

// 3 replicas read every record exactly once per epoch, by file and by record.
void ExpectShardsCoverOnce(const std::vector<int>& counts) {
  const std::string dir = NewTempDir("tfr");
  int total = 0;
  for (size_t f = 0; f < counts.size(); ++f) {
    std::string body;
    for (int r = 0; r < counts[f]; ++r, ++total) {
      body +=
          Frame(ImageExampleBytes(absl::StrCat("img", total), total % 1000));
    }
    WriteBytes(absl::StrFormat("%s/train-%03d", dir, f), body);
  }
  std::map<std::string, int> seen;
  uint64_t sizes = 0;
  for (uint32_t k = 0; k < 3; ++k) {
    auto ds = OpenImagenet(dir + "/train-*", k, 3, 77);
    ASSERT_NE(ds, nullptr);
    sizes += ds->examples_per_epoch();
    RecordingSkipSink skips;
    auto reader = ds->NewReader(&skips);
    const std::vector<RawExample> got = ReadEpoch(*reader, 1);
    EXPECT_EQ(got.size(), ds->examples_per_epoch());
    for (const RawExample& ex : got) {
      ++seen[ex.data];
      EXPECT_EQ(ex.data, absl::StrCat("img", ex.index));
    }
    EXPECT_TRUE(skips.events().empty());
    // Random access: the shard's positions name exactly the records its
    // reader hands out, in global order.
    std::set<uint64_t> read;
    for (const RawExample& ex : got) read.insert(ex.index);
    std::vector<uint64_t> positions;
    for (uint64_t p = 0; p < ds->examples_per_epoch(); ++p) {
      positions.push_back(ds->ShardRecord(p));
      absl::StatusOr<RawExample> ex = ds->ReadRecord(positions.back());
      ASSERT_TRUE(ex.ok()) << ex.status();
      EXPECT_EQ(ex->data, absl::StrCat("img", positions.back()));
    }
    EXPECT_EQ(positions, std::vector<uint64_t>(read.begin(), read.end()));
  }
  EXPECT_EQ(sizes, static_cast<uint64_t>(total));
  ASSERT_EQ(seen.size(), static_cast<size_t>(total));
  for (const auto& [name, n] : seen) EXPECT_EQ(n, 1) << name;
}

TEST(ImagenetReaderTest, ThreeShardsManyFiles) {
  ExpectShardsCoverOnce({4, 2, 5, 3, 3});
}
TEST(ImagenetReaderTest, ThreeShardsFewFiles) { ExpectShardsCoverOnce({8, 5}); }

}  // namespace
}  // namespace inputserve
