// panthor device: properties from DEV_QUERY, queries, and the CSF
// submission passthrough (groups, queues, tiler heaps).
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/kmod/panthor/panthor.h"
#include "winsys/kmod/small_array.h"

namespace wsys::kmod {

Result<std::unique_ptr<Device>> create_panthor_device(std::unique_ptr<drm::DrmFile> file) {
  auto dev = std::make_unique<panthor::PanthorDevice>(std::move(file));
  if (auto r = dev->init(); !r) return Error(r.error());
  return std::unique_ptr<Device>(std::move(dev));
}

void set_panthor_capabilities(const drm::DriverVersion& v, DeviceProps& p) {
  // What panthor can do, by version (include/drm-uapi/panthor_drm.h).
  p.has_madvise = false;  // no madvise uAPI
  p.has_bo_wait = false;  // no WAIT_BO: explicit sync only
  p.has_vm_per_context = true;
  p.has_async_bind = true;
  p.has_deferred_bind = true;
  p.growable_heap = GrowableHeap::TilerHeap;
  p.has_gpu_timestamp = v.at_least(1, 1);
  p.has_bo_labels = v.at_least(1, 4);
  p.has_cache_maintenance = v.at_least(1, 7);  // BO_SYNC
  p.has_wb_mmap = v.at_least(1, 7);            // BO_CREATE WB_MMAP
  p.has_bo_query_info = v.at_least(1, 7);      // BO_QUERY_INFO
  p.has_jm_contexts = false;                   // CSF: groups instead
  p.has_sparse_map = v.at_least(1, 9);         // VM_BIND MAP_SPARSE
}

namespace panthor {

namespace {
// The kernel keeps at least this much at the top of every VM.
constexpr uint64_t kKernelVaReserve = 256ull << 20;
}  // namespace

int PanthorDevice::dev_query(uint32_t type, void* out, uint32_t our_size) {
  std::memset(out, 0, our_size);
  drm_panthor_dev_query q{};
  q.type = type;
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q)) return r;  // pointer 0: size only
  q.size = std::min(our_size, q.size);
  q.pointer = reinterpret_cast<uintptr_t>(out);
  return file().ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q);
}

