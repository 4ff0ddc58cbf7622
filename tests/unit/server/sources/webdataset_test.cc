// WebDataset shards: datagen's shards read back with the right labels,
// shards split exactly once across replicas, hostile or incomplete samples
// are skipped with a named reason, random access matches the stream, and
// real photos (JPEG and PNG members) decode.
#include "server/sources/webdataset.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/codec/jpeg_decoder.h"
#include "server/tools/datagen.h"
#include "server/tools/encoders.h"
#include "source_test_util.h"
#include "tests/unit/server/codec/codec_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::ReadBytes;
using ::inputserve::testing::ReadEpoch;
using ::inputserve::testing::RecordingSkipSink;
using ::inputserve::testing::WriteBytes;

std::string MakeShards(uint64_t n, int files, double png_fraction = 0.3) {
  DatagenOptions o;
  o.format = DatagenOptions::Format::kWebDataset;
  o.out_dir = NewTempDir("wds");
  o.num_examples = n;
  o.num_files = files;
  o.seed = 5;
  o.min_size = 16;
  o.max_size = 40;
  o.num_classes = 7;
  o.png_fraction = png_fraction;
  EXPECT_TRUE(WriteDataset(o).ok());
  return o.out_dir;
}

std::unique_ptr<Dataset> Open(const std::string& spec, uint32_t shard = 0,
                              uint32_t shards = 1, bool shuffle = false) {
  DatasetOptions o;
  o.spec = spec;
  o.shard_index = shard;
  o.num_shards = shards;
  o.image_size = 32;
  o.shuffle_files = shuffle;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(o);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? *std::move(ds) : nullptr;
}

TEST(WebDatasetTest, DatagenShardsReadBackWithLabels) {
  const std::string dir = MakeShards(50, 4);
  auto ds = Open("webdataset:" + dir);  // A directory means its *.tar.
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->examples_per_epoch(), 50u);
  EXPECT_LE(ds->shape().num_classes, 7);
  EXPECT_TRUE(ds->class_names().empty());
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  const std::vector<RawExample> all = ReadEpoch(*reader, 0);
  ASSERT_EQ(all.size(), 50u);
  auto decoder = ds->NewDecoder();
  std::vector<uint8_t> image(32 * 32 * 3);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].index, i);  // Unshuffled: file order.
    EXPECT_EQ(all[i].label, DatagenLabel(5, i, 7));
    int32_t label = -1;
    ASSERT_TRUE(decoder->Decode(all[i], i, image.data(), &label).ok());
    EXPECT_EQ(label, all[i].label);
    // Random access gives the same bytes.
    absl::StatusOr<RawExample> again = ds->ReadRecord(i);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->data, all[i].data);
    EXPECT_EQ(again->label, all[i].label);
  }
  EXPECT_TRUE(absl::IsOutOfRange(ds->ReadRecord(50).status()));
  EXPECT_TRUE(skips.events().empty());
}

TEST(WebDatasetTest, ShardsServeEverySampleExactlyOnce) {
  for (int files : {4, 2}) {  // Whole files per replica, then record split.
    SCOPED_TRACE(files);
    const std::string dir = MakeShards(31, files, 0);
    std::multiset<uint64_t> seen;
    uint64_t planned = 0;
    for (uint32_t k = 0; k < 3; ++k) {
      auto ds = Open("webdataset:" + dir + "/*.tar", k, 3, /*shuffle=*/true);
      ASSERT_NE(ds, nullptr);
      planned += ds->examples_per_epoch();
      RecordingSkipSink skips;
      auto reader = ds->NewReader(&skips);
      for (const RawExample& ex : ReadEpoch(*reader, 3)) seen.insert(ex.index);
    }
    EXPECT_EQ(planned, 31u);
    ASSERT_EQ(seen.size(), 31u);
    EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), 31u);
  }
}

TEST(WebDatasetTest, IncompleteAndHostileSamplesAreSkippedByReason) {
  const std::string dir = NewTempDir("wds");
  const std::string jpeg = testing::ReadBytes(
      "/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg");
  const std::string img = jpeg.empty() ? std::string("not really") : jpeg;
  std::string tar;
  AppendTarMember("good1.jpg", img, &tar);
  AppendTarMember("good1.cls", "3\n", &tar);
  AppendTarMember("nolabel.jpg", img, &tar);   // missing_feature
  AppendTarMember("noimage.cls", "1", &tar);   // missing_feature
  AppendTarMember("badlabel.jpg", img, &tar);  // bad_label
  AppendTarMember("badlabel.cls", "cat", &tar);
  AppendTarMember("neg.jpg", img, &tar);  // bad_label
  AppendTarMember("neg.cls", "-1", &tar);
  AppendTarMember("../escape.jpg", img, &tar);   // bad_name
  AppendTarMember("/abs/x.cls", "1", &tar);      // bad_name
  AppendTarMember("sub/good2.JPEG", img, &tar);  // key "sub/good2"
  AppendTarMember("sub/good2.cls", " 5 ", &tar);
  AppendTarMember("sub/good2.txt", "caption", &tar);
  AppendTarMember("good3.jpg", std::string(5000, 'x'), &tar);
  AppendTarMember("good3.cls", "1", &tar);
  tar.resize(tar.size() - 1000);  // Cut inside the last member.
  WriteBytes(dir + "/s.tar", tar);

  auto ds = Open("webdataset:" + dir + "/s.tar");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->examples_per_epoch(), 2u);
  EXPECT_EQ(ds->shape().num_classes, 6);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  const std::vector<RawExample> all = ReadEpoch(*reader, 0);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].label, 3);
  EXPECT_EQ(all[1].label, 5);
  EXPECT_EQ(all[0].data, img);
  std::multiset<std::string> reasons;
  for (const auto& e : skips.events()) {
    reasons.insert(e.reason);
    EXPECT_EQ(e.file, dir + "/s.tar");
  }
  // The cut leaves good3 without its cls member, then a partial header.
  EXPECT_EQ(reasons, (std::multiset<std::string>{
                         "missing_feature", "missing_feature",
                         "missing_feature", "bad_label", "bad_label",
                         "bad_name", "bad_name", "truncated"}));
  // Every epoch reports them again (counted per epoch, like bad records).
  const size_t first = skips.events().size();
  ReadEpoch(*reader, 1);
  EXPECT_EQ(skips.events().size(), 2 * first);
}

