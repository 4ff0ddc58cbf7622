// inputserve-datagen's library: its output reads back through OpenDataset,
// is deterministic for a seed, and is learnable.
#include "server/tools/datagen.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "server/sources/dataset.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::ReadBytes;
using ::inputserve::testing::ReadEpoch;
using ::inputserve::testing::RecordingSkipSink;

DatagenOptions CifarOptions(const std::string& dir, uint64_t n, uint64_t seed) {
  DatagenOptions o;
  o.format = DatagenOptions::Format::kCifar10;
  o.out_dir = dir;
  o.num_examples = n;
  o.seed = seed;
  o.num_files = 3;
  return o;
}

TEST(DatagenTest, CifarReadsBackThroughOpenDataset) {
  const std::string dir = NewTempDir("datagen") + "/nested/out";
  absl::StatusOr<std::vector<std::string>> files =
      WriteDataset(CifarOptions(dir, 100, 1));
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0], dir + "/data_batch_1.bin");
  DatasetOptions d;
  d.spec = "cifar10:" + dir;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(d);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->examples_per_epoch(), 100u);
  RecordingSkipSink skips;
  auto reader = (*ds)->NewReader(&skips);
  const std::vector<RawExample> all = ReadEpoch(*reader, 0);
  ASSERT_EQ(all.size(), 100u);
  std::vector<int> per_class(10);
  for (const RawExample& ex : all) {
    EXPECT_EQ(ex.label, DatagenLabel(1, ex.index, 10));
    ++per_class[ex.label];
  }
  for (int c : per_class) EXPECT_GT(c, 0);
  EXPECT_TRUE(skips.events().empty());
}

TEST(DatagenTest, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string a = NewTempDir("datagen"), b = NewTempDir("datagen"),
                    c = NewTempDir("datagen");
  ASSERT_TRUE(WriteDataset(CifarOptions(a, 30, 9)).ok());
  ASSERT_TRUE(WriteDataset(CifarOptions(b, 30, 9)).ok());
  ASSERT_TRUE(WriteDataset(CifarOptions(c, 30, 10)).ok());
  EXPECT_EQ(ReadBytes(a + "/data_batch_2.bin"),
            ReadBytes(b + "/data_batch_2.bin"));
  EXPECT_NE(ReadBytes(a + "/data_batch_2.bin"),
            ReadBytes(c + "/data_batch_2.bin"));
}

// A nearest-class-mean classifier trained on one half must beat chance (10%)
// by far on the other half: the images carry class information.
TEST(DatagenTest, CifarImagesAreLearnable) {
  const std::string dir = NewTempDir("datagen");
  ASSERT_TRUE(WriteDataset(CifarOptions(dir, 600, 3)).ok());
  DatasetOptions d;
  d.spec = "cifar10:" + dir;
  d.augment = false;
  auto ds = OpenDataset(d);
  ASSERT_TRUE(ds.ok());
  RecordingSkipSink skips;
  auto reader = (*ds)->NewReader(&skips);
  auto decoder = (*ds)->NewDecoder();
  std::vector<std::vector<double>> mean(10, std::vector<double>(3072));
  std::vector<int> count(10);
  std::vector<std::pair<std::vector<uint8_t>, int>> test;
  for (const RawExample& ex : ReadEpoch(*reader, 0)) {
    std::vector<uint8_t> img(3072);
    int32_t label;
    ASSERT_TRUE(decoder->Decode(ex, 0, img.data(), &label).ok());
    if (ex.index % 2 == 0) {
      for (int i = 0; i < 3072; ++i) mean[label][i] += img[i];
      ++count[label];
    } else {
      test.emplace_back(std::move(img), label);
    }
  }
  for (int c = 0; c < 10; ++c) {
    ASSERT_GT(count[c], 0);
    for (double& v : mean[c]) v /= count[c];
  }
  int correct = 0;
  for (const auto& [img, label] : test) {
    int best = -1;
    double best_d = 1e300;
    for (int c = 0; c < 10; ++c) {
      double dist = 0;
      for (int i = 0; i < 3072; ++i) dist += std::pow(img[i] - mean[c][i], 2);
      if (dist < best_d) best_d = dist, best = c;
    }
    correct += best == label;
  }
  EXPECT_GT(correct, static_cast<int>(test.size()) / 2)
      << correct << " of " << test.size();
}

