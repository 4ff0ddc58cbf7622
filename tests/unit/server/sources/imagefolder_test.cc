// ImageFolder trees: torchvision's class and ordering rules (sorted class
// directories, recursive walk, extensions in any case, symlinks followed,
// other files ignored), exactly-once sharding, per-epoch shuffling, random
// access, unreadable files skipped by reason, and clear open errors.
#include "server/sources/imagefolder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/codec/jpeg_decoder.h"
#include "server/tools/datagen.h"
#include "server/tools/encoders.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::ReadBytes;
using ::inputserve::testing::ReadEpoch;
using ::inputserve::testing::RecordingSkipSink;
using ::inputserve::testing::WriteBytes;

std::unique_ptr<Dataset> Open(const std::string& root, uint32_t shard = 0,
                              uint32_t shards = 1, bool shuffle = false,
                              uint64_t seed = 0) {
  DatasetOptions o;
  o.spec = "imagefolder:" + root;
  o.shard_index = shard;
  o.num_shards = shards;
  o.image_size = 32;
  o.shuffle_files = shuffle;
  o.seed = seed;
  absl::StatusOr<std::unique_ptr<Dataset>> ds = OpenDataset(o);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? *std::move(ds) : nullptr;
}

void MakeDir(const std::string& p) {
  ASSERT_EQ(::mkdir(p.c_str(), 0755), 0) << p;
}
void Link(const std::string& target, const std::string& link) {
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0) << link;
}

// A tree exercising every rule; contents are the file's own relative path,
// so the reader's bytes say which file it read.
std::string MakeTree() {
  const std::string root = NewTempDir("imagefolder");
  for (const char* d : {"zebra", "Ant", "cat", "cat/sub", "cat/sub/deeper",
                        "cat.d", "empty", "other"}) {
    MakeDir(root + "/" + d);
  }
  for (const char* f :
       {"zebra/1.jpg", "Ant/b.PNG", "Ant/a.JPEG", "cat/x.jpg", "cat/sub/y.png",
        "cat/sub/deeper/z.jpeg", "cat/sub.jpg", "cat/notes.txt", "cat/noext",
        "cat.d/q.jpg", "zebra/.hidden.jpg", "other/o.jpg"}) {
    WriteBytes(root + "/" + f, f);
  }
  Link(root + "/other", root + "/linked");                // A linked class.
  Link(root + "/zebra/1.jpg", root + "/cat/link.jpg");    // A linked image.
  Link(root + "/missing.jpg", root + "/cat/broken.jpg");  // Broken link.
  Link(root + "/cat", root + "/cat/sub/loop");            // A cycle.
  WriteBytes(root + "/top.jpg", "not in a class");
  return root;
}

TEST(ImageFolderTest, TorchvisionClassesAndOrder) {
  const std::string root = MakeTree();
  absl::StatusOr<ImageFolderIndex> index = IndexImageFolder(root);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->classes,
            (std::vector<std::string>{"Ant", "cat", "cat.d", "empty", "linked",
                                      "other", "zebra"}));
  std::vector<std::string> paths;
  for (size_t i = 0; i < index->size(); ++i) {
    paths.push_back(index->FullPath(i).substr(root.size() + 1));
  }
  // Within a class: directories sorted by path (os.walk + sorted), files
  // sorted by name in each.
  EXPECT_EQ(paths,
            (std::vector<std::string>{
                "Ant/a.JPEG", "Ant/b.PNG", "cat/broken.jpg", "cat/link.jpg",
                "cat/sub.jpg", "cat/x.jpg", "cat/sub/y.png",
                "cat/sub/deeper/z.jpeg", "cat.d/q.jpg", "linked/o.jpg",
                "other/o.jpg", "zebra/.hidden.jpg", "zebra/1.jpg"}));
  EXPECT_EQ(index->labels,
            (std::vector<int32_t>{0, 0, 1, 1, 1, 1, 1, 1, 2, 4, 5, 6, 6}));
}

TEST(ImageFolderTest, ReaderServesFilesWithLabelsAndSkipsUnreadable) {
  const std::string root = MakeTree();
  auto ds = Open(root);
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->shape().num_classes, 7);
  EXPECT_EQ(ds->class_names().size(), 7u);
  EXPECT_EQ(ds->class_names()[1], "cat");
  EXPECT_EQ(ds->examples_per_epoch(), 13u);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  const std::vector<RawExample> all = ReadEpoch(*reader, 0);
  ASSERT_EQ(all.size(), 12u);  // The broken link is skipped.
  ASSERT_EQ(skips.events().size(), 1u);
  EXPECT_EQ(skips.events()[0].reason, "unreadable");
  EXPECT_NE(skips.events()[0].file.find("broken.jpg"), std::string::npos);
  EXPECT_EQ(all[0].data, "Ant/a.JPEG");
  EXPECT_EQ(all[0].label, 0);
  EXPECT_EQ(all[2].data, "zebra/1.jpg");  // Through cat/link.jpg.
  EXPECT_EQ(all[2].label, 1);
  for (const RawExample& ex : all) {
    absl::StatusOr<RawExample> again = ds->ReadRecord(ex.index);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->data, ex.data);
    EXPECT_EQ(again->label, ex.label);
  }
  EXPECT_FALSE(ds->ReadRecord(2).ok());  // The broken link.
  EXPECT_TRUE(absl::IsOutOfRange(ds->ReadRecord(13).status()));
}

