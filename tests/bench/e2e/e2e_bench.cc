// End-to-end benchmark: images/s that a trainer linked with the inputserve
// client receives over loopback from inputserve-server decoding imagenet:
// TFRecords (JPEG decode + random-resized-crop + flip at batch 256), next to
// the PyTorch DataLoader doing the same preprocessing on the same JPEG bytes
// with the same number of cores. Two image sets: real photographs from Debian
// packages ("real") and inputserve-datagen's images ("generated").
//
// Each run measures inputserve (C++ client), inputserve through its Python
// package (DataLoader over InputServeDataset, batch_size=None), then the
// DataLoader, one after the other so they never share the cores; the
// figures printed last are medians over --runs. Load average is printed with
// every run: the machine may be shared.
//
//   e2e_bench [--sets=real,generated] [--records=1024] [--runs=3]
//             [--batches=12] [--warmup=3] [--batch_size=256]
//             [--decode_threads=0] [--num_workers=0] [--no_peer]
//             [--formats=tfrecord,imagefolder,webdataset]
//
// The same JPEG bytes are also served as an ImageFolder tree and as
// WebDataset tar shards (--formats), measured in the same runs, so the cost
// of the storage format shows as a ratio to TFRecord.
//
// Per set it also measures the entropy-decoding floor of the set's JPEGs
// (tests/bench/decode/entropy_floor.h): the CPU per image below which no
// pipeline built on this libjpeg-turbo can go, and so the highest CPU-per-
// image ratio over the DataLoader that any such pipeline could reach.
//
// Last lines, per set:
//   RESULT format=<imagefolder|webdataset> images_per_sec=<x>
//          tfrecord_images_per_sec=<y> ratio_to_tfrecord=<x/y> photos=<set>
//   RESULT e2e_images_per_sec=<x> dataloader_images_per_sec=<y>
//          ratio=<x/y> photos=<real|generated>
//   RESULT python_images_per_sec=<p> dataloader_images_per_sec=<y>
//          ratio=<p/y> photos=<real|generated>
//   RESULT epochs=<n> default_images_per_sec=<x> dataloader_images_per_sec=<y>
//          ratio=<x/y> photos=<set>
//   RESULT epochs=<n> decoded_cache_later_images_per_sec=<z>
//          decoded_cache_epoch1_images_per_sec=<w> dataloader_images_per_sec=<y>
//          ratio=<z/y> photos=<set>
// (dataloader figures read n/a when torch is not installed.) The epoch lines
// (--epochs, default 10) come from whole epochs of --records per server
// (tests/bench/e2e/epoch_comparison.h), next to server CPU per image against
// the floor of each path: the entropy floor for default flags, the
// decoded-cache hit and miss floors (decoded_cache_floor.h) for the cache.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "server/sources/dataset.h"
#include "server/sources/example_proto.h"
#include "server/sources/tfrecord.h"
#include "server/tools/datagen.h"
#include "server/tools/encoders.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/decode/entropy_floor.h"
#include "tests/bench/e2e/decoded_cache_floor.h"
#include "tests/bench/e2e/epoch_comparison.h"
#include "tests/bench/e2e/photo_dataset.h"
#include "tests/bench/e2e/runners.h"
#include "tests/testing/server_process.h"

ABSL_FLAG(std::string, sets, "real,generated",
          "Image sets to run: real (Debian photographs), generated "
          "(inputserve-datagen)");
ABSL_FLAG(int, records, 1024, "Records in each dataset");
ABSL_FLAG(int, runs, 3, "Runs per set; medians are reported");
ABSL_FLAG(int, batches, 12, "Batches timed per measurement");
ABSL_FLAG(int, warmup, 3, "Batches received before the clock starts");
ABSL_FLAG(int, batch_size, 256, "Examples per batch, both sides");
ABSL_FLAG(int, decode_threads, 0, "Server --decode_threads; 0 = cores");
ABSL_FLAG(int, num_workers, 0, "DataLoader num_workers; 0 = cores");
ABSL_FLAG(bool, no_peer, false, "Skip the PyTorch DataLoader");
ABSL_FLAG(bool, no_python, false,
          "Skip inputserve's Python package (InputServeDataset)");
ABSL_FLAG(std::string, python, "/usr/bin/python3",
          "Interpreter with Debian's python3-torch");
ABSL_FLAG(std::string, work_dir, "",
          "Where datasets are written (default: a fresh temp dir)");
