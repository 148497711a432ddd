// panfrost device: properties from GET_PARAM, queries, and the job-chain
// SUBMIT passthrough.
#include <cerrno>

#include "drm-uapi/drm_core.h"

#include "drm-uapi/wsys_sim_ext.h"
#include "winsys/kmod/panfrost/panfrost.h"
#include "winsys/kmod/small_array.h"

namespace wsys::kmod {

Result<std::unique_ptr<Device>> create_panfrost_device(std::unique_ptr<drm::DrmFile> file) {
  auto dev = std::make_unique<panfrost::PanfrostDevice>(std::move(file));
  if (auto r = dev->init(); !r) return Error(r.error());
  return std::unique_ptr<Device>(std::move(dev));
}

void set_panfrost_capabilities(const drm::DriverVersion& v, DeviceProps& p) {
  // What panfrost can do, by version (include/drm-uapi/panfrost_drm.h).
  p.has_madvise = true;
  p.has_bo_wait = true;
  p.has_vm_per_context = false;  // one address space per file
  p.has_async_bind = false;      // no bind ioctl at all
  p.has_deferred_bind = false;
  p.growable_heap = v.at_least(1, 1) ? GrowableHeap::GrowOnFaultBo : GrowableHeap::None;
  p.has_gpu_timestamp = v.at_least(1, 3);
  p.has_bo_labels = v.at_least(1, 4);
  p.has_cache_maintenance = v.at_least(1, 6);  // SYNC_BO
  p.has_wb_mmap = v.at_least(1, 6);            // CREATE_BO WB_MMAP
  p.has_bo_query_info = v.at_least(1, 6);      // QUERY_BO_INFO
  p.has_jm_contexts = v.at_least(1, 5);        // JM_CTX_CREATE/DESTROY, 48-byte SUBMIT
  p.has_sparse_map = false;
}

namespace panfrost {

Result<uint64_t> PanfrostDevice::get_param(uint32_t param) {
  drm_panfrost_get_param g{};
  g.param = param;
  if (int r = file().ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &g)) return Error(r);
  return static_cast<uint64_t>(g.value);
}

Result<void> PanfrostDevice::init() {
  const drm::DriverVersion& v = file().version();
  if (v.major != 1) return Error(-ENODEV);  // an ABI this backend does not know
  DeviceProps& p = props_;
  p.driver = Driver::Panfrost;
  p.version = v;

  // Every 1.0 parameter is required; the first failure is the answer.
  int err = 0;
  auto u64 = [&](uint32_t param) -> uint64_t {
    if (err) return 0;
    auto r = get_param(param);
    if (!r) {
      err = r.error();
      return 0;
    }
    return *r;
  };
  auto u32 = [&](uint32_t param) { return static_cast<uint32_t>(u64(param)); };

  uint32_t prod_id = u32(DRM_PANFROST_PARAM_GPU_PROD_ID);
  p.gpu_rev = u32(DRM_PANFROST_PARAM_GPU_REVISION);
  p.gpu_id = (prod_id << 16) | (p.gpu_rev & 0xffff);
  p.shader_present = u64(DRM_PANFROST_PARAM_SHADER_PRESENT);
  p.tiler_present = u64(DRM_PANFROST_PARAM_TILER_PRESENT);
  p.l2_present = u64(DRM_PANFROST_PARAM_L2_PRESENT);
  p.stack_present = u64(DRM_PANFROST_PARAM_STACK_PRESENT);
  p.as_present = u32(DRM_PANFROST_PARAM_AS_PRESENT);
  p.js_present = u32(DRM_PANFROST_PARAM_JS_PRESENT);
  p.l2_features = u32(DRM_PANFROST_PARAM_L2_FEATURES);
  p.core_features = u32(DRM_PANFROST_PARAM_CORE_FEATURES);
  p.tiler_features = u32(DRM_PANFROST_PARAM_TILER_FEATURES);
  p.mem_features = u32(DRM_PANFROST_PARAM_MEM_FEATURES);
  p.mmu_features = u32(DRM_PANFROST_PARAM_MMU_FEATURES);
  p.thread_features = u32(DRM_PANFROST_PARAM_THREAD_FEATURES);
  p.max_threads = u32(DRM_PANFROST_PARAM_MAX_THREADS);
  p.thread_max_workgroup_size = u32(DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ);
  p.thread_max_barrier_size = u32(DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ);
  p.coherency_features = u32(DRM_PANFROST_PARAM_COHERENCY_FEATURES);
  for (uint32_t i = 0; i < 4; i++)
    p.texture_features[i] = u32(DRM_PANFROST_PARAM_TEXTURE_FEATURES0 + i);
  p.nr_core_groups = u32(DRM_PANFROST_PARAM_NR_CORE_GROUPS);
  p.thread_tls_alloc = u32(DRM_PANFROST_PARAM_THREAD_TLS_ALLOC);
  if (v.at_least(1, 2)) p.afbc_features = u32(DRM_PANFROST_PARAM_AFBC_FEATURES);
  if (v.at_least(1, 3)) p.timestamp_frequency = u64(DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY);
  if (v.at_least(1, 6)) p.selected_coherency = u32(DRM_PANFROST_PARAM_SELECTED_COHERENCY);
  if (err) return Error(err);

  p.va_bits = p.mmu_features & 0xff;
  p.page_size_bitmap = (1ull << 12) | (1ull << 21);  // 4 KiB pages, 2 MiB blocks
  p.user_va_start = kVaStart;
  p.user_va_end = kVaEnd;
  p.kernel_managed_va = true;
  p.supported_bo_flags = kBoExecutable | kBoNoMmap | (v.at_least(1, 1) ? kBoAllocOnFault : 0u) |
                         (v.at_least(1, 6) ? kBoCpuCached : 0u);
  auto timeline = get_cap(DRM_CAP_SYNCOBJ_TIMELINE);
  p.has_timeline_syncobj = timeline.ok() && *timeline != 0;

  set_panfrost_capabilities(v, p);
  // A model extension: probed, not versioned.
  p.has_deferred_alloc = probe_ext_feature(file(), WSYS_SIM_EXT_FEATURE_DEFERRED_ALLOC);
  return {};
}

Result<uint64_t> PanfrostDevice::gpu_timestamp() {
  if (!props_.has_gpu_timestamp) return Error(-EOPNOTSUPP);
  return get_param(DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP);
}

Result<void> PanfrostDevice::submit_job_chain(const JobChainSubmit& s) {
  if (s.cycle_count && !props_.version.at_least(1, 3)) return Error(-EOPNOTSUPP);
  // Before 1.5 a kernel ignores a context handle: refuse rather than run
  // the job on the default context.
  if (s.jm_ctx && !props_.has_jm_contexts) return Error(-EOPNOTSUPP);
  detail::SmallArray<uint32_t, kInlineBoHandles> handles(s.bos.size());
  for (size_t i = 0; i < s.bos.size(); i++) {
    if (!s.bos[i] || !owns(*s.bos[i])) return Error(-EINVAL);
    handles[i] = s.bos[i]->handle();
  }
  drm_panfrost_submit k{};
  k.jc = s.jc;  // 0: the kernel's -EINVAL
  k.in_syncs = s.in_syncs.empty() ? 0 : reinterpret_cast<uintptr_t>(s.in_syncs.data());
  k.in_sync_count = static_cast<uint32_t>(s.in_syncs.size());
  k.out_sync = s.out_sync;
  k.bo_handles = handles.size() ? reinterpret_cast<uintptr_t>(handles.data()) : 0;
  k.bo_handle_count = static_cast<uint32_t>(handles.size());
  k.requirements = (s.fragment ? PANFROST_JD_REQ_FS : 0) |
                   (s.cycle_count ? PANFROST_JD_REQ_CYCLE_COUNT : 0);
  // 1.5: the 48-byte layout with the context; before, the 40-byte one.
  if (props_.has_jm_contexts) {
    k.jm_ctx_handle = s.jm_ctx;
    return result_from_errno(file().ioctl(DRM_IOCTL_PANFROST_SUBMIT, &k));
  }
  return result_from_errno(file().ioctl(DRM_IOCTL_PANFROST_SUBMIT_V1, &k));
}

Result<uint32_t> PanfrostDevice::jm_ctx_create(JmCtxPriority priority) {
  if (!props_.has_jm_contexts) return Error(-EOPNOTSUPP);
  drm_panfrost_jm_ctx_create c{};
  c.priority = static_cast<uint32_t>(priority);  // HIGH without CAP_SYS_NICE: -EACCES
  if (int r = file().ioctl(DRM_IOCTL_PANFROST_JM_CTX_CREATE, &c)) return Error(r);
  return c.handle;
}

Result<void> PanfrostDevice::jm_ctx_destroy(uint32_t ctx) {
  if (!props_.has_jm_contexts) return Error(-EOPNOTSUPP);
  drm_panfrost_jm_ctx_destroy d{};
  d.handle = ctx;
  return result_from_errno(file().ioctl(DRM_IOCTL_PANFROST_JM_CTX_DESTROY, &d));
}

}  // namespace panfrost
}  // namespace wsys::kmod
