#include "server/sources/cifar10.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::ReadEpoch;
using ::inputserve::testing::RecordingSkipSink;
using ::inputserve::testing::WriteBytes;

constexpr int kPlane = 1024;

// Pixel value of channel c at plane position p of global record i.
uint8_t Pixel(uint64_t i, int c, int p) {
  return static_cast<uint8_t>(i * 7 + c * 50 + p * 3 + (p >> 5));
}

// Writes `counts[f]` records to data_batch_<f+1>.bin; record i has label
// i % 10 and pixels Pixel(i, ...). Returns the directory.
std::string WriteCifar(const std::vector<int>& counts) {
  const std::string dir = NewTempDir("cifar");
  uint64_t i = 0;
  for (size_t f = 0; f < counts.size(); ++f) {
    std::string data;
    for (int r = 0; r < counts[f]; ++r, ++i) {
      data.push_back(static_cast<char>(i % 10));
      for (int c = 0; c < 3; ++c) {
        for (int p = 0; p < kPlane; ++p)
          data.push_back(static_cast<char>(Pixel(i, c, p)));
      }
    }
    WriteBytes(absl::StrCat(dir, "/data_batch_", f + 1, ".bin"), data);
  }
  return dir;
}

std::unique_ptr<Dataset> Open(const std::string& spec, uint32_t shard = 0,
                              uint32_t shards = 1, bool augment = false,
                              uint64_t seed = 1) {
  DatasetOptions o;
  o.spec = spec;
  o.shard_index = shard;
  o.num_shards = shards;
  o.augment = augment;
  o.seed = seed;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(o);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? *std::move(ds) : nullptr;
}

TEST(Cifar10Test, RandomAccessMatchesTheReaderAcrossFiles) {
  const std::string dir = WriteCifar({4, 3});
  auto ds = Open("cifar10:" + dir, 1, 2);
  ASSERT_NE(ds, nullptr);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  for (const RawExample& ex : ReadEpoch(*reader, 0)) {
    // Any shard reads any record: the index is global.
    absl::StatusOr<RawExample> again = ds->ReadRecord(ex.index);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->data, ex.data);
    EXPECT_EQ(again->label, ex.label);
    EXPECT_EQ(again->index, ex.index);
  }
  absl::StatusOr<RawExample> r6 = ds->ReadRecord(6);  // Second file, last.
  ASSERT_TRUE(r6.ok()) << r6.status();
  EXPECT_EQ(r6->label, 6);
  EXPECT_EQ(static_cast<uint8_t>(r6->data[5]), Pixel(6, 0, 5));
  EXPECT_TRUE(absl::IsOutOfRange(ds->ReadRecord(7).status()));
}

TEST(Cifar10Test, ReadsEveryRecordAndConvertsToHwcPixelByPixel) {
  const std::string dir = WriteCifar({4, 3});
  auto ds = Open("cifar10:" + dir);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->examples_per_epoch(), 7u);
  EXPECT_EQ(ds->shape().height, 32);
  EXPECT_EQ(ds->shape().width, 32);
  EXPECT_EQ(ds->shape().num_classes, 10);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  auto decoder = ds->NewDecoder();
  const std::vector<RawExample> epoch = ReadEpoch(*reader, 0);
  ASSERT_EQ(epoch.size(), 7u);
  std::set<uint64_t> ids;
  std::vector<uint8_t> img(32 * 32 * 3);
  for (const RawExample& ex : epoch) {
    ids.insert(ex.index);
    int32_t label = -1;
    ASSERT_TRUE(decoder->Decode(ex, 99, img.data(), &label).ok());
    EXPECT_EQ(label, static_cast<int32_t>(ex.index % 10));
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        for (int c = 0; c < 3; ++c) {
          ASSERT_EQ(img[(y * 32 + x) * 3 + c], Pixel(ex.index, c, y * 32 + x))
              << "record " << ex.index << " y=" << y << " x=" << x
              << " c=" << c;
        }
      }
    }
  }
  EXPECT_EQ(ids.size(), 7u);
  EXPECT_TRUE(skips.events().empty());
}

