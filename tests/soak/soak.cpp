// wsys-soak: several processes hammer wsys on the kernel model through the
// drm-shim (LD_PRELOAD=libwsys-drm-shim.so; each process has its own model
// behind /dev/dri/renderD128), sharing buffers by PRIME fd, under a memory
// budget small enough that memory is reclaimed all the time. Every buffer's
// contents are known (a pattern from a seed) and checked: by the CPU before
// it is freed, at random, after import, and by the GPU (a checksum job, so
// the GPU's mappings are checked too) after binds and at random. Checked
// are: zero corrupted bytes, no leaked file descriptors or buffers, and no
// hang (the parent is a watchdog: a child that does not finish in time fails
// the run).
//
//   soak [--processes N] [--seconds S] [--seed X] [--max-live-mib M]
//
// Prints `metric soak_*` lines; exits 0 when every check held. The soak
// meson tests run it for a short time; tests/soak/README.md has the long run.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model_jobs.h"
#include "wsys/device.hpp"
#include "wsys/vm.hpp"

namespace {

using wsys::Bo;
using wsys::BoRef;
using wsys::Device;

constexpr const char kNode[] = "/dev/dri/renderD128";

struct Options {
  int processes = 3;
  int seconds = 20;
  uint64_t seed = 1;
  uint64_t max_live_bytes = 24ull << 20;
};

// What a child reports to the parent (one write on a pipe).
struct Report {
  uint64_t ops = 0;
  uint64_t bytes_verified = 0;
  uint64_t corrupted_bytes = 0;
  uint64_t gpu_checksums = 0, gpu_mismatches = 0;
  uint64_t allocs = 0, alloc_enomem = 0, frees = 0;
  uint64_t binds = 0, exports = 0, imports = 0, sends_dropped = 0;
  uint64_t purges = 0;  // cached buffers the kernel purged (BO cache stats)
  uint64_t dontneed = 0, retained = 0, madvise_purged = 0;  // the soak's own madvise
  uint64_t cache_hits = 0;
  uint64_t errors = 0;  // an operation failed in a way it must not
  int64_t fd_delta = 0;
  uint64_t bos_left = 0;
  char first_error[200] = {};
};

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The process's file descriptors, less the kernel model's own: the model
// is the "kernel" here, and its swap file (the panthor GEM shrinker's store,
// made on first reclaim and kept for the device's life) is kernel memory,
// not a descriptor the process leaked.
int open_fds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      char path[300], target[128] = {};
      std::snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
      const ssize_t len = readlink(path, target, sizeof target - 1);
      if (len > 0 && std::strstr(target, "memfd:wsys-sim-swap")) continue;
      n++;
    }
    closedir(d);
  }
  return n;
}

uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void fill(void* p, uint64_t size, uint64_t seed) {
  auto* w = static_cast<uint64_t*>(p);
  for (uint64_t i = 0; i < size / 8; i++) w[i] = mix(seed + i);
}

// Bytes that differ from the pattern.
uint64_t corrupted(const void* p, uint64_t size, uint64_t seed) {
  const auto* w = static_cast<const uint64_t*>(p);
  uint64_t bad = 0;
  for (uint64_t i = 0; i < size / 8; i++)
    if (w[i] != mix(seed + i)) bad += 8;
  return bad;
}

// FNV-1a 64 of the pattern: what the model's CHECKSUM command computes.
uint64_t fnv1a_of_pattern(uint64_t size, uint64_t seed) {
  uint64_t h = 14695981039346656037ull;
  for (uint64_t i = 0; i < size / 8; i++) {
    uint64_t w = mix(seed + i);
    for (int b = 0; b < 8; b++) {
      h ^= (w >> (8 * b)) & 0xff;
      h *= 1099511628211ull;
    }
  }
  return h;
}

struct Entry {
  BoRef bo;
  uint64_t size = 0;
  uint64_t seed = 0;
  bool shareable = false;
  bool frozen = false;  // exported or imported: nobody writes it any more
  // madvise DONTNEED (where the kernel has madvise): the kernel may purge
  // it; nobody touches it until WILLNEED says whether it was retained.
  bool purgeable = false;
  // Allocated with kAllocNoCache: only these are madvised by the soak. A
  // buffer core's cache may take must only ever be madvised by core (the
  // public API has no madvise; a buffer purged behind the cache's back
  // would be handed out again).
  bool uncached = false;
};

