// Decode throughput of the ImageNet training preprocessing (JPEG decode +
// random-resized-crop to 224 + flip), images/s per thread and with all
// threads, for:
//   (a) plain: full-size TurboJPEG decode, then crop + resize (baseline);
//   (c) region: libjpeg decode of the crop window only, no DCT scaling;
//   (b) fast:  region decode at the coarsest adequate DCT scale (what the
//       server runs), then crop + resize;
//   (r) restart: the same images losslessly rewritten with restart markers
//       (RewriteWithRestarts, indexed once as the server's cache holds
//       them); only the intervals covering the crop are cut out and
//       decoded, at the same DCT scale;
//   (f) floor of (b): for the same crops, only the entropy (Huffman)
//       decoding of every MCU row down to the crop's bottom, which no
//       libjpeg-based decoder can skip without restart markers;
//   (g) floor of (r): the entropy decoding of just the crop's intervals
//       (entropy_floor.h). A path can approach its floor but not pass it;
// on generated images and on real photographs from Debian packages, and
// prints the ratios measured in the same run, plus the one-off cost of the
// rewrite per image and the size it adds.
//
//   decode_bench [--seconds=S] [--threads=N] [--out_size=224]
//                [--only=fast|restart]   (one path, one thread: for perf)
#include <turbojpeg.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "server/codec/image_preprocessor.h"
#include "server/codec/jpeg_restart.h"
#include "server/codec/rng.h"
#include "server/tools/image_painter.h"
#include "tests/bench/decode/entropy_floor.h"
#include "tests/testing/debian_photos.h"

