// inputserve-datagen prepare: JPEGs come out with restart markers and the
// same pixels, every other record and feature byte for byte as they were.
#include "server/tools/datagen_prepare.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/codec/jpeg_decoder.h"
#include "server/codec/jpeg_restart.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "server/tools/datagen.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::ReadBytes;
using ::inputserve::testing::WriteBytes;

// Every record of a TFRecord file, CRCs checked.
std::vector<std::string> Records(const std::string& path) {
  std::vector<std::string> out;
  absl::StatusOr<TfrecordScan> scan = ScanTfrecordFile(path);
  EXPECT_TRUE(scan.ok()) << scan.status();
  TfrecordReader reader;
  EXPECT_TRUE(reader.Open(path, scan.ok() ? scan->num_records : 0).ok());
  TfrecordRecord rec;
  while (reader.Next([](uint64_t) { return true; }, nullptr, &rec)
             .value_or(false)) {
    out.emplace_back(rec.data);
  }
  return out;
}

TEST(DatagenPrepareTest, RewritesJpegsAndKeepsEverythingElse) {
  const std::string dir = NewTempDir("prepare");
  DatagenOptions o;
  o.format = DatagenOptions::Format::kTfrecord;
  o.out_dir = dir + "/in";
  o.num_examples = 10;
  o.num_files = 2;
  o.seed = 2;
  o.min_size = 40;
  o.max_size = 120;
  o.grayscale_fraction = 0.3;
  ASSERT_TRUE(WriteDataset(o).ok());
  // A record whose image is not a JPEG and one that is not an Example.
  ExampleFeatures png;
  png.bytes = {{"image/encoded", "\x89PNG not really"}};
  png.int64s = {{"image/class/label", 3}};
  std::string extra = ReadBytes(o.out_dir + "/train-00001-of-00002");
  AppendTfrecord(EncodeExample(png), &extra);
  AppendTfrecord("not a protobuf at all \xFF\xFF", &extra);
  WriteBytes(o.out_dir + "/train-00001-of-00002", extra);

  absl::StatusOr<PrepareStats> stats =
      PrepareTfrecordDataset(o.out_dir + "/train-*", dir + "/out");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->files, 2u);
  EXPECT_EQ(stats->records, 12u);
  EXPECT_EQ(stats->rewritten, 10u);
  EXPECT_EQ(stats->unchanged, 2u);
  EXPECT_EQ(stats->corrupt, 0u);

  JpegDecoder dec;
  int checked = 0;
  for (const char* name : {"train-00000-of-00002", "train-00001-of-00002"}) {
    const std::vector<std::string> in = Records(o.out_dir + "/" + name);
    const std::vector<std::string> out = Records(dir + "/out/" + name);
    ASSERT_EQ(in.size(), out.size());
    for (size_t i = 0; i < in.size(); ++i) {
      absl::StatusOr<ImageExample> a = ParseImageExample(in[i]);
      if (!a.ok() || a->image[0] != '\xFF') {
        EXPECT_EQ(in[i], out[i]) << name << " record " << i;
        continue;
      }
      absl::StatusOr<ImageExample> b = ParseImageExample(out[i]);
      ASSERT_TRUE(b.ok()) << b.status();
      EXPECT_EQ(a->label, b->label);
      RestartIndex index;
      EXPECT_TRUE(ParseRestartIndex(b->image, &index).ok());
      DecodedImage pa, pb;
      ASSERT_TRUE(dec.DecodeFull(a->image, 1, &pa).ok());
      ASSERT_TRUE(dec.DecodeFull(b->image, 1, &pb).ok());
      EXPECT_EQ(pa.pixels, pb.pixels) << name << " record " << i;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 10);

  // Prepared data is left as it is; an output over its input is refused.
  stats = PrepareTfrecordDataset(dir + "/out/train-*", dir + "/again");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rewritten, 0u);
  EXPECT_EQ(ReadBytes(dir + "/out/train-00000-of-00002"),
            ReadBytes(dir + "/again/train-00000-of-00002"));
  stats = PrepareTfrecordDataset(dir + "/out/train-*", dir + "/out");
  EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PrepareTfrecordDataset(dir + "/none-*", dir + "/x").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DatagenPrepareTest, ReplaceNestedBytesKeepsOtherFeatures) {
  ExampleFeatures f;
  f.bytes = {{"image/format", "jpeg"}, {"image/encoded", "abc"}};
  f.int64s = {{"image/class/label", 7}};
  const std::string msg = EncodeExample(f);
  absl::StatusOr<ImageExample> ex = ParseImageExample(msg);
  ASSERT_TRUE(ex.ok());
  // Long enough that every enclosing length prefix grows a byte.
  const std::string longer(300, 'z');
  absl::StatusOr<std::string> out = ReplaceNestedBytes(msg, ex->image, longer);
  ASSERT_TRUE(out.ok()) << out.status();
  absl::StatusOr<ImageExample> back = ParseImageExample(*out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->image, longer);
  EXPECT_EQ(back->label, 7);
  absl::StatusOr<ImageExample> format =
      ParseImageExample(*out, "image/format", "image/class/label");
  ASSERT_TRUE(format.ok());
  EXPECT_EQ(format->image, "jpeg");

  EXPECT_EQ(ReplaceNestedBytes(msg, "elsewhere", "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string cut = msg.substr(0, msg.size() - 6);
  EXPECT_FALSE(ReplaceNestedBytes(
                   cut, absl::string_view(cut).substr(cut.size() - 2), "x")
                   .ok());
}

}  // namespace
}  // namespace inputserve
