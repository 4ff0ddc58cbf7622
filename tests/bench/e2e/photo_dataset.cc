#include "tests/bench/e2e/photo_dataset.h"

#include <cstdio>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "server/codec/jpeg_decoder.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "tests/testing/debian_photos.h"

namespace inputserve::bench {

std::vector<std::string> DefaultPhotoPaths() {
  return testing::DebianPhotoPaths({"china", "flower", "hubble_deep_field",
                                    "retina", "rocket", "truncated"});
}

absl::StatusOr<PhotoDataset> WritePhotoDataset(
    const std::vector<std::string>& photos, const std::string& dir,
    uint64_t records, int num_files) {
  if (records == 0 || num_files < 1) {
    return absl::InvalidArgumentError("records and num_files must be >= 1");
  }
  PhotoDataset out;
  std::vector<std::string> jpegs;
  std::vector<double> mpix;
  JpegDecoder decoder;
  DecodedImage image;
  for (const std::string& path : photos) {
    absl::StatusOr<std::string> jpeg = ReadWholeFile(path);
    if (!jpeg.ok()) {
      out.dropped.push_back(absl::StrCat(path, ": not installed"));
      continue;
    }
    // A full decode, not only the header: truncated.jpg has a valid header.
    absl::StatusOr<JpegHeader> header = decoder.DecodeFull(*jpeg, 1, &image);
    if (!header.ok()) {
      out.dropped.push_back(
          absl::StrCat(path, ": ", header.status().message()));
      continue;
    }
    out.used.push_back(path);
    mpix.push_back(header->width * static_cast<double>(header->height) / 1e6);
    jpegs.push_back(*std::move(jpeg));
  }
  if (jpegs.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no decodable photograph among ", absl::StrJoin(photos, ", "),
        " (install python3-sklearn and python3-skimage)"));
  }
  for (int f = 0; f < num_files; ++f) {
    const uint64_t begin = records * f / num_files;
    const uint64_t end = records * (f + 1) / num_files;
    std::string framed;
    for (uint64_t r = begin; r < end; ++r) {
      const size_t which = r % jpegs.size();
      ExampleFeatures features;
      features.bytes.emplace_back(std::string(kImageKey), jpegs[which]);
      features.bytes.emplace_back("image/format", "JPEG");
      features.int64s.emplace_back(std::string(kLabelKey),
                                   static_cast<int64_t>(r % 1000));
      AppendTfrecord(EncodeExample(features), &framed);
      out.mean_mpix += mpix[which];
      out.bytes += jpegs[which].size();
    }
    const std::string path = absl::StrCat(dir, "/photos-", f, ".tfrecord");
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(framed.data(), static_cast<std::streamsize>(framed.size()));
    if (!file.flush()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write ", path));
    }
    out.files.push_back(path);
  }
  out.records = records;
  out.mean_mpix /= static_cast<double>(records);
  return out;
}

}  // namespace inputserve::bench