ABSL_FLAG(std::string, formats, "tfrecord,imagefolder,webdataset",
          "Storage formats to serve the same JPEGs from (tfrecord always "
          "runs: the others are reported as ratios to it)");
ABSL_FLAG(int, epochs, 10,
          "Also time this many whole epochs of --records (a multiple of "
          "--batch_size) per run: default flags, --decoded_cache=ram "
          "(epoch 1 and epochs >= 2 apart) and the DataLoader; 0 skips");
ABSL_FLAG(std::string, server_args, "",
          "Extra inputserve-server flags, space-separated");

namespace inputserve::bench {
namespace {

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return absl::StrCat(a, " ", b, " ", c);
}

RunConfig ConfigFromFlags() {
  RunConfig c;
  c.batch_size = absl::GetFlag(FLAGS_batch_size);
  c.warmup = absl::GetFlag(FLAGS_warmup);
  c.batches = absl::GetFlag(FLAGS_batches);
  c.decode_threads = absl::GetFlag(FLAGS_decode_threads);
  c.num_workers = absl::GetFlag(FLAGS_num_workers);
  c.python = absl::GetFlag(FLAGS_python);
  for (absl::string_view extra : absl::StrSplit(
           absl::GetFlag(FLAGS_server_args), ' ', absl::SkipEmpty())) {
    c.server_args.emplace_back(extra);
  }
  return c;
}

// Remembers the first record a reader had to skip.
class FirstSkip : public SkipSink {
 public:
  void OnSkip(absl::string_view reason, absl::string_view file,
              uint64_t offset, absl::string_view detail) override {
    if (error.ok()) {
      error = absl::DataLossError(absl::StrCat(file, " at ", offset, ": ",
                                               reason, ": ", detail));
    }
  }
  absl::Status error;
};

// The JPEG bytes of every record of the TFRecord `files`, in order.
absl::StatusOr<std::vector<std::string>> ReadJpegs(
    const std::vector<std::string>& files) {
  std::vector<std::string> out;
  for (const std::string& path : files) {
    INPUTSERVE_ASSIGN_OR_RETURN(TfrecordScan scan, ScanTfrecordFile(path));
    TfrecordReader reader;
    INPUTSERVE_RETURN_IF_ERROR(reader.Open(path, scan.num_records));
    FirstSkip skips;
    TfrecordRecord record;
    for (;;) {
      INPUTSERVE_ASSIGN_OR_RETURN(
          bool more,
          reader.Next([](uint64_t) { return true; }, &skips, &record));
      if (!skips.error.ok()) return skips.error;
      if (!more) break;
      INPUTSERVE_ASSIGN_OR_RETURN(ImageExample example,
                                  ParseImageExample(record.data));
      out.emplace_back(example.image);
    }
  }
  return out;
}

// Writes `jpegs` again as an ImageFolder tree (<dir>/imagefolder, 10
// classes) and as 4 WebDataset shards (<dir>/webdataset); labels i % 10.
// Returns the dataset spec of each format, TFRecord first.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
WriteFormats(const std::vector<std::string>& jpegs, const std::string& dir,
             const std::string& tfrecord_glob) {
  std::vector<std::pair<std::string, std::string>> specs = {
      {"tfrecord", "imagenet:" + tfrecord_glob}};
  for (absl::string_view f :
       absl::StrSplit(absl::GetFlag(FLAGS_formats), ',', absl::SkipEmpty())) {
    if (f == "tfrecord") continue;
    if (f == "imagefolder") {
      const std::string root = dir + "/imagefolder";
      for (int c = 0; c < 10; ++c) {
        if (absl::Status s = MakeDirs(absl::StrFormat("%s/c%d", root, c));
            !s.ok()) {
          return s;
        }
      }
      for (size_t i = 0; i < jpegs.size(); ++i) {
        if (absl::Status s = WriteWholeFile(
                absl::StrFormat("%s/c%d/%06d.jpg", root, i % 10, i), jpegs[i]);
            !s.ok()) {
          return s;
        }
      }
      specs.emplace_back("imagefolder", "imagefolder:" + root);
    } else if (f == "webdataset") {
      const std::string out = dir + "/webdataset";
      if (absl::Status s = MakeDirs(out); !s.ok()) return s;
      for (size_t shard = 0; shard < 4; ++shard) {
        std::string tar;
        for (size_t i = shard; i < jpegs.size(); i += 4) {
          AppendTarMember(absl::StrFormat("%06d.jpg", i), jpegs[i], &tar);
          AppendTarMember(absl::StrFormat("%06d.cls", i),
                          absl::StrCat(i % 10), &tar);
        }
        AppendTarEnd(&tar);
        if (absl::Status s = WriteWholeFile(
                absl::StrFormat("%s/shard-%02d.tar", out, shard), tar);
            !s.ok()) {
          return s;
        }
      }
      specs.emplace_back("webdataset", "webdataset:" + out + "/*.tar");
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--formats: unknown format '", f,
          "' (tfrecord, imagefolder, webdataset)"));
    }
  }
  return specs;
}

