#include "winsys/sim/shared_alloc.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "drm-uapi/wsys_sim_alloc.h"
#include "winsys/sim/alloc_system.h"
#include "winsys/sim/gem.h"
#include "winsys/sim/sim_device.h"

namespace wsys::sim {

namespace {

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

// The state's lock, held for one operation. In a system it also registers
// this process (so its references can be dropped if it dies) and sweeps
// processes that died.
class SharedAllocator::Locked {
 public:
  explicit Locked(const SharedAllocator& a) : s_(a.s_), ok_(s_->lock()) {
    if (!ok_) return;
    if (a.path_.empty()) {
      registered_ = true;
      return;
    }
    s_->sweep_dead();
    registered_ = s_->register_proc(getpid());
  }
  ~Locked() {
    if (ok_) s_->unlock();
  }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;
  bool ok() const { return ok_; }
  // False when the process table is full: nothing new may be referenced.
  bool registered() const { return registered_; }

 private:
  AllocState* s_;
  bool ok_;
  bool registered_ = false;
};

SharedAttachment::~SharedAttachment() {
  buf_->allocator().detach(this);
}

SharedBuffer::~SharedBuffer() {
  alloc_->release(this);
  if (memfd_ >= 0) ::close(memfd_);
}

SharedBuffer::State SharedBuffer::state() const {
  State st;
  SharedAllocator::Locked g(*alloc_);
  AllocState& s = *alloc_->s_;
  if (!g.ok() || !s.live(slot_, gen_)) return st;
  const AllocBufferRec& r = s.bufs[slot_];
  st.finalized = r.finalized;
  st.cpu_used = r.cpu_used;
  st.placement = s.placement(slot_);
  st.last_unmet = r.last_unmet;
  st.migrations = r.migrations;
  s.for_each_attachment(slot_, [&](const AllocAttachRec& a) {
    st.attachments++;
    st.mapped = st.mapped || a.map_count > 0;
  });
  return st;
}

SharedAllocator::SharedAllocator(AllocState* s, std::string path) : s_(s), path_(std::move(path)) {
  if (!s_) throw std::bad_alloc();
}

SharedAllocator::SharedAllocator(const PhysLayoutConfig& cfg)
    : SharedAllocator(make_private_state(cfg), "") {}

std::unique_ptr<SharedAllocator> SharedAllocator::open_system(const std::string& path,
                                                              const PhysLayoutConfig& cfg,
                                                              std::string* why) {
  AllocState* s = map_system(path, cfg, why);
  if (!s) return nullptr;
  return std::unique_ptr<SharedAllocator>(new SharedAllocator(s, path));
}

SharedAllocator::~SharedAllocator() {
  unmap_state(s_);
}

SharedAllocator& SharedAllocator::model() {
  static SharedAllocator* a = [] {
    PhysLayoutConfig cfg;
    cfg.cma_size = parse_size(std::getenv("WSYS_SIM_CMA_SIZE"), cfg.cma_size);
    std::string why;
    const std::string path = sim::system_path(&why);
    if (!path.empty()) {
      if (auto sys = open_system(path, cfg, &why)) return sys.release();
    }
    if (!why.empty())
      std::fprintf(stderr, "wsys sim alloc: %s; this process's allocator is private\n",
                   why.c_str());
    return new SharedAllocator(cfg);
  }();
  return *a;
}

void SharedAllocator::log_locked(std::string line) {
  if (const char* v = std::getenv("WSYS_SIM_ALLOC_LOG"); v && *v == '1')
    std::fprintf(stderr, "wsys sim alloc: %s\n", line.c_str());
  s_->log_line(line);
}

std::vector<std::string> SharedAllocator::log_lines() const {
  Locked g(*this);
  if (!g.ok()) return {};
  return s_->log_lines();
}

int SharedAllocator::create(uint64_t size, uint32_t uses, bool upfront, SharedBufferPtr* out,
                            int* memfd_out) {
  if (size == 0 || (size >> 48)) return -EINVAL;
  size = (size + PhysLayout::kPage - 1) & ~(PhysLayout::kPage - 1);
  int memfd = -1;
  std::pair<uint64_t, uint64_t> id{0, 0};
  if (memfd_out) {
    memfd = create_model_dmabuf(size);
    if (memfd < 0) return memfd;
    struct stat st;
    if (fstat(memfd, &st) != 0) {
      int e = -errno;
      ::close(memfd);
      return e;
    }
    id = {st.st_dev, st.st_ino};
  }
  // Made before the lock: on failure it is destroyed after the lock is
  // dropped (its destructor takes it when it holds a record).
  SharedBufferPtr b(new SharedBuffer(this, size, uses, memfd));
  {
    Locked g(*this);
    if (!g.ok()) return -EIO;
    if (!g.registered()) return -ENOSPC;
    const uint32_t slot = s_->new_buffer();
    if (slot == kNoIndex) {
      log_locked("allocation of " + std::to_string(size) + " bytes: the buffer table is full");
      return -ENOSPC;
    }
    AllocBufferRec& r = s_->bufs[slot];
    r.uses = uses;
    r.size = size;
    r.dev = id.first;
    r.ino = id.second;
    s_->add_holder(slot, getpid());
    if (upfront) {
      // Fails with the record freed and the view holding none.
      auto fail = [&](const char* why) {
        uncharge_locked(*b);
        counters().finalize_failures++;
        log_locked("upfront allocation of " + std::to_string(size) + " bytes: " + why);
        s_->free_buffer(slot);
        return -ENOMEM;
      };
      if (!charge_locked(*b)) return fail("over the memory budget");
      PhysZone want;
      DmaConstraints c = upfront_heap(uses, &want);
      Placement p;
      bool ok = false;
      if (want == PhysZone::Cma) {
        PhysExtent e;
        ok = s_->layout.alloc_single(PhysZone::Cma, size, PhysLayout::kPage, ~0ull, &e);
        if (ok) p = Placement{PhysZone::Cma, {e}};
      } else {
        ok = solve_placement(s_->layout, c, size, &p);
      }
      if (!ok) return fail("heap full");
      if (!s_->set_placement(slot, p)) {
        s_->layout.free(p.zone, p.extents);
        return fail("the extent table is full");
      }
      r.upfront = 1;
    }
    b->slot_ = slot;
    b->gen_ = r.gen;
    b->pid_ = getpid();
    b->id_ = id;
    if (id.second) views_[id] = b;
  }
  if (memfd_out) {
    int user_fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
    if (user_fd < 0) return -errno;  // b's destructor undoes the rest
    *memfd_out = user_fd;
  }
  *out = std::move(b);
  return 0;
}

SharedBufferPtr SharedAllocator::view_locked(uint32_t slot, uint64_t size, uint32_t uses, int memfd,
                                             int* err) {
  if (!s_->add_holder(slot, getpid())) {
    ::close(memfd);
    log_locked("a process cannot reference a buffer: " +
               std::to_string(AllocBufferRec::kMaxHolders) + " hold it already");
    *err = -ENOSPC;
    return nullptr;
  }
  SharedBufferPtr b(new SharedBuffer(this, size, uses, memfd));
  b->slot_ = slot;
  b->gen_ = s_->bufs[slot].gen;
  b->pid_ = getpid();
  b->id_ = {s_->bufs[slot].dev, s_->bufs[slot].ino};
  views_[b->id_] = b;
  return b;
}

SharedBufferPtr SharedAllocator::find(int fd, int* err) {
  int dummy = 0;
  if (!err) err = &dummy;
  *err = 0;
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !is_shared_dmabuf(fd)) return nullptr;
  const std::pair<uint64_t, uint64_t> id{st.st_dev, st.st_ino};
  // This process's own fd for the view (the device models read and write
  // the memory through it), made before the lock.
  int memfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (memfd < 0) {
    *err = -errno;
    return nullptr;
  }
  SharedBufferPtr found;
  {
    Locked g(*this);
    if (g.ok()) {
      auto it = views_.find(id);
      if (it != views_.end()) found = it->second.lock();
      if (!found && g.registered()) {
        // First seen in this process: made by another one, or by this one
        // through a view that is going away.
        const uint32_t slot = s_->find_buffer(id.first, id.second);
        if (slot != kNoIndex) {
          const AllocBufferRec& r = s_->bufs[slot];
          found = view_locked(slot, r.size, r.uses, memfd, err);
          memfd = -1;  // the view's (or closed)
        }
      } else if (!found) {
        *err = -ENOSPC;
      }
    }
  }
  if (memfd >= 0) ::close(memfd);
  return found;
}

void SharedAllocator::release(SharedBuffer* b) {
  // A forked copy of another process's view holds nothing of its own.
  if (b->slot_ == kNoIndex || b->pid_ != getpid()) return;
  Locked g(*this);
  if (!g.ok()) return;
  auto it = views_.find(b->id_);
  if (it != views_.end() && it->second.expired()) views_.erase(it);
  uncharge_locked(*b);
  if (s_->live(b->slot_, b->gen_) && s_->drop_holder(b->slot_, b->pid_)) s_->free_buffer(b->slot_);
}

// Budget: a placed buffer with real memory (a memfd; bookkeeping-only
// buffers have none) is system memory that every model GPU shares, so its
// size is charged to the memory budget of each GPU device the placing
// process has opened, from placement until that process lets go of the
// buffer; migration keeps the charge. With try_charge, never the shrinker:
// the allocator's lock is held here, and the shrinker takes locks of
// objects whose holders may be waiting for the allocator. Over a budget
// the first use is -ENOMEM (and can be retried). A device opened after the
// placement, or another process's, is not charged for it.
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
  s_->for_each_attachment(b.slot_, [&](const AllocAttachRec& a) { u = merge_constraints(u, a.c); });
  if (extra) u = merge_constraints(u, *extra);
  return u;
}

