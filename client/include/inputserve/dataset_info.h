// DatasetInfo: what the servers a Client reads from serve, as they described
// it when the Client was created. Plain data; immutable once the Client
// exists.
#ifndef INPUTSERVE_CLIENT_DATASET_INFO_H_
#define INPUTSERVE_CLIENT_DATASET_INFO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "inputserve/batch.h"

namespace inputserve {

struct TensorSpec {
  std::string name;
  ElementType dtype = ElementType::kUint8;
  std::vector<int64_t> shape;  // Global batch shape; shape[0] = batch size.
};

// One server address that answered when the Client was created.
struct ShardInfo {
  std::string target;  // As Batch::source names it.
  std::string dataset;  // The server's --dataset.
  uint32_t shard_index = 0;
  uint32_t num_shards = 1;
  uint64_t examples_per_epoch = 0;  // Of this shard; 0 = unbounded.
};

struct DatasetInfo {
  std::string dataset;  // --dataset of the first server that answered.
  int batch_size = 0;   // Global batch size every server produces.
  std::vector<TensorSpec> tensors;  // In payload order.
  uint64_t batch_payload_bytes = 0;
  // Examples per epoch over the distinct shards that answered (replicas of
  // one shard count once); 0 when unbounded (synthetic data).
  uint64_t examples_per_epoch = 0;
  int num_classes = 0;  // 0 when the server does not know.
  std::vector<std::string> class_names;  // Label i is class_names[i], if set.
  std::vector<ShardInfo> shards;  // One per answering address.
};

}  // namespace inputserve

#endif  // INPUTSERVE_CLIENT_DATASET_INFO_H_
