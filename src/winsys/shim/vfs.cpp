#include "vfs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>

namespace wsys::shim {

const char* driver_from_env(std::string* why) {
  const char* v = std::getenv(kDriverEnv);
  if (!v || !*v || std::strcmp(v, "panthor") == 0) return "panthor";
  if (std::strcmp(v, "panfrost") == 0) return "panfrost";
  if (why)
    *why = std::string("wsys drm-shim: ") + kDriverEnv + "='" + v +
           "' is not a model driver (use panthor or panfrost); " + kNodePath +
           " has no device";
  return nullptr;
}

namespace {

struct PlatformInfo {
  const char* dev;       // the platform device's name
  const char* fullname;  // its device-tree path
  const char* compat[2];
};

// Plausible device-tree identities: an RK3588 (Mali-G610, panthor) and an
// RK3568 (Mali-G52, panfrost).
constexpr PlatformInfo kPanthorPlatform = {
    "fb000000.gpu", "/gpu@fb000000", {"rockchip,rk3588-mali", "arm,mali-valhall-csf"}};
constexpr PlatformInfo kPanfrostPlatform = {
    "fde60000.gpu", "/gpu@fde60000", {"rockchip,rk3568-mali", "arm,mali-bifrost"}};

}  // namespace

Vfs::Vfs(const char* driver) {
  const PlatformInfo& p =
      driver && std::strcmp(driver, "panfrost") == 0 ? kPanfrostPlatform : kPanthorPlatform;
  const std::string dev = std::string("/sys/devices/platform/") + p.dev;
  const std::string minor = dev + "/drm/renderD128";
  const std::string to_minor = std::string("devices/platform/") + p.dev + "/drm/renderD128";

  auto dir = [&](std::string path, bool overlay) {
    nodes_.push_back({std::move(path), VKind::Dir, overlay, {}});
  };
  auto file = [&](std::string path, std::string data) {
    nodes_.push_back({std::move(path), VKind::File, false, std::move(data)});
  };
  auto link = [&](std::string path, std::string target) {
    nodes_.push_back({std::move(path), VKind::Link, false, std::move(target)});
  };

  for (const char* d : {"/dev", "/dev/dri", "/sys", "/sys/dev", "/sys/dev/char", "/sys/devices",
                        "/sys/devices/platform", "/sys/class", "/sys/class/drm", "/dev/dma_heap"})
    dir(d, true);
  nodes_.push_back({kNodePath, VKind::Node, false, {}, kNodeMajor, kNodeMinor});
  // The model's extension devices (vfs.h): no sysfs of their own.
  nodes_.push_back({kAllocNodePath, VKind::Node, false, "wsys-alloc", kModelExtMajor, 0});
  nodes_.push_back({kDisplayNodePath, VKind::Node, false, "wsys-display", kModelExtMajor, 1});
  nodes_.push_back({kCameraNodePath, VKind::Node, false, "wsys-camera", kModelExtMajor, 2});

  link("/sys/dev/char/226:128", "../../" + to_minor);
  link("/sys/class/drm/renderD128", "../../" + to_minor);

  dir(dev, false);
  std::string uevent;
  if (driver) uevent += std::string("DRIVER=") + driver + "\n";
  uevent += "OF_NAME=gpu\n";
  uevent += std::string("OF_FULLNAME=") + p.fullname + "\n";
  std::string modalias = "of:NgpuT(null)";
  for (int i = 0; i < 2; i++) {
    uevent += "OF_COMPATIBLE_" + std::to_string(i) + "=" + p.compat[i] + "\n";
    modalias += std::string("C") + p.compat[i];
  }
  uevent += "OF_COMPATIBLE_N=2\n";
  uevent += "MODALIAS=" + modalias + "\n";
  file(dev + "/uevent", uevent);
  file(dev + "/modalias", modalias + "\n");
  link(dev + "/subsystem", "../../../bus/platform");
  if (driver) link(dev + "/driver", std::string("../../../bus/platform/drivers/") + driver);

  dir(dev + "/drm", false);
  dir(minor, false);
  file(minor + "/uevent", "MAJOR=226\nMINOR=128\nDEVNAME=dri/renderD128\n");
  file(minor + "/dev", "226:128\n");
  link(minor + "/device", std::string("../../../") + p.dev);
  link(minor + "/subsystem", "../../../../../class/drm");
}

const Vfs& Vfs::current() {
  static const Vfs panthor("panthor");
  static const Vfs panfrost("panfrost");
  static const Vfs none(nullptr);
  const char* d = driver_from_env(nullptr);
  if (!d) return none;
  return std::strcmp(d, "panfrost") == 0 ? panfrost : panthor;
}

const VNode* Vfs::find(std::string_view path) const {
  for (const VNode& n : nodes_)
    if (n.path == path) return &n;
  return nullptr;
}

std::vector<const VNode*> Vfs::children(std::string_view dir) const {
  std::vector<const VNode*> out;
  for (const VNode& n : nodes_) {
    std::string_view p = n.path;
    size_t slash = p.rfind('/');
    std::string_view parent = slash == 0 ? std::string_view("/") : p.substr(0, slash);
    if (parent == dir && p != dir) out.push_back(&n);
  }
  return out;
}

bool may_be_fake(const char* path) {
  if (!path || path[0] != '/') return false;
  if ((std::strncmp(path, "/dev", 4) == 0 || std::strncmp(path, "/sys", 4) == 0) &&
      (path[4] == 0 || path[4] == '/'))
    return true;
  // Elsewhere, only an empty, "." or ".." component could lead there.
  for (const char* p = path; (p = std::strchr(p, '/')) != nullptr;) {
    p++;
    if (*p == '/' || *p == 0) {
      if (*p == '/') return true;
      break;
    }
    if (p[0] == '.' && (p[1] == '/' || p[1] == 0)) return true;
    if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == 0)) return true;
  }
  return false;
}

