#include "tests/integration/tls/test_pki.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "tests/testing/server_process.h"

namespace inputserve::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";

absl::Status Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), kOpenssl);
  CommandResult r = RunCommand(args, absl::Seconds(60));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(args, " "), " exited ", r.exit_code, ": ", r.output));
  }
  return absl::OkStatus();
}

// A self-signed CA certificate with an EC P-256 key (fast to generate).
absl::Status MakeCa(const std::string& prefix, const std::string& name) {
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  prefix + ".key", "-out", prefix + ".pem", "-days", "2",
                  "-subj", "/CN=" + name, "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign"});
}

// A leaf certificate for `prefix` signed by the CA at `ca_prefix`, with the
// extensions in `extensions` (an openssl extfile body).
absl::Status MakeLeaf(const std::string& prefix, const std::string& ca_prefix,
                      const std::string& cn, const std::string& extensions) {
  INPUTSERVE_RETURN_IF_ERROR(Openssl(
      {"req", "-new", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", prefix + ".key",
       "-out", prefix + ".csr", "-subj", "/CN=" + cn}));
  WriteFileOrDie(prefix + ".ext", extensions);
  return Openssl({"x509", "-req", "-in", prefix + ".csr", "-CA",
                  ca_prefix + ".pem", "-CAkey", ca_prefix + ".key",
                  "-CAcreateserial", "-out", prefix + ".pem", "-days", "2",
                  "-extfile", prefix + ".ext"});
}

}  // namespace

absl::StatusOr<TestPki> MakeTestPki() {
  TestPki pki;
  pki.dir = MakeTempDir("tls_pki");
  const std::string& d = pki.dir;
  for (absl::Status s : {
           MakeCa(d + "/ca", "inputserve test CA"),
           MakeLeaf(d + "/server", d + "/ca", "localhost",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n"),
           MakeLeaf(d + "/client", d + "/ca", "trainer",
                    "extendedKeyUsage=clientAuth\n"),
           MakeCa(d + "/other_ca", "unrelated CA"),
           MakeLeaf(d + "/other_client", d + "/other_ca", "intruder",
                    "extendedKeyUsage=clientAuth\n"),
       }) {
    if (!s.ok()) return s;
  }
  pki.ca_cert = d + "/ca.pem";
  pki.server_cert = d + "/server.pem";
  pki.server_key = d + "/server.key";
  pki.client_cert = d + "/client.pem";
  pki.client_key = d + "/client.key";
  pki.other_ca_cert = d + "/other_ca.pem";
  pki.other_client_cert = d + "/other_client.pem";
  pki.other_client_key = d + "/other_client.key";
  return pki;
}

}  // namespace inputserve::testing