// Sends `fd` with (size, seed) on a non-blocking socket. False if the
// peer's queue is full (the fd is not sent).
bool send_buffer(int sock, int fd, uint64_t size, uint64_t seed) {
  uint64_t payload[2] = {size, seed};
  iovec iov{payload, sizeof payload};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof payload);
}

// Receives one buffer if one is waiting: its fd (the caller closes it), or -1.
int recv_buffer(int sock, uint64_t* size, uint64_t* seed) {
  uint64_t payload[2] = {};
  iovec iov{payload, sizeof payload};
  alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(sizeof payload))
    return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  *size = payload[0];
  *seed = payload[1];
  return fd;
}

class Child {
 public:
  Child(const Options& o, int index, int out_sock, int in_sock)
      : o_(o), index_(index), out_(out_sock), in_(in_sock), rng_(o.seed * 1000003 + index) {}

  Report run() {
    const int fds_before = open_fds();
    {
      wsys::DeviceOptions opt;
      std::string why;
      auto d = Device::open(kNode, opt, &why);
      if (!d.ok()) {
        fail("cannot open %s: %s", kNode, why.c_str());
        return r_;
      }
      dev_ = *d;
      panthor_ = dev_->info().driver == "panthor";
      has_madvise_ = dev_->info().madvise;
      jobs_ = std::make_unique<wsys::test::Jobs>(*dev_);
      auto res = dev_->bo_alloc(4096, wsys::kAllocZeroed | wsys::kAllocNoCache, "soak-result");
      auto sync = dev_->syncobj_create(false);
      if (!res.ok() || !sync.ok() || !(*res)->map().ok()) {
        fail("setup failed");
        return r_;
      }
      result_ = std::move(*res);
      syncobj_ = *sync;

      const double end = now_s() + o_.seconds;
      while (now_s() < end && r_.errors == 0) {
        step();
        r_.ops++;
      }
      // The end: drain what neighbours sent, verify and free everything.
      import_waiting(/*keep=*/false);
      while (true) {  // every purgeable buffer back to WILLNEED (checked or dropped)
        auto it = std::find_if(live_.begin(), live_.end(), [](const Entry& e) { return e.purgeable; });
        if (it == live_.end() || r_.errors) break;
        std::iter_swap(it, live_.end() - 1);
        Entry& e = live_.back();
        auto r = wsys::KernelAccess::device(*dev_).bo_make_unevictable(wsys::KernelAccess::bo(*e.bo));
        if (!r.ok()) fail("WILLNEED: %s", std::strerror(-r.error()));
        if (r.ok() && *r) {
          e.purgeable = false;
          verify_cpu(e);
          r_.retained++;
        } else {
          r_.madvise_purged++;
          live_.pop_back();
        }
      }
      for (Entry& e : live_) verify_cpu(e);
      live_.clear();
      jobs_.reset();
      result_.reset();
      (void)dev_->syncobj_destroy(syncobj_);
      wsys::DeviceStats st = dev_->stats();
      r_.purges = st.cache.evicted_by_purge + st.cache.purged_on_reuse;
      r_.cache_hits = st.cache.hits;
      r_.bos_left = st.bos_live;
      dev_.reset();
    }
    r_.fd_delta = open_fds() - fds_before;
    return r_;
  }

 private:
  template <typename... A>
  void fail(const char* fmt, A... a) {
    if (r_.errors++ == 0) std::snprintf(r_.first_error, sizeof r_.first_error, fmt, a...);
  }

  uint64_t live_bytes() const {
    uint64_t n = 0;
    for (const Entry& e : live_) n += e.size;
    return n;
  }

  Entry* pick(bool writable_only = false) {
    if (live_.empty()) return nullptr;
    for (int tries = 0; tries < 8; tries++) {
      Entry& e = live_[rng_() % live_.size()];
      if (e.purgeable) continue;
      if (!writable_only || !e.frozen) return &e;
    }
    return nullptr;
  }

  void step() {
    switch (rng_() % 16) {
      case 0: case 1: case 2: case 3: alloc(); break;
      case 4: case 5: free_one(); break;
      case 6: rewrite(); break;
      case 7: case 8: if (Entry* e = pick()) verify_cpu(*e); break;
      case 9: if (Entry* e = pick()) verify_gpu(*e, e->bo->gpu_va()); break;
      case 10: bind_elsewhere(); break;
      case 11: export_one(); break;
      case 12: case 13: import_waiting(/*keep=*/true); break;
      case 14: if (rng_() % 2) (void)dev_->trim(rng_() % (8ull << 20)); else dev_->maintain(); break;
      default: madvise(); break;
    }
  }