bool SharedAllocator::mapped_locked(const SharedBuffer& b) const {
  bool mapped = false;
  s_->for_each_attachment(b.slot_,
                          [&](const AllocAttachRec& a) { mapped = mapped || a.map_count > 0; });
  return mapped;
}

int SharedAllocator::attach(const SharedBufferPtr& buf, uint32_t domain, const DmaConstraints& c,
                            SharedAttachmentPtr* out, uint32_t* unmet) {
  *unmet = 0;
  SharedAttachmentPtr a(new SharedAttachment(buf, domain, c));  // destroyed after the lock
  Locked g(*this);
  if (!g.ok()) return -EIO;
  SharedBuffer& b = *buf;
  if (!s_->live(b.slot_, b.gen_)) return -ENOENT;
  AllocBufferRec& r = s_->bufs[b.slot_];
  const uint32_t j = s_->new_attachment();
  if (j == kNoIndex) {
    log_locked("attach: the attachment table is full");
    return -ENOSPC;
  }
  auto drop = [&](int err) {
    s_->atts[j] = AllocAttachRec{};
    return err;
  };
  const DmaConstraints u = union_locked(b, &c);
  auto refuse = [&](uint32_t why, const char* what) {
    *unmet = why;
    r.last_unmet = why;
    counters().refused_attaches++;
    log_locked(std::string("attach refused (domain ") + std::to_string(domain) + ", " +
               std::to_string(b.size_) + " bytes): " + unmet_name(why) + " " + what);
    return drop(-EINVAL);
  };
  if (uint32_t why = constraints_feasible(u, b.size_, s_->layout))
    return refuse(why, "cannot hold together with the other attachments");
  if (r.finalized) {
    if (uint32_t why = placement_meets(s_->placement(b.slot_), c)) {
      if (r.cpu_used || r.upfront || mapped_locked(b))
        return refuse(why, "unmet by the placement, and the buffer is in use");
      // Nobody maps it: move it to a placement the union meets.
      Placement np;
      if (!solve_placement(s_->layout, u, b.size_, &np)) {
        counters().finalize_failures++;
        log_locked("migration for an attach: no room");
        return drop(-ENOMEM);
      }
      if (!s_->set_placement(b.slot_, np)) {  // frees the old placement
        s_->layout.free(np.zone, np.extents);
        log_locked("migration for an attach: the extent table is full");
        return drop(-ENOMEM);
      }
      r.migrations++;
      counters().migrations++;
    }
  }
  AllocAttachRec& ar = s_->atts[j];
  ar.buf = b.slot_;
  ar.buf_gen = b.gen_;
  ar.pid = getpid();
  ar.domain = domain;
  ar.map_count = 0;
  ar.c = c;
  a->slot_ = j;
  a->gen_ = ar.gen;
  a->pid_ = ar.pid;
  *out = std::move(a);
  return 0;
}

