#include "winsys/sim/shared_alloc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/sim/gem.h"
#include "winsys/sim/sim_device.h"

namespace wsys::sim {

namespace {

constexpr size_t kLogLines = 64;

uint64_t parse_size(const char* v, uint64_t fallback) {
  if (!v || !*v) return fallback;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 10);
  uint64_t mul = 1;
  if (end && (*end == 'K' || *end == 'k')) mul = 1ull << 10;
  if (end && (*end == 'M' || *end == 'm')) mul = 1ull << 20;
  if (end && (*end == 'G' || *end == 'g')) mul = 1ull << 30;
  return n ? n * mul : fallback;
}

bool is_device_domain(uint32_t d) {
  return d == WSYS_ALLOC_DOMAIN_GPU || d == WSYS_ALLOC_DOMAIN_DISPLAY ||
         d == WSYS_ALLOC_DOMAIN_CAMERA || d == WSYS_ALLOC_DOMAIN_OTHER;
}

// The ION-style choice from the intended uses alone: whatever may be shown
// or captured goes to the contiguous heap "to be safe"; the rest to the
// system heap (scattered, anywhere).
DmaConstraints upfront_heap(uint32_t uses, PhysZone* zone) {
  DmaConstraints c;
  if (uses & (WSYS_ALLOC_USE_DISPLAY | WSYS_ALLOC_USE_CAMERA)) {
    c.contiguous = true;
    *zone = PhysZone::Cma;
  } else {
    *zone = PhysZone::Normal;
  }
  return c;
}

}  // namespace

bool deferred_alloc_supported() {
  static const bool on = [] {
    const char* v = std::getenv("WSYS_SIM_DEFERRED_ALLOC");
    return !(v && v[0] == '0');
  }();
  return on;
}

DmaConstraints gpu_dma_constraints(uint32_t pa_bits) {
  DmaConstraints c;
  if (pa_bits == 0 || pa_bits > 63) pa_bits = 40;
  c.dma_mask = (1ull << pa_bits) - 1;
  return c;
}

SharedAttachment::~SharedAttachment() { buf_->alloc_->detach(this); }

SharedBuffer::~SharedBuffer() {
  alloc_->release(this);
  if (memfd_ >= 0) ::close(memfd_);
}

SharedBuffer::State SharedBuffer::state() const {
  std::lock_guard<std::mutex> g(alloc_->mu_);
  State s;
  s.finalized = finalized_;
  s.cpu_used = cpu_used_;
  s.placement = placement_;
  s.attachments = static_cast<uint32_t>(attachments_.size());
  s.last_unmet = last_unmet_;
  s.migrations = migrations_;
  for (const SharedAttachment* a : attachments_) s.mapped = s.mapped || a->map_count() > 0;
  return s;
}

SharedAllocator::SharedAllocator(const PhysLayoutConfig& cfg) : layout_(cfg) {
  counters_.cma_size = layout_.zone_range(PhysZone::Cma).size;
}

SharedAllocator::~SharedAllocator() = default;

SharedAllocator& SharedAllocator::model() {
  static SharedAllocator* a = [] {
    PhysLayoutConfig cfg;
    cfg.cma_size = parse_size(std::getenv("WSYS_SIM_CMA_SIZE"), cfg.cma_size);
    return new SharedAllocator(cfg);
  }();
  return *a;
}

void SharedAllocator::log_locked(std::string line) {
  if (const char* v = std::getenv("WSYS_SIM_ALLOC_LOG"); v && *v == '1')
    std::fprintf(stderr, "wsys sim alloc: %s\n", line.c_str());
  log_.push_back(std::move(line));
  while (log_.size() > kLogLines) log_.pop_front();
}

std::vector<std::string> SharedAllocator::log_lines() const {
  std::lock_guard<std::mutex> g(mu_);
  return {log_.begin(), log_.end()};
}

