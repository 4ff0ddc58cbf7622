#include "client/transport/bearer_token.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/transport/channel.h"
#include "common/status_macros.h"

namespace inputserve::client_internal {
namespace {

class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(BearerTokenFile* token) : token_(token) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace(
          "authorization", absl::StrCat("Bearer ", token_->Current()));
    }
    methods->Proceed();
  }

 private:
  BearerTokenFile* const token_;
};

class BearerTokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(std::shared_ptr<BearerTokenFile> token)
      : token_(std::move(token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerTokenInterceptor(token_.get());
  }

 private:
  std::shared_ptr<BearerTokenFile> token_;
};

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          const std::string& what) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::string contents,
                              ReadFileContents(path, what));
  const std::string first_line = contents.substr(0, contents.find('\n'));
  std::string token(absl::StripAsciiWhitespace(first_line));
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", path, "' has no token on its first line"));
  }
  return token;
}

absl::StatusOr<std::shared_ptr<BearerTokenFile>> BearerTokenFile::Open(
    const std::string& path) {
  INPUTSERVE_ASSIGN_OR_RETURN(
      std::string token,
      ReadTokenFile(path, "data token file (data_token_file)"));
  return std::shared_ptr<BearerTokenFile>(
      new BearerTokenFile(path, std::move(token)));
}

std::string BearerTokenFile::Current() {
  // A new call is rare (Create, reconnects), so reading the file each time
  // costs nothing and picks up a rotation at once.
  absl::StatusOr<std::string> token = ReadTokenFile(path_, "data token file");
  absl::MutexLock lock(&mu_);
  if (token.ok()) token_ = *std::move(token);
  return token_;
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>
MakeBearerTokenInterceptorFactory(std::shared_ptr<BearerTokenFile> token) {
  return std::make_unique<BearerTokenInterceptorFactory>(std::move(token));
}

}  // namespace inputserve::client_internal