  void alloc() {
    if (live_bytes() > o_.max_live_bytes) return free_one();
    // 4 KiB .. 2 MiB, mostly small.
    const uint64_t size = 4096ull << (rng_() % 10);
    const bool share = rng_() % 4 == 0;
    const bool uncached = !share && rng_() % 3 == 0;
    const uint32_t flags = share      ? static_cast<uint32_t>(wsys::kAllocShareable)
                           : uncached ? static_cast<uint32_t>(wsys::kAllocNoCache)
                                      : 0u;
    auto b = dev_->bo_alloc(size, flags, "soak");
    if (!b.ok()) {
      if (b.error() == -ENOMEM) {  // the budget is full: allowed, nothing lost
        r_.alloc_enomem++;
        return free_one();
      }
      return fail("bo_alloc(%" PRIu64 "): %s", size, std::strerror(-b.error()));
    }
    auto m = (*b)->map();
    if (!m.ok()) return fail("map: %s", std::strerror(-m.error()));
    Entry e;
    e.bo = *b;
    e.size = size;
    e.seed = rng_();
    e.shareable = share;
    e.uncached = uncached;
    fill(*m, size, e.seed);
    live_.push_back(std::move(e));
    r_.allocs++;
  }

  // DONTNEED on a buffer only this process uses, or WILLNEED on one that
  // was: retained means every byte is still there; purged means it is
  // gone by contract (the kernel's), so it is dropped unread.
  void madvise() {
    if (!has_madvise_ || live_.empty()) return;
    const size_t i = rng_() % live_.size();
    Entry& e = live_[i];
    if (e.frozen || e.shareable || !e.uncached) return;
    wsys::kmod::Device& k = wsys::KernelAccess::device(*dev_);
    if (!e.purgeable) {
      if (!e.bo->wait(wsys::test::deadline_ms(10000)).ok()) return fail("wait before DONTNEED");
      auto r = k.bo_make_evictable(wsys::KernelAccess::bo(*e.bo));
      if (!r.ok()) return fail("DONTNEED: %s", std::strerror(-r.error()));
      e.purgeable = true;
      r_.dontneed++;
      return;
    }
    auto r = k.bo_make_unevictable(wsys::KernelAccess::bo(*e.bo));
    if (!r.ok()) return fail("WILLNEED: %s", std::strerror(-r.error()));
    e.purgeable = false;
    if (*r) {
      verify_cpu(e);
      r_.retained++;
      return;
    }
    r_.madvise_purged++;
    live_[i] = std::move(live_.back());
    live_.pop_back();
  }

  void free_one() {
    if (live_.empty()) return;
    const size_t i = rng_() % live_.size();
    if (live_[i].purgeable) {
      // WILLNEED first: a retained buffer is checked, a purged one dropped.
      madvise();
      return;
    }
    verify_cpu(live_[i]);
    live_[i] = std::move(live_.back());
    live_.pop_back();
    r_.frees++;
  }

  void rewrite() {
    Entry* e = pick(/*writable_only=*/true);
    if (!e) return;
    // A job may still read it (a checksum): wait for the buffer first.
    if (!e->bo->wait(wsys::test::deadline_ms(10000)).ok()) return fail("wait before a rewrite");
    e->seed = rng_();
    fill(e->bo->cpu(), e->size, e->seed);
  }

  void verify_cpu(Entry& e) {
    const void* p = e.bo->cpu();
    if (!p) {
      auto m = e.bo->map();
      if (!m.ok()) return fail("map for verify: %s", std::strerror(-m.error()));
      p = *m;
    }
    const uint64_t bad = corrupted(p, e.size, e.seed);
    r_.bytes_verified += e.size;
    if (bad) {
      r_.corrupted_bytes += bad;
      fail("%" PRIu64 " corrupted bytes in a %" PRIu64 "-byte buffer", bad, e.size);
    }
  }

