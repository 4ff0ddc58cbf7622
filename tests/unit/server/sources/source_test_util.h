// Helpers shared by the sources tests: temporary directories, files, a
// SkipSink that records what it is told, and draining a reader.
#ifndef INPUTSERVE_TESTS_UNIT_SERVER_SOURCES_SOURCE_TEST_UTIL_H_
#define INPUTSERVE_TESTS_UNIT_SERVER_SOURCES_SOURCE_TEST_UTIL_H_

#include <stdlib.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/sources/dataset.h"

namespace inputserve::testing {

inline std::string NewTempDir(const std::string& prefix) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/" + prefix + "XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed for " << tmpl;
  }
  return tmpl;
}

inline void WriteBytes(const std::string& path, const std::string& data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(data.data(), 1, data.size(), f), data.size());
  ASSERT_EQ(std::fclose(f), 0);
}

inline std::string ReadBytes(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

struct SkipEvent {
  std::string reason;
  std::string file;
  uint64_t offset;
  std::string detail;
};

class RecordingSkipSink : public SkipSink {
 public:
  void OnSkip(absl::string_view reason, absl::string_view file, uint64_t offset,
              absl::string_view detail) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(
        {std::string(reason), std::string(file), offset, std::string(detail)});
  }
  std::vector<SkipEvent> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<SkipEvent> events_ ABSL_GUARDED_BY(mu_);
};

// All records of one epoch.
inline std::vector<RawExample> ReadEpoch(ExampleReader& reader,
                                         uint64_t epoch) {
  std::vector<RawExample> out;
  absl::Status s = reader.StartEpoch(epoch);
  EXPECT_TRUE(s.ok()) << s;
  while (true) {
    absl::StatusOr<RawExample> ex = reader.Next();
    if (!ex.ok()) {
      EXPECT_TRUE(absl::IsOutOfRange(ex.status())) << ex.status();
      break;
    }
    out.push_back(*std::move(ex));
  }
  return out;
}

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_UNIT_SERVER_SOURCES_SOURCE_TEST_UTIL_H_
