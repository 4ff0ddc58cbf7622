#include "server/auth.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace inputserve {

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

absl::StatusOr<TokenAuthenticator> TokenAuthenticator::FromToken(
    absl::string_view token) {
  token = absl::StripAsciiWhitespace(token);
  if (token.empty()) {
    return absl::InvalidArgumentError("admin token is empty");
  }
  for (char c : token) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          "admin token contains a space or a non-printable character; use "
          "printable ASCII only");
    }
  }
  return TokenAuthenticator(std::string(token), /*allow_all=*/false);
}

absl::StatusOr<TokenAuthenticator> TokenAuthenticator::FromFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("--admin_token_file: cannot read '", path, "'"));
  }
  std::string first_line;
  std::getline(in, first_line);
  absl::StatusOr<TokenAuthenticator> auth = FromToken(first_line);
  if (!auth.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--admin_token_file '", path, "': ", auth.status().message()));
  }
  return auth;
}

TokenAuthenticator TokenAuthenticator::AllowAll() {
  return TokenAuthenticator("", /*allow_all=*/true);
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
  if (!ConstantTimeEquals(absl::StripAsciiWhitespace(value), token_)) {
    return absl::UnauthenticatedError("invalid admin token");
  }
  return absl::OkStatus();
}

}  // namespace inputserve