  // A GPU job checksums [va, va + size) into the result buffer.
  void verify_gpu(Entry& e, uint64_t va) {
    wsys::test::Stream s;
    s.add(wsys::sim::SimCmdChecksum{{wsys::sim::kCmdChecksum, sizeof(wsys::sim::SimCmdChecksum)},
                                    va, e.size, result_->gpu_va()});
    // panthor: the next timeline point; panfrost: the binary syncobj takes
    // the new job's fence (the previous job was waited for).
    const uint64_t point = panthor_ ? ++point_ : 0;
    Bo* uses[] = {e.bo.get(), result_.get()};
    auto r = jobs_->run(s, {uses[0], uses[1]}, syncobj_, point);
    if (!r.ok()) {
      if (r.error() == -ENOMEM) return;  // no memory for the stream now
      return fail("submit: %s", std::strerror(-r.error()));
    }
    if (!dev_->syncobj_wait({syncobj_, point}, wsys::test::deadline_ms(20000)).ok())
      return fail("checksum job did not finish");
    uint64_t got = 0;
    std::memcpy(&got, result_->cpu(), sizeof got);
    r_.gpu_checksums++;
    r_.bytes_verified += e.size;
    if (got != fnv1a_of_pattern(e.size, e.seed)) {
      r_.gpu_mismatches++;
      r_.corrupted_bytes += e.size;  // unknown how many: count the buffer
      fail("GPU checksum mismatch on a %" PRIu64 "-byte buffer", e.size);
    }
  }

  // Maps a buffer at a second address (panthor: user VA), checks it there
  // with the GPU, unmaps it.
  void bind_elsewhere() {
    if (!panthor_) return;
    Entry* e = pick();
    if (!e) return;
    auto va = dev_->vm().alloc_va(e->size);
    if (!va.ok()) return fail("alloc_va: %s", std::strerror(-va.error()));
    wsys::BindBatch b;
    b.map(*e->bo, 0, va->addr, e->size, wsys::kMapNoExec);
    auto r = dev_->vm().bind(b, wsys::BindMode::Immediate);
    if (!r.ok()) {
      (void)dev_->vm().free_va(*va);
      if (r.error() == -ENOMEM) return;
      return fail("bind: %s", std::strerror(-r.error()));
    }
    r_.binds++;
    verify_gpu(*e, va->addr);
    // The checksum job has finished (verify_gpu waited), so unmap now.
    if (!dev_->vm().unmap_and_free(*va, std::nullopt).ok()) fail("unmap");
  }

  void export_one() {
    Entry* e = nullptr;
    for (int t = 0; t < 8 && !e; t++) {
      Entry* c = pick();
      if (c && c->shareable) e = c;
    }
    if (!e) return;
    auto fd = e->bo->export_fd();
    if (!fd.ok()) return fail("export: %s", std::strerror(-fd.error()));
    e->frozen = true;  // the neighbour checks the pattern: never rewrite it
    if (send_buffer(out_, *fd, e->size, e->seed))
      r_.exports++;
    else
      r_.sends_dropped++;
    close(*fd);
  }

  void import_waiting(bool keep) {
    uint64_t size = 0, seed = 0;
    for (int n = 0; n < 4 || !keep; n++) {
      int fd = recv_buffer(in_, &size, &seed);
      if (fd < 0) return;
      auto b = dev_->bo_import(fd);
      close(fd);
      if (!b.ok()) {
        if (b.error() == -ENOMEM) continue;
        return fail("import: %s", std::strerror(-b.error()));
      }
      r_.imports++;
      Entry e;
      e.bo = *b;
      e.size = size;
      e.seed = seed;
      e.frozen = true;
      verify_cpu(e);
      if (keep && live_bytes() < o_.max_live_bytes) live_.push_back(std::move(e));
    }
  }

  const Options o_;
  const int index_;
  const int out_, in_;
  std::mt19937_64 rng_;
  std::shared_ptr<Device> dev_;
  bool panthor_ = false;
  bool has_madvise_ = false;
  std::unique_ptr<wsys::test::Jobs> jobs_;
  BoRef result_;
  uint32_t syncobj_ = 0;
  uint64_t point_ = 0;
  std::vector<Entry> live_;
  Report r_;
};