// Every augmented output must be one of the 9x9x2 pad-crop-flip variants.
TEST(Cifar10Test, AugmentationIsAPadCropFlipAndDeterministic) {
  const std::string dir = WriteCifar({1});
  auto ds = Open("cifar10:" + dir, 0, 1, /*augment=*/true);
  ASSERT_NE(ds, nullptr);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  const std::vector<RawExample> epoch = ReadEpoch(*reader, 0);
  ASSERT_EQ(epoch.size(), 1u);
  auto decoder = ds->NewDecoder();
  std::set<std::vector<uint8_t>> distinct;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::vector<uint8_t> a(3072), b(3072);
    int32_t la, lb;
    ASSERT_TRUE(decoder->Decode(epoch[0], seed, a.data(), &la).ok());
    ASSERT_TRUE(decoder->Decode(epoch[0], seed, b.data(), &lb).ok());
    ASSERT_EQ(a, b) << "seed " << seed;
    distinct.insert(a);
    bool matched = false;
    for (int dy = -4; dy <= 4 && !matched; ++dy) {
      for (int dx = -4; dx <= 4 && !matched; ++dx) {
        for (int flip = 0; flip < 2 && !matched; ++flip) {
          bool ok = true;
          for (int y = 0; y < 32 && ok; ++y) {
            for (int x = 0; x < 32 && ok; ++x) {
              const int sx = (flip ? 31 - x : x) + dx, sy = y + dy;
              for (int c = 0; c < 3 && ok; ++c) {
                const uint8_t want = (sx < 0 || sx > 31 || sy < 0 || sy > 31)
                                         ? 0
                                         : Pixel(0, c, sy * 32 + sx);
                ok = a[(y * 32 + x) * 3 + c] == want;
              }
            }
          }
          matched = ok;
        }
      }
    }
    EXPECT_TRUE(matched) << "seed " << seed << " is not a pad-crop-flip";
  }
  EXPECT_GT(distinct.size(), 20u);  // Seeds actually vary the crop.
}

TEST(Cifar10Test, BadLabelIsSkippedAndReported) {
  const std::string dir = NewTempDir("cifar");
  std::string data(2 * kCifarRecordBytes, '\x01');
  data[kCifarRecordBytes] = static_cast<char>(200);
  WriteBytes(dir + "/data_batch_1.bin", data);
  auto ds = Open("cifar10:" + dir);
  ASSERT_NE(ds, nullptr);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  EXPECT_EQ(ReadEpoch(*reader, 0).size(), 1u);
  ASSERT_EQ(skips.events().size(), 1u);
  EXPECT_EQ(skips.events()[0].reason, "bad_label");
  EXPECT_EQ(skips.events()[0].offset, kCifarRecordBytes);
  EXPECT_EQ(skips.events()[0].file, dir + "/data_batch_1.bin");
}

TEST(Cifar10Test, RejectsBadFileSizes) {
  const std::string dir = NewTempDir("cifar");
  WriteBytes(dir + "/data_batch_1.bin", std::string(3072, 'x'));
  DatasetOptions o;
  o.spec = "cifar10:" + dir;
  absl::Status s = OpenDataset(o).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("data_batch_1.bin"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("3072"), absl::string_view::npos) << s;

  WriteBytes(dir + "/data_batch_1.bin", "");
  s = OpenDataset(o).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
}

TEST(Cifar10Test, DirectoryPrefersTrainingBatches) {
  const std::string dir = WriteCifar({2, 2});
  WriteBytes(dir + "/test_batch.bin", std::string(kCifarRecordBytes, '\0'));
  auto ds = Open("cifar10:" + dir);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->examples_per_epoch(), 4u);
  auto test_ds = Open("cifar10:" + dir + "/test_batch.bin");
  ASSERT_NE(test_ds, nullptr);
  EXPECT_EQ(test_ds->examples_per_epoch(), 1u);
}

