// The real photographs that Debian 12 ships in python3-sklearn and
// python3-skimage, by short name: the one list of their paths for tests and
// benchmarks (which skip the ones not installed). Stateless; thread-safe.
#ifndef INPUTSERVE_TESTS_TESTING_DEBIAN_PHOTOS_H_
#define INPUTSERVE_TESTS_TESTING_DEBIAN_PHOTOS_H_

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace inputserve::testing {

// "china", "flower" (sklearn, 640x427), "rocket", "retina" (1411x1411),
// "hubble_deep_field" and "truncated" (skimage; deliberately broken, a real
// negative test). Aborts on any other name: a typo in a test, not data.
inline std::string DebianPhotoPath(absl::string_view name) {
  static constexpr struct {
    const char* name;
    const char* path;
  } kPhotos[] = {
      {"china", "sklearn/datasets/images/china.jpg"},
      {"flower", "sklearn/datasets/images/flower.jpg"},
      {"rocket", "skimage/data/rocket.jpg"},
      {"retina", "skimage/data/retina.jpg"},
      {"hubble_deep_field", "skimage/data/hubble_deep_field.jpg"},
      {"truncated", "skimage/data/truncated.jpg"},
  };
  for (const auto& photo : kPhotos) {
    if (name == photo.name) {
      return absl::StrCat("/usr/lib/python3/dist-packages/", photo.path);
    }
  }
  std::abort();
}

inline std::vector<std::string> DebianPhotoPaths(
    std::initializer_list<absl::string_view> names) {
  std::vector<std::string> paths;
  for (absl::string_view name : names) paths.push_back(DebianPhotoPath(name));
  return paths;
}

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_TESTING_DEBIAN_PHOTOS_H_
