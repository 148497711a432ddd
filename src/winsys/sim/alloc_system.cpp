#include "winsys/sim/alloc_system.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace wsys::sim {

namespace {

std::atomic<const char*> g_default{"private"};

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return false;
  return n != "." && n != "..";
}

// The stats segment's directory (docs/stats-segment.md), made if missing.
std::string runtime_dir() {
  std::string dir;
  if (const char* v = std::getenv("WSYS_STATS_DIR"); v && *v)
    dir = v;
  else if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && *x)
    dir = std::string(x) + "/wsys";
  else
    dir = "/tmp/wsys-" + std::to_string(getuid());
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return "";
  return dir;
}

std::string err_text(const std::string& what, int e) {
  return what + ": " + std::strerror(e);
}

}  // namespace

void set_default_system(const char* name) {
  g_default.store(name, std::memory_order_release);
}

std::string system_path(std::string* why) {
  const char* v = std::getenv(kSystemEnv);
  std::string s = v && *v ? v : g_default.load(std::memory_order_acquire);
  if (s == "private") return "";
  if (s.find('/') != std::string::npos) return s;
  if (!valid_name(s)) {
    if (why) *why = std::string(kSystemEnv) + "='" + s + "' is not a system name or a path";
    return "";
  }
  std::string dir = runtime_dir();
  if (dir.empty()) {
    if (why) *why = "no runtime directory for the allocator system '" + s + "'";
    return "";
  }
  return dir + "/sim-system-" + s + ".alloc";
}

AllocState* make_private_state(const PhysLayoutConfig& cfg) {
  void* m =
      mmap(nullptr, sizeof(AllocState), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  auto* s = static_cast<AllocState*>(m);
  s->init(cfg, false);
  std::memcpy(s->magic, kAllocStateMagic, sizeof s->magic);
  return s;
}

AllocState* map_system(const std::string& path, const PhysLayoutConfig& cfg, std::string* why) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *why = err_text("cannot open " + path, errno);
    return nullptr;
  }
  // One maker: whoever finds the file empty under the lock fills it; the
  // others wait here and then find it whole (the lock goes with the fd, so
  // a maker that dies releases it; its half-filled file has no magic).
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  AllocState* s = nullptr;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *why = err_text("cannot stat " + path, errno);
  } else if (st.st_size != 0 && st.st_size != static_cast<off_t>(sizeof(AllocState))) {
    *why = path + " was made by another version of the model (size " + std::to_string(st.st_size) +
           ", expected " + std::to_string(sizeof(AllocState)) + ")";
  } else if (st.st_size == 0 && ftruncate(fd, sizeof(AllocState)) != 0) {
    *why = err_text("cannot size " + path, errno);
  } else {
    void* m = mmap(nullptr, sizeof(AllocState), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      *why = err_text("cannot map " + path, errno);
    } else {
      s = static_cast<AllocState*>(m);
      if (st.st_size == 0 || std::memcmp(s->magic, "\0\0\0\0\0\0\0\0", 8) == 0) {
        s->init(cfg, true);  // the flock orders this before any other process's look
        std::memcpy(s->magic, kAllocStateMagic, sizeof s->magic);
      } else if (std::memcmp(s->magic, kAllocStateMagic, sizeof s->magic) != 0 ||
                 s->version != kAllocStateVersion || s->size != sizeof(AllocState)) {
        *why = path + " was made by another version of the model";
        munmap(m, sizeof(AllocState));
        s = nullptr;
      }
    }
  }
  flock(fd, LOCK_UN);
  close(fd);
  return s;
}

void unmap_state(AllocState* s) {
  if (s) munmap(s, sizeof(AllocState));
}

}  // namespace wsys::sim