TEST(DatagenTest, TfrecordJpegsReadBackAndDecode) {
  const std::string dir = NewTempDir("datagen");
  DatagenOptions o;
  o.format = DatagenOptions::Format::kTfrecord;
  o.out_dir = dir;
  o.num_examples = 12;
  o.num_files = 2;
  o.seed = 4;
  o.min_size = 40;
  o.max_size = 90;
  o.grayscale_fraction = 0.5;
  absl::StatusOr<std::vector<std::string>> files = WriteDataset(o);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[1], dir + "/train-00001-of-00002");
  DatasetOptions d;
  d.spec = "imagenet:" + dir + "/train-*";
  d.image_size = 32;
  auto ds = OpenDataset(d);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->examples_per_epoch(), 12u);
  RecordingSkipSink skips;
  auto reader = (*ds)->NewReader(&skips);
  auto decoder = (*ds)->NewDecoder();
  const std::vector<RawExample> all = ReadEpoch(*reader, 0);
  ASSERT_EQ(all.size(), 12u);
  int gray = 0;
  for (const RawExample& ex : all) {
    EXPECT_EQ(ex.label, DatagenLabel(4, ex.index, 1000));
    std::vector<uint8_t> img(32 * 32 * 3);
    int32_t label = -1;
    absl::Status s = decoder->Decode(ex, ex.index, img.data(), &label);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(label, ex.label);
    bool is_gray = true;
    for (size_t i = 0; i < img.size(); i += 3) {
      is_gray &= img[i] == img[i + 1] && img[i] == img[i + 2];
    }
    gray += is_gray;
  }
  EXPECT_GT(gray, 0);
  EXPECT_LT(gray, 12);
  EXPECT_TRUE(skips.events().empty());
  // Deterministic for a seed.
  const std::string again = NewTempDir("datagen");
  o.out_dir = again;
  ASSERT_TRUE(WriteDataset(o).ok());
  EXPECT_EQ(ReadBytes(dir + "/train-00000-of-00002"),
            ReadBytes(again + "/train-00000-of-00002"));
}

TEST(DatagenTest, RejectsBadOptions) {
  DatagenOptions o = CifarOptions("", 10, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(CheckDatagenOptions(o)));
  o = CifarOptions("/tmp/x", 0, 0);
  absl::Status s = CheckDatagenOptions(o);
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_NE(s.message().find("--num_examples"), absl::string_view::npos);
  o = CifarOptions("/tmp/x", 10, 0);
  o.format = DatagenOptions::Format::kTfrecord;
  o.min_size = 500;
  o.max_size = 400;
  s = CheckDatagenOptions(o);
  EXPECT_NE(s.message().find("--max_size"), absl::string_view::npos) << s;
  o.max_size = 600;
  o.quality = 0;
  s = CheckDatagenOptions(o);
  EXPECT_NE(s.message().find("--quality"), absl::string_view::npos) << s;
  o.quality = 90;
  o.format = DatagenOptions::Format::kWebDataset;
  o.png_fraction = 1.5;
  s = CheckDatagenOptions(o);
  EXPECT_NE(s.message().find("--png_fraction"), absl::string_view::npos) << s;
}

TEST(DatagenTest, ImageFolderHasEveryClassAndMixesPngAndJpeg) {
  DatagenOptions o;
  o.format = DatagenOptions::Format::kImageFolder;
  o.out_dir = NewTempDir("datagen");
  o.num_examples = 40;
  o.num_classes = 12;
  o.min_size = 16;
  o.max_size = 24;
  o.png_fraction = 0.5;
  absl::StatusOr<std::vector<std::string>> files = WriteDataset(o);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 40u);
  int png = 0;
  for (size_t i = 0; i < files->size(); ++i) {
    const std::string& f = (*files)[i];
    // <out>/class_<label>/<index>.<ext>, the label DatagenLabel's.
    EXPECT_NE(
        f.find(absl::StrFormat("/class_%04d/%08d.", DatagenLabel(0, i, 12), i)),
        std::string::npos)
        << f;
    const std::string bytes = ReadBytes(f);
    const bool is_png = f.substr(f.size() - 4) == ".png";
    png += is_png;
    EXPECT_EQ(bytes.substr(1, 3) == "PNG", is_png) << f;
  }
  EXPECT_GT(png, 5);
  EXPECT_LT(png, 35);
  DatasetOptions d;
  d.spec = "imagefolder:" + o.out_dir;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(d);
  ASSERT_TRUE(ds.ok()) << ds.status();
  // Every class directory exists, even one that received no image.
  EXPECT_EQ((*ds)->shape().num_classes, 12);
  EXPECT_EQ((*ds)->examples_per_epoch(), 40u);
}

}  // namespace
}  // namespace inputserve
