// libFuzzer target: the server's request handling, minus the gRPC server.
// Every RPC hands its raw request bytes to ParseRequest (server/transport/
// wire.h); this target feeds the same bytes, cut into slices the way gRPC may
// deliver them, to ParseRequest for each request type, then the admin checks
// that follow a parse: SetMode's mode validation and the admin token check on
// the bytes as an `authorization` value (server/auth.h).
//
// Input: byte 0 chooses the slice cuts; the rest is the request message (and
// the authorization value, and a token-file line).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "inputserve/v1/admin_service.pb.h"
#include "inputserve/v1/input_service.pb.h"
#include "server/auth.h"
#include "server/transport/wire.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using inputserve::fuzz::Check;

constexpr absl::string_view kToken = "s3cret-Token_42";

// The request bytes as gRPC could hand them over: 1-4 slices.
grpc::ByteBuffer ToByteBuffer(uint8_t cuts, absl::string_view bytes) {
  std::vector<grpc::Slice> slices;
  const size_t n = 1 + cuts % 4;
  size_t begin = 0;
  for (size_t i = 1; i <= n; ++i) {
    size_t end =
        i == n ? bytes.size() : bytes.size() * i * (cuts | 1) / (n * 255);
    if (end < begin) end = begin;
    if (end > bytes.size()) end = bytes.size();
    slices.emplace_back(bytes.data() + begin, end - begin);
    begin = end;
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

// ParseRequest into `message`: OK, or INVALID_ARGUMENT naming the type. A
// parsed message must survive the server's own serialize/parse round trip.
template <typename Message>
bool ParseOne(const grpc::ByteBuffer& raw, Message* message) {
  grpc::Status s = inputserve::ParseRequest(raw, message);
  if (!s.ok()) {
    Check(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT,
          "ParseRequest failed with a code other than INVALID_ARGUMENT");
    Check(absl::StartsWith(s.error_message(), message->GetDescriptor()->name()),
          "ParseRequest error does not name the message type");
    return false;
  }
  grpc::ByteBuffer again;
  inputserve::SerializeMessage(*message, &again);
  Message reparsed;
  Check(inputserve::ParseRequest(again, &reparsed).ok(),
        "a parsed request does not survive serialize + parse");
  Check(reparsed.SerializeAsString() == message->SerializeAsString(),
        "serialize + parse changed a request");
  return true;
}

void CheckModeValidation(const inputserve::v1::SetModeRequest& request) {
  using inputserve::ServingMode;
  absl::StatusOr<ServingMode> mode =
      inputserve::ServingModeFromProto(request.mode());
  const int value = static_cast<int>(request.mode());
  if (value == inputserve::v1::MODE_REAL) {
    Check(mode.ok() && *mode == ServingMode::kReal, "MODE_REAL refused");
  } else if (value == inputserve::v1::MODE_SYNTHETIC) {
    Check(mode.ok() && *mode == ServingMode::kSynthetic,
          "MODE_SYNTHETIC refused");
  } else {
    Check(!mode.ok() && absl::IsInvalidArgument(mode.status()),
          "a mode other than REAL/SYNTHETIC accepted");
    Check(
        absl::StrContains(mode.status().message(), absl::StrCat("got ", value)),
        "mode error does not name the value received");
  }
}

// What Check() must answer, from the contract in auth.h: "Bearer " (any
// case), then the token with surrounding whitespace ignored.
bool ShouldAccept(absl::string_view value, absl::string_view token) {
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() < kScheme.size() ||
      absl::AsciiStrToLower(value.substr(0, kScheme.size())) != kScheme) {
    return false;
  }
  return absl::StripAsciiWhitespace(value.substr(kScheme.size())) == token;
}

// `check_echo`: the token is long enough that finding it in a fixed error
// message means it was echoed.
void CheckAuth(const inputserve::TokenAuthenticator& auth,
               absl::string_view value, absl::string_view token,
               bool check_echo) {
  const absl::Status s = auth.Check(&value);
  Check(s.ok() == ShouldAccept(value, token),
        "token check gave the wrong answer");
  if (!s.ok()) {
    Check(absl::IsUnauthenticated(s),
          "token check failed without UNAUTHENTICATED");
    Check(!check_echo || !absl::StrContains(s.message(), token),
          "token check echoed the token");
  }
}

}  // namespace

// Protobuf logs every string field with invalid UTF-8 it parses; at fuzzing
// rates that logging costs more than the target itself.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  if (size == 0) return 0;
  const uint8_t cuts = data[0];
  const absl::string_view bytes(reinterpret_cast<const char*>(data + 1),
                                size - 1);
  const grpc::ByteBuffer raw = ToByteBuffer(cuts, bytes);

  v1::StreamBatchesRequest stream;
  ParseOne(raw, &stream);
  v1::GetDatasetInfoRequest info;
  ParseOne(raw, &info);
  v1::WatchModeRequest watch;
  ParseOne(raw, &watch);
  v1::GetStatusRequest status;
  ParseOne(raw, &status);
  v1::SetModeRequest set_mode;
  if (ParseOne(raw, &set_mode)) CheckModeValidation(set_mode);

  // The bytes as an authorization value, against a fixed and a file-backed
  // token, and with the header absent.
  static const TokenAuthenticator* fixed = [] {
    absl::StatusOr<TokenAuthenticator> a =
        TokenAuthenticator::FromToken(kToken);
    Check(a.ok(), "FromToken refused a valid token");
    return new TokenAuthenticator(*std::move(a));
  }();
  static const TokenAuthenticator* from_file = [] {
    const std::string path = fuzz::ScratchDir() + "/admin_token";
    fuzz::WriteFileOrAbort(path, absl::StrCat("  ", kToken, "\nsecond line\n"));
    absl::StatusOr<TokenAuthenticator> a = TokenAuthenticator::FromFile(path);
    Check(a.ok(), "FromFile refused a valid token file");
    return new TokenAuthenticator(*std::move(a));
  }();
  CheckAuth(*fixed, bytes, kToken, true);
  if (cuts & 1) CheckAuth(*from_file, bytes, kToken, true);
  Check(absl::IsUnauthenticated(fixed->Check(nullptr)),
        "a missing authorization header was accepted");

  // The bytes as token-file contents: a token that parses must be usable.
  absl::StatusOr<std::string> token = ParseToken(bytes);
  if (token.ok()) {
    Check(
        !token->empty() && token->find_first_of(" \t\r\n") == std::string::npos,
        "ParseToken returned an empty token or one with whitespace");
    absl::StatusOr<TokenAuthenticator> a =
        TokenAuthenticator::FromToken(*token);
    Check(a.ok(), "FromToken refused a token ParseToken accepted");
    CheckAuth(*a, absl::StrCat("Bearer ", *token), *token, false);
    CheckAuth(*a, absl::StrCat("Bearer ", *token, "x"), *token, false);
  } else {
    Check(absl::IsInvalidArgument(token.status()),
          "ParseToken failed without INVALID_ARGUMENT");
  }

  // ConstantTimeEquals is plain equality, whatever the lengths.
  const absl::string_view a = bytes.substr(0, bytes.size() / 2);
  const absl::string_view b = bytes.substr(bytes.size() / 2);
  Check(ConstantTimeEquals(a, b) == (a == b), "ConstantTimeEquals(a, b) wrong");
  Check(ConstantTimeEquals(a, a), "ConstantTimeEquals(a, a) false");
  return 0;
}
