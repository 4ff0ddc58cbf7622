// Test helpers that run real processes: an inputserve-server on loopback
// ports picked by the kernel, and any other binary of the build.
#ifndef INPUTSERVE_TESTS_TESTING_SERVER_PROCESS_H_
#define INPUTSERVE_TESTS_TESTING_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace inputserve::testing {

// Absolute path of a binary built by this project (e.g. "inputserve-server").
std::string BinPath(const std::string& name);

// A fresh empty directory under $TMPDIR, removed by nobody (tests are short).
std::string MakeTempDir(const std::string& prefix);

// Writes `contents` to `path`; aborts the test on failure.
void WriteFileOrDie(const std::string& path, const std::string& contents);

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or failed to start.
  std::string output;  // stdout and stderr together.
};

// Runs argv to completion (killed after `timeout`).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Seconds(60));

// A child process started in the background (e.g. a trainer a test pauses
// with SIGSTOP while it kills a server). stdout and stderr go to a file; the
// destructor kills the process if it still runs.
class BackgroundCommand {
 public:
  static std::unique_ptr<BackgroundCommand> Start(
      const std::vector<std::string>& argv);
  ~BackgroundCommand();

  pid_t pid() const { return pid_; }
  // Waits up to `timeout`; the exit code, or -1 when it was killed by a
  // signal or did not exit in time (then it is killed).
  int Wait(absl::Duration timeout);
  // Everything it wrote to stdout and stderr so far.
  std::string output() const;

 private:
  BackgroundCommand() = default;
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string log_path_;
};

// An inputserve-server child process. Start() adds --listen,
// --admin_listen and --metrics_listen on 127.0.0.1:0 and --port_file unless
// the caller passes them, waits for the port file, and fails with the
// server's output if it exits first. The destructor kills the process.
class ServerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      std::vector<std::string> args,
      absl::Duration timeout = absl::Seconds(30));
  ~ServerProcess();

  int data_port() const { return data_port_; }
  int admin_port() const { return admin_port_; }
  int metrics_port() const { return metrics_port_; }
  std::string data_target() const;   // "127.0.0.1:<data_port>"
  std::string admin_target() const;  // "127.0.0.1:<admin_port>"
  pid_t pid() const { return pid_; }

  // Sends `signal`, waits up to `timeout`; returns the exit code, or -1 when
  // it was killed by a signal or did not exit in time (then it is killed).
  int StopWithSignal(int signal, absl::Duration timeout = absl::Seconds(15));
  // SIGKILL without waiting for a clean exit.
  void Kill();
  bool running();
  // Everything the server wrote to stdout and stderr so far.
  std::string output() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int data_port_ = 0, admin_port_ = 0, metrics_port_ = 0;
  std::string log_path_;
};

// Starts a server with `args` listening on `target` ("127.0.0.1:<port>",
// e.g. the old address of a killed replica), retrying while the port is
// still held, for up to `timeout`.
absl::StatusOr<std::unique_ptr<ServerProcess>> StartOnPort(
    std::vector<std::string> args, const std::string& target,
    absl::Duration timeout = absl::Seconds(20));

// GET http://127.0.0.1:<port><path>; returns the body of a 200 response.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// Value of one sample in Prometheus text format, e.g.
// MetricValue(text, "inputserve_bytes_sent_total{mode=\"real\"}").
// NOT_FOUND when the sample is absent.
// A start-up that must fail: inputserve-server with `args` exits non-zero
// (not by a signal) and prints `message`.
struct BadStart {
  const char* name;  // Test name suffix.
  std::vector<std::string> args;
  std::string message;  // Must appear in the output.
};

// Runs inputserve-server with `listen_flags` (e.g. --listen=127.0.0.1:0)
// and `bad.args`, and checks the exit status and the message with gtest
// expectations.
void ExpectStartFails(const BadStart& bad,
                      const std::vector<std::string>& listen_flags);

absl::StatusOr<double> MetricValue(const std::string& metrics_text,
                                   const std::string& sample);

}  // namespace inputserve::testing

#endif  // INPUTSERVE_TESTS_TESTING_SERVER_PROCESS_H_
