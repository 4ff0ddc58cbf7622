// TestPki: a throw-away public-key infrastructure made with the openssl CLI
// for TLS tests: a CA, a server certificate for 127.0.0.1/localhost, a
// client certificate, and a second, unrelated CA with its own client
// certificate. Not thread-safe; build once per test suite.
#ifndef INPUTSERVE_TESTS_INTEGRATION_TLS_TEST_PKI_H_
#define INPUTSERVE_TESTS_INTEGRATION_TLS_TEST_PKI_H_

#include <string>

#include "absl/status/statusor.h"

namespace inputserve::testing {

struct TestPki {
  std::string dir;
  std::string ca_cert;                  // The CA that signs the files below.
  std::string server_cert, server_key;  // SAN IP:127.0.0.1, DNS:localhost.
  std::string client_cert, client_key;  // extendedKeyUsage clientAuth.
  std::string other_ca_cert;            // Unrelated CA.
  std::string other_client_cert, other_client_key;  // Signed by other CA.
};

// Makes every file under a fresh temp dir. Errors carry openssl's output.
absl::StatusOr<TestPki> MakeTestPki();

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_INTEGRATION_TLS_TEST_PKI_H_
