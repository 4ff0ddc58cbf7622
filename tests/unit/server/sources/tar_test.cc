// The tar reader: ustar, GNU long names and pax headers are read; hostile
// archives (bad checksums, absurd or lying sizes, truncation, garbage) end
// the walk with a named problem and never report data outside the file.
#include "server/sources/tar.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/tools/encoders.h"
#include "source_test_util.h"

namespace inputserve {
namespace {

using ::inputserve::testing::NewTempDir;
using ::inputserve::testing::WriteBytes;

struct Walk {
  std::vector<TarMember> members;
  std::vector<std::string> data;
  TarProblem problem;
};

Walk WalkTar(const std::string& bytes) {
  const std::string path = NewTempDir("tar") + "/a.tar";
  WriteBytes(path, bytes);
  Walk w;
  TarReader reader;
  EXPECT_TRUE(reader.Open(path).ok());
  TarMember m;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(&m);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    EXPECT_LE(m.data_offset + m.size, bytes.size());
    absl::StatusOr<absl::string_view> data = reader.ReadData(m);
    EXPECT_TRUE(data.ok()) << data.status();
    w.members.push_back(m);
    w.data.emplace_back(data.ok() ? std::string(*data) : "");
  }
  w.problem = reader.problem();
  return w;
}

// Rewrites the checksum of the header at `offset` after an edit.
void FixChecksum(std::string* tar, size_t offset) {
  char* h = tar->data() + offset;
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += static_cast<unsigned char>(h[i]);
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
}

// A pax extended header member ('x') holding `records`.
std::string PaxMember(const std::string& records) {
  std::string tar;
  AppendTarMember("PaxHeaders/x", records, &tar);
  tar[156] = 'x';
  FixChecksum(&tar, 0);
  return tar;
}

std::string PaxRecord(const std::string& key, const std::string& value) {
  const std::string body = " " + key + "=" + value + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  return std::to_string(len) + body;
}

TEST(TarTest, ReadsUstarGnuLongNamesAndPax) {
  const std::string long_dir(120, 'd');
  const std::string very_long(300, 'n');
  std::string tar;
  AppendTarMember("a.jpg", "JPEGDATA", &tar);
  AppendTarMember(long_dir + "/b.cls", "7", &tar);  // ustar prefix + name
  AppendTarMember(very_long + ".jpg", "X", &tar);   // GNU long name
  tar += PaxMember(PaxRecord("path", "pax/name.png"));
  AppendTarMember("ignored-name", "PNGDATA", &tar);
  AppendTarMember("empty.cls", "", &tar);
  AppendTarEnd(&tar);
  const Walk w = WalkTar(tar);
  EXPECT_EQ(w.problem.reason, "");
  ASSERT_EQ(w.members.size(), 5u);
  EXPECT_EQ(w.members[0].name, "a.jpg");
  EXPECT_EQ(w.data[0], "JPEGDATA");
  EXPECT_EQ(w.members[1].name, long_dir + "/b.cls");
  EXPECT_EQ(w.data[1], "7");
  EXPECT_EQ(w.members[2].name, very_long + ".jpg");
  EXPECT_EQ(w.members[3].name, "pax/name.png");
  EXPECT_EQ(w.data[3], "PNGDATA");
  EXPECT_EQ(w.data[4], "");
}

TEST(TarTest, SkipsDirectoriesAndLinks) {
  std::string tar;
  AppendTarMember("dir/", "", &tar);
  tar[156] = '5';
  FixChecksum(&tar, 0);
  const size_t link = tar.size();
  AppendTarMember("link.jpg", "", &tar);
  tar[link + 156] = '2';
  std::memcpy(&tar[link + 157], "/etc/passwd", 11);
  FixChecksum(&tar, link);
  AppendTarMember("real.jpg", "R", &tar);
  const Walk w = WalkTar(tar);  // No end blocks: a clean end too.
  ASSERT_EQ(w.members.size(), 1u);
  EXPECT_EQ(w.members[0].name, "real.jpg");
  EXPECT_EQ(w.problem.reason, "");
}

TEST(TarTest, MissingPaddingAfterTheLastMemberIsACleanEnd) {
  std::string tar;
  AppendTarMember("a.jpg", "A", &tar);
  AppendTarMember("b.jpg", "BB", &tar);
  const Walk w = WalkTar(tar.substr(0, tar.size() - 510));
  ASSERT_EQ(w.members.size(), 2u);
  EXPECT_EQ(w.data[1], "BB");
  EXPECT_EQ(w.problem.reason, "");
}

TEST(TarTest, BadChecksumStopsWithBadCrc) {
  std::string tar;
  AppendTarMember("a.jpg", "A", &tar);
  AppendTarMember("b.jpg", "B", &tar);
  tar[512 * 2 + 10] ^= 1;  // Second header's name, checksum not fixed.
  const Walk w = WalkTar(tar);
  ASSERT_EQ(w.members.size(), 1u);
  EXPECT_EQ(w.problem.reason, "bad_crc");
  EXPECT_EQ(w.problem.offset, 1024u);
}

TEST(TarTest, GarbageIsNotAnArchive) {
  const Walk w = WalkTar(std::string(2000, 'x'));
  EXPECT_TRUE(w.members.empty());
  EXPECT_EQ(w.problem.reason, "bad_crc");
}

TEST(TarTest, SizeBeyondTheFileIsTruncated) {
  std::string tar;
  AppendTarMember("a.jpg", std::string(1000, 'a'), &tar);
  // Claim 1 GB in octal, then in base-256, then 2^62 + 1 via pax.
  std::string octal = tar;
  std::snprintf(&octal[124], 12, "%011o", 01000000000u);
  FixChecksum(&octal, 0);
  Walk w = WalkTar(octal);
  EXPECT_TRUE(w.members.empty());
  EXPECT_EQ(w.problem.reason, "truncated");

  std::string b256 = tar;
  std::memset(&b256[124], 0xff, 12);
  b256[124] = static_cast<char>(0x80);
  FixChecksum(&b256, 0);
  w = WalkTar(b256);
  EXPECT_TRUE(w.members.empty());
  EXPECT_EQ(w.problem.reason, "bad_size");

  std::string pax = PaxMember(PaxRecord("size", "4611686018427387905")) + tar;
  w = WalkTar(pax);
  EXPECT_TRUE(w.members.empty());
  EXPECT_EQ(w.problem.reason, "bad_size");

  std::string lying = PaxMember(PaxRecord("size", "999999")) + tar;
  w = WalkTar(lying);
  EXPECT_TRUE(w.members.empty());
  EXPECT_EQ(w.problem.reason, "truncated");
}

TEST(TarTest, TruncatedMembersAndHeaders) {
  std::string tar;
  AppendTarMember("a.jpg", "A", &tar);
  AppendTarMember("b.jpg", std::string(3000, 'b'), &tar);
  // Cut inside b's data, then inside b's header.
  Walk w = WalkTar(tar.substr(0, 1024 + 512 + 100));
  ASSERT_EQ(w.members.size(), 1u);
  EXPECT_EQ(w.problem.reason, "truncated");
  w = WalkTar(tar.substr(0, 1024 + 200));
  ASSERT_EQ(w.members.size(), 1u);
  EXPECT_EQ(w.problem.reason, "truncated");
}

TEST(TarTest, HugeExtendedHeadersAreRefused) {
  std::string tar;
  AppendTarMember("././@LongLink", std::string(100, 'n'), &tar);
  tar[156] = 'L';
  std::snprintf(&tar[124], 12, "%011o", 16u << 20);
  FixChecksum(&tar, 0);
  tar.resize(tar.size() + (16 << 20) + 512, 'n');
  const Walk w = WalkTar(tar);
  EXPECT_TRUE(w.members.empty());
  EXPECT_EQ(w.problem.reason, "bad_size");
}

TEST(TarTest, ParseTarNumber) {
  EXPECT_EQ(*ParseTarNumber(std::string("0000644\0", 8)), 0644u);
  EXPECT_EQ(*ParseTarNumber("   17 "), 15u);
  EXPECT_EQ(*ParseTarNumber(std::string(12, '\0')), 0u);
  EXPECT_FALSE(ParseTarNumber("12389").ok());
  EXPECT_FALSE(ParseTarNumber("12 x").ok());
  EXPECT_FALSE(ParseTarNumber("77777777777777777777777").ok());
  std::string b256(12, '\0');
  b256[0] = static_cast<char>(0x80);
  b256[11] = 5;
  EXPECT_EQ(*ParseTarNumber(b256), 5u);
  b256[0] = static_cast<char>(0xff);
  EXPECT_FALSE(ParseTarNumber(b256).ok());
}

TEST(TarTest, SafeNames) {
  EXPECT_TRUE(IsSafeTarName("a/b.jpg"));
  EXPECT_TRUE(IsSafeTarName("a..b.jpg"));
  EXPECT_FALSE(IsSafeTarName("../x.jpg"));
  EXPECT_FALSE(IsSafeTarName("a/../../x.jpg"));
  EXPECT_FALSE(IsSafeTarName("/etc/passwd"));
  EXPECT_FALSE(IsSafeTarName(""));
}

}  // namespace
}  // namespace inputserve
