// Writes the seed corpora of the fuzz targets from valid data made on the
// spot: tiny JPEGs of every layout the decoder handles, Examples and TFRecord
// files holding them, CIFAR-10 records, text specs and flag sets, every RPC's
// request messages, and batches encoded into BatchChunks by the server's own
// EncodeBatch.
//
//   fuzz_seeds --out=DIR   (writes DIR/<target>/seed-*)
#include <sys/stat.h>
#include <turbojpeg.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "inputserve/v1/admin_service.pb.h"
#include "inputserve/v1/input_service.pb.h"
#include "server/codec/jpeg_restart.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "server/tools/encoders.h"
#include "server/transport/wire.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/testing/debian_photos.h"

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

// png_fuzz: small PNGs of every layout; tar_fuzz: WebDataset shards of the
// tiny JPEGs and PNGs, with GNU long names, pax headers and broken samples.
void WriteTarAndPngSeeds(const std::string& out) {
  using namespace inputserve;
  std::vector<uint8_t> rgb(13 * 9 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = (i * 29) ^ (i >> 3);
  std::vector<std::string> pngs;
  for (PngLayout layout :
       {PngLayout::kRgb8, PngLayout::kGray8, PngLayout::kRgba8,
        PngLayout::kRgb16, PngLayout::kPalette8, PngLayout::kGrayAlpha16}) {
    absl::StatusOr<std::string> png = EncodePng(rgb.data(), 13, 9, layout);
    if (!png.ok()) std::abort();
    pngs.push_back(*png);
  }
  std::string dir = MakeDir(out, "png_fuzz");
  for (size_t i = 0; i < pngs.size(); ++i) {
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", i), pngs[i]);
  }
  dir = MakeDir(out, "tar_fuzz");
  const std::vector<std::string> jpegs = TinyJpegs();
  std::string tar;
  for (size_t i = 0; i < jpegs.size(); ++i) {
    AppendTarMember(absl::StrCat("s", i, ".jpg"), jpegs[i], &tar);
    AppendTarMember(absl::StrCat("s", i, ".cls"), absl::StrCat(i), &tar);
  }
  AppendTarMember(std::string(150, 'k') + ".png", pngs[0], &tar);
  AppendTarMember(std::string(150, 'k') + ".cls", "7", &tar);
  AppendTarMember(std::string(60, 'd') + "/" + std::string(60, 'e') + ".png",
                  pngs[4], &tar);
  AppendTarMember(std::string(60, 'd') + "/" + std::string(60, 'e') + ".cls",
                  "2", &tar);
  AppendTarMember("../up.jpg", jpegs[0], &tar);
  AppendTarMember("nolabel.jpg", jpegs[1], &tar);
  AppendTarMember("badlabel.png", pngs[1], &tar);
  AppendTarMember("badlabel.cls", "x", &tar);
  std::string ended = tar;
  AppendTarEnd(&ended);
  WriteFileOrAbort(dir + "/seed-0", ended);
  WriteFileOrAbort(dir + "/seed-1", tar.substr(0, tar.size() - 700));
  std::string one;
  AppendTarMember("a.jpeg", jpegs[2], &one);
  AppendTarMember("a.cls", "0", &one);
  WriteFileOrAbort(dir + "/seed-2", one);
}

// request_fuzz inputs: a slice-cut byte, then the request bytes.
void WriteRequestSeeds(const std::string& dir) {
  using namespace inputserve;
  std::vector<std::string> requests;
  v1::StreamBatchesRequest stream;
  requests.push_back(stream.SerializeAsString());  // Also every empty request.
  stream.set_consumer_id("rank-0");
  requests.push_back(stream.SerializeAsString());
  for (int mode : {0, 1, 2, 7, -1}) {
    v1::SetModeRequest set;
    set.set_mode(static_cast<v1::Mode>(mode));
    requests.push_back(set.SerializeAsString());
  }
  requests.push_back("Bearer s3cret-Token_42");
  requests.push_back("bearer  s3cret-Token_42 \t");
  requests.push_back("Bearer wrong");
  for (size_t i = 0; i < requests.size(); ++i) {
    const char cuts = static_cast<char>(i * 37);
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", i),
                     std::string(1, cuts) + requests[i]);
  }
}

