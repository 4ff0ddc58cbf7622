// Pulls a few batches through the installed client library and prints what
// it saw; exit 0 only if every batch had the expected shape.
#include <cstdio>
#include <cstdlib>

#include "inputserve/client.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer HOST:PORT\n");
    return 2;
  }
  inputserve::ClientOptions options;
  options.targets = {argv[1]};
  options.num_devices = 2;
  options.device_kind = inputserve::DeviceKind::kHost;
  auto client = inputserve::Client::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "create: %s\n", client.status().ToString().c_str());
    return 1;
  }
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<const inputserve::Batch*> batch = (*client)->Next();
    if (!batch.ok()) {
      std::fprintf(stderr, "next: %s\n", batch.status().ToString().c_str());
      return 1;
    }
    if ((*batch)->devices.size() != 2) return 1;
    const inputserve::TensorView* image = (*batch)->devices[1].Find("image");
    if (image == nullptr || image->shape.size() != 4 ||
        image->shape[0] * 2 != (*client)->batch_size()) {
      std::fprintf(stderr, "unexpected image tensor\n");
      return 1;
    }
  }
  std::printf("consumer ok: batch_size=%d bytes_received=%llu\n",
              (*client)->batch_size(),
              static_cast<unsigned long long>((*client)->stats().bytes_received));
  return 0;
}
