#include "tests/testing/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/file_util.h"
#include "gtest/gtest.h"

namespace inputserve::testing {
namespace {

std::string ReadAll(const std::string& path) {
  return ReadWholeFile(path).value_or("");
}

bool HasFlag(const std::vector<std::string>& args, absl::string_view name) {
  for (const std::string& a : args) {
    if (absl::StartsWith(a, absl::StrCat("--", name, "="))) return true;
  }
  return false;
}

// Starts argv with stdout+stderr redirected to `log_path`.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  // Everything the child needs is prepared before fork(): after fork in a
  // multithreaded process only async-signal-safe calls are allowed.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  execv(args[0], args.data());
  _exit(127);
}

// Waits for `pid` up to `timeout`; returns true with the wait status if it
// exited.
bool WaitFor(pid_t pid, absl::Duration timeout, int* status) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0) return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

}  // namespace

std::string BinPath(const std::string& name) {
  return absl::StrCat(INPUTSERVE_BIN_DIR, "/", name);
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      absl::StrCat(base != nullptr ? base : "/tmp", "/", prefix, "-XXXXXX");
  char* dir = mkdtemp(templ.data());
  if (dir == nullptr) {
    ADD_FAILURE() << "mkdtemp failed: " << std::strerror(errno);
    std::abort();
  }
  return dir;
}

void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out.flush()) {
    ADD_FAILURE() << "cannot write " << path;
    std::abort();
  }
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout) {
  CommandResult result;
  char log_template[] = "/tmp/inputserve-cmd-XXXXXX";
  int fd = mkstemp(log_template);
  if (fd < 0) return result;
  close(fd);
  pid_t pid = Spawn(argv, log_template);
  int status = 0;
  if (!WaitFor(pid, timeout, &status)) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    result.exit_code = -1;
  } else {
    result.exit_code = ExitCode(status);
  }
  result.output = ReadAll(log_template);
  unlink(log_template);
  return result;
}

std::unique_ptr<BackgroundCommand> BackgroundCommand::Start(
    const std::vector<std::string>& argv) {
  std::unique_ptr<BackgroundCommand> command(new BackgroundCommand());
  command->log_path_ =
      absl::StrCat(MakeTempDir("inputserve-background"), "/output.log");
  command->pid_ = Spawn(argv, command->log_path_);
  return command;
}

BackgroundCommand::~BackgroundCommand() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int BackgroundCommand::Wait(absl::Duration timeout) {
  if (pid_ <= 0 || reaped_) return -1;
  int status = 0;
  if (!WaitFor(pid_, timeout, &status)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return -1;
  }
  reaped_ = true;
  return ExitCode(status);
}

std::string BackgroundCommand::output() const { return ReadAll(log_path_); }

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    std::vector<std::string> args, absl::Duration timeout) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  const std::string dir = MakeTempDir("inputserve-server");
  std::string port_file = absl::StrCat(dir, "/ports.json");
  for (const std::string& a : args) {
    if (absl::StartsWith(a, "--port_file=")) port_file = a.substr(12);
  }
  if (!HasFlag(args, "port_file")) args.push_back("--port_file=" + port_file);
  if (!HasFlag(args, "listen")) args.push_back("--listen=127.0.0.1:0");
  if (!HasFlag(args, "admin_listen")) {
    args.push_back("--admin_listen=127.0.0.1:0");
  }
  if (!HasFlag(args, "metrics_listen")) {
    args.push_back("--metrics_listen=127.0.0.1:0");
  }
  std::vector<std::string> argv = {BinPath("inputserve-server")};
  argv.insert(argv.end(), args.begin(), args.end());
  server->log_path_ = absl::StrCat(dir, "/server.log");
  server->pid_ = Spawn(argv, server->log_path_);

  const absl::Time deadline = absl::Now() + timeout;
  static const std::regex kPorts(
      R"re(\{"data": (\d+), "admin": (\d+), "metrics": (\d+)\})re");
  for (;;) {
    std::smatch m;
    const std::string json = ReadAll(port_file);
    if (std::regex_search(json, m, kPorts)) {
      server->data_port_ = std::stoi(m[1]);
      server->admin_port_ = std::stoi(m[2]);
      server->metrics_port_ = std::stoi(m[3]);
      return server;
    }
    int status = 0;
    if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("inputserve-server exited with code ", ExitCode(status),
                       " before listening:\n", server->output()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "inputserve-server did not write ", port_file, " in time:\n",
          server->output()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

ServerProcess::~ServerProcess() { Kill(); }

std::string ServerProcess::data_target() const {
  return absl::StrCat("127.0.0.1:", data_port_);
}

std::string ServerProcess::admin_target() const {
  return absl::StrCat("127.0.0.1:", admin_port_);
}

int ServerProcess::StopWithSignal(int signal, absl::Duration timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  if (!WaitFor(pid_, timeout, &status)) {
    Kill();
    return -1;
  }
  pid_ = -1;
  return ExitCode(status);
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool ServerProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string ServerProcess::output() const { return ReadAll(log_path_); }

absl::StatusOr<std::unique_ptr<ServerProcess>> StartOnPort(
    std::vector<std::string> args, const std::string& target,
    absl::Duration timeout) {
  args.push_back("--listen=" + target);
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(args);
    if (server.ok() || absl::Now() >= deadline) return server;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to port ", port));
  }
  const std::string request = absl::StrCat(
      "GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (send(fd, request.data(), request.size(), 0) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("send failed");
  }
  std::string response;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    response.append(buf, n);
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (!absl::StartsWith(response, "HTTP/1.") || body == std::string::npos) {
    return absl::InternalError("malformed HTTP response");
  }
  const std::string status_line = response.substr(0, response.find("\r\n"));
  if (!absl::StrContains(status_line, " 200")) {
    return absl::InternalError(absl::StrCat("HTTP status: ", status_line));
  }
  return response.substr(body + 4);
}

void ExpectStartFails(const BadStart& bad,
                      const std::vector<std::string>& listen_flags) {
  std::vector<std::string> argv = {BinPath("inputserve-server")};
  argv.insert(argv.end(), listen_flags.begin(), listen_flags.end());
  argv.insert(argv.end(), bad.args.begin(), bad.args.end());
  CommandResult result = RunCommand(argv, absl::Seconds(30));
  EXPECT_GT(result.exit_code, 0) << "exit " << result.exit_code << "\n"
                                 << result.output;
  EXPECT_TRUE(absl::StrContains(result.output, bad.message))
      << "expected '" << bad.message << "' in:\n"
      << result.output;
}

absl::StatusOr<double> MetricValue(const std::string& metrics_text,
                                   const std::string& sample) {
  for (absl::string_view line : absl::StrSplit(metrics_text, '\n')) {
    if (!absl::StartsWith(line, sample)) continue;
    absl::string_view rest = line.substr(sample.size());
    if (rest.empty() || rest.front() != ' ') continue;
    double value = 0;
    if (absl::SimpleAtod(rest.substr(1), &value)) return value;
  }
  return absl::NotFoundError(absl::StrCat("no sample ", sample));
}

}  // namespace inputserve::testing
