#include "sweep/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "core/error.h"

extern char** environ;

namespace tilt {
namespace {

constexpr size_t kMaxChildren = 256;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};
std::atomic<int> g_stop_signal{0};  // the last stop signal received, 0 before any

int forwarded_as(int signal) { return signal == SIGINT ? SIGINT : SIGUSR1; }

extern "C" void forward_signal(int signal) {
  const int saved_errno = errno;
  g_stop_signal = signal;
  for (auto& child : g_children)
    if (const pid_t pid = child.load(); pid > 0) kill(pid, forwarded_as(signal));
  errno = saved_errno;
}

constexpr std::array<int, 3> kForwarded = {SIGINT, SIGTERM, SIGUSR1};
struct sigaction g_previous[kForwarded.size()];

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& arg : argv) out.push_back(const_cast<char*>(arg.c_str()));
  out.push_back(nullptr);
  return out;
}

pid_t spawn_with(const std::vector<std::string>& argv, posix_spawn_file_actions_t* actions) {
  if (argv.empty()) throw Error("spawn: empty command");
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The child starts with default handlers and no blocked signals, whatever this process set.
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int signal : kForwarded) sigaddset(&defaults, signal);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  std::vector<char*> args = c_argv(argv);
  const int error = posix_spawnp(&pid, args[0], actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw Error("cannot start '" + argv[0] + "': " + std::strerror(error));
  return pid;
}

void unregister_child(pid_t child) {
  for (auto& slot : g_children) {
    pid_t expected = child;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

}  // namespace

pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!log.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  try {
    const pid_t pid = spawn_with(argv, &actions);
    posix_spawn_file_actions_destroy(&actions);
    return pid;
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    throw;
  }
}

int wait_for(pid_t pid) {
  // Wait for the end without reaping, so that the pid cannot be reused by an unrelated process
  // while the signal handler may still send to it; unregister; then reap.
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0) {
    if (errno != EINTR) throw Error(std::string("waitid: ") + std::strerror(errno));
  }
  unregister_child(pid);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string run_capturing(const std::vector<std::string>& argv, int& status) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  pid_t pid = 0;
  try {
    pid = spawn_with(argv, &actions);
  } catch (...) {
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    throw;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  status = wait_for(pid);
  return output;
}

ForwardStopSignals::ForwardStopSignals() {
  g_stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = forward_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (size_t i = 0; i < kForwarded.size(); ++i) sigaction(kForwarded[i], &action, &g_previous[i]);
}

ForwardStopSignals::~ForwardStopSignals() {
  for (size_t i = 0; i < kForwarded.size(); ++i) sigaction(kForwarded[i], &g_previous[i], nullptr);
}

pid_t ForwardStopSignals::spawn_forwarded(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  const pid_t child = spawn(argv, log);
  for (auto& slot : g_children) {
    pid_t empty = 0;
    if (!slot.compare_exchange_strong(empty, child)) continue;
    // A signal that arrived while the child was starting went to the children registered then;
    // pass it on to this one too.
    if (const int signal = g_stop_signal.load(); signal != 0) kill(child, forwarded_as(signal));
    return child;
  }
  kill(child, SIGKILL);
  wait_for(child);
  throw Error("too many child processes to track");
}

bool ForwardStopSignals::stop_requested() { return g_stop_signal != 0; }

}  // namespace tilt
