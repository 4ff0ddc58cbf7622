// What a device slice of a FakeInputServer batch must hold, for tests that
// read device memory back (fake or real GPUs).
#ifndef INPUTSERVE_TESTS_UNIT_CLIENT_EXPECTED_SLICES_H_
#define INPUTSERVE_TESTS_UNIT_CLIENT_EXPECTED_SLICES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "tests/unit/client/fake_input_server.h"

namespace inputserve::testing {

// The image bytes of device `d`'s slice of batch `sequence` from server 0,
// `per_device` examples of `image_bytes` each.
inline std::vector<uint8_t> ExpectedImageSlice(uint64_t sequence, int d,
                                               int per_device,
                                               size_t image_bytes) {
  std::vector<uint8_t> bytes(per_device * image_bytes);
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = FakeInputServer::ImageByte(0, sequence,
                                          d * per_device * image_bytes + i);
  }
  return bytes;
}

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_UNIT_CLIENT_EXPECTED_SLICES_H_