Result<void> PanthorDevice::init() {
  const drm::DriverVersion& v = file().version();
  if (v.major != 1) return Error(-ENODEV);  // an ABI this backend does not know
  DeviceProps& p = props_;
  p.driver = Driver::Panthor;
  p.version = v;

  drm_panthor_gpu_info gpu{};
  if (int r = dev_query(DRM_PANTHOR_DEV_QUERY_GPU_INFO, &gpu, sizeof gpu)) return Error(r);
  p.gpu_id = gpu.gpu_id;
  p.gpu_rev = gpu.gpu_rev;
  p.csf_id = gpu.csf_id;
  p.l2_features = gpu.l2_features;
  p.tiler_features = gpu.tiler_features;
  p.mem_features = gpu.mem_features;
  p.mmu_features = gpu.mmu_features;
  p.thread_features = gpu.thread_features;
  p.max_threads = gpu.max_threads;
  p.thread_max_workgroup_size = gpu.thread_max_workgroup_size;
  p.thread_max_barrier_size = gpu.thread_max_barrier_size;
  p.coherency_features = gpu.coherency_features;
  for (int i = 0; i < 4; i++) p.texture_features[i] = gpu.texture_features[i];
  p.as_present = gpu.as_present;
  p.shader_present = gpu.shader_present;
  p.l2_present = gpu.l2_present;
  p.tiler_present = gpu.tiler_present;
  p.core_features = gpu.core_features;
  if (v.at_least(1, 7)) p.selected_coherency = gpu.selected_coherency;
  p.thread_tls_alloc = 0;  // CSF has no such register: TLS is sized from max_threads
  p.va_bits = DRM_PANTHOR_MMU_VA_BITS(gpu.mmu_features);
  if (p.va_bits < 32 || p.va_bits > 52) return Error(-ENODEV);  // nonsense for a CSF GPU
  p.user_va_start = 0;
  p.user_va_end = (1ull << p.va_bits) - kKernelVaReserve;
  p.kernel_managed_va = false;

  drm_panthor_csif_info csif{};
  if (int r = dev_query(DRM_PANTHOR_DEV_QUERY_CSIF_INFO, &csif, sizeof csif)) return Error(r);
  p.csg_slot_count = csif.csg_slot_count;
  p.cs_slot_count = csif.cs_slot_count;
  p.cs_reg_count = csif.cs_reg_count;
  p.scoreboard_slot_count = csif.scoreboard_slot_count;
  p.unpreserved_cs_reg_count = csif.unpreserved_cs_reg_count;

  if (v.at_least(1, 1)) {
    // Only the pre-1.8 fields: with the longer struct a 1.8 kernel would
    // want sampling flags, and the frequency is all this needs.
    drm_panthor_timestamp_info ts{};
    if (int r = dev_query(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, &ts,
                          WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE))
      return Error(r);
    p.timestamp_frequency = ts.timestamp_frequency;
  }

  p.allowed_group_priorities =
      (1u << PANTHOR_GROUP_PRIORITY_LOW) | (1u << PANTHOR_GROUP_PRIORITY_MEDIUM);
  if (v.at_least(1, 2)) {
    drm_panthor_group_priorities_info prio{};
    if (int r = dev_query(DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO, &prio, sizeof prio))
      return Error(r);
    p.allowed_group_priorities = prio.allowed_mask;
  }

  p.page_size_bitmap = WSYS_PANTHOR_MMU_DEFAULT_PAGE_SIZES;
  if (v.at_least(1, 9)) {
    drm_panthor_mmu_info mmu{};
    if (int r = dev_query(DRM_PANTHOR_DEV_QUERY_MMU_INFO, &mmu, sizeof mmu)) return Error(r);
    p.page_size_bitmap = mmu.page_size_bitmap;
  }

  p.supported_bo_flags = kBoExecutable | kBoNoMmap | kBoGpuUncached |
                         (v.at_least(1, 7) ? kBoCpuCached : 0u);
  auto timeline = get_cap(DRM_CAP_SYNCOBJ_TIMELINE);
  p.has_timeline_syncobj = timeline.ok() && *timeline != 0;

  set_panthor_capabilities(v, p);
  p.has_user_queues = probe_user_queues();  // a model extension: probed, not versioned
  p.has_deferred_alloc = probe_ext_feature(file(), WSYS_SIM_EXT_FEATURE_DEFERRED_ALLOC);
  return {};
}

PanthorVm* PanthorDevice::own_vm(Vm* vm) const {
  auto* pvm = dynamic_cast<PanthorVm*>(vm);
  return pvm && pvm->core() == core_ ? pvm : nullptr;
}

// --- BOs (no madvise, no wait: panthor has no such uAPI) ------------------

Result<bool> PanthorDevice::bo_make_evictable(Bo&) { return Error(-EOPNOTSUPP); }
Result<bool> PanthorDevice::bo_make_unevictable(Bo&) { return Error(-EOPNOTSUPP); }
Result<void> PanthorDevice::bo_wait(Bo&, int64_t) { return Error(-EOPNOTSUPP); }

Result<void> PanthorDevice::bo_set_label(Bo& bo, const std::string& label) {
  if (!props_.has_bo_labels) return Error(-EOPNOTSUPP);
  if (!owns(bo)) return Error(-EINVAL);
  drm_panthor_bo_set_label l{};
  l.handle = bo.handle();
  l.label = reinterpret_cast<uintptr_t>(label.c_str());
  return result_from_errno(file().ioctl(DRM_IOCTL_PANTHOR_BO_SET_LABEL, &l));
}

// --- queries --------------------------------------------------------------

Result<uint64_t> PanthorDevice::gpu_timestamp() {
  if (!props_.has_gpu_timestamp) return Error(-EOPNOTSUPP);
  drm_panthor_timestamp_info ts{};
  if (int r = dev_query(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO, &ts,
                        WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE))
    return Error(r);
  return static_cast<uint64_t>(ts.current_timestamp);
}

// --- groups and queues ----------------------------------------------------