void SharedAllocator::detach(SharedAttachment* a) {
  if (a->slot_ == kNoIndex || a->pid_ != getpid()) return;
  Locked g(*this);
  if (g.ok() && s_->atts[a->slot_].gen == a->gen_) s_->atts[a->slot_] = AllocAttachRec{};
}

int SharedAllocator::finalize_locked(SharedBuffer& b) {
  AllocBufferRec& r = s_->bufs[b.slot_];
  if (r.finalized) return 0;
  if (!charge_locked(b)) {
    counters().finalize_failures++;
    log_locked("first use of " + std::to_string(b.size_) + " bytes: over the memory budget");
    return -ENOMEM;
  }
  Placement p;
  if (!solve_placement(s_->layout, union_locked(b, nullptr), b.size_, &p)) {
    uncharge_locked(b);
    counters().finalize_failures++;
    log_locked("first use of " + std::to_string(b.size_) + " bytes: no room for the constraints");
    return -ENOMEM;
  }
  if (!s_->set_placement(b.slot_, p)) {
    s_->layout.free(p.zone, p.extents);
    uncharge_locked(b);
    counters().finalize_failures++;
    log_locked("first use of " + std::to_string(b.size_) + " bytes: the extent table is full");
    return -ENOMEM;
  }
  return 0;
}

