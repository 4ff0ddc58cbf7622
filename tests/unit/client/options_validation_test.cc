#include "client/options_validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace inputserve::client_internal {
namespace {

using ::inputserve::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

ClientOptions Valid() {
  ClientOptions o;
  o.targets = {"127.0.0.1:1"};
  return o;
}

void ExpectInvalid(const ClientOptions& o, const std::string& field) {
  absl::Status s = ValidateOptions(o);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)))
      << field << s.message();
}

TEST(OptionsValidationTest, DefaultsWithOneTargetAreValid) {
  EXPECT_TRUE(ValidateOptions(Valid()).ok());
}

TEST(OptionsValidationTest, EachBadFieldIsNamed) {
  ClientOptions o = Valid();
  o.targets.clear();
  ExpectInvalid(o, "targets");
  o = Valid();
  o.targets.push_back("");
  ExpectInvalid(o, "targets[1]");
  o = Valid();
  o.num_devices = -1;
  ExpectInvalid(o, "num_devices");
  o = Valid();
  o.prefetch_batches = 0;
  ExpectInvalid(o, "prefetch_batches");
  o = Valid();
  o.connections_per_target = 0;
  ExpectInvalid(o, "connections_per_target");
  o = Valid();
  o.consumer_id = std::string(300, 'x');
  ExpectInvalid(o, "consumer_id");
  o = Valid();
  o.initial_backoff = absl::ZeroDuration();
  ExpectInvalid(o, "initial_backoff");
  o = Valid();
  o.max_backoff = absl::Milliseconds(1);
  ExpectInvalid(o, "max_backoff");
  o = Valid();
  o.unavailable_timeout = absl::ZeroDuration();
  ExpectInvalid(o, "unavailable_timeout");
  o = Valid();
  o.connect_timeout = -absl::Seconds(1);
  ExpectInvalid(o, "connect_timeout");
  o = Valid();
  o.dns_refresh = -absl::Seconds(1);
  ExpectInvalid(o, "dns_refresh");
  o = Valid();
  o.dns_refresh = absl::ZeroDuration();  // Resolve only at Create.
  EXPECT_TRUE(ValidateOptions(o).ok());
  o = Valid();
  o.device_kind = DeviceKind::kCuda;
  ExpectInvalid(o, "device_kind");
  o = Valid();
  o.tls.enabled = true;
  o.tls.cert_file = "client.pem";
  ExpectInvalid(o, "key_file");
}

TEST(OptionsValidationTest, ArrivalOrderRefusesEachDeterministicField) {
  ClientOptions o = Valid();
  o.rank = 1;
  o.world_size = 2;
  ExpectInvalid(o, "ClientOptions.rank");
  o = Valid();
  o.world_size = 2;
  ExpectInvalid(o, "ClientOptions.world_size");
  o = Valid();
  o.start_step = 5;
  ExpectInvalid(o, "ClientOptions.start_step");
  o = Valid();
  o.num_epochs = 1;
  ExpectInvalid(o, "ClientOptions.num_epochs");
  o = Valid();
  o.drop_remainder = false;
  ExpectInvalid(o, "ClientOptions.drop_remainder");
}

TEST(OptionsValidationTest, DeterministicOrderChecksRankAndWorldSize) {
  ClientOptions o = Valid();
  o.ordering = Ordering::kDeterministic;
  o.rank = 3;
  o.world_size = 4;
  o.start_step = 100;
  o.num_epochs = 2;
  o.drop_remainder = false;
  EXPECT_TRUE(ValidateOptions(o).ok());
  o.world_size = 0;
  o.rank = 0;
  ExpectInvalid(o, "world_size must be at least 1");
  o.world_size = 4;
  o.rank = 4;
  ExpectInvalid(o, "rank 4 is out of range for world_size 4");
  o.rank = 0;
  o.ordering = static_cast<Ordering>(7);
  ExpectInvalid(o, "ordering");
}

TEST(OptionsValidationTest, DivisibleBatchesPass) {
  EXPECT_TRUE(CheckBatchDivisible(256, 0).ok());
  EXPECT_TRUE(CheckBatchDivisible(256, 8).ok());
  EXPECT_TRUE(CheckBatchDivisible(7, 1).ok());
}

TEST(OptionsValidationTest, IndivisibleBatchNamesSizesAndNeighbours) {
  absl::Status s = CheckBatchDivisible(100, 3);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("batch size 100")))
      << s.message();
  EXPECT_THAT(std::string(s.message()), HasSubstr("num_devices 3"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("99 or 102"));
}

TEST(OptionsValidationTest, BatchSmallerThanDevicesOffersOnlyTheLargerSize) {
  absl::Status s = CheckBatchDivisible(3, 8);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("nearest valid batch sizes: 8")))
      << s.message();
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(" or ")));
}

}  // namespace
}  // namespace inputserve::client_internal