namespace inputserve {
namespace {

struct Flags {
  double seconds = 1.5;
  int threads = 0;  // 0 = hardware concurrency.
  int out_size = 224;
  std::string only;  // --only=fast|restart: that path alone, for perf.
};

struct ImageSet {
  std::string name;
  std::vector<std::string> jpegs;
  double mpix = 0;  // Mean megapixels per image.
  // jpegs[i] rewritten with restart markers, and its index.
  std::vector<std::string> rewritten;
  std::vector<RestartIndex> indexes;
};

std::string ReadFile(const std::string& path) {
  return ReadWholeFile(path).value_or("");
}

// Class-structured images like inputserve-datagen writes, 300-800 px sides.
ImageSet Generated() {
  ImageSet set;
  set.name = "generated (300-800 px, q90 4:2:0)";
  tjhandle tj = tjInitCompress();
  Rng rng(1);
  std::vector<uint8_t> rgb;
  for (int i = 0; i < 24; ++i) {
    const int w = 300 + static_cast<int>(rng.Below(501));
    const int h = 300 + static_cast<int>(rng.Below(501));
    rgb.resize(static_cast<size_t>(w) * h * 3);
    PaintClassImage(i % 10, w, h, rng, rgb.data());
    unsigned char* out = nullptr;
    unsigned long size = 0;
    if (tjCompress2(tj, rgb.data(), w, 0, h, TJPF_RGB, &out, &size, TJSAMP_420,
                    90, 0) == 0) {
      set.jpegs.emplace_back(reinterpret_cast<const char*>(out), size);
      set.mpix += w * h / 1e6;
    }
    tjFree(out);
  }
  tjDestroy(tj);
  set.mpix /= set.jpegs.size();
  return set;
}

ImageSet Photos(const std::string& name,
                const std::vector<std::string>& paths) {
  ImageSet set;
  set.name = name;
  JpegDecoder dec;
  for (const std::string& p : paths) {
    std::string jpeg = ReadFile(p);
    if (jpeg.empty()) continue;
    absl::StatusOr<JpegHeader> h = dec.ReadHeader(jpeg);
    if (!h.ok()) continue;
    set.mpix += h->width * static_cast<double>(h->height) / 1e6;
    set.jpegs.push_back(std::move(jpeg));
  }
  if (!set.jpegs.empty()) set.mpix /= set.jpegs.size();
  return set;
}

enum class Path { kPlain, kRegion, kFast, kRestart, kFloor, kRestartFloor };

struct Rate {
  double wall = 0;     // Images per wall-clock second, all threads together.
  double per_cpu = 0;  // Images per CPU-second of one worker: load-immune.
};

// Images/s over `seconds` with `threads` workers, each its own preprocessor.
Rate Measure(const ImageSet& set, Path path, int threads, const Flags& f) {
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::vector<long> counts(threads, 0);
  std::vector<double> cpu(threads, 0);
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      PreprocessOptions o;
      o.out_size = f.out_size;
      o.augment = true;
      o.max_scale_denom = path == Path::kFast || path == Path::kRestart ? 8 : 1;
      ImagePreprocessor p(o);
      bench::EntropyFloor floor;
      std::vector<uint8_t> out(static_cast<size_t>(f.out_size) * f.out_size *
                               3);
      uint64_t seed = static_cast<uint64_t>(t) << 32;
      long n = 0;
      const double cpu0 = bench::ThreadCpuSeconds();
      while (!stop.load(std::memory_order_relaxed)) {
        const size_t i = (seed + t) % set.jpegs.size();
        const std::string& jpeg = set.jpegs[i];
        absl::Status s;
        if (path == Path::kFloor) {
          floor.Run(jpeg, seed);
        } else if (path == Path::kRestartFloor) {
          floor.RunRestart(set.rewritten[i], set.indexes[i], seed);
        } else if (path == Path::kRestart) {
          s = p.ProcessIndexed(set.rewritten[i], set.indexes[i], seed,
                               out.data());
        } else if (path == Path::kPlain) {
          s = p.ProcessReference(jpeg, seed, out.data());
        } else {
          s = p.Process(jpeg, seed, out.data());
        }
        if (!s.ok()) {
          std::fprintf(stderr, "decode failed: %s\n",
                       std::string(s.message()).c_str());
          failed = true;
          break;
        }
        ++seed;
        ++n;
      }
      counts[t] = n;
      cpu[t] = bench::ThreadCpuSeconds() - cpu0;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(f.seconds));
  stop = true;
  for (std::thread& w : workers) w.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (failed) std::exit(1);
  long total = 0;
  double total_cpu = 0;
  for (int t = 0; t < threads; ++t) {
    total += counts[t];
    total_cpu += cpu[t];
  }
  return Rate{total / elapsed, total_cpu > 0 ? total / total_cpu : 0};
}

// Rewrites every image with restart markers and indexes it; prints the
// one-off cost. False (after saying why) if any image fails.
bool AddRewrites(ImageSet& set) {
  size_t in_bytes = 0, out_bytes = 0;
  const double cpu0 = bench::ThreadCpuSeconds();
  for (const std::string& jpeg : set.jpegs) {
    absl::StatusOr<std::string> rw = RewriteWithRestarts(jpeg);
    RestartIndex index;
    absl::Status s = rw.ok() ? ParseRestartIndex(*rw, &index) : rw.status();
    if (!s.ok()) {
      std::fprintf(stderr, "rewrite failed: %s\n",
                   std::string(s.message()).c_str());
      return false;
    }
    in_bytes += jpeg.size();
    out_bytes += rw->size();
    set.rewritten.push_back(*std::move(rw));
    set.indexes.push_back(std::move(index));
  }
  const double ms = (bench::ThreadCpuSeconds() - cpu0) * 1e3 / set.jpegs.size();
  // The server's cache fills without optimize_coding: time that too.
  size_t quick_bytes = 0;
  const double cpu1 = bench::ThreadCpuSeconds();
  for (const std::string& jpeg : set.jpegs) {
    quick_bytes += RewriteWithRestarts(jpeg, false).value_or("").size();
  }
  const double quick_ms =
      (bench::ThreadCpuSeconds() - cpu1) * 1e3 / set.jpegs.size();
  std::printf(
      "  rewrite with restart markers, ms CPU per image: optimized Huffman "
      "(prepare) %.2f, bytes %+.1f%%; standard Huffman (cache fill) %.2f, "
      "bytes %+.1f%%\n",
      ms, 100.0 * (static_cast<double>(out_bytes) / in_bytes - 1), quick_ms,
      100.0 * (static_cast<double>(quick_bytes) / in_bytes - 1));
  return true;
}

bool Run(ImageSet& set, const Flags& f) {
  if (set.jpegs.empty()) {
    std::printf("%-44s  (not installed, skipped)\n", set.name.c_str());
    return true;
  }
  std::printf("%s: %zu images, %.2f Mpix mean\n", set.name.c_str(),
              set.jpegs.size(), set.mpix);
  if (!AddRewrites(set)) return false;
  if (!f.only.empty()) {
    const Rate r =
        Measure(set, f.only == "restart" ? Path::kRestart : Path::kFast, 1, f);
    std::printf("  --only=%s: %.3f ms CPU per image\n", f.only.c_str(),
                1e3 / r.per_cpu);
    return true;
  }
  for (int threads : {1, f.threads}) {
    const Rate a = Measure(set, Path::kPlain, threads, f);
    const Rate c = Measure(set, Path::kRegion, threads, f);
    const Rate b = Measure(set, Path::kFast, threads, f);
    const Rate r = Measure(set, Path::kRestart, threads, f);
    const Rate fl = Measure(set, Path::kFloor, threads, f);
    const Rate g = Measure(set, Path::kRestartFloor, threads, f);
    std::printf(
        "  threads=%d  img/s: (a) plain full decode+resize %7.1f  "
        "(c) region decode %7.1f  (b) region+DCT scale %7.1f  "
        "(r) restart crop %7.1f  b/a = %.2fx  r/b = %.2fx  r/a = %.2fx\n"
        "             floors img/s: (f) rows to crop bottom %7.1f  "
        "(g) crop intervals %7.1f  f/b = %.2fx  g/r = %.2fx  g/f = %.2fx\n"
        "             per CPU-second of one thread: (a) %7.1f  (c) %7.1f  "
        "(b) %7.1f  (r) %7.1f  (f) %7.1f  (g) %7.1f  b/a = %.2fx  "
        "r/b = %.2fx  f/b = %.2fx  g/r = %.2fx\n"
        "             ms per image (CPU): (b) %.3f  (r) %.3f  (f) %.3f  "
        "(g) %.3f\n",
        threads, a.wall, c.wall, b.wall, r.wall, b.wall / a.wall,
        r.wall / b.wall, r.wall / a.wall, fl.wall, g.wall, fl.wall / b.wall,
        g.wall / r.wall, g.wall / fl.wall, a.per_cpu, c.per_cpu, b.per_cpu,
        r.per_cpu, fl.per_cpu, g.per_cpu, b.per_cpu / a.per_cpu,
        r.per_cpu / b.per_cpu, fl.per_cpu / b.per_cpu, g.per_cpu / r.per_cpu,
        1e3 / b.per_cpu, 1e3 / r.per_cpu, 1e3 / fl.per_cpu, 1e3 / g.per_cpu);
  }
  std::fflush(stdout);
  return true;
}

}  // namespace
}  // namespace inputserve