namespace {

std::deque<std::string> split(std::string_view s) {
  std::deque<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('/', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& comps) {
  if (comps.empty()) return "/";
  std::string s;
  for (const std::string& c : comps) s += "/" + c;
  return s;
}

}  // namespace

Resolved resolve(const char* path, bool follow_last) {
  Resolved r;
  if (!may_be_fake(path)) return r;
  const Vfs& vfs = Vfs::current();
  std::string_view in(path);
  bool want_dir = in.size() > 1 && in.back() == '/';
  std::deque<std::string> todo = split(in);
  std::vector<std::string> done;
  bool via_fake = false;  // went through a fake link or non-overlay entry
  int links = 0;

  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!done.empty()) done.pop_back();
      continue;
    }
    const bool last = todo.empty();
    std::string parent = join(done);
    std::string cur = (done.empty() ? "" : parent) + "/" + comp;
    const VNode* n = vfs.find(cur);
    if (!n) {
      const VNode* pn = vfs.find(parent);
      if (pn && !pn->overlay) {
        r.kind = Resolved::Error;
        r.err = ENOENT;
        return r;
      }
      // A real entry. A later ".." may still lead back into the tree (taken
      // lexically: real symlinks are not followed); otherwise the rest is
      // real.
      if (std::find(todo.begin(), todo.end(), "..") != todo.end()) {
        done.push_back(std::move(comp));
        continue;
      }
      if (!via_fake) return r;
      r.kind = Resolved::Real;
      r.path = cur;
      for (const std::string& c : todo) r.path += "/" + c;
      if (want_dir) r.path += "/";
      return r;
    }
    if (!n->overlay) via_fake = true;
    if (n->kind == VKind::Link && (!last || follow_last || want_dir)) {
      if (++links > 40) {
        r.kind = Resolved::Error;
        r.err = ELOOP;
        return r;
      }
      std::deque<std::string> t = split(n->data);
      if (!n->data.empty() && n->data[0] == '/') done.clear();
      for (auto it = t.rbegin(); it != t.rend(); ++it) todo.push_front(*it);
      continue;
    }
    if ((n->kind == VKind::File || n->kind == VKind::Node) && !last) {
      r.kind = Resolved::Error;
      r.err = ENOTDIR;
      return r;
    }
    done.push_back(std::move(comp));
  }

  std::string final_path = join(done);
  const VNode* n = vfs.find(final_path);
  if (!n) {  // "/" or an ancestor of the tree reached through ".."
    if (!via_fake) return r;
    r.kind = Resolved::Real;
    r.path = final_path;
    return r;
  }
  if (want_dir && n->kind != VKind::Dir && n->kind != VKind::Link) {
    r.kind = Resolved::Error;
    r.err = ENOTDIR;
    return r;
  }
  r.kind = Resolved::Fake;
  r.node = n;
  r.path = std::move(final_path);
  return r;
}

