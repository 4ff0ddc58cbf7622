// libFuzzer target: WebDataset tar shards. The input becomes one .tar file:
// the tar walk (every member's data must lie inside the file), the
// WebDataset index scan, then, when the shard holds a sample, the dataset is
// opened, one epoch read and decoded, and each sample read at random.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/sources/tar.h"
#include "server/sources/webdataset.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  const std::string path = fuzz::ScratchDir() + "/shard.tar";
  fuzz::WriteFileOrAbort(
      path, absl::string_view(reinterpret_cast<const char*>(data), size));

  TarReader tar;
  if (!tar.Open(path).ok()) return 0;
  TarMember m;
  for (int i = 0; i < 4096; ++i) {
    absl::StatusOr<bool> more = tar.Next(&m);
    if (!more.ok() || !*more) break;
    fuzz::Check(m.data_offset + m.size <= size,
                "tar member data runs past the end of the archive");
    fuzz::Check(m.data_offset >= m.header_offset + kTarBlock,
                "tar member data before its header");
    if (i % 2 == 0) {
      absl::StatusOr<absl::string_view> d = tar.ReadData(m);
      fuzz::Check(!d.ok() || d->size() == m.size, "ReadData size mismatch");
    }
  }

  absl::StatusOr<WebDatasetShard> shard = ScanWebDatasetShard(path);
  if (!shard.ok()) return 0;
  for (const WebDatasetSample& s : shard->samples) {
    fuzz::Check(s.image_offset + s.image_size <= size,
                "indexed image runs past the end of the shard");
    fuzz::Check(s.label >= 0 && s.label < kMaxWebDatasetClasses,
                "indexed label out of range");
  }
  if (shard->samples.empty()) return 0;
  DatasetOptions options;
  options.image_size = 16;
  options.augment = size % 2 == 0;
  options.num_shards = 1 + size % 3;
  options.shard_index = static_cast<uint32_t>(size % options.num_shards);
  absl::StatusOr<std::unique_ptr<Dataset>> ds =
      OpenWebDatasetDataset(path, options);
  fuzz::Check(ds.ok(), "a shard with an indexed sample failed to open");
  fuzz::ReadAndDecodeEpoch(**ds, 16);
  for (uint64_t i = 0; i < shard->samples.size() && i < 16; ++i) {
    absl::StatusOr<RawExample> ex = (*ds)->ReadRecord(i);
    fuzz::Check(ex.ok(), "random access to an indexed sample failed");
    fuzz::Check(ex->data.size() == shard->samples[i].image_size,
                "random access returned the wrong size");
  }
  return 0;
}
