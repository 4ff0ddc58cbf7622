// Helpers for the codec tests: encode test JPEGs with TurboJPEG, read the
// real photographs Debian packages ship (when installed), compare images.
#ifndef INPUTSERVE_TESTS_UNIT_SERVER_CODEC_CODEC_TEST_UTIL_H_
#define INPUTSERVE_TESTS_UNIT_SERVER_CODEC_CODEC_TEST_UTIL_H_

#include <turbojpeg.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "tests/testing/debian_photos.h"

namespace inputserve::testing {

// A smooth, structured test image (gradients and a few soft blobs), the
// kind of content where any decode path difference shows up clearly.
inline std::vector<uint8_t> TestImage(int w, int h) {
  std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double u = static_cast<double>(x) / w,
                   v = static_cast<double>(y) / h;
      const double blob =
          std::exp(-((u - 0.3) * (u - 0.3) + (v - 0.6) * (v - 0.6)) * 20);
      uint8_t* p = &rgb[(static_cast<size_t>(y) * w + x) * 3];
      p[0] = static_cast<uint8_t>(40 + 180 * u);
      p[1] = static_cast<uint8_t>(30 + 150 * v + 60 * blob);
      p[2] = static_cast<uint8_t>(200 - 120 * u * v + 40 * std::sin(x * 0.05));
    }
  }
  return rgb;
}

// pixel_format: TJPF_RGB, TJPF_GRAY or TJPF_CMYK; subsamp: TJSAMP_*.
inline std::string EncodeJpeg(const std::vector<uint8_t>& pixels, int w, int h,
                              int pixel_format, int subsamp, int quality = 92,
                              int flags = 0) {
  tjhandle tj = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  std::string jpeg;
  if (tjCompress2(tj, pixels.data(), w, 0, h, pixel_format, &out, &size,
                  subsamp, quality, flags) == 0) {
    jpeg.assign(reinterpret_cast<const char*>(out), size);
  }
  tjFree(out);
  tjDestroy(tj);
  return jpeg;
}

inline std::string EncodeRgb(int w, int h, int subsamp = TJSAMP_420,
                             int flags = 0) {
  return EncodeJpeg(TestImage(w, h), w, h, TJPF_RGB, subsamp, 92, flags);
}

inline std::string ReadFileOrEmpty(const std::string& path) {
  return ReadWholeFile(path).value_or("");
}

// Real photographs from python3-sklearn / python3-skimage, if installed.
inline std::vector<std::string> RealPhotoPaths() {
  return DebianPhotoPaths({"china", "flower", "rocket", "retina"});
}

inline double MeanAbsDiff(const std::vector<uint8_t>& a,
                          const std::vector<uint8_t>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::abs(a[i] - b[i]);
  return a.empty() ? 0 : sum / a.size();
}

inline int MaxAbsDiff(const std::vector<uint8_t>& a,
                      const std::vector<uint8_t>& b) {
  int m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_UNIT_SERVER_CODEC_CODEC_TEST_UTIL_H_