// One chunk_fuzz record: [cuts][length, 2 bytes little-endian][bytes].
void AppendRecord(char cuts, const std::string& bytes, std::string* out) {
  out->push_back(cuts);
  out->push_back(static_cast<char>(bytes.size() & 0xff));
  out->push_back(static_cast<char>((bytes.size() >> 8) & 0xff));
  out->append(bytes);
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) std::abort();
  std::string flat;
  for (const grpc::Slice& s : slices) {
    flat.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return flat;
}

// chunk_fuzz inputs: two batches of the target's fixed layouts (selector
// 0-3), encoded by EncodeBatch at a few chunk sizes; and one batch after its
// DatasetInfo (selector 4 and up).
void WriteChunkSeeds(const std::string& dir) {
  using namespace inputserve;
  struct Layout {
    std::vector<TensorLayout> tensors;
  };
  const std::vector<Layout> layouts = {
      {{{"image", ElementType::kUint8, {2, 4, 4, 3}},
        {"label", ElementType::kInt32, {2}}}},
      {{{"image", ElementType::kFloat32, {4, 2, 2, 1}},
        {"label", ElementType::kInt64, {4}}}},
      {{{"image", ElementType::kBfloat16, {1, 3, 5, 3}}}},
      {{{"image", ElementType::kUint8, {3, 0, 4, 3}},
        {"label", ElementType::kInt32, {3}}}},
  };
  int seed = 0;
  for (size_t which = 0; which <= layouts.size(); ++which) {
    const Layout& layout = layouts[which % layouts.size()];
    size_t bytes = 0;
    for (const TensorLayout& t : layout.tensors) bytes += t.num_bytes();
    for (size_t chunk_bytes : {size_t{4096}, size_t{40}, size_t{7}}) {
      std::string input(1, static_cast<char>(which));
      if (which == layouts.size()) {  // DatasetInfo first.
        v1::DatasetInfo info;
        info.set_batch_size(2);
        for (const TensorLayout& t : layout.tensors) {
          ToProto(t, info.add_tensors());
        }
        AppendRecord(0, info.SerializeAsString(), &input);
      }
      for (uint64_t sequence = 0; sequence < 2; ++sequence) {
        auto batch = std::make_shared<PipelineBatch>();
        batch->sequence = sequence;
        batch->tensors = layout.tensors;
        std::shared_ptr<PayloadBuffer> payload = PayloadBuffer::Allocate(bytes);
        for (size_t i = 0; i < bytes; ++i) payload->data()[i] = i * 7 + 1;
        batch->payload = payload;
        const BatchWireInfo info{
            sequence == 0 ? ServingMode::kReal : ServingMode::kSynthetic,
            sequence, 0, 1};
        EncodedBatch encoded = EncodeBatch(batch, info, chunk_bytes);
        for (size_t i = 0; i < encoded.chunks.size(); ++i) {
          AppendRecord(static_cast<char>(i * 13 + sequence),
                       Flatten(encoded.chunks[i]), &input);
        }
      }
      WriteFileOrAbort(absl::StrCat(dir, "/seed-", seed++), input);
    }
  }
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

  // restart_fuzz: the tiny JPEGs and Debian's photos (when installed)
  // rewritten with restart markers.
  dir = MakeDir(out, "restart_fuzz");
  std::vector<std::string> sources = jpegs;
  for (const std::string& path :
       inputserve::testing::DebianPhotoPaths({"china", "flower", "rocket"})) {
    absl::StatusOr<std::string> photo = inputserve::ReadWholeFile(path);
    if (photo.ok()) sources.push_back(*std::move(photo));
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    absl::StatusOr<std::string> rewritten =
        inputserve::RewriteWithRestarts(sources[i]);
    if (!rewritten.ok()) {
      std::fprintf(stderr, "rewrite of seed %zu failed: %s\n", i,
                   std::string(rewritten.status().message()).c_str());
      std::abort();
    }
    WriteFileOrAbort(absl::StrCat(dir, "/seed-", i), *rewritten);
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
                         "imagefolder:tree\n32\n0\n1",
                         "imagefolder:tree/cat\n16\n1\n2",
                         "imagefolder:\n16",
                         "webdataset:shard-*.tar\n24\n2\n3",
                         "webdataset:junk.tar",
                         "webdataset:\n16",
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
  WriteTarAndPngSeeds(out);
  WriteRequestSeeds(MakeDir(out, "request_fuzz"));
  WriteChunkSeeds(MakeDir(out, "chunk_fuzz"));
  std::printf("seed corpora written under %s\n", out.c_str());
  return 0;
}