Result<uint32_t> PanthorDevice::group_create(const GroupCreateInfo& info) {
  PanthorVm* vm = own_vm(info.vm);
  if (!vm) return Error(-EINVAL);
  if (info.priority == GroupPriority::Realtime && !props_.version.at_least(1, 2))
    return Error(-EOPNOTSUPP);
  detail::SmallArray<drm_panthor_queue_create, kInlineQueues> queues(info.queues.size());
  for (size_t i = 0; i < info.queues.size(); i++) {
    queues[i].priority = info.queues[i].priority;
    queues[i].ringbuf_size = info.queues[i].ringbuf_size_bytes;
  }
  drm_panthor_group_create g{};
  g.queues = obj_array(sizeof(drm_panthor_queue_create), queues.size(), queues.data());
  g.max_compute_cores = info.max_compute_cores;
  g.max_fragment_cores = info.max_fragment_cores;
  g.max_tiler_cores = info.max_tiler_cores;
  g.priority = static_cast<uint8_t>(info.priority);
  g.compute_core_mask = info.compute_core_mask;
  g.fragment_core_mask = info.fragment_core_mask;
  g.tiler_core_mask = info.tiler_core_mask;
  g.vm_id = vm->id();
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_GROUP_CREATE, &g)) return Error(r);
  return g.group_handle;
}

Result<void> PanthorDevice::group_destroy(uint32_t group) {
  drm_panthor_group_destroy d{};
  d.group_handle = group;
  return result_from_errno(file().ioctl(DRM_IOCTL_PANTHOR_GROUP_DESTROY, &d));
}

Result<void> PanthorDevice::group_submit(uint32_t group, std::span<const QueueSubmit> submits) {
  size_t nsyncs = 0;
  for (const QueueSubmit& s : submits) nsyncs += s.syncs.size();
  detail::SmallArray<drm_panthor_queue_submit, kInlineQueues> qs(submits.size());
  detail::SmallArray<drm_panthor_sync_op, kInlineSyncOps> syncs(nsyncs);
  size_t at = 0;
  for (size_t i = 0; i < submits.size(); i++) {
    const QueueSubmit& s = submits[i];
    drm_panthor_sync_op* first = syncs.data() + at;
    for (const SyncOp& op : s.syncs) syncs[at++] = to_uapi(op);
    qs[i].queue_index = s.queue_index;
    qs[i].stream_size = s.stream_size_bytes;
    qs[i].stream_addr = s.stream_addr;
    qs[i].latest_flush = s.latest_flush;
    qs[i].syncs = obj_array(sizeof(drm_panthor_sync_op), s.syncs.size(), first);
  }
  drm_panthor_group_submit g{};
  g.group_handle = group;
  g.queue_submits = obj_array(sizeof(drm_panthor_queue_submit), qs.size(), qs.data());
  return result_from_errno(file().ioctl(DRM_IOCTL_PANTHOR_GROUP_SUBMIT, &g));
}

Result<GroupState> PanthorDevice::group_get_state(uint32_t group) {
  drm_panthor_group_get_state g{};
  g.group_handle = group;
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_GROUP_GET_STATE, &g)) return Error(r);
  GroupState s;
  s.timed_out = g.state & DRM_PANTHOR_GROUP_STATE_TIMEDOUT;
  s.fatal_fault = g.state & DRM_PANTHOR_GROUP_STATE_FATAL_FAULT;
  s.innocent = g.state & DRM_PANTHOR_GROUP_STATE_INNOCENT;
  s.fatal_queues = g.fatal_queues;
  return s;
}

// --- tiler heaps ----------------------------------------------------------

Result<TilerHeap> PanthorDevice::tiler_heap_create(Vm& vm, const TilerHeapCreateInfo& info) {
  PanthorVm* pvm = own_vm(&vm);
  if (!pvm) return Error(-EINVAL);
  drm_panthor_tiler_heap_create h{};
  h.vm_id = pvm->id();
  h.initial_chunk_count = info.initial_chunk_count;
  h.chunk_size = info.chunk_size_bytes;
  h.max_chunks = info.max_chunks;
  h.target_in_flight = info.target_in_flight;
  if (int r = file().ioctl(DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, &h)) return Error(r);
  TilerHeap out;
  out.handle = h.handle;
  out.context_va = h.tiler_heap_ctx_gpu_va;
  out.first_chunk_va = h.first_heap_chunk_gpu_va;
  return out;
}

Result<void> PanthorDevice::tiler_heap_destroy(uint32_t handle) {
  drm_panthor_tiler_heap_destroy d{};
  d.handle = handle;
  return result_from_errno(file().ioctl(DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, &d));
}

}  // namespace panthor
}  // namespace wsys::kmod