// Three replicas together read every record exactly once, both when files
// are split between shards and when records are.
void ExpectShardsCoverOnce(const std::vector<int>& counts) {
  const std::string dir = WriteCifar(counts);
  int total = 0;
  for (int c : counts) total += c;
  std::map<uint64_t, int> seen;
  uint64_t sum_sizes = 0;
  for (uint32_t k = 0; k < 3; ++k) {
    auto ds = Open("cifar10:" + dir, k, 3, false, 11);
    ASSERT_NE(ds, nullptr);
    sum_sizes += ds->examples_per_epoch();
    RecordingSkipSink skips;
    auto reader = ds->NewReader(&skips);
    const std::vector<RawExample> epoch = ReadEpoch(*reader, 2);
    EXPECT_EQ(epoch.size(), ds->examples_per_epoch());
    for (const RawExample& ex : epoch) {
      ++seen[ex.index];
      EXPECT_EQ(ex.label, static_cast<int64_t>(ex.index % 10));
      EXPECT_EQ(static_cast<uint8_t>(ex.data[5]), Pixel(ex.index, 0, 5));
    }
  }
  EXPECT_EQ(sum_sizes, static_cast<uint64_t>(total));
  ASSERT_EQ(seen.size(), static_cast<size_t>(total));
  for (const auto& [index, n] : seen) EXPECT_EQ(n, 1) << index;
}

TEST(Cifar10Test, ThreeShardsManyFilesCoverEachRecordOnce) {
  ExpectShardsCoverOnce({3, 5, 2, 4, 1, 6, 2});
}

TEST(Cifar10Test, ThreeShardsFewFilesCoverEachRecordOnce) {
  ExpectShardsCoverOnce({7, 4});
}

TEST(Cifar10Test, EpochFileOrderIsReshuffledDeterministically) {
  const std::string dir = WriteCifar({1, 1, 1, 1, 1, 1, 1, 1});
  auto order = [&](uint64_t seed, uint64_t epoch) {
    auto ds = Open("cifar10:" + dir, 0, 1, false, seed);
    RecordingSkipSink skips;
    auto reader = ds->NewReader(&skips);
    std::vector<uint64_t> ids;
    for (const RawExample& ex : ReadEpoch(*reader, epoch))
      ids.push_back(ex.index);
    return ids;
  };
  EXPECT_EQ(order(3, 0), order(3, 0));
  EXPECT_EQ(order(3, 1), order(3, 1));
  EXPECT_NE(order(3, 0), order(3, 1));
  EXPECT_NE(order(3, 0), order(4, 0));
}

TEST(Cifar10Test, ShuffleFilesOffKeepsSortedOrderEveryEpoch) {
  const std::string dir = WriteCifar({2, 1, 3, 1});
  DatasetOptions o;
  o.spec = "cifar10:" + dir;
  o.seed = 5;
  o.shuffle_files = false;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(o);
  ASSERT_TRUE(ds.ok()) << ds.status();
  RecordingSkipSink skips;
  auto reader = (*ds)->NewReader(&skips);
  for (uint64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<uint64_t> ids;
    for (const RawExample& ex : ReadEpoch(*reader, epoch))
      ids.push_back(ex.index);
    EXPECT_EQ(ids, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6})) << epoch;
  }
}

TEST(Cifar10Test, ReaderRestartsEpochs) {
  const std::string dir = WriteCifar({2, 2});
  auto ds = Open("cifar10:" + dir);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  EXPECT_TRUE(absl::IsFailedPrecondition(reader->Next().status()));
  EXPECT_EQ(ReadEpoch(*reader, 0).size(), 4u);
  EXPECT_TRUE(absl::IsOutOfRange(reader->Next().status()));
  EXPECT_EQ(ReadEpoch(*reader, 1).size(), 4u);
}

TEST(Cifar10Test, DecoderRejectsWrongSizedRecords) {
  const std::string dir = WriteCifar({1});
  auto ds = Open("cifar10:" + dir);
  auto decoder = ds->NewDecoder();
  RawExample ex;
  ex.data = std::string(100, 'x');
  std::vector<uint8_t> img(3072);
  int32_t label;
  EXPECT_TRUE(
      absl::IsInvalidArgument(decoder->Decode(ex, 0, img.data(), &label)));
}

}  // namespace
}  // namespace inputserve
