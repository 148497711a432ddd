// The live statistics segment's file: made at Device creation, removed
// with it (docs/stats-segment.md).
#include "winsys/core/stats_publish.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace wsys::core {

namespace {

std::atomic<uint32_t> g_next_index{0};

void copy_name(char* dst, size_t cap, std::string_view s) {
  size_t n = std::min(cap - 1, s.size());
  std::memcpy(dst, s.data(), n);
  dst[n] = 0;
}

// Files of processes that are gone (a crash leaves them behind).
void remove_stale(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d))
    if (stats_file_is_stale(e->d_name)) unlinkat(dirfd(d), e->d_name, 0);
  closedir(d);
}

}  // namespace

bool stats_file_is_stale(const char* name) {
  int pid = 0;
  unsigned idx = 0;
  char tail[16] = {0};
  if (std::sscanf(name, "%d-%u.%15s", &pid, &idx, tail) != 3 || std::strcmp(tail, "stats") != 0 ||
      pid <= 0)
    return false;
  return kill(pid, 0) != 0 && errno == ESRCH;
}

std::string StatsPublisher::directory(bool create) {
  std::string dir;
  if (const char* v = std::getenv(stats::kDirEnv); v && *v) {
    dir = v;
  } else if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x) {
    dir = std::string(x) + "/wsys";
  } else {
    dir = "/tmp/wsys-" + std::to_string(getuid());
  }
  if (create && mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return "";
  return dir;
}

StatsPublisher::StatsPublisher() {
  const char* on = std::getenv(stats::kEnableEnv);
  const bool publish = !(on && std::strcmp(on, "0") == 0);
  const uint32_t index = g_next_index.fetch_add(1, std::memory_order_relaxed);
  if (publish) {
    std::string dir = directory(true);
    if (!dir.empty()) {
      // Once per process: files of dead processes do not appear while it
      // runs often enough to pay a directory scan on every Device (wsys-top
      // removes them too).
      static std::once_flag swept;
      std::call_once(swept, [&] { remove_stale(dir); });
      std::string p = dir + "/" + std::to_string(getpid()) + "-" + std::to_string(index) + ".stats";
      int fd = open(p.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        void* m = MAP_FAILED;
        if (ftruncate(fd, sizeof(stats::Segment)) == 0)
          m = mmap(nullptr, sizeof(stats::Segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (m != MAP_FAILED) {
          seg_ = new (m) stats::Segment();
          mapped_ = true;
          path_ = std::move(p);
        } else {
          unlink(p.c_str());
        }
      }
    }
  }
  if (!seg_) seg_ = new stats::Segment();
  seg_->version = stats::kVersion;
  seg_->size = sizeof(stats::Segment);
  seg_->pid = getpid();
  seg_->device_index = index;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  seg_->created_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
  // Read on every Device (a process may rename itself), with plain
  // open/read: stdio's buffer and fstat cost more than the read.
  char comm[32] = "";
  if (int c = open("/proc/self/comm", O_RDONLY | O_CLOEXEC); c >= 0) {
    ssize_t n = read(c, comm, sizeof comm - 1);
    comm[n > 0 ? n : 0] = 0;
    comm[std::strcspn(comm, "\n")] = 0;
    close(c);
  }
  copy_name(seg_->process, sizeof seg_->process, comm);
}

StatsPublisher::~StatsPublisher() {
  if (mapped_) {
    unlink(path_.c_str());
    seg_->~Segment();
    munmap(seg_, sizeof(stats::Segment));
  } else {
    delete seg_;
  }
}

void StatsPublisher::publish(std::string_view node, std::string_view driver) {
  copy_name(seg_->node, sizeof seg_->node, node);
  copy_name(seg_->driver, sizeof seg_->driver, driver);
  // The magic last, with release order, so a reader that sees it sees the
  // names too (an atomic store rather than a fence: ThreadSanitizer does not
  // model fences). The magic is the segment's first 8 bytes (aligned).
  static_assert(offsetof(stats::Segment, magic) == 0 && sizeof seg_->magic == sizeof(uint64_t));
  uint64_t magic = 0;
  std::memcpy(&magic, stats::kMagic, sizeof magic);
  __atomic_store_n(reinterpret_cast<uint64_t*>(seg_->magic), magic, __ATOMIC_RELEASE);
}

int StatsPublisher::label_slot(std::string_view label) {
  if (label.empty()) label = "unlabelled";
  const size_t n = std::min<size_t>(label.size(), stats::kNameBytes - 1);
  for (unsigned i = 0; i < stats::kLabelSlots; ++i) {
    stats::LabelSlot& s = seg_->labels[i];
    uint32_t st = s.state.load(std::memory_order_acquire);
    if (st == 0) {
      if (!s.state.compare_exchange_strong(st, 1, std::memory_order_acq_rel)) {
        // Someone is naming it: wait for the name, then compare.
      } else {
        copy_name(s.name, sizeof s.name, label);
        s.state.store(2, std::memory_order_release);
        return static_cast<int>(i);
      }
    }
    while ((st = s.state.load(std::memory_order_acquire)) == 1) {
    }
    if (std::strncmp(s.name, label.data(), n) == 0 && s.name[n] == 0) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace wsys::core