int SharedAllocator::create(uint64_t size, uint32_t uses, bool upfront, SharedBufferPtr* out,
                            int* memfd_out) {
  if (size == 0 || (size >> 48)) return -EINVAL;
  size = (size + PhysLayout::kPage - 1) & ~(PhysLayout::kPage - 1);
  int memfd = -1;
  ino_t ino = 0;
  if (memfd_out) {
    memfd = create_model_dmabuf(size);
    if (memfd < 0) return memfd;
    struct stat st;
    if (fstat(memfd, &st) != 0) {
      int e = -errno;
      ::close(memfd);
      return e;
    }
    ino = st.st_ino;
  }
  SharedBufferPtr b(new SharedBuffer(this, size, uses, memfd));
  b->inode_ = ino;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (upfront) {
      if (!charge_locked(*b)) {
        counters_.finalize_failures++;
        log_locked("upfront allocation of " + std::to_string(size) +
                   " bytes: over the memory budget");
        b->inode_ = 0;
        return -ENOMEM;
      }
      PhysZone want;
      DmaConstraints c = upfront_heap(uses, &want);
      Placement p;
      bool ok = false;
      if (want == PhysZone::Cma) {
        PhysExtent e;
        ok = layout_.alloc_single(PhysZone::Cma, size, PhysLayout::kPage, ~0ull, &e);
        if (ok) p = Placement{PhysZone::Cma, {e}};
      } else {
        ok = solve_placement(layout_, c, size, &p);
      }
      if (!ok) {
        uncharge_locked(*b);
        counters_.finalize_failures++;
        log_locked("upfront allocation of " + std::to_string(size) + " bytes: heap full");
        b->inode_ = 0;  // not registered: the destructor must not look for it
        return -ENOMEM;
      }
      b->upfront_ = true;
      b->finalized_ = true;
      b->placement_ = std::move(p);
    }
    if (ino) by_inode_[ino] = b;
  }
  if (memfd_out) {
    int user_fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
    if (user_fd < 0) return -errno;  // b's destructor undoes the rest
    *memfd_out = user_fd;
  }
  *out = std::move(b);
  return 0;
}

SharedBufferPtr SharedAllocator::find(int fd) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !is_model_dmabuf(fd)) return nullptr;
  std::lock_guard<std::mutex> g(mu_);
  auto it = by_inode_.find(st.st_ino);
  return it == by_inode_.end() ? nullptr : it->second.lock();
}

void SharedAllocator::release(SharedBuffer* b) {
  std::lock_guard<std::mutex> g(mu_);
  if (b->inode_) {
    auto it = by_inode_.find(b->inode_);
    if (it != by_inode_.end() && it->second.expired()) by_inode_.erase(it);
  }
  if (b->finalized_) layout_.free(b->placement_.zone, b->placement_.extents);
  uncharge_locked(*b);
}

// Budget: a placed buffer with real memory (a memfd; bookkeeping-only
// buffers have none) is system memory that every model GPU shares, so its
// size is charged to the memory budget of each GPU device the process has
// opened, from placement to release; migration keeps the charge. With
// try_charge, never the shrinker: the allocator's lock is held here, and
// the shrinker takes locks of objects whose holders may be waiting for the
// allocator. Over a budget the first use is -ENOMEM (and can be retried).
// A device opened after the placement is not charged for it.
bool SharedAllocator::charge_locked(SharedBuffer& b) {
  if (b.memfd_ < 0) return true;
  for (SimDevice* d : SimDevice::opened()) {
    if (!d->try_charge(b.size_)) {
      uncharge_locked(b);
      return false;
    }
    b.charged_.push_back(d);
  }
  return true;
}

void SharedAllocator::uncharge_locked(SharedBuffer& b) {
  for (SimDevice* d : b.charged_) d->uncharge(b.size_);
  b.charged_.clear();
}

DmaConstraints SharedAllocator::union_locked(const SharedBuffer& b,
                                             const DmaConstraints* extra) const {
  DmaConstraints u;
  for (const SharedAttachment* a : b.attachments_) u = merge_constraints(u, a->c_);
  if (extra) u = merge_constraints(u, *extra);
  return u;
}

int SharedAllocator::attach(const SharedBufferPtr& buf, uint32_t domain, const DmaConstraints& c,
                            SharedAttachmentPtr* out, uint32_t* unmet) {
  *unmet = 0;
  SharedAttachmentPtr a(new SharedAttachment(buf, domain, c));
  std::lock_guard<std::mutex> g(mu_);
  SharedBuffer& b = *buf;
  const DmaConstraints u = union_locked(b, &c);
  auto refuse = [&](uint32_t why, const char* what) {
    *unmet = why;
    b.last_unmet_ = why;
    counters_.refused_attaches++;
    log_locked(std::string("attach refused (domain ") + std::to_string(domain) + ", " +
               std::to_string(b.size_) + " bytes): " + unmet_name(why) + " " + what);
    return -EINVAL;
  };
  if (uint32_t why = constraints_feasible(u, b.size_, layout_))
    return refuse(why, "cannot hold together with the other attachments");
  if (b.finalized_) {
    if (uint32_t why = placement_meets(b.placement_, c)) {
      bool mapped = b.cpu_used_ || b.upfront_;
      for (const SharedAttachment* o : b.attachments_) mapped = mapped || o->map_count_ > 0;
      if (mapped) return refuse(why, "unmet by the placement, and the buffer is in use");
      // Nobody maps it: move it to a placement the union meets.
      Placement np;
      if (!solve_placement(layout_, u, b.size_, &np)) {
        counters_.finalize_failures++;
        log_locked("migration for an attach: no room");
        return -ENOMEM;
      }
      layout_.free(b.placement_.zone, b.placement_.extents);
      b.placement_ = std::move(np);
      b.migrations_++;
      counters_.migrations++;
    }
  }
  b.attachments_.push_back(a.get());
  *out = std::move(a);
  return 0;
}

