// Writes the seed corpora of the fuzz targets from valid data made on the
// spot: tiny JPEGs of every layout the decoder handles, Examples and TFRecord
// files holding them, CIFAR-10 records, and text specs and flag sets.
//
//   fuzz_seeds --out=DIR   (writes DIR/<target>/seed-*)
#include <sys/stat.h>
#include <turbojpeg.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using inputserve::fuzz::WriteFileOrAbort;

struct JpegSpec {
  int width, height, pixel_format, subsamp, flags;
};

std::vector<std::string> TinyJpegs() {
  const JpegSpec specs[] = {
      {16, 16, TJPF_RGB, TJSAMP_420, 0},
      {33, 17, TJPF_RGB, TJSAMP_444, 0},
      {24, 40, TJPF_GRAY, TJSAMP_GRAY, 0},
      {20, 12, TJPF_CMYK, TJSAMP_444, 0},
      {40, 24, TJPF_RGB, TJSAMP_422, TJFLAG_PROGRESSIVE},
      {9, 64, TJPF_RGB, TJSAMP_440, 0},
  };
  std::vector<std::string> out;
  tjhandle tj = tjInitCompress();
  for (const JpegSpec& s : specs) {
    const int channels = tjPixelSize[s.pixel_format];
    std::vector<unsigned char> pixels(static_cast<size_t>(s.width) * s.height *
                                      channels);
    for (size_t i = 0; i < pixels.size(); ++i) {
      pixels[i] = static_cast<unsigned char>((i * 37) ^ (i / 7));
    }
    unsigned char* jpeg = nullptr;
    unsigned long size = 0;
    if (tjCompress2(tj, pixels.data(), s.width, 0, s.height, s.pixel_format,
                    &jpeg, &size, s.subsamp, 75, s.flags) != 0) {
      std::fprintf(stderr, "tjCompress2: %s\n", tjGetErrorStr2(tj));
      std::abort();
    }
    out.emplace_back(reinterpret_cast<const char*>(jpeg), size);
    tjFree(jpeg);
  }
  tjDestroy(tj);
  return out;
}

std::string MakeDir(const std::string& base, const std::string& name) {
  const std::string dir = base + "/" + name;
  mkdir(base.c_str(), 0755);
  mkdir(dir.c_str(), 0755);
  return dir;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::strncmp(argv[1], "--out=", 6) != 0) {
    std::fprintf(stderr, "usage: %s --out=DIR\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1] + 6;
  const std::vector<std::string> jpegs = TinyJpegs();

  std::string dir = MakeDir(out, "jpeg_fuzz");
  for (size_t i = 0; i < jpegs.size(); ++i) {
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", i), jpegs[i]);
  }

  std::vector<std::string> examples;
  for (size_t i = 0; i < jpegs.size(); ++i) {
    inputserve::ExampleFeatures f;
    f.bytes.emplace_back("image/format", "JPEG");
    f.bytes.emplace_back(std::string(inputserve::kImageKey), jpegs[i]);
    f.int64s.emplace_back("image/height", 16);
    f.int64s.emplace_back(std::string(inputserve::kLabelKey),
                          static_cast<int64_t>(i * 100));
    examples.push_back(inputserve::EncodeExample(f));
  }
  dir = MakeDir(out, "example_fuzz");
  for (size_t i = 0; i < examples.size(); ++i) {
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", i), examples[i]);
  }

  dir = MakeDir(out, "tfrecord_fuzz");
  std::string file;
  for (size_t i = 0; i < examples.size(); ++i) {
    inputserve::AppendTfrecord(examples[i], &file);
    if (i == 0 || i == 2) {
      WriteFileOrAbort(absl::StrCat(dir, "/seed-", i), file);
    }
  }
  std::string empty_record;
  inputserve::AppendTfrecord("", &empty_record);
  WriteFileOrAbort(dir + "/seed-empty-record", empty_record);

  dir = MakeDir(out, "cifar10_fuzz");
  std::string cifar;
  for (int r = 0; r < 2; ++r) {
    cifar.push_back(static_cast<char>(r * 9));
    for (int i = 0; i < 3072; ++i) {
      cifar.push_back(static_cast<char>((i * 13 + r) & 0xff));
    }
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", r), cifar);
  }

  dir = MakeDir(out, "dataset_spec_fuzz");
  const char* specs[] = {"cifar10:*.bin\n32\n0\n1",
                         "cifar10:\n32\n1\n2",
                         "cifar10:data_batch_*.bin\n\n2\n3",
                         "imagenet:*.tfrecord\n224\n0\n1",
                         "imagenet:train-0.tfrecord\n64\n1\n2",
                         "imagenet:cut.tfrecord",
                         "synthetic:cifar10",
                         "synthetic:imagenet\n16\n0\n4",
                         "bogus:thing",
                         "imagenet:[a-z]*\n8"};
  for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); ++i) {
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", i), specs[i]);
  }

  dir = MakeDir(out, "server_options_fuzz");
  const char* flag_sets[] = {
      "0.0.0.0:50051\n127.0.0.1:50052\n0.0.0.0:9300\nreal\nsynthetic:cifar10"
      "\n256\n1\n0\n224\n0\n4\n0\n1048576\n64\ntoken",
      "[::1]:0\n\n\nsynthetic\nimagenet:/x/*\n32\n3\n2\n8\n2\n1\n16\n65536\n1",
      "localhost:65536\n:1\nhost:-1\nMODE_SYNTHETIC\ncifar10:/d\n0\n0\n0\n4097",
      "127.0.0.1:0\n127.0.0.1:0\n127.0.0.1:0\nreal\nsynthetic:imagenet\n1\n1"
      "\n0\n224\n1\n1\n0\n1\n1\ntoken\ncert\nkey\nca"};
  for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); ++i) {
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", i), flag_sets[i]);
  }
  std::printf("seed corpora written under %s\n", out.c_str());
  return 0;
}
