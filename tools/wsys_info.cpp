// wsys-info: lists every GPU device wsys can use.
//
// Real render nodes come from libdrm (drmGetDevices2 + drmGetVersion); only
// panthor and panfrost nodes are usable, others are listed as unsupported so
// the user sees why they are not picked. The kernel model's flavours are
// listed after them. Each usable device gets a block of key properties read
// through the DrmFile ioctl boundary (panthor DEV_QUERY, panfrost
// GET_PARAM), so the model and a real kernel are queried the same way. The
// last section says which device WSYS_DEVICE selects.
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"
#include "winsys/drm/device_select.h"
#include "winsys/drm/real_drm_file.h"
#include "winsys/kmod/kmod.h"
#include "winsys/kmod/open.h"
#include "winsys/sim/accounting.h"
#include "winsys/sim/alloc_system.h"
#include "winsys/sim/sim_drm_file.h"
#include "wsys/gpu_names.hpp"

using namespace wsys::drm;

namespace {

// --json (docs/json-schema.md, "wsys.info"): the same facts, collected as
// they are found and written at the end instead of printed.
bool g_json = false;
std::vector<std::pair<std::string, std::string>>* g_props = nullptr;
std::string* g_memory = nullptr;  // the "memory" object's members

std::string jstr(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string jversion(const DriverVersion& v) {
  return "{\"name\":" + jstr(v.name) + ",\"major\":" + std::to_string(v.major) +
         ",\"minor\":" + std::to_string(v.minor) + ",\"patchlevel\":" +
         std::to_string(v.patchlevel) + ",\"desc\":" + jstr(v.desc) + "}";
}

std::string jprops(const std::vector<std::pair<std::string, std::string>>& props) {
  std::string out = "{";
  for (size_t i = 0; i < props.size(); i++)
    out += (i ? "," : "") + jstr(props[i].first) + ":" + jstr(props[i].second);
  return out + "}";
}

void print_version(const DriverVersion& v) {
  std::printf("driver %s %d.%d.%d", v.name.c_str(), v.major, v.minor, v.patchlevel);
  if (!v.desc.empty()) std::printf(" (%s)", v.desc.c_str());
}

void prop(const char* key, const std::string& value) {
  if (g_json) {
    if (g_props) g_props->emplace_back(key, value);
    return;
  }
  std::printf("      %-18s %s\n", key, value.c_str());
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

const char* product_name(uint32_t id) { return wsys::gpu_product_name(id); }

std::string gpu_name(uint32_t product_id) {
  const char* n = product_name(product_id);
  return n ? fmt("%s (product 0x%04x)", n, product_id)
           : fmt("unknown Mali (product 0x%04x)", product_id);
}

std::string cores(uint64_t shader_present) {
  return fmt("%d (shader_present 0x%" PRIx64 ")", __builtin_popcountll(shader_present),
             shader_present);
}

std::string err(const char* what, int r) {
  return fmt("%s failed: %s", what, std::strerror(-r));
}

void print_panthor(DrmFile& f) {
  drm_panthor_gpu_info gi;
  std::memset(&gi, 0, sizeof gi);
  drm_panthor_dev_query q{};
  q.type = DRM_PANTHOR_DEV_QUERY_GPU_INFO;
  q.size = sizeof gi;  // the kernel zero-fills what it does not know
  q.pointer = reinterpret_cast<uintptr_t>(&gi);
  if (int r = f.ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q)) {
    prop("properties", err("DEV_QUERY(GPU_INFO)", r));
    return;
  }
  prop("GPU", gpu_name(gi.gpu_id >> 16));
  prop("architecture",
       fmt("v%u.%u.%u (CSF), GPU_ID 0x%08x", DRM_PANTHOR_ARCH_MAJOR(gi.gpu_id),
           DRM_PANTHOR_ARCH_MINOR(gi.gpu_id), DRM_PANTHOR_ARCH_REV(gi.gpu_id), gi.gpu_id));
  prop("shader cores", cores(gi.shader_present));
  prop("max_threads", fmt("%u", gi.max_threads));
  prop("thread_tls_alloc", "not reported by panthor (TLS is sized by max_threads)");
  prop("VA bits", fmt("%u", DRM_PANTHOR_MMU_VA_BITS(gi.mmu_features)));

  drm_panthor_csif_info ci;
  std::memset(&ci, 0, sizeof ci);
  q = {};
  q.type = DRM_PANTHOR_DEV_QUERY_CSIF_INFO;
  q.size = sizeof ci;
  q.pointer = reinterpret_cast<uintptr_t>(&ci);
  if (int r = f.ioctl(DRM_IOCTL_PANTHOR_DEV_QUERY, &q)) {
    prop("CSIF", err("DEV_QUERY(CSIF_INFO)", r));
    return;
  }
  prop("CSIF", fmt("%u group slots, %u stream slots per group, %u registers", ci.csg_slot_count,
                   ci.cs_slot_count, ci.cs_reg_count));
}

void print_panfrost(DrmFile& f) {
  auto get = [&f](uint32_t param, uint64_t* v) {
    drm_panfrost_get_param p{};
    p.param = param;
    int r = f.ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &p);
    *v = p.value;
    return r;
  };
  uint64_t prod = 0, shader = 0, threads = 0, tls = 0, mmu = 0, js = 0;
  if (int r = get(DRM_PANFROST_PARAM_GPU_PROD_ID, &prod)) {
    prop("properties", err("GET_PARAM(GPU_PROD_ID)", r));
    return;
  }
  prop("GPU", gpu_name(static_cast<uint32_t>(prod)));
  if (prod < 0x1000) {
    // Midgard's legacy ids: T600/T620/T720 are v4, the rest v5.
    unsigned arch = (prod == 0x600 || prod == 0x620 || prod == 0x720) ? 4 : 5;
    prop("architecture", fmt("v%u (Midgard, Job Manager)", arch));
  } else {
    unsigned arch = static_cast<unsigned>(prod >> 12);
    prop("architecture", fmt("v%u (%s, Job Manager)", arch, arch >= 9 ? "Valhall" : "Bifrost"));
  }
  if (!get(DRM_PANFROST_PARAM_SHADER_PRESENT, &shader)) prop("shader cores", cores(shader));
  if (!get(DRM_PANFROST_PARAM_MAX_THREADS, &threads)) prop("max_threads", fmt("%" PRIu64, threads));
  if (!get(DRM_PANFROST_PARAM_THREAD_TLS_ALLOC, &tls))
    prop("thread_tls_alloc",
         tls ? fmt("%" PRIu64, tls) : std::string("0 (TLS is sized by max_threads)"));
  if (!get(DRM_PANFROST_PARAM_MMU_FEATURES, &mmu))
    prop("VA bits", fmt("%" PRIu64 " (panfrost maps BOs in [32 MiB, 4 GiB))", mmu & 0xff));
  if (!get(DRM_PANFROST_PARAM_JS_PRESENT, &js))
    prop("job slots", fmt("%d (js_present 0x%" PRIx64 ")", __builtin_popcountll(js), js));
}

// What kmod makes of the device: its capabilities (kmod::DeviceProps), the
// only thing wsys's core reads. `spec` opens the same device again through
// kmod (a render node path or sim:<driver>).
void print_capabilities(const std::string& spec) {
  std::string why;
  auto k = wsys::kmod::open_device(spec, &why);
  if (!k.ok()) {
    prop("capabilities", "cannot open through kmod: " + why);
    return;
  }
  const wsys::kmod::DeviceProps& p = (*k)->props();
  std::string caps;
  auto add = [&](bool on, const char* name) {
    if (on) caps += (caps.empty() ? "" : " ") + std::string(name);
  };
  add(p.has_madvise, "madvise");
  add(p.has_bo_wait, "bo_wait");
  add(p.has_vm_per_context, "vm_per_context");
  add(p.has_async_bind, "async_bind");
  add(p.has_deferred_bind, "deferred_bind");
  add(p.has_timeline_syncobj, "timeline_syncobj");
  add(p.has_sparse_map, "sparse_map");
  add(p.has_bo_labels, "bo_labels");
  add(p.has_cache_maintenance, "cache_maintenance");
  add(p.has_gpu_timestamp, "gpu_timestamp");
  add(p.has_wb_mmap, "wb_mmap");
  add(p.has_bo_query_info, "bo_query_info");
  add(p.has_jm_contexts, "jm_contexts");
  add(p.kernel_managed_va, "kernel_managed_va");
  add(p.has_user_queues, "user_queues(model-extension)");
  add(p.has_host_import, "host_import(model-extension)");
  add(p.has_udmabuf, "udmabuf");
  add(p.has_deferred_alloc, "deferred_alloc(model-extension)");
  prop("capabilities", caps.empty() ? "(none)" : caps);
  if ((*k)->file().is_model()) {
    // Which processes share the model's allocator (the same answer the
    // allocator would get; nothing is mapped to find out).
    std::string bad, system = wsys::sim::system_path(&bad);
    if (system.empty()) system = bad.empty() ? "private to this process" : bad;
    prop("model extensions",
         std::string("memory headroom query (the model's budget; no kernel reports one)") +
             (p.has_user_queues ? "; user queues with eviction fences (include/drm-uapi/"
                                  "wsys_sim_ext.h, docs/user-queues.md)"
                                : "") +
             (p.has_host_import ? "; host memory import: steal and backed (include/drm-uapi/"
                                  "wsys_sim_ext.h, docs/host-memory.md)"
                                : "") +
             (p.has_deferred_alloc ? "; shared buffers allocated on first use with every "
                                     "importer's DMA constraints (include/drm-uapi/"
                                     "wsys_sim_alloc.h, docs/deferred-allocation.md), "
                                     "allocator system (WSYS_SIM_SYSTEM): " +
                                         system
                                   : "") +
             " -- not panthor/panfrost behaviour");
  }
}

void print_properties(DrmFile& f) {
  const std::string& drv = f.version().name;
  if (drv == "panthor")
    print_panthor(f);
  else if (drv == "panfrost")
    print_panfrost(f);
  print_capabilities(f.is_model() ? "sim:" + drv : f.node_name());
}

// --- kernel model only: memory budget and accounting (accounting.h) ---
std::string mib(uint64_t bytes) { return fmt("%.1f MiB", static_cast<double>(bytes) / (1 << 20)); }

void print_model_memory(DrmFile& f) {
  auto* sf = dynamic_cast<wsys::sim::SimDrmFile*>(&f);
  if (!sf) return;
  wsys::sim::SimDeviceUsage d = wsys::sim::sim_device_usage(*sf->file().device());
  prop("memory budget", mib(d.budget) + " (WSYS_SIM_MEMORY_BUDGET)");
  prop("memory charged", mib(d.charged));
  prop("objects", fmt("%llu, %s resident, %s purgeable, %s heap-committed",
                      static_cast<unsigned long long>(d.objects), mib(d.resident).c_str(),
                      mib(d.purgeable).c_str(), mib(d.heap_committed).c_str()));
  prop("shrinker", fmt("%llu purged (%s)", static_cast<unsigned long long>(d.purges),
                       mib(d.purged_total).c_str()));
  if (f.version().name == "panthor")
    prop("reclaim",
         fmt("(GEM shrinker) %s swapped, %s reclaimable now; %llu swapped out (%s), %llu restored (%llu by a CPU "
             "access, %s), %llu restores refused",
             mib(d.swapped).c_str(), mib(d.reclaimable).c_str(),
             static_cast<unsigned long long>(d.reclaims), mib(d.swapped_out_bytes).c_str(),
             static_cast<unsigned long long>(d.restores),
             static_cast<unsigned long long>(d.cpu_fault_restores), mib(d.swapped_in_bytes).c_str(),
             static_cast<unsigned long long>(d.restore_failures)));
  if (g_memory) {
    auto u = [](unsigned long long v) { return std::to_string(v); };
    *g_memory = "\"budget_bytes\":" + u(d.budget) + ",\"charged_bytes\":" + u(d.charged) +
                ",\"objects\":" + u(d.objects) + ",\"resident_bytes\":" + u(d.resident) +
                ",\"purgeable_bytes\":" + u(d.purgeable) + ",\"heap_committed_bytes\":" +
                u(d.heap_committed) + ",\"purges\":" + u(d.purges) + ",\"purged_bytes\":" +
                u(d.purged_total) + ",\"swapped_bytes\":" + u(d.swapped) +
                ",\"reclaimable_bytes\":" + u(d.reclaimable) + ",\"reclaims\":" + u(d.reclaims) +
                ",\"swapped_out_bytes\":" + u(d.swapped_out_bytes) + ",\"restores\":" +
                u(d.restores) + ",\"cpu_fault_restores\":" + u(d.cpu_fault_restores) +
                ",\"swapped_in_bytes\":" + u(d.swapped_in_bytes) + ",\"restore_failures\":" +
                u(d.restore_failures);
  }
}
// --- end of the kernel-model block ---

int usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--json] [--help]\n"
               "Lists the GPU devices wsys can use and the one WSYS_DEVICE selects.\n"
               "--json: the same as one JSON object (docs/json-schema.md).\n",
               argv0);
  return 2;
}