TEST(WebDatasetTest, ShardWithoutSampleOrNotATarFailsToOpen) {
  const std::string dir = NewTempDir("wds");
  std::string tar;
  AppendTarMember("a.jpg", "x", &tar);
  AppendTarEnd(&tar);
  WriteBytes(dir + "/nolabels.tar", tar);
  WriteBytes(dir + "/junk.tar", std::string(3000, 'j'));
  DatasetOptions o;
  for (const char* name : {"nolabels.tar", "junk.tar"}) {
    o.spec = std::string("webdataset:") + dir + "/" + name;
    absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(o);
    EXPECT_TRUE(absl::IsFailedPrecondition(ds.status())) << ds.status();
    EXPECT_NE(ds.status().message().find(name), std::string::npos)
        << ds.status();
  }
  o.spec = "webdataset:" + dir + "/none-*.tar";
  EXPECT_TRUE(absl::IsNotFound(OpenDataset(o).status()));
}

TEST(WebDatasetTest, ShardChangedAfterOpenIsSkippedNotCrashed) {
  const std::string dir = MakeShards(10, 1, 0);
  auto ds = Open("webdataset:" + dir);
  ASSERT_NE(ds, nullptr);
  const std::string path = dir + "/shard-000000.tar";
  const std::string bytes = ReadBytes(path);
  WriteBytes(path, bytes.substr(0, bytes.size() / 2));
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  const std::vector<RawExample> got = ReadEpoch(*reader, 0);
  EXPECT_LT(got.size(), 10u);
  ASSERT_FALSE(skips.events().empty());
  EXPECT_EQ(skips.events().back().reason, "truncated");
}

TEST(WebDatasetTest, RealPhotosAsJpegAndPngMembersDecode) {
  const std::vector<std::string> photos = {
      "/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg",
      "/usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg",
      "/usr/lib/python3/dist-packages/skimage/data/rocket.jpg"};
  const std::string dir = NewTempDir("wds");
  std::string tar;
  int n = 0;
  JpegDecoder jpeg_decoder;
  for (const std::string& p : photos) {
    const std::string jpeg = ReadBytes(p);
    if (jpeg.empty()) continue;
    DecodedImage img;
    ASSERT_TRUE(jpeg_decoder.DecodeFull(jpeg, 1, &img).ok());
    absl::StatusOr<std::string> png =
        EncodePng(img.pixels.data(), img.width, img.height, PngLayout::kRgb16);
    ASSERT_TRUE(png.ok());
    AppendTarMember(absl::StrCat("j", n, ".jpg"), jpeg, &tar);
    AppendTarMember(absl::StrCat("j", n, ".cls"), absl::StrCat(n), &tar);
    AppendTarMember(absl::StrCat("p", n, ".png"), *png, &tar);
    AppendTarMember(absl::StrCat("p", n, ".cls"), absl::StrCat(n), &tar);
    ++n;
  }
  if (n == 0) GTEST_SKIP() << "no Debian photos installed";
  AppendTarEnd(&tar);
  WriteBytes(dir + "/photos.tar", tar);
  auto ds = Open("webdataset:" + dir);
  ASSERT_NE(ds, nullptr);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  auto decoder = ds->NewDecoder();
  const std::vector<RawExample> all = ReadEpoch(*reader, 0);
  ASSERT_EQ(all.size(), static_cast<size_t>(2 * n));
  std::vector<uint8_t> from_jpeg(32 * 32 * 3), from_png(32 * 32 * 3),
      other_crop(32 * 32 * 3);
  for (int i = 0; i < n; ++i) {
    int32_t l1 = -1, l2 = -1;
    ASSERT_TRUE(decoder->Decode(all[2 * i], 9, from_jpeg.data(), &l1).ok());
    ASSERT_TRUE(decoder->Decode(all[2 * i + 1], 9, from_png.data(), &l2).ok());
    ASSERT_TRUE(
        decoder->Decode(all[2 * i + 1], 10, other_crop.data(), &l2).ok());
    EXPECT_EQ(l1, i);
    EXPECT_EQ(l2, i);
    // The PNG holds the JPEG's pixels: the same seed picks the same crop and
    // flip, so the outputs differ only by filtering (the JPEG path decodes
    // at a DCT scale, the PNG at full size) and far less than another crop.
    const double same = testing::MeanAbsDiff(from_jpeg, from_png);
    const double other = testing::MeanAbsDiff(other_crop, from_png);
    std::printf("photo %d: same-seed diff %.1f, other-seed diff %.1f\n", i,
                same, other);
    EXPECT_LT(same, 20.0);
    EXPECT_LT(2 * same, other);
  }
}

}  // namespace
}  // namespace inputserve
