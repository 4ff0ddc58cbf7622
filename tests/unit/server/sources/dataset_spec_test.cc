// OpenDataset's spec parsing and start-up validation: codes and messages.
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "server/sources/dataset.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::WriteBytes;

absl::Status OpenStatus(const std::string& spec, int image_size = 224,
                        uint32_t shard = 0, uint32_t shards = 1) {
  DatasetOptions o;
  o.spec = spec;
  o.image_size = image_size;
  o.shard_index = shard;
  o.num_shards = shards;
  return OpenDataset(o).status();
}

void ExpectError(const absl::Status& s, absl::StatusCode code,
                 const std::string& needle) {
  EXPECT_EQ(s.code(), code) << s;
  EXPECT_NE(s.message().find(needle), absl::string_view::npos)
      << "message '" << s.message() << "' lacks '" << needle << "'";
}

TEST(DatasetSpecTest, MalformedSpecsAreInvalidArgument) {
  ExpectError(OpenStatus("nonsense"), absl::StatusCode::kInvalidArgument,
              "has no format");
  ExpectError(OpenStatus("mnist:/tmp"), absl::StatusCode::kInvalidArgument,
              "unknown dataset format 'mnist'");
  ExpectError(OpenStatus("synthetic:mnist"), absl::StatusCode::kInvalidArgument,
              "synthetic:cifar10");
  ExpectError(OpenStatus("cifar10:"), absl::StatusCode::kInvalidArgument,
              "empty path");
  ExpectError(OpenStatus("imagenet:"), absl::StatusCode::kInvalidArgument,
              "empty path");
  ExpectError(OpenStatus("synthetic:imagenet", 0),
              absl::StatusCode::kInvalidArgument, "image_size");
  ExpectError(OpenStatus("synthetic:imagenet", 100000),
              absl::StatusCode::kInvalidArgument, "image_size");
  ExpectError(OpenStatus("synthetic:cifar10", 224, 3, 3),
              absl::StatusCode::kInvalidArgument, "shard_index");
  ExpectError(OpenStatus("synthetic:cifar10", 224, 0, 0),
              absl::StatusCode::kInvalidArgument, "num_shards");
  EXPECT_TRUE(OpenStatus("synthetic:cifar10").ok());
}

TEST(DatasetSpecTest, MissingFilesAreNotFound) {
  const std::string dir = NewTempDir("spec");
  ExpectError(OpenStatus("cifar10:" + dir + "/nothing*.bin"),
              absl::StatusCode::kNotFound, "nothing*.bin");
  ExpectError(OpenStatus("cifar10:" + dir + "/missing.bin"),
              absl::StatusCode::kNotFound, "missing.bin");
  ExpectError(OpenStatus("cifar10:" + dir), absl::StatusCode::kNotFound,
              "has no data files");
}

TEST(DatasetSpecTest, DirectoryWhereAFileIsNeeded) {
  const std::string dir = NewTempDir("spec");
  ASSERT_EQ(::mkdir((dir + "/sub.bin").c_str(), 0755), 0);
  ExpectError(OpenStatus("cifar10:" + dir + "/*.bin"),
              absl::StatusCode::kFailedPrecondition, "sub.bin");
}

TEST(DatasetSpecTest, UnreadableFileIsFailedPrecondition) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of mode";
  const std::string dir = NewTempDir("spec");
  const std::string path = dir + "/data_batch_1.bin";
  WriteBytes(path, std::string(3073, '\0'));
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  ExpectError(OpenStatus("cifar10:" + path),
              absl::StatusCode::kFailedPrecondition, path);
}

}  // namespace
}  // namespace inputserve
