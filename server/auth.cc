#include "server/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "server/log.h"

namespace inputserve {
namespace {

// What identifies one version of the token file. Kubernetes Secret volumes
// swap a symlink to a new directory, so the inode changes; an in-place
// rewrite changes size or mtime; chmod changes ctime.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  struct timespec mtime = {0, 0};
  struct timespec ctime = {0, 0};

  static FileIdentity Of(const struct stat& st) {
    FileIdentity id;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime = st.st_mtim;
    id.ctime = st.st_ctim;
    return id;
  }
  bool operator==(const FileIdentity& o) const {
    return dev == o.dev && ino == o.ino && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

// A token file read through one descriptor, so the identity and the contents
// belong to the same version of the file.
struct TokenFileRead {
  FileIdentity identity;
  bool unchanged = false;  // Identity matched; the file was not read.
  absl::StatusOr<std::string> token = absl::UnknownError("not read");
};

// Token files are one short line; anything bigger is not a token file.
constexpr size_t kMaxTokenFileBytes = 64 << 10;

// Opens `path` and, unless its identity equals `*unchanged_if`, reads and
// parses the token. The outer status is for a file that cannot be opened or
// read; `token` holds a parse error. Errors name the file, never its contents.
absl::StatusOr<TokenFileRead> ReadTokenFile(const std::string& path,
                                            absl::string_view name,
                                            const FileIdentity* unchanged_if) {
  const std::string flag = absl::StrCat("--", name, "_token_file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat(flag, ": cannot read '", path,
                                            "': ", std::strerror(errno)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return absl::NotFoundError(
        absl::StrCat(flag, ": cannot stat '", path, "': ", std::strerror(err)));
  }
  TokenFileRead read;
  read.identity = FileIdentity::Of(st);
  if (unchanged_if != nullptr && read.identity == *unchanged_if) {
    ::close(fd);
    read.unchanged = true;
    return read;
  }
  std::string contents;
  char buf[4096];
  while (contents.size() <= kMaxTokenFileBytes) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return absl::NotFoundError(absl::StrCat(flag, ": cannot read '", path,
                                              "': ", std::strerror(err)));
    }
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  absl::StatusOr<std::string> token = ParseToken(contents, name);
  if (!token.ok()) {
    read.token = absl::InvalidArgumentError(
        absl::StrCat(flag, " '", path, "': ", token.status().message()));
  } else {
    read.token = std::move(token);
  }
  return read;
}

}  // namespace

// The current token of a file-backed authenticator and what is needed to
// notice that the file changed.
class TokenFile {
 public:
  TokenFile(std::string path, std::string name, absl::Duration recheck_interval,
            FileIdentity identity, std::string token)
      : path_(std::move(path)),
        name_(std::move(name)),
        recheck_interval_(recheck_interval),
        next_check_(absl::Now() + recheck_interval),
        identity_(identity),
        token_(std::move(token)) {}

  // The token to compare against, re-reading the file when it is due and
  // has changed. Holding the lock across the read keeps concurrent admin
  // calls from reading the file more than once per interval.
  std::string Current() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (now < next_check_) return token_;
    next_check_ = now + recheck_interval_;
    absl::StatusOr<TokenFileRead> read =
        ReadTokenFile(path_, name_, &identity_);
    if (!read.ok()) {
      Warn(read.status());
      return token_;
    }
    if (read->unchanged) return token_;
    identity_ = read->identity;
    if (!read->token.ok()) {
      Warn(read->token.status());
      return token_;
    }
    token_ = *std::move(read->token);
    warned_ = false;
    LogInfo(name_, " token reloaded from '", path_, "'");
    return token_;
  }

 private:
  // One warning per bad spell: a file stays unreadable between checks.
  void Warn(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (warned_) return;
    warned_ = true;
    LogWarning(status.message(), "; keeping the previous ", name_, " token");
  }

  const std::string path_;
  const std::string name_;
  const absl::Duration recheck_interval_;
  absl::Mutex mu_;
  absl::Time next_check_ ABSL_GUARDED_BY(mu_);
  FileIdentity identity_ ABSL_GUARDED_BY(mu_);
  std::string token_ ABSL_GUARDED_BY(mu_);
  bool warned_ ABSL_GUARDED_BY(mu_) = false;
};

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Walk the expected length whatever the input, so timing reveals neither
  // the position of the first difference nor a prefix match.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    diff |= x ^ static_cast<unsigned char>(b[i]);
  }
  return diff == 0;
}

absl::StatusOr<std::string> ParseToken(absl::string_view contents,
                                       absl::string_view name) {
  const size_t newline = contents.find('\n');
  if (newline != absl::string_view::npos)
    contents = contents.substr(0, newline);
  contents = absl::StripAsciiWhitespace(contents);
  if (contents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, " token is empty"));
  }
  for (char c : contents) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat(name,
                       " token contains a space or a non-printable character; "
                       "use printable ASCII only"));
    }
  }
  return std::string(contents);
}

TokenAuthenticator::TokenAuthenticator(std::string token, bool allow_all,
                                       std::string name)
    : name_(std::move(name)), token_(std::move(token)), allow_all_(allow_all) {}
TokenAuthenticator::TokenAuthenticator(std::unique_ptr<TokenFile> file,
                                       std::string name)
    : name_(std::move(name)), file_(std::move(file)) {}
TokenAuthenticator::TokenAuthenticator(TokenAuthenticator&&) noexcept = default;
TokenAuthenticator& TokenAuthenticator::operator=(
    TokenAuthenticator&&) noexcept = default;
TokenAuthenticator::~TokenAuthenticator() = default;

absl::StatusOr<TokenAuthenticator> TokenAuthenticator::FromToken(
    absl::string_view token, absl::string_view name) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::string parsed, ParseToken(token, name));
  return TokenAuthenticator(std::move(parsed), /*allow_all=*/false,
                            std::string(name));
}

absl::StatusOr<TokenAuthenticator> TokenAuthenticator::FromFile(
    const std::string& path, absl::Duration recheck_interval,
    absl::string_view name) {
  INPUTSERVE_ASSIGN_OR_RETURN(TokenFileRead read,
                              ReadTokenFile(path, name, nullptr));
  if (!read.token.ok()) return read.token.status();
  return TokenAuthenticator(
      std::make_unique<TokenFile>(path, std::string(name), recheck_interval,
                                  read.identity, *std::move(read.token)),
      std::string(name));
}

TokenAuthenticator TokenAuthenticator::AllowAll() {
  return TokenAuthenticator("", /*allow_all=*/true, "admin");
}

absl::Status TokenAuthenticator::Check(
    const absl::string_view* authorization) const {
  if (allow_all_) return absl::OkStatus();
  if (authorization == nullptr) {
    return absl::UnauthenticatedError(
        "missing 'authorization: Bearer <token>' metadata");
  }
  constexpr absl::string_view kScheme = "Bearer ";
  absl::string_view value = *authorization;
  if (!absl::StartsWithIgnoreCase(value, kScheme)) {
    return absl::UnauthenticatedError(
        "authorization metadata must be 'Bearer <token>'");
  }
  value.remove_prefix(kScheme.size());
  // A copy, so a concurrent reload cannot change it mid-comparison.
  const std::string expected = file_ != nullptr ? file_->Current() : token_;
  if (!ConstantTimeEquals(absl::StripAsciiWhitespace(value), expected)) {
    return absl::UnauthenticatedError(
        absl::StrCat("invalid ", name_, " token"));
  }
  return absl::OkStatus();
}

}  // namespace inputserve
