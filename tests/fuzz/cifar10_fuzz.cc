// libFuzzer target: CIFAR-10 binary files. The input becomes one data file;
// the dataset is opened (size checks), one epoch read and every record
// decoded, with and without the pad-crop-flip augmentation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/sources/cifar10.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inputserve;
  const std::string path = fuzz::ScratchDir() + "/data_batch_1.bin";
  fuzz::WriteFileOrAbort(
      path, absl::string_view(reinterpret_cast<const char*>(data), size));
  for (bool augment : {true, false}) {
    DatasetOptions options;
    options.augment = augment;
    options.seed = size;
    options.num_shards = 1 + size % 3;
    options.shard_index = static_cast<uint32_t>(size % options.num_shards);
    absl::StatusOr<std::unique_ptr<Dataset>> ds =
        OpenCifar10Dataset(path, options);
    if (!ds.ok()) continue;
    fuzz::Check(size % kCifarRecordBytes == 0 && size > 0,
                "a CIFAR file whose size is not a multiple of 3073 opened");
    fuzz::ReadAndDecodeEpoch(**ds, 64);
  }
  return 0;
}