TEST(ImageFolderTest, ShardsExactlyOnceAndShufflesPerEpoch) {
  DatagenOptions g;
  g.format = DatagenOptions::Format::kImageFolder;
  g.out_dir = NewTempDir("imagefolder");
  g.num_examples = 40;
  g.num_classes = 5;
  g.min_size = g.max_size = 16;
  ASSERT_TRUE(WriteDataset(g).ok());
  std::vector<uint64_t> epoch0, epoch1;
  std::multiset<uint64_t> seen;
  uint64_t planned = 0;
  for (uint32_t k = 0; k < 3; ++k) {
    auto ds = Open(g.out_dir, k, 3, /*shuffle=*/true, /*seed=*/4);
    ASSERT_NE(ds, nullptr);
    planned += ds->examples_per_epoch();
    RecordingSkipSink skips;
    auto reader = ds->NewReader(&skips);
    std::vector<uint64_t> order;
    for (const RawExample& ex : ReadEpoch(*reader, 0)) {
      seen.insert(ex.index);
      order.push_back(ex.index);
      EXPECT_EQ(ex.index % 3, k);
    }
    if (k == 0) {
      epoch0 = order;
      for (const RawExample& ex : ReadEpoch(*reader, 1)) {
        epoch1.push_back(ex.index);
      }
    }
  }
  EXPECT_EQ(planned, 40u);
  EXPECT_EQ(seen.size(), 40u);
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), 40u);
  EXPECT_NE(epoch0, epoch1);
  EXPECT_FALSE(std::is_sorted(epoch0.begin(), epoch0.end()));
  std::sort(epoch0.begin(), epoch0.end());
  std::sort(epoch1.begin(), epoch1.end());
  EXPECT_EQ(epoch0, epoch1);
}

TEST(ImageFolderTest, RealPhotosDecodeAsJpegAndPng) {
  const std::string root = NewTempDir("imagefolder");
  MakeDir(root + "/jpeg");
  MakeDir(root + "/png");
  int n = 0;
  JpegDecoder jpeg_decoder;
  for (const char* p :
       {"/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg",
        "/usr/lib/python3/dist-packages/skimage/data/rocket.jpg"}) {
    const std::string jpeg = ReadBytes(p);
    if (jpeg.empty()) continue;
    DecodedImage img;
    ASSERT_TRUE(jpeg_decoder.DecodeFull(jpeg, 1, &img).ok());
    absl::StatusOr<std::string> png = EncodePng(
        img.pixels.data(), img.width, img.height, PngLayout::kPalette8);
    ASSERT_TRUE(png.ok());
    WriteBytes(root + "/jpeg/" + std::to_string(n) + ".jpg", jpeg);
    WriteBytes(root + "/png/" + std::to_string(n) + ".png", *png);
    ++n;
  }
  if (n == 0) GTEST_SKIP() << "no Debian photos installed";
  // A corrupt file: read fine, fails to decode (the pipeline counts it).
  WriteBytes(root + "/png/corrupt.png", "\x89PNG\r\n\x1a\n garbage");
  auto ds = Open(root);
  ASSERT_NE(ds, nullptr);
  RecordingSkipSink skips;
  auto reader = ds->NewReader(&skips);
  auto decoder = ds->NewDecoder();
  std::vector<uint8_t> image(32 * 32 * 3);
  int ok = 0, failed = 0;
  for (const RawExample& ex : ReadEpoch(*reader, 0)) {
    int32_t label = -1;
    if (decoder->Decode(ex, 1, image.data(), &label).ok()) {
      ++ok;
      EXPECT_EQ(label, ex.label);
    } else {
      ++failed;
    }
  }
  EXPECT_EQ(ok, 2 * n);
  EXPECT_EQ(failed, 1);
}

TEST(ImageFolderTest, OpenErrorsNameTheProblem) {
  DatasetOptions o;
  const std::string root = NewTempDir("imagefolder");
  o.spec = "imagefolder:" + root + "/missing";
  EXPECT_TRUE(absl::IsNotFound(OpenDataset(o).status()));
  WriteBytes(root + "/file", "x");
  o.spec = "imagefolder:" + root + "/file";
  EXPECT_NE(OpenDataset(o).status().message().find("not a directory"),
            std::string::npos);
  o.spec = "imagefolder:" + root;
  EXPECT_NE(OpenDataset(o).status().message().find("no class directories"),
            std::string::npos);
  MakeDir(root + "/a");
  WriteBytes(root + "/a/readme.txt", "x");
  absl::Status s = OpenDataset(o).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("no .jpg, .jpeg or .png"), std::string::npos) << s;
  o.spec = "imagefolder:";
  EXPECT_TRUE(absl::IsInvalidArgument(OpenDataset(o).status()));
}

}  // namespace
}  // namespace inputserve