struct SetFiles {
  std::vector<std::string> files;
  std::string glob;
  std::string dir;
  std::string description;
};

absl::StatusOr<SetFiles> BuildSet(const std::string& set,
                                  const std::string& work_dir) {
  const int records = absl::GetFlag(FLAGS_records);
  const std::string dir = absl::StrCat(work_dir, "/", set);
  SetFiles out;
  if (set == "real") {
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat("cannot create ", dir));
    }
    INPUTSERVE_ASSIGN_OR_RETURN(
        PhotoDataset ds,
        WritePhotoDataset(DefaultPhotoPaths(), dir, records, 4));
    out.files = ds.files;
    out.description = absl::StrCat(
        ds.records, " records cycling over ", ds.used.size(), " photographs, ",
        absl::SixDigits(ds.mean_mpix), " Mpix and ",
        ds.bytes / ds.records / 1024, " KiB mean per record");
    for (const std::string& d : ds.dropped) {
      absl::StrAppend(&out.description, "\n    dropped ", d);
    }
  } else if (set == "generated") {
    const testing::CommandResult r = testing::RunCommand(
        {testing::BinPath("inputserve-datagen"), "--format=tfrecord",
         absl::StrCat("--out=", dir), absl::StrCat("--num_examples=", records),
         "--seed=7"},
        absl::Seconds(600));
    if (r.exit_code != 0) {
      return absl::InternalError(
          absl::StrCat("inputserve-datagen failed:\n", r.output));
    }
    for (int f = 0; f < 4; ++f) {
      out.files.push_back(absl::StrFormat("%s/train-%05d-of-00004", dir, f));
    }
    out.description =
        absl::StrCat(records,
                     " records from inputserve-datagen (300-800 px sides, 10% "
                     "grayscale, q90)");
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("--sets: unknown set '", set, "' (real, generated)"));
  }
  out.glob = absl::StrCat(dir, "/*");
  out.dir = dir;
  return out;
}

