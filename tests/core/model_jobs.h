// Running the model's command streams through a core::Device, for core
// tests and benches on the kernel model: a CSF group (panthor) or job
// chains (panfrost) on the device's VM. Stream buffers are kept until the
// Jobs object goes, so tests never depend on what happens to a stream
// released while its job runs: wait for the jobs first.
#pragma once

#include <time.h>

#include <cstring>
#include <vector>

#include "winsys/core/kernel_access.h"
#include "winsys/kmod/kmod.h"
#include "winsys/sim/cmdstream.h"
#include "wsys/device.hpp"

namespace wsys::test {

inline int64_t deadline_ms(int64_t ms) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000ll + ts.tv_nsec + ms * 1000000ll;
}

// A stream being built: commands appended in the model's format
// (winsys/sim/cmdstream.h).
class Stream {
 public:
  template <typename Cmd>
  void add(const Cmd& c) {
    const auto* p = reinterpret_cast<const uint8_t*>(&c);
    bytes_.insert(bytes_.end(), p, p + sizeof(c));
  }
  void sleep(uint64_t ns) { add(sim::SimCmdSleep{{sim::kCmdSleep, sizeof(sim::SimCmdSleep)}, ns}); }
  void write32(uint64_t va, uint32_t v) {
    add(sim::SimCmdWrite32{{sim::kCmdWrite32, sizeof(sim::SimCmdWrite32)}, va, v, 0});
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

class Jobs {
 public:
  explicit Jobs(Device& d) : d_(d) {
    if (d.info().driver == "panthor") {
      kmod::QueueCreateInfo q;
      kmod::GroupCreateInfo g;
      g.queues = {&q, 1};
      vm_ = KernelAccess::vm(d.vm());
      g.vm = vm_.get();
      g.max_compute_cores = g.max_fragment_cores = g.max_tiler_cores = 1;
      g.compute_core_mask = g.fragment_core_mask = KernelAccess::device(d).props().shader_present;
      g.tiler_core_mask = KernelAccess::device(d).props().tiler_present;
      auto gr = KernelAccess::device(d).group_create(g);
      group_ = gr.ok() ? *gr : 0;
    }
  }
  ~Jobs() {
    if (group_) (void)KernelAccess::device(d_).group_destroy(group_);
  }
  Jobs(const Jobs&) = delete;
  Jobs& operator=(const Jobs&) = delete;

  // Runs `s` (END appended for panfrost). Signals (syncobj, point) when done
  // (panfrost: a binary syncobj, point ignored); every buffer in `uses` is
  // marked used with that point (and is on panfrost's BO list, so the
  // kernel sees it busy too).
  Result<void> run(const Stream& s, const std::vector<Bo*>& uses, uint32_t syncobj,
                   uint64_t point) {
    auto stream = d_.bo_alloc(s.bytes().size() + 64, kAllocExecutable | kAllocNoCache, "stream");
    if (!stream.ok()) return Error(stream.error());
    streams_.push_back(*stream);
    auto m = (*stream)->map();
    if (!m.ok()) return Error(m.error());
    std::memcpy(*m, s.bytes().data(), s.bytes().size());
    const size_t size = s.bytes().size();
    if (group_) {
      kmod::SyncOp sig = kmod::SyncOp::signal(syncobj, point);
      kmod::QueueSubmit qs;
      qs.stream_addr = (*stream)->gpu_va();
      qs.stream_size_bytes = static_cast<uint32_t>(size);
      qs.syncs = {&sig, 1};
      Result<void> r = KernelAccess::device(d_).group_submit(group_, {&qs, 1});
      if (r.ok()) {
        for (Bo* b : uses) b->mark_used(syncobj, point);
        (*stream)->mark_used(syncobj, point);
      }
      return r;
    }
    sim::SimCmdHeader end{sim::kCmdEnd, sizeof(sim::SimCmdHeader)};
    std::memcpy(static_cast<uint8_t*>(*m) + size, &end, sizeof(end));
    std::vector<kmod::Bo*> bos;
    for (Bo* b : uses) bos.push_back(&KernelAccess::bo(*b));
    bos.push_back(&KernelAccess::bo(*(*stream)));
    kmod::JobChainSubmit js;
    js.jc = (*stream)->gpu_va();
    js.out_sync = syncobj;
    js.bos = bos;
    Result<void> r = KernelAccess::device(d_).submit_job_chain(js);
    if (r.ok())
      for (Bo* b : uses) b->mark_used(syncobj, 0);
    return r;
  }

  // SLEEP sleep_ns, then WRITE32 value at target's address.
  Result<void> sleep_then_write(Bo& target, uint64_t sleep_ns, uint32_t value, uint32_t syncobj,
                                uint64_t point) {
    Stream s;
    s.sleep(sleep_ns);
    s.write32(target.gpu_va(), value);
    return run(s, {&target}, syncobj, point);
  }

  uint32_t group() const { return group_; }  // 0 on panfrost

 private:
  Device& d_;
  uint32_t group_ = 0;
  std::shared_ptr<kmod::Vm> vm_;  // the kernel VM the group was created on
  std::vector<BoRef> streams_;
};

}  // namespace wsys::test