void SharedAllocator::detach(SharedAttachment* a) {
  std::lock_guard<std::mutex> g(mu_);
  auto& v = a->buf_->attachments_;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (*it == a) {
      v.erase(it);
      break;
    }
  }
}

int SharedAllocator::finalize_locked(SharedBuffer& b) {
  if (b.finalized_) return 0;
  if (!charge_locked(b)) {
    counters_.finalize_failures++;
    log_locked("first use of " + std::to_string(b.size_) + " bytes: over the memory budget");
    return -ENOMEM;
  }
  Placement p;
  if (!solve_placement(layout_, union_locked(b, nullptr), b.size_, &p)) {
    uncharge_locked(b);
    counters_.finalize_failures++;
    log_locked("first use of " + std::to_string(b.size_) + " bytes: no room for the constraints");
    return -ENOMEM;
  }
  b.placement_ = std::move(p);
  b.finalized_ = true;
  return 0;
}

int SharedAllocator::map(SharedAttachment& a) {
  std::lock_guard<std::mutex> g(mu_);
  if (int r = finalize_locked(*a.buf_)) return r;
  a.map_count_++;
  return 0;
}

int SharedAllocator::unmap(SharedAttachment& a) {
  std::lock_guard<std::mutex> g(mu_);
  if (a.map_count_ <= 0) return -EINVAL;
  a.map_count_--;
  return 0;
}

int SharedAllocator::sync(SharedBuffer& b, uint32_t domain, uint32_t flags) {
  if (!flags || (flags & ~(WSYS_ALLOC_SYNC_READ | WSYS_ALLOC_SYNC_WRITE))) return -EINVAL;
  if (domain != WSYS_ALLOC_DOMAIN_CPU && !is_device_domain(domain)) return -EINVAL;
  std::lock_guard<std::mutex> g(mu_);
  // One access: maintenance if the other side wrote since (`pending`),
  // else one operation the every-access baseline would have done.
  auto maintain = [this](bool& pending, uint64_t& done) {
    if (pending) {
      done++;
      pending = false;
    } else {
      counters_.cache_ops_avoided++;
    }
  };
  if (domain == WSYS_ALLOC_DOMAIN_CPU) {
    if (int r = finalize_locked(b)) return r;
    b.cpu_used_ = true;
    maintain(b.device_wrote_, counters_.cache_invalidates);  // baseline: before every CPU access
    if (flags & WSYS_ALLOC_SYNC_WRITE) b.cpu_dirty_ = true;
    return 0;
  }
  if (!b.finalized_) return -EINVAL;  // a device accesses only a mapped (finalized) buffer
  maintain(b.cpu_dirty_, counters_.cache_flushes);  // baseline: a clean before every device access
  if (flags & WSYS_ALLOC_SYNC_WRITE) b.device_wrote_ = true;
  return 0;
}

int SharedAllocator::cpu_map(SharedBuffer& b) {
  std::lock_guard<std::mutex> g(mu_);
  if (int r = finalize_locked(b)) return r;
  b.cpu_used_ = true;
  return 0;
}

SharedAllocStats SharedAllocator::stats() const {
  std::lock_guard<std::mutex> g(mu_);
  SharedAllocStats s = counters_;
  s.cma_used = layout_.used_bytes(PhysZone::Cma);
  s.cma_peak = layout_.peak_bytes(PhysZone::Cma);
  s.cma_largest_free = layout_.largest_free(PhysZone::Cma);
  return s;
}

void SharedAllocator::reset_peaks() {
  std::lock_guard<std::mutex> g(mu_);
  layout_.reset_peaks();
}

}  // namespace wsys::sim