int main_json() {
  g_json = true;
  std::string out = "{\"schema\":\"wsys.info\",\"version\":1,\"render_nodes\":[";
  int usable = 0;
  auto nodes = enumerate_render_nodes();
  bool first = true;
  for (const RenderNode& n : nodes) {
    std::vector<std::pair<std::string, std::string>> props;
    if (n.supported) {
      usable++;
      g_props = &props;
      auto f = RealDrmFile::open(n.path);
      if (!f) prop("properties", err("open", f.error()));
      else print_properties(**f);
      g_props = nullptr;
    }
    out += std::string(first ? "" : ",") + "{\"path\":" + jstr(n.path) +
           ",\"driver\":" + jversion(n.version) + ",\"usable\":" + (n.supported ? "true" : "false") +
           ",\"properties\":" + jprops(props) + "}";
    first = false;
  }
  out += "],\"model\":[";
  first = true;
  for (const std::string& drv : model_drivers()) {
    DeviceSpec spec;
    spec.kind = DeviceSpec::Kind::Model;
    spec.model_driver = drv;
    std::string why;
    auto f = open_device(spec, &why);
    out += std::string(first ? "" : ",") + "{\"spec\":" + jstr("sim:" + drv);
    first = false;
    if (!f) {
      out += ",\"error\":" + jstr(why) + "}";
      continue;
    }
    std::vector<std::pair<std::string, std::string>> props;
    std::string memory;
    g_props = &props;
    g_memory = &memory;
    print_properties(**f);
    print_model_memory(**f);
    g_props = nullptr;
    g_memory = nullptr;
    out += ",\"driver\":" + jversion((*f)->version()) + ",\"properties\":" + jprops(props) +
           ",\"memory\":{" + memory + "}}";
    usable++;
  }
  const char* env = std::getenv(kDeviceEnv);
  out += "],\"selected\":{\"env\":" + jstr(env ? env : "auto");
  std::string why;
  auto f = open_default_device(&why);
  int rc = 0;
  if (!f) {
    out += ",\"error\":" + jstr(why);
    rc = usable ? 1 : 0;
  } else {
    out += ",\"node\":" + jstr((*f)->node_name()) + ",\"driver\":" + jversion((*f)->version());
  }
  out += "}}\n";
  std::fputs(out.c_str(), stdout);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      usage(argv[0]);
      return 0;
    }
    if (!std::strcmp(argv[i], "--json")) {
      json = true;
      continue;
    }
    std::fprintf(stderr, "wsys-info: unknown argument '%s'\n", argv[i]);
    return usage(argv[0]);
  }
  if (json) return main_json();

  int usable = 0;
  std::printf("Real render nodes (libdrm):\n");
  auto nodes = enumerate_render_nodes();
  if (nodes.empty()) std::printf("  none: this machine has no DRM render node\n");
  int supported = 0;
  for (const RenderNode& n : nodes) {
    std::printf("  %s  ", n.path.c_str());
    print_version(n.version);
    std::printf("  %s\n", n.supported ? "usable" : "not usable (wsys drives panthor and panfrost)");
    if (!n.supported) continue;
    supported++;
    auto f = RealDrmFile::open(n.path);
    if (!f) {
      prop("properties", err("open", f.error()));
      continue;
    }
    print_properties(**f);
  }
  if (!nodes.empty() && supported == 0)
    std::printf("  no panthor or panfrost node: no Mali GPU is attached\n");
  usable += supported;

  std::printf("Kernel model:\n");
  auto drivers = model_drivers();
  if (drivers.empty()) std::printf("  not available in this build\n");
  for (const std::string& drv : drivers) {
    DeviceSpec spec;
    spec.kind = DeviceSpec::Kind::Model;
    spec.model_driver = drv;
    std::string why;
    auto f = open_device(spec, &why);
    if (!f) {
      std::printf("  sim:%s  cannot open: %s\n", drv.c_str(), why.c_str());
      continue;
    }
    std::printf("  sim:%s  ", drv.c_str());
    print_version((*f)->version());
    std::printf("\n");
    print_properties(**f);
    print_model_memory(**f);
    usable++;
  }

  std::printf("Selected (WSYS_DEVICE=%s):\n",
              std::getenv(kDeviceEnv) ? std::getenv(kDeviceEnv) : "auto");
  std::string why;
  auto f = open_default_device(&why);
  if (!f) {
    std::printf("  none: %s\n", why.c_str());
    return usable ? 1 : 0;
  }
  std::printf("  %s  ", (*f)->node_name().c_str());
  print_version((*f)->version());
  std::printf("\n");
  return 0;
}