int main(int argc, char** argv) {
  inputserve::Flags f;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (std::strncmp(a, "--seconds=", 10) == 0) {
      f.seconds = std::atof(a + 10);
    } else if (std::strncmp(a, "--threads=", 10) == 0) {
      f.threads = std::atoi(a + 10);
    } else if (std::strncmp(a, "--out_size=", 11) == 0) {
      f.out_size = std::atoi(a + 11);
    } else if (std::strcmp(a, "--only=fast") == 0 ||
               std::strcmp(a, "--only=restart") == 0) {
      f.only = a + 7;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seconds=S] [--threads=N] [--out_size=224] "
                   "[--only=fast|restart]\n",
                   argv[0]);
      return 2;
    }
  }
  if (f.threads <= 0) {
    f.threads = static_cast<int>(std::thread::hardware_concurrency());
  }
  if (f.seconds <= 0 || f.threads <= 0 || f.out_size < 8) {
    std::fprintf(stderr,
                 "bad flags: need --seconds > 0, --threads >= 1, "
                 "--out_size >= 8\n");
    return 2;
  }
  std::printf(
      "decode_bench: random-resized-crop to %d + flip, %.1f s per "
      "figure, all threads = %d\n",
      f.out_size, f.seconds, f.threads);
  using inputserve::testing::DebianPhotoPaths;
  inputserve::ImageSet sets[] = {
      inputserve::Generated(),
      inputserve::Photos("photos 640x427 (sklearn china, flower; "
                         "skimage rocket)",
                         DebianPhotoPaths({"china", "flower", "rocket"})),
      inputserve::Photos("photos large (skimage retina 1411^2, "
                         "hubble_deep_field)",
                         DebianPhotoPaths({"retina", "hubble_deep_field"})),
  };
  for (inputserve::ImageSet& set : sets) {
    if (!inputserve::Run(set, f)) return 1;
  }
  return 0;
}
