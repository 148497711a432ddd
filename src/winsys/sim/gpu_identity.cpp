#include "winsys/sim/gpu_identity.h"

#include <cstdlib>

namespace wsys::sim {

namespace {

// Default VM size. Each VM reserves a window of CPU address space as large
// as its GPU VA range, so 32 VMs must fit the 47-bit user address space;
// ThreadSanitizer leaves only ~1.5 TiB of it for mmap, hence less there.
#ifdef WSYS_SANITIZE_THREAD
constexpr uint32_t kDefaultVaBits = 35;
#else
constexpr uint32_t kDefaultVaBits = 40;
#endif

GpuIdentity csf_g610() {
  GpuIdentity g;
  g.name = "Mali-G610";
  g.gpu_id = 0xa8670000u | (1u << 12) | 0x5;  // arch 10.8, product 7, version 1
  g.csf_id = 0x40a0412;
  g.l2_features = 0x07110206;
  g.tiler_features = 0x809;
  g.mem_features = 0x1;
  g.mmu_features = 0x2830 | kDefaultVaBits;  // PA 48 bits (bits 15:8), VA bits
  g.thread_features = 0x4010000;
  g.max_threads = 2048;
  g.thread_max_workgroup_size = 1024;
  g.thread_max_barrier_size = 1024;
  g.coherency_features = 0x1;  // ACE-Lite
  g.texture_features[0] = 0xc1ffff9e;
  g.as_present = 0xff;
  g.shader_present = 0x50005;  // 4 cores with holes: ids 0, 2, 16, 18
  g.l2_present = 0x1;
  g.tiler_present = 0x1;
  g.stack_present = 0x5;
  g.core_features = 0x2;
  g.thread_tls_alloc = 0;  // CSF reports 0: use max_threads
  g.timestamp_frequency = 24000000;
  g.csg_slot_count = 8;
  g.cs_slot_count = 8;
  g.cs_reg_count = 96;
  g.scoreboard_slot_count = 8;
  g.unpreserved_cs_reg_count = 4;
  return g;
}

GpuIdentity bifrost_g52() {
  GpuIdentity g;
  g.name = "Mali-G52";
  g.gpu_id = 0x72120000u;  // arch 7.2, rev 1, product 2
  g.l2_features = 0x07120206;
  g.tiler_features = 0x809;
  g.mem_features = 0x1;
  g.mmu_features = 0x2821;  // 33 VA bits: panfrost uses [32 MiB, 4 GiB)
  g.thread_features = 0x4010000;
  g.max_threads = 768;
  g.thread_max_workgroup_size = 384;
  g.thread_max_barrier_size = 384;
  g.coherency_features = 0x1;
  g.texture_features[0] = 0xc1ffff9e;
  g.as_present = 0xff;
  g.shader_present = 0x3;
  g.l2_present = 0x1;
  g.tiler_present = 0x1;
  g.stack_present = 0x1;
  g.js_present = 0x7;
  g.js_features[0] = 0x20e;
  g.js_features[1] = 0x1fe;
  g.js_features[2] = 0x7e;
  g.core_features = 0x2;
  g.thread_tls_alloc = 384;
  g.timestamp_frequency = 24000000;
  return g;
}

}  // namespace

bool gpu_identity_for(const std::string& driver, GpuIdentity* out, std::string* why) {
  if (driver == "panthor") {
    *out = csf_g610();
  } else if (driver == "panfrost") {
    *out = bifrost_g52();
  } else {
    if (why) *why = "the kernel model has no driver '" + driver + "'";
    return false;
  }
  return true;
}

}  // namespace wsys::sim
