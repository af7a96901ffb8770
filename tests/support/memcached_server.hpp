// Starts Debian's memcached on a free loopback port for a test and stops it at the end.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace couchkv::test {

// A loopback port that refuses connections for as long as this object lives: the socket is bound
// but never listens, so no other test running in parallel can take the port meanwhile (a port
// that was merely free a moment ago can be).
class refused_loopback_port {
public:
  refused_loopback_port()
  {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~refused_loopback_port() { ::close(fd_); }
  refused_loopback_port(const refused_loopback_port&) = delete;
  refused_loopback_port& operator=(const refused_loopback_port&) = delete;
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

private:
  int fd_{-1};
  std::uint16_t port_{0};
};

inline std::uint16_t free_loopback_port()
{
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_accepts(std::uint16_t port)
{
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class memcached_server {
public:
  struct options {
    std::vector<std::string> extra_args{};
    std::vector<std::string> env{}; // e.g. SASL_CONF_PATH=...
    std::uint16_t port{0};          // 0: pick a free one
  };

  memcached_server() : memcached_server(options{}) {}
  explicit memcached_server(options opts) : opts_(std::move(opts)) { start(); }
  ~memcached_server() { stop(); }
  memcached_server(const memcached_server&) = delete;
  memcached_server& operator=(const memcached_server&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  void start()
  {
    if (pid_ > 0) return;
    port_ = opts_.port ? opts_.port : free_loopback_port();
    opts_.port = port_; // a restart comes back on the same port
    std::vector<std::string> args{"memcached", "-l", "127.0.0.1", "-p", std::to_string(port_), "-U", "0", "-t", "1",
                                  "-c", "4096"};
    if (::geteuid() == 0) {
      args.push_back("-u");
      args.push_back("root");
    }
    args.insert(args.end(), opts_.extra_args.begin(), opts_.extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), opts_.env.begin(), opts_.env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    spawn(argv, envp);
    for (int i = 0; i < 500; ++i) {
      if (port_accepts(port_)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("memcached exited at start");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
    throw std::runtime_error("memcached did not start listening");
  }

  // SIGKILL: the server dies mid-flight, as in a crash.
  void kill() { signal_and_reap(SIGKILL); }
  void stop() { signal_and_reap(SIGTERM); }

private:
  // fork + exec rather than posix_spawn: the child asks the kernel for SIGKILL when the test dies
  // (a ctest timeout kills the test with SIGKILL, and no destructor runs), so no memcached outlives
  // its test. PR_SET_PDEATHSIG follows the thread that forked: construct the server on a thread
  // that lives as long as the server (the test's own thread). An exec failure comes back through a
  // close-on-exec pipe, so "not installed" stays an error of start() rather than an early exit.
  void spawn(std::vector<char*>& argv, std::vector<char*>& envp)
  {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int e = errno;
      ::close(report[0]);
      ::close(report[1]);
      throw std::runtime_error(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
      // The child of a possibly multithreaded parent: async-signal-safe calls only until exec.
      ::close(report[0]);
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ::_exit(127);
      if (::getppid() != parent) ::_exit(127); // the parent died before prctl took effect
      environ = envp.data();
      ::execvp(argv[0], argv.data());
      const int e = errno;
      [[maybe_unused]] auto n = ::write(report[1], &e, sizeof e);
      ::_exit(127);
    }
    ::close(report[1]);
    int exec_errno = 0;
    ssize_t n = 0;
    do {
      n = ::read(report[0], &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    ::close(report[0]);
    if (n > 0) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      throw std::runtime_error(std::string("cannot start memcached (is it installed?): ") + std::strerror(exec_errno));
    }
    pid_ = pid;
  }

  void signal_and_reap(int sig)
  {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  options opts_;
  pid_t pid_{-1};
  std::uint16_t port_{0};
};

} // namespace couchkv::test