namespace {

// One fixed time for every fake entry: "when the device appeared".
struct timespec boot_time() {
  static const struct timespec t = [] {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
  }();
  return t;
}

uint64_t path_inode(std::string_view p) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : p) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h | 1;
}

struct Attrs {
  mode_t mode;
  uint64_t ino, size;
  unsigned dev_major, dev_minor;
  unsigned rdev_major, rdev_minor;
  nlink_t nlink;
};

Attrs attrs_of(const VNode& n) {
  Attrs a{};
  a.ino = path_inode(n.path);
  bool in_dev = n.path.compare(0, 4, "/dev") == 0;
  a.dev_major = 0;
  a.dev_minor = in_dev ? 5 : 21;  // devtmpfs, sysfs
  a.nlink = 1;
  switch (n.kind) {
    case VKind::Dir: a.mode = S_IFDIR | 0755; a.nlink = 2; break;
    case VKind::File: a.mode = S_IFREG | 0444; a.size = 4096; break;
    case VKind::Link: a.mode = S_IFLNK | 0777; a.size = n.data.size(); break;
    case VKind::Node:
      a.mode = S_IFCHR | 0666;
      a.rdev_major = n.rdev_major;
      a.rdev_minor = n.rdev_minor;
      break;
  }
  return a;
}

void fill(const Attrs& a, struct stat* st) {
  std::memset(st, 0, sizeof *st);
  st->st_dev = makedev(a.dev_major, a.dev_minor);
  st->st_ino = a.ino;
  st->st_mode = a.mode;
  st->st_nlink = a.nlink;
  st->st_rdev = makedev(a.rdev_major, a.rdev_minor);
  st->st_size = static_cast<off_t>(a.size);
  st->st_blksize = 4096;
  st->st_blocks = 0;
  st->st_atim = st->st_mtim = st->st_ctim = boot_time();
}

void fill_x(const Attrs& a, struct statx* stx) {
  std::memset(stx, 0, sizeof *stx);
  stx->stx_mask = STATX_BASIC_STATS;
  stx->stx_blksize = 4096;
  stx->stx_nlink = static_cast<uint32_t>(a.nlink);
  stx->stx_mode = static_cast<uint16_t>(a.mode);
  stx->stx_ino = a.ino;
  stx->stx_size = a.size;
  struct timespec t = boot_time();
  stx->stx_atime.tv_sec = stx->stx_mtime.tv_sec = stx->stx_ctime.tv_sec = t.tv_sec;
  stx->stx_atime.tv_nsec = stx->stx_mtime.tv_nsec = stx->stx_ctime.tv_nsec =
      static_cast<uint32_t>(t.tv_nsec);
  stx->stx_rdev_major = a.rdev_major;
  stx->stx_rdev_minor = a.rdev_minor;
  stx->stx_dev_major = a.dev_major;
  stx->stx_dev_minor = a.dev_minor;
}

}  // namespace

void fill_stat(const VNode& n, struct stat* st) {
  fill(attrs_of(n), st);
}
void fill_statx(const VNode& n, struct statx* stx) {
  fill_x(attrs_of(n), stx);
}

}  // namespace wsys::shim