bool parse_args(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto num = [&](uint64_t* out) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      errno = 0;
      const char* s = argv[++i];
      if (*s < '0' || *s > '9') return false;
      *out = std::strtoull(s, &end, 10);
      return !errno && *end == '\0';
    };
    uint64_t v = 0;
    if (a == "--processes" && num(&v) && v >= 2 && v <= 64) o->processes = static_cast<int>(v);
    else if (a == "--seconds" && num(&v) && v >= 1 && v <= 86400) o->seconds = static_cast<int>(v);
    else if (a == "--seed" && num(&v)) o->seed = v;
    else if (a == "--max-live-mib" && num(&v) && v >= 1 && v <= 65536) o->max_live_bytes = v << 20;
    else {
      std::fprintf(stderr,
                   "usage: soak [--processes 2..64] [--seconds 1..86400] [--seed N] "
                   "[--max-live-mib M]\n(bad or unknown argument '%s')\n",
                   argv[i]);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_args(argc, argv, &o)) return 2;
  const int n = o.processes;
  // A ring: child i sends to child i+1.
  std::vector<int> send_end(n), recv_end(n);
  for (int i = 0; i < n; i++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0) {
      std::perror("socketpair");
      return 1;
    }
    send_end[i] = sv[0];                // child i sends here
    recv_end[(i + 1) % n] = sv[1];      // child i+1 receives here
  }
  std::vector<pid_t> pids(n);
  std::vector<int> report_fd(n);
  for (int i = 0; i < n; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
      std::perror("pipe");
      return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      for (int j = 0; j < n; j++) {
        if (j != i) close(send_end[j]);
        if (j != i) close(recv_end[j]);
      }
      Child c(o, i, send_end[i], recv_end[i]);
      Report r = c.run();
      ssize_t w = write(p[1], &r, sizeof r);
      _exit(w == static_cast<ssize_t>(sizeof r) ? 0 : 3);
    }
    close(p[1]);
    pids[i] = pid;
    report_fd[i] = p[0];
  }
  for (int i = 0; i < n; i++) {
    close(send_end[i]);
    close(recv_end[i]);
  }

  // Watchdog: every child must be done well after its time is up.
  const double deadline = now_s() + o.seconds + 120;
  std::vector<Report> reports(n);
  std::vector<bool> done(n, false);
  int remaining = n, failures = 0;
  while (remaining > 0) {
    for (int i = 0; i < n; i++) {
      if (done[i]) continue;
      int status = 0;
      pid_t w = waitpid(pids[i], &status, WNOHANG);
      if (w == 0) continue;
      done[i] = true;
      remaining--;
      if (read(report_fd[i], &reports[i], sizeof reports[i]) != sizeof reports[i] ||
          !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::printf("soak: process %d died (%s %d) without a report\n", i,
                    WIFSIGNALED(status) ? "signal" : "exit",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        failures++;
      }
    }
    if (remaining > 0 && now_s() > deadline) {
      std::printf("soak: watchdog: %d process(es) still running %d s after their time: a hang\n",
                  remaining, 120);
      for (int i = 0; i < n; i++)
        if (!done[i]) kill(pids[i], SIGKILL), waitpid(pids[i], nullptr, 0);
      failures += remaining;
      break;
    }
    usleep(20000);
  }

  Report t;
  for (int i = 0; i < n; i++) {
    const Report& r = reports[i];
    if (r.errors) {
      std::printf("soak: process %d: %" PRIu64 " error(s), first: %s\n", i, r.errors,
                  r.first_error);
      failures++;
    }
    if (r.fd_delta != 0 || r.bos_left != 0) {
      std::printf("soak: process %d leaked: %" PRId64 " fds, %" PRIu64 " buffers\n", i, r.fd_delta,
                  r.bos_left);
      failures++;
    }
    t.ops += r.ops;
    t.bytes_verified += r.bytes_verified;
    t.corrupted_bytes += r.corrupted_bytes;
    t.gpu_checksums += r.gpu_checksums;
    t.allocs += r.allocs;
    t.alloc_enomem += r.alloc_enomem;
    t.binds += r.binds;
    t.exports += r.exports;
    t.imports += r.imports;
    t.purges += r.purges + r.madvise_purged;
    t.dontneed += r.dontneed;
    t.retained += r.retained;
    t.cache_hits += r.cache_hits;
  }
  std::printf("soak: %d processes, %d s: %" PRIu64 " operations, %" PRIu64 " allocations (%" PRIu64
              " refused for memory), %" PRIu64 " binds, %" PRIu64 " exports, %" PRIu64
              " imports, %" PRIu64 " GPU checksums, %" PRIu64 " cache hits\n",
              n, o.seconds, t.ops, t.allocs, t.alloc_enomem, t.binds, t.exports, t.imports,
              t.gpu_checksums, t.cache_hits);
  std::printf("soak: madvise: %" PRIu64 " DONTNEED, %" PRIu64 " retained and intact, %" PRIu64
              " buffers purged (the soak's and the BO cache's)\n",
              t.dontneed, t.retained, t.purges);
  std::printf("metric soak_bytes_verified %" PRIu64 " bytes\n", t.bytes_verified);
  std::printf("metric soak_purges %" PRIu64 " buffers\n", t.purges);
  std::printf("metric soak_corrupted_bytes %" PRIu64 " bytes\n", t.corrupted_bytes);
  if (t.corrupted_bytes) failures++;
  std::printf("soak: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
