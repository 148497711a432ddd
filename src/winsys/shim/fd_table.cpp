#include "fd_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "real.h"

namespace wsys::shim {

int real_fstat(int fd, struct stat* st) {
  // The raw system call: the kernel's struct stat is glibc's on the 64-bit
  // targets this builds for, and it cannot come back into the shim.
#ifdef SYS_fstat
  return static_cast<int>(syscall(SYS_fstat, fd, st));
#else
  return static_cast<int>(syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH));
#endif
}

FdTable& FdTable::get() {
  // Never destroyed: fds may be closed from atexit handlers and other
  // libraries' destructors after static destruction began.
  static FdTable* t = new FdTable;
  return *t;
}

NodeFilePtr FdTable::lookup(int fd) {
  if (fd < 0 || empty()) return nullptr;
  NodeFilePtr f;
  {
    std::lock_guard<std::mutex> g(lock_);
    auto it = map_.find(fd);
    if (it == map_.end()) return nullptr;
    f = it->second;
  }
  ErrnoKeeper keep;
  struct stat st;
  if (real_fstat(fd, &st) == 0 && st.st_dev == f->dev && st.st_ino == f->ino) return f;
  // The fd was closed without the shim seeing it, maybe reused already.
  NodeFilePtr stale;
  {
    std::lock_guard<std::mutex> g(lock_);
    auto it = map_.find(fd);
    if (it != map_.end() && it->second == f) {
      stale = std::move(it->second);
      map_.erase(it);
      count_.store(map_.size(), std::memory_order_release);
    }
  }
  return nullptr;  // `stale` and `f` are released here, without the lock
}

bool FdTable::insert(int fd, NodeFilePtr f) {
  NodeFilePtr old;  // released after the lock is dropped
  std::lock_guard<std::mutex> g(lock_);
  try {
    NodeFilePtr& slot = map_[fd];
    old = std::move(slot);
    slot = std::move(f);
  } catch (...) {
    return false;  // out of memory: the fd stays a plain memfd
  }
  count_.store(map_.size(), std::memory_order_release);
  return true;
}

NodeFilePtr FdTable::take(int fd) {
  if (fd < 0 || empty()) return nullptr;
  std::lock_guard<std::mutex> g(lock_);
  auto it = map_.find(fd);
  if (it == map_.end()) return nullptr;
  NodeFilePtr f = std::move(it->second);
  map_.erase(it);
  count_.store(map_.size(), std::memory_order_release);
  return f;
}

std::unordered_map<int, NodeFilePtr> FdTable::take_range(unsigned first, unsigned last) {
  std::unordered_map<int, NodeFilePtr> out;
  if (empty()) return out;
  std::lock_guard<std::mutex> g(lock_);
  for (auto it = map_.begin(); it != map_.end();) {
    auto fd = static_cast<unsigned>(it->first);
    if (fd >= first && fd <= last) {
      out.emplace(it->first, std::move(it->second));
      it = map_.erase(it);
    } else {
      ++it;
    }
  }
  count_.store(map_.size(), std::memory_order_release);
  return out;
}

}  // namespace wsys::shim