int Main() {
  const RunConfig config = ConfigFromFlags();
  std::string work_dir = absl::GetFlag(FLAGS_work_dir);
  if (work_dir.empty()) {
    work_dir = testing::MakeTempDir("inputserve-e2e");
  } else if (mkdir(work_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "--work_dir: cannot create %s\n", work_dir.c_str());
    return 1;
  }
  std::printf(
      "e2e_bench: %d cores, batch %d, %d warm-up + %d timed batches, "
      "%d runs, load %s\n",
      Cores(), absl::GetFlag(FLAGS_batch_size), absl::GetFlag(FLAGS_warmup),
      absl::GetFlag(FLAGS_batches), absl::GetFlag(FLAGS_runs),
      LoadAverage().c_str());
  std::vector<std::string> results;
  for (absl::string_view set_name :
       absl::StrSplit(absl::GetFlag(FLAGS_sets), ',', absl::SkipEmpty())) {
    const std::string set(set_name);
    absl::StatusOr<SetFiles> files = BuildSet(set, work_dir);
    if (!files.ok()) {
      std::fprintf(stderr, "set %s: %s\n", set.c_str(),
                   std::string(files.status().message()).c_str());
      return 1;
    }
    std::printf("[%s] %s\n", set.c_str(), files->description.c_str());
    absl::StatusOr<std::vector<std::string>> jpegs = ReadJpegs(files->files);
    if (!jpegs.ok()) {
      std::fprintf(stderr, "set %s: reading its JPEGs back: %s\n",
                   set.c_str(), std::string(jpegs.status().message()).c_str());
      return 1;
    }
    // Other formats beside the TFRecords: the set's directory holds only
    // TFRecord files, so they go next to it.
    absl::StatusOr<std::vector<std::pair<std::string, std::string>>> formats =
        WriteFormats(*jpegs, files->dir + "-formats", files->glob);
    if (!formats.ok()) {
      std::fprintf(stderr, "set %s: %s\n", set.c_str(),
                   std::string(formats.status().message()).c_str());
      return 1;
    }
    // images/s and server+client CPU ms per image, per format.
    std::vector<std::vector<double>> per_format(formats->size());
    std::vector<std::vector<double>> cpu_per_format(formats->size());
    const double floor_ms = EntropyFloorMsPerImage(*jpegs, 1.0);
    std::printf("[%s] entropy floor: %.3f CPU ms/image over %zu images\n",
                set.c_str(), floor_ms, jpegs->size());
    std::vector<double> ours, theirs, our_cpu, their_cpu, py, py_cpu;
    const int epochs = absl::GetFlag(FLAGS_epochs);
    EpochComparison by_epoch(set, absl::GetFlag(FLAGS_records), epochs, config,
                             !absl::GetFlag(FLAGS_no_peer));
    for (int run = 0; run < absl::GetFlag(FLAGS_runs); ++run) {
      const std::string load_before = LoadAverage();
      absl::StatusOr<ServeFigures> e2e = MeasureInputserve((*formats)[0].second, config);
      if (!e2e.ok()) {
        std::fprintf(stderr, "inputserve run failed: %s\n",
                     std::string(e2e.status().message()).c_str());
        return 1;
      }
      per_format[0].push_back(e2e->images_per_sec);
      cpu_per_format[0].push_back(e2e->server_cpu_per_image_ms +
                                  e2e->client_cpu_per_image_ms);
      for (size_t f = 1; f < formats->size(); ++f) {
        absl::StatusOr<ServeFigures> other =
            MeasureInputserve((*formats)[f].second, config);
        if (!other.ok()) {
          std::fprintf(stderr, "inputserve %s run failed: %s\n",
                       (*formats)[f].first.c_str(),
                       std::string(other.status().message()).c_str());
          return 1;
        }
        per_format[f].push_back(other->images_per_sec);
        cpu_per_format[f].push_back(other->server_cpu_per_image_ms +
                                    other->client_cpu_per_image_ms);
        std::printf(
            "[%s] run %d: %s %.1f img/s (CPU ms/image: server %.2f, client "
            "%.2f), %.3fx tfrecord's %.1f\n",
            set.c_str(), run + 1, (*formats)[f].first.c_str(),
            other->images_per_sec, other->server_cpu_per_image_ms,
            other->client_cpu_per_image_ms,
            other->images_per_sec / e2e->images_per_sec, e2e->images_per_sec);
      }
      ours.push_back(e2e->images_per_sec);
      our_cpu.push_back(e2e->server_cpu_per_image_ms +
                        e2e->client_cpu_per_image_ms);
      std::string py_text = "python n/a";
      if (!absl::GetFlag(FLAGS_no_python)) {
        absl::StatusOr<ServeFigures> p = MeasurePython((*formats)[0].second, config);
        if (!p.ok()) {
          std::fprintf(stderr, "%s\n",
                       std::string(p.status().message()).c_str());
          return 1;
        }
        if (p->images_per_sec > 0) {
          py.push_back(p->images_per_sec);
          py_cpu.push_back(p->server_cpu_per_image_ms +
                           p->client_cpu_per_image_ms);
          py_text = absl::StrFormat(
              "python %.1f img/s (CPU ms/image: server %.2f, python %.2f)",
              p->images_per_sec, p->server_cpu_per_image_ms,
              p->client_cpu_per_image_ms);
        }
      }
      PeerFigures peer;
      if (!absl::GetFlag(FLAGS_no_peer)) {
        absl::StatusOr<PeerFigures> p = MeasurePeer(files->files, config);
        if (!p.ok()) {
          std::fprintf(stderr, "%s\n",
                       std::string(p.status().message()).c_str());
          return 1;
        }
        peer = *p;
      }
      std::string peer_text = "dataloader n/a (torch not installed)";
      if (peer.images_per_sec > 0) {
        theirs.push_back(peer.images_per_sec);
        their_cpu.push_back(peer.cpu_per_image_ms);
        peer_text = absl::StrFormat(
            "dataloader %.1f img/s (CPU ms/image %.2f)  ratio %.2fx",
            peer.images_per_sec, peer.cpu_per_image_ms,
            e2e->images_per_sec / peer.images_per_sec);
      }
      std::printf(
          "[%s] run %d: inputserve %.1f img/s (%.2f Gbit/s; CPU ms/image: "
          "server %.2f, client %.2f)  %s  %s  load %s -> %s\n",
          set.c_str(), run + 1, e2e->images_per_sec, e2e->gbit_per_sec,
          e2e->server_cpu_per_image_ms, e2e->client_cpu_per_image_ms,
          py_text.c_str(), peer_text.c_str(), load_before.c_str(),
          LoadAverage().c_str());
      std::fflush(stdout);
      if (epochs > 0) {
        if (absl::Status s =
                by_epoch.Run(run, (*formats)[0].second, files->files);
            !s.ok()) {
          std::fprintf(stderr, "epoch figures: %s\n",
                       std::string(s.message()).c_str());
          return 1;
        }
      }
    }
    if (epochs > 0) {
      // The cache-path floors over the first records (every photo of the
      // set appears among them).
      const std::vector<std::string> sample(
          jpegs->begin(), jpegs->begin() + std::min<size_t>(64, jpegs->size()));
      absl::StatusOr<DecodedCacheFloor> cache_floor =
          MeasureDecodedCacheFloor(sample, 1.0);
      if (!cache_floor.ok()) {
        std::fprintf(stderr, "decoded cache floor: %s\n",
                     std::string(cache_floor.status().message()).c_str());
        return 1;
      }
      for (std::string& line : by_epoch.Results(floor_ms, *cache_floor)) {
        results.push_back(std::move(line));
      }
    }
    const double x = Median(ours);
    for (size_t f = 1; f < formats->size(); ++f) {
      const double y = Median(per_format[f]);
      // CPU per image is the figure a loaded machine distorts least.
      const double cpu = Median(cpu_per_format[f]);
      const double tf_cpu = Median(cpu_per_format[0]);
      results.push_back(absl::StrFormat(
          "RESULT format=%s images_per_sec=%.1f tfrecord_images_per_sec=%.1f "
          "ratio_to_tfrecord=%.3f cpu_ms_per_image=%.2f "
          "tfrecord_cpu_ms_per_image=%.2f cpu_ratio_to_tfrecord=%.3f "
          "photos=%s",
          (*formats)[f].first, y, x, y / x, cpu, tf_cpu, cpu / tf_cpu, set));
    }
    if (theirs.empty()) {
      results.push_back(absl::StrFormat(
          "RESULT e2e_images_per_sec=%.1f dataloader_images_per_sec=n/a "
          "ratio=n/a photos=%s",
          x, set));
    } else {
      const double y = Median(theirs);
      // CPU per image does not depend on what else runs on the machine:
      // the ratio that a loaded, shared machine cannot distort.
      results.push_back(absl::StrFormat(
          "CPU ms/image (median) photos=%s: inputserve server+client %.2f, "
          "dataloader %.2f, ratio %.2fx",
          set, Median(our_cpu), Median(their_cpu),
          Median(their_cpu) / Median(our_cpu)));
      results.push_back(absl::StrFormat(
          "entropy floor photos=%s: %.3f CPU ms/image (Huffman decoding "
          "down to each crop's bottom row, without restart markers), 1/%.2f "
          "of the DataLoader's CPU per image",
          set, floor_ms, Median(their_cpu) / floor_ms));
      results.push_back(absl::StrFormat(
          "RESULT e2e_images_per_sec=%.1f dataloader_images_per_sec=%.1f "
          "ratio=%.2f photos=%s",
          x, y, x / y, set));
      if (!py.empty()) {
        results.push_back(absl::StrFormat(
            "CPU ms/image (median) photos=%s: inputserve python server+client "
            "%.2f, dataloader %.2f, ratio %.2fx",
            set, Median(py_cpu), Median(their_cpu),
            Median(their_cpu) / Median(py_cpu)));
        results.push_back(absl::StrFormat(
            "RESULT python_images_per_sec=%.1f dataloader_images_per_sec=%.1f "
            "ratio=%.2f photos=%s",
            Median(py), y, Median(py) / y, set));
      }
    }
  }
  std::printf("medians over %d runs, load now %s\n", absl::GetFlag(FLAGS_runs),
              LoadAverage().c_str());
  for (const std::string& r : results) std::printf("%s\n", r.c_str());
  return 0;
}

}  // namespace
}  // namespace inputserve::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return inputserve::bench::Main();
}
