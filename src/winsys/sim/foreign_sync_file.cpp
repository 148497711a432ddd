// sync_files that cross processes: see foreign_sync_file.h.
#include "winsys/sim/foreign_sync_file.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace wsys::sim {

namespace {

constexpr char kPrefix[] = "wsys-sim-sync-file.";  // then "<pid>.<n>"
constexpr char kOk = 1;
constexpr char kErrorBit = static_cast<char>(0x80);

// The peer's abstract name behind `fd`, or false.
bool peer_name(int fd, char* out, size_t out_size) {
  sockaddr_un a{};
  socklen_t len = sizeof a;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return false;
  if (a.sun_family != AF_UNIX || len <= offsetof(sockaddr_un, sun_path) + 1) return false;
  if (a.sun_path[0] != 0) return false;  // abstract names start with a NUL
  const size_t n = len - offsetof(sockaddr_un, sun_path) - 1;
  if (n + 1 > out_size) return false;
  std::memcpy(out, a.sun_path + 1, n);
  out[n] = 0;
  return true;
}

// What the byte already sent on `fd` says, without consuming it: 1 and
// *status if there is one, 0 if none yet, -1 if the exporter is gone.
int peek(int fd, int* status) {
  char b;
  ssize_t n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 1) {
    *status = sync_file_status_of(b);
    return 1;
  }
  if (n == 0) return -1;  // orderly shutdown: every copy of the peer closed
  return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
}

// One thread per process polls the watched fds (its own duplicates) and an
// eventfd that says "new watches". Started on the first import; it lives as
// long as the process (like the fd table, fds may outlive statics).
class Watcher {
 public:
  static Watcher& get() {
    static Watcher* w = new Watcher();
    return *w;
  }

  int add(int fd, FencePtr fence) {
    std::lock_guard<std::mutex> g(lock_);
    if (int e = start_locked()) return e;
    added_.push_back({fd, std::move(fence)});
    count_.fetch_add(1, std::memory_order_relaxed);
    uint64_t one = 1;
    ssize_t r = ::write(wake_, &one, sizeof one);
    (void)r;
    return 0;
  }
  size_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  struct Watch {
    int fd;
    FencePtr fence;
  };

  int start_locked() {
    const pid_t me = ::getpid();
    if (owner_ == me) return 0;
    // First use, or a forked child: the parent's thread does not exist here.
    int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) return -errno;
    wake_ = wake;
    added_.clear();
    count_.store(0, std::memory_order_relaxed);
    try {
      std::thread(&Watcher::run, this, wake).detach();
    } catch (...) {
      ::close(wake);
      wake_ = -1;
      return -EAGAIN;
    }
    owner_ = me;
    return 0;
  }

  void run(int wake) {
    std::vector<Watch> watches;
    std::vector<pollfd> pfds;
    for (;;) {
      {
        std::lock_guard<std::mutex> g(lock_);
        for (Watch& w : added_) watches.push_back(std::move(w));
        added_.clear();
      }
      pfds.assign(1, pollfd{wake, POLLIN, 0});
      for (const Watch& w : watches) pfds.push_back({w.fd, POLLIN, 0});
      if (::poll(pfds.data(), pfds.size(), -1) < 0) continue;  // EINTR
      if (pfds[0].revents & POLLIN) {
        uint64_t v;
        ssize_t r = ::read(wake, &v, sizeof v);
        (void)r;
      }
      // Done watches are removed back to front so indices stay valid.
      for (size_t i = pfds.size() - 1; i >= 1; i--) {
        if (!pfds[i].revents) continue;
        Watch& w = watches[i - 1];
        int status = 0;
        const int p = peek(w.fd, &status);
        if (p == 0) continue;  // spurious
        w.fence->signal(p > 0 ? status : -ESRCH);
        ::close(w.fd);
        watches.erase(watches.begin() + static_cast<std::ptrdiff_t>(i - 1));
        count_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
  }

  std::mutex lock_;
  pid_t owner_ = 0;  // the process whose thread runs
  int wake_ = -1;
  std::vector<Watch> added_;  // lock_
  std::atomic<size_t> count_{0};
};

}  // namespace

void name_sync_file_end(int our_fd) {
  static std::atomic<unsigned long> next{0};
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  int n = std::snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "%s%ld.%lu", kPrefix,
                        static_cast<long>(::getpid()), next.fetch_add(1) + 1);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof a.sun_path - 1) return;
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  (void)::bind(our_fd, reinterpret_cast<sockaddr*>(&a), len);
}

char sync_file_ready_byte(int status) {
  if (status >= 0) return kOk;
  const int e = -status > 127 ? 127 : -status;
  return static_cast<char>(kErrorBit | e);
}

int sync_file_status_of(char byte) {
  const auto b = static_cast<unsigned char>(byte);
  if (!(b & 0x80u)) return 0;
  const int e = static_cast<int>(b & 0x7fu);
  return e ? -e : -EIO;
}

bool is_foreign_sync_file(int fd) {
  char name[108];
  if (!peer_name(fd, name, sizeof name)) return false;
  const size_t pl = sizeof kPrefix - 1;
  if (std::strncmp(name, kPrefix, pl) != 0) return false;
  char* end = nullptr;
  const long pid = std::strtol(name + pl, &end, 10);
  if (end == name + pl || *end != '.') return false;
  return pid != static_cast<long>(::getpid());
}

FencePtr import_foreign_sync_file(int fd, int* err) {
  *err = 0;
  int status = 0;
  const int p = peek(fd, &status);
  // Already signalled, or the exporter already gone: no watch needed.
  if (p != 0) return Fence::signalled(p > 0 ? status : -ESRCH);
  int mine = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (mine < 0) {
    *err = -errno;
    return nullptr;
  }
  auto fence = std::make_shared<Fence>();
  if (int e = Watcher::get().add(mine, fence)) {
    ::close(mine);
    *err = e;
    return nullptr;
  }
  return fence;
}

size_t foreign_sync_file_watches() { return Watcher::get().count(); }

}  // namespace wsys::sim
