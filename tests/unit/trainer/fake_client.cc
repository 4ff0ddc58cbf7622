#include "tests/unit/trainer/fake_client.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

namespace inputserve::trainer::testing {

FakeClient::FakeClient(FakeClientOptions options)
    : options_(std::move(options)), rng_(options_.seed) {
  info_.batch_size = options_.batch_size;
  info_.num_classes = options_.info_num_classes;
}

absl::StatusOr<std::shared_ptr<const Batch>> FakeClient::TryNextShared(
    absl::Duration) {
  absl::StatusOr<const Batch*> batch = Next();
  if (!batch.ok()) return batch.status();
  return std::shared_ptr<const Batch>(*batch, [](const Batch*) {});
}

absl::StatusOr<const Batch*> FakeClient::Next() {
  if (options_.end_after != 0 && calls_ >= options_.end_after) {
    return absl::OutOfRangeError("the fake's epochs are over");
  }
  ++calls_;
  if (options_.delay > absl::ZeroDuration()) absl::SleepFor(options_.delay);
  if (calls_ == options_.fail_at) return options_.failure;
  const bool synthetic =
      options_.synthetic_from > 0 && calls_ >= options_.synthetic_from;
  const int b = options_.batch_size, h = options_.height, w = options_.width,
            c = options_.channels;
  const int limit =
      options_.label_limit > 0 ? options_.label_limit : options_.num_classes;
  // Synthetic batches repeat the last real one, as the server's cache does.
  if (!synthetic || images_.empty()) {
    images_.resize(static_cast<size_t>(b) * h * w * c);
    labels_.resize(b);
    auto next = [this] {
      rng_ = rng_ * 1664525u + 1013904223u;  // LCG: reproducible anywhere.
      return rng_ >> 8;
    };
    for (int i = 0; i < b; ++i) {
      const int label = static_cast<int>(next() % limit);
      labels_[i] = label;
      // Class k lights up horizontal band k (of num_classes bands) in
      // channel k % channels, over uniform noise.
      for (int y = 0; y < h; ++y) {
        const bool band = y * options_.num_classes / h == label;
        for (int x = 0; x < w; ++x) {
          for (int ch = 0; ch < c; ++ch) {
            int v = static_cast<int>(next() % 128);
            if (band && ch == label % c) v += 120;
            images_[((static_cast<size_t>(i) * h + y) * w + x) * c + ch] =
                static_cast<uint8_t>(std::min(v, 255));
          }
        }
      }
    }
    stats_.bytes_received += images_.size() + labels_.size() * 4;
    ++stats_.batches_received;
  } else {
    ++stats_.cache_hits;
  }
  ++stats_.batches;
  batch_ = Batch{};
  batch_.sequence = calls_;
  batch_.step = options_.first_step + calls_ - 1;
  batch_.epoch = batch_.step / 10;
  batch_.mode = synthetic ? BatchMode::kSynthetic : BatchMode::kReal;
  batch_.mode_generation = synthetic ? 2 : 1;
  batch_.global_batch_size = b;
  batch_.from_cache = synthetic;
  const int parts = std::max(options_.num_devices, 1);
  const int per = b / parts;
  for (int d = 0; d < parts; ++d) {
    DeviceBatch device;
    device.device = options_.num_devices == 0 ? -1 : d;
    TensorView image;
    image.name = "image";
    image.dtype = ElementType::kUint8;
    image.shape = {per, h, w, c};
    image.num_bytes = static_cast<size_t>(per) * h * w * c;
    image.data = images_.data() + d * image.num_bytes;
    image.memory = options_.memory;
    image.device = device.device;
    device.tensors.push_back(image);
    if (!options_.omit_labels) {
      TensorView label;
      label.name = "label";
      label.dtype = ElementType::kInt32;
      label.shape = {per};
      label.num_bytes = per * sizeof(int32_t);
      label.data = labels_.data() + d * per;
      label.memory = options_.memory;
      label.device = device.device;
      device.tensors.push_back(label);
    }
    batch_.devices.push_back(std::move(device));
  }
  return &batch_;
}

}  // namespace inputserve::trainer::testing