// The attachment's record, if it is still there (a dead process's sweep
// never touches a live one's, but a forked copy may ask).
static AllocAttachRec* attach_rec(AllocState& s, uint32_t slot, uint32_t gen) {
  if (slot >= AllocState::kMaxAttachments || !gen || s.atts[slot].gen != gen) return nullptr;
  return &s.atts[slot];
}

int SharedAllocator::map(SharedAttachment& a) {
  Locked g(*this);
  if (!g.ok()) return -EIO;
  AllocAttachRec* ar = attach_rec(*s_, a.slot_, a.gen_);
  if (!ar || !s_->live(a.buf_->slot_, a.buf_->gen_)) return -ENOENT;
  if (int r = finalize_locked(*a.buf_)) return r;
  ar->map_count++;
  return 0;
}

int SharedAllocator::unmap(SharedAttachment& a) {
  Locked g(*this);
  if (!g.ok()) return -EIO;
  AllocAttachRec* ar = attach_rec(*s_, a.slot_, a.gen_);
  if (!ar || ar->map_count <= 0) return -EINVAL;
  ar->map_count--;
  return 0;
}

int SharedAllocator::sync(SharedBuffer& b, uint32_t domain, uint32_t flags) {
  if (!flags || (flags & ~(WSYS_ALLOC_SYNC_READ | WSYS_ALLOC_SYNC_WRITE))) return -EINVAL;
  if (domain != WSYS_ALLOC_DOMAIN_CPU && !is_device_domain(domain)) return -EINVAL;
  Locked g(*this);
  if (!g.ok()) return -EIO;
  if (!s_->live(b.slot_, b.gen_)) return -ENOENT;
  AllocBufferRec& r = s_->bufs[b.slot_];
  // One access: maintenance if the other side wrote since (`pending`),
  // else one operation the every-access baseline would have done.
  auto maintain = [this](uint8_t& pending, uint64_t& done) {
    if (pending) {
      done++;
      pending = 0;
    } else {
      counters().cache_ops_avoided++;
    }
  };
  if (domain == WSYS_ALLOC_DOMAIN_CPU) {
    if (int e = finalize_locked(b)) return e;
    r.cpu_used = 1;
    maintain(r.device_wrote, counters().cache_invalidates);  // baseline: before every CPU access
    if (flags & WSYS_ALLOC_SYNC_WRITE) r.cpu_dirty = 1;
    return 0;
  }
  if (!r.finalized) return -EINVAL;  // a device accesses only a mapped (finalized) buffer
  maintain(r.cpu_dirty, counters().cache_flushes);  // baseline: a clean before every device access
  if (flags & WSYS_ALLOC_SYNC_WRITE) r.device_wrote = 1;
  return 0;
}

int SharedAllocator::cpu_map(SharedBuffer& b) {
  Locked g(*this);
  if (!g.ok()) return -EIO;
  if (!s_->live(b.slot_, b.gen_)) return -ENOENT;
  if (int r = finalize_locked(b)) return r;
  s_->bufs[b.slot_].cpu_used = 1;
  return 0;
}

SharedAllocStats SharedAllocator::stats() const {
  Locked g(*this);
  if (!g.ok()) return {};
  SharedAllocStats s = s_->counters;
  s.cma_used = s_->layout.used_bytes(PhysZone::Cma);
  s.cma_peak = s_->layout.peak_bytes(PhysZone::Cma);
  s.cma_largest_free = s_->layout.largest_free(PhysZone::Cma);
  return s;
}

void SharedAllocator::reset_peaks() {
  Locked g(*this);
  if (g.ok()) s_->layout.reset_peaks();
}

}  // namespace wsys::sim
