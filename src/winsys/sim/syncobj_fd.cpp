#include "winsys/sim/syncobj_fd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "winsys/sim/foreign_sync_file.h"

namespace wsys::sim {

namespace {

using FdKey = std::pair<dev_t, ino_t>;

// The model's side of one exported fd: the other end of the socket pair,
// and the reference the kernel's file would hold.
class FdObject final : public FenceWatcher {
 public:
  explicit FdObject(int our_fd) : our_fd_(our_fd) {}
  ~FdObject() override { ::close(our_fd_); }
  FdObject(const FdObject&) = delete;
  FdObject& operator=(const FdObject&) = delete;

  // Makes the exported end readable; the byte carries the fence's status
  // (foreign_sync_file.h). No allocation, never blocks.
  void mark_ready(int status = 0) {
    char b = sync_file_ready_byte(status);
    ssize_t r = ::send(our_fd_, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)r;
  }
  void fence_signalled_locked(Fence& f) override { mark_ready(f.status()); }

  // True once every copy of the exported end has been closed.
  bool hung_up() const {
    pollfd p{our_fd_, 0, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR | POLLNVAL));
  }
  int our_fd() const { return our_fd_; }

  SyncobjPtr syncobj;  // a syncobj fd
  FencePtr fence;      // a sync_file fd

 private:
  int our_fd_;
};

struct Table {
  std::mutex lock;
  std::map<FdKey, std::shared_ptr<FdObject>> entries;
  size_t prune_at = 64;
};

Table& table() {
  static Table* t = new Table();  // never destroyed: fds may outlive statics
  return *t;
}

bool key_of(int fd, FdKey* key) {
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0) return false;
  *key = {st.st_dev, st.st_ino};
  return true;
}

// Drops every entry whose exported end is closed. Table lock held. The
// dropped objects are returned so they are destroyed after the lock is
// released (destroying a syncobj releases its fences).
std::vector<std::shared_ptr<FdObject>> prune_locked(Table& t) {
  std::vector<std::shared_ptr<FdObject>> dead;
  if (t.entries.empty()) return dead;
  std::vector<pollfd> pfds;
  std::vector<FdKey> keys;
  pfds.reserve(t.entries.size());
  keys.reserve(t.entries.size());
  for (const auto& [k, obj] : t.entries) {
    pfds.push_back({obj->our_fd(), 0, 0});
    keys.push_back(k);
  }
  int n = ::poll(pfds.data(), pfds.size(), 0);
  if (n <= 0) return dead;
  for (size_t i = 0; i < pfds.size(); i++) {
    if (!(pfds[i].revents & (POLLHUP | POLLERR | POLLNVAL))) continue;
    auto it = t.entries.find(keys[i]);
    dead.push_back(std::move(it->second));
    t.entries.erase(it);
  }
  return dead;
}

int make_pair(int* user_fd, int* our_fd) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -errno;
  int fl = ::fcntl(sv[1], F_GETFL);
  if (fl >= 0) ::fcntl(sv[1], F_SETFL, fl | O_NONBLOCK);
  *user_fd = sv[0];
  *our_fd = sv[1];
  return 0;
}

// Inserts `obj` for the exported end `user_fd`.
int insert(int user_fd, std::shared_ptr<FdObject> obj) {
  FdKey key;
  if (!key_of(user_fd, &key)) return -errno;
  Table& t = table();
  std::vector<std::shared_ptr<FdObject>> dead;
  {
    std::lock_guard<std::mutex> g(t.lock);
    if (t.entries.size() >= t.prune_at) {
      dead = prune_locked(t);
      t.prune_at = std::max<size_t>(64, 2 * t.entries.size());
    }
    // A stale entry under a reused inode number is replaced.
    auto [it, inserted] = t.entries.try_emplace(key, obj);
    if (!inserted) {
      dead.push_back(std::move(it->second));
      it->second = std::move(obj);
    }
  }
  return 0;
}

std::shared_ptr<FdObject> lookup(int fd) {
  FdKey key;
  if (!key_of(fd, &key)) return nullptr;
  Table& t = table();
  std::shared_ptr<FdObject> obj, stale;
  {
    std::lock_guard<std::mutex> g(t.lock);
    auto it = t.entries.find(key);
    if (it == t.entries.end()) return nullptr;
    // The caller holds `fd`, so a live entry cannot have hung up: one that
    // has is a closed export whose inode number was reused.
    if (it->second->hung_up()) {
      stale = std::move(it->second);
      t.entries.erase(it);
      return nullptr;
    }
    obj = it->second;
  }
  return obj;
}

}  // namespace

SyncFdTable& SyncFdTable::get() {
  static SyncFdTable* t = new SyncFdTable();
  return *t;
}

int SyncFdTable::export_syncobj(SyncobjPtr obj, int* fd_out) {
  int user_fd = -1, our_fd = -1;
  if (int r = make_pair(&user_fd, &our_fd)) return r;
  auto fo = std::make_shared<FdObject>(our_fd);
  fo->syncobj = std::move(obj);
  if (int r = insert(user_fd, std::move(fo))) {
    ::close(user_fd);
    return r;
  }
  *fd_out = user_fd;
  return 0;
}

SyncobjPtr SyncFdTable::import_syncobj(int fd) {
  std::shared_ptr<FdObject> fo = lookup(fd);
  return fo ? fo->syncobj : nullptr;
}

int SyncFdTable::reserve_sync_file(Reservation* r) { return make_pair(&r->user_fd, &r->our_fd); }

void SyncFdTable::cancel_reservation(Reservation* r) {
  if (r->user_fd >= 0) ::close(r->user_fd);
  if (r->our_fd >= 0) ::close(r->our_fd);
  r->user_fd = r->our_fd = -1;
}

int SyncFdTable::publish_sync_file(Reservation* r, FencePtr fence) {
  name_sync_file_end(r->our_fd);  // importable by other processes' models
  auto fo = std::make_shared<FdObject>(r->our_fd);
  r->our_fd = -1;  // owned by fo now
  fo->fence = fence;
  {
    SyncState& s = SyncState::get();
    std::lock_guard<std::mutex> g(s.lock());
    // The fd does not keep its watcher alive through the fence (no cycle
    // fence -> watcher -> fence); the table does.
    if (!fence->add_watcher_locked(make_weak_watcher(std::weak_ptr<FenceWatcher>(fo))))
      fo->mark_ready(fence->status());
  }
  int user_fd = r->user_fd;
  if (int e = insert(user_fd, std::move(fo))) {
    cancel_reservation(r);
    return e;
  }
  r->user_fd = -1;
  return user_fd;
}

FencePtr SyncFdTable::import_sync_file(int fd) {
  std::shared_ptr<FdObject> fo = lookup(fd);
  if (fo) return fo->fence;
  // Exported by the model of another process (foreign_sync_file.h).
  if (!is_foreign_sync_file(fd)) return nullptr;
  int err = 0;
  return import_foreign_sync_file(fd, &err);
}

size_t SyncFdTable::live_entries() {
  Table& t = table();
  std::vector<std::shared_ptr<FdObject>> dead;
  std::lock_guard<std::mutex> g(t.lock);
  dead = prune_locked(t);
  return t.entries.size();
}

bool is_eventfd(int fd) {
  char path[64], target[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(path, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = 0;
  return std::strcmp(target, "anon_inode:[eventfd]") == 0;
}

}  // namespace wsys::sim
