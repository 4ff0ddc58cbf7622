// The state a deterministic-order StreamBatches call keeps: its rank plan,
// its position in it and the producer that builds its batches. Private to
// InputServiceImpl (input_service.cc and ordered_streams.cc); used by the
// call's reactor only.
#ifndef INPUTSERVE_SERVER_TRANSPORT_ORDERED_START_H_
#define INPUTSERVE_SERVER_TRANSPORT_ORDERED_START_H_

#include <cstdint>
#include <memory>
#include <utility>

#include "common/data_order.h"
#include "server/pipeline/ordered_batches.h"
#include "server/transport/input_service.h"

namespace inputserve {

// A deterministic stream's plan and position.
struct InputServiceImpl::OrderedStart {
  explicit OrderedStart(RankPlan p)
      : plan(std::make_shared<const RankPlan>(std::move(p))) {}
  std::shared_ptr<const RankPlan> plan;  // Shared with the producer.
  uint32_t shard = 0;
  uint64_t next_step = 0;  // The next real step to send.
  uint64_t end_step = 0;   // 0: none.
  bool done = false;       // Every step before end_step was sent.
  std::shared_ptr<OrderedBatchProducer> producer;  // Null: no step here.
};

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_TRANSPORT_ORDERED_START_H_
