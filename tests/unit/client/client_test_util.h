// Helpers shared by the client tests: options pointing at fake servers and
// checks of batch contents against the fake's deterministic data.
#ifndef INPUTSERVE_TESTS_UNIT_CLIENT_CLIENT_TEST_UTIL_H_
#define INPUTSERVE_TESTS_UNIT_CLIENT_CLIENT_TEST_UTIL_H_

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "inputserve/batch.h"
#include "inputserve/options.h"
#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {

inline ClientOptions FastOptions(std::vector<std::string> targets) {
  ClientOptions o;
  o.targets = std::move(targets);
  o.device_kind = DeviceKind::kHost;
  o.initial_backoff = absl::Milliseconds(10);
  o.max_backoff = absl::Milliseconds(100);
  o.connect_timeout = absl::Seconds(5);
  o.unavailable_timeout = absl::Seconds(10);
  return o;
}

// Polls `done` until it holds (true) or `limit` passes (false).
inline bool WaitFor(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Checks every device slice of `batch` against batch `sequence` of
// `server_id`: device d holds examples [d*per, (d+1)*per), or, when
// `slice_zero` is set (synthetic cache), examples [0, per) on every device.
inline void ExpectBatchContents(const Batch& batch, int server_id,
                                uint64_t sequence, int batch_size,
                                size_t image_bytes_per_example,
                                bool slice_zero = false) {
  const int slices = static_cast<int>(batch.devices.size());
  const int per = batch_size / slices;
  for (int d = 0; d < slices; ++d) {
    const int first = slice_zero ? 0 : d * per;
    const TensorView* image = batch.devices[d].Find("image");
    const TensorView* label = batch.devices[d].Find("label");
    ASSERT_NE(image, nullptr);
    ASSERT_NE(label, nullptr);
    ASSERT_EQ(image->shape[0], per);
    ASSERT_EQ(label->shape[0], per);
    ASSERT_EQ(image->num_bytes, per * image_bytes_per_example);
    ASSERT_EQ(label->num_bytes, per * sizeof(int32_t));
    const uint8_t* pixels = static_cast<const uint8_t*>(image->data);
    for (size_t i = 0; i < image->num_bytes; ++i) {
      ASSERT_EQ(pixels[i],
                FakeInputServer::ImageByte(server_id, sequence,
                                           first * image_bytes_per_example + i))
          << "device " << d << " byte " << i;
    }
    for (int e = 0; e < per; ++e) {
      int32_t value;
      std::memcpy(&value, static_cast<const uint8_t*>(label->data) + 4 * e, 4);
      ASSERT_EQ(value, FakeInputServer::Label(server_id, sequence, first + e))
          << "device " << d << " example " << e;
    }
  }
}

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_UNIT_CLIENT_CLIENT_TEST_UTIL_H_
