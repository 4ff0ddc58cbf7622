#include "trainer_example/step_digest.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace inputserve::trainer {
namespace {

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Hashes a step's tensors in order, each over all devices, and collects the
// int32 labels on the way.
class PayloadHasher {
 public:
  absl::Status Init() {
    if (ctx_ == nullptr ||
        EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      return absl::InternalError("OpenSSL could not start a SHA-256 digest");
    }
    return absl::OkStatus();
  }

  absl::Status Add(const TensorView& tensor, GradientBackend* backend) {
    host_.resize(tensor.num_bytes);
    if (tensor.num_bytes > 0) {
      INPUTSERVE_RETURN_IF_ERROR(backend->CopyToHost(tensor, host_.data()));
    }
    if (EVP_DigestUpdate(ctx_.get(), host_.data(), host_.size()) != 1) {
      return absl::InternalError("OpenSSL SHA-256 update failed");
    }
    if (tensor.name == "label") {
      const size_t n = host_.size() / sizeof(int32_t);
      for (size_t i = 0; i < n; ++i) {
        int32_t label;
        std::memcpy(&label, host_.data() + i * sizeof(int32_t), sizeof label);
        labels_.push_back(label);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1) {
      return absl::InternalError("OpenSSL SHA-256 final failed");
    }
    return absl::BytesToHexString(absl::string_view(
        reinterpret_cast<const char*>(digest), static_cast<size_t>(size)));
  }

  const std::vector<int32_t>& labels() const { return labels_; }

 private:
  std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter> ctx_{EVP_MD_CTX_new()};
  std::vector<uint8_t> host_;
  std::vector<int32_t> labels_;
};

}  // namespace

absl::StatusOr<std::string> StepDigestLine(const Batch& batch,
                                           GradientBackend* backend) {
  if (batch.devices.empty()) {
    return absl::InvalidArgumentError("batch has no device slices");
  }
  const std::vector<TensorView>& order = batch.devices[0].tensors;
  for (const DeviceBatch& device : batch.devices) {
    bool same = device.tensors.size() == order.size();
    for (size_t k = 0; same && k < order.size(); ++k) {
      same = device.tensors[k].name == order[k].name;
    }
    if (!same) {
      return absl::InvalidArgumentError(absl::StrCat(
          "device ", device.device, " holds other tensors than device ",
          batch.devices[0].device, ": cannot digest the step"));
    }
  }
  PayloadHasher hasher;
  INPUTSERVE_RETURN_IF_ERROR(hasher.Init());
  for (size_t k = 0; k < order.size(); ++k) {
    if (order[k].name == "label" && order[k].dtype != ElementType::kInt32) {
      return absl::InvalidArgumentError(
          "the 'label' tensor is not int32: cannot list the step's labels");
    }
    for (const DeviceBatch& device : batch.devices) {
      INPUTSERVE_RETURN_IF_ERROR(hasher.Add(device.tensors[k], backend));
    }
  }
  INPUTSERVE_ASSIGN_OR_RETURN(std::string hex, hasher.HexDigest());
  return absl::StrCat(batch.step, " ", batch.epoch, " ", hex, " ",
                      absl::StrJoin(hasher.labels(), ","));
}

absl::StatusOr<std::unique_ptr<StepDigestWriter>> StepDigestWriter::Open(
    const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--digest_file=", path, ": cannot create: ", std::strerror(errno)));
  }
  return std::unique_ptr<StepDigestWriter>(new StepDigestWriter(path, file));
}

StepDigestWriter::~StepDigestWriter() { std::fclose(file_); }

absl::Status StepDigestWriter::Write(const Batch& batch,
                                     GradientBackend* backend) {
  INPUTSERVE_ASSIGN_OR_RETURN(std::string line, StepDigestLine(batch, backend));
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
      std::fflush(file_) != 0) {
    return absl::DataLossError(absl::StrCat(
        "--digest_file=", path_, ": write failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace inputserve::trainer
