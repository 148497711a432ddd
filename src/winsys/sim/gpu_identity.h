// The model GPU's identity: what DEV_QUERY(GPU_INFO/CSIF_INFO) and
// GET_PARAM report, and what the model itself honours (VA bits, cores).
// Chosen by WSYS_SIM_GPU (see gpu_identity.cpp and docs/environment.md).
#pragma once

#include <cstdint>
#include <string>

namespace wsys::sim {

struct GpuIdentity {
  std::string name;  // "Mali-G610", ...
  uint32_t gpu_id = 0;
  uint32_t gpu_rev = 0;
  uint32_t csf_id = 0;
  uint32_t l2_features = 0;
  uint32_t tiler_features = 0;
  uint32_t mem_features = 0;
  uint32_t mmu_features = 0;  // bits 7:0 = VA bits
  uint32_t thread_features = 0;
  uint32_t max_threads = 0;
  uint32_t thread_max_workgroup_size = 0;
  uint32_t thread_max_barrier_size = 0;
  uint32_t coherency_features = 0;
  uint32_t texture_features[4] = {};
  uint32_t as_present = 0;
  uint64_t shader_present = 0;
  uint64_t l2_present = 0;
  uint64_t tiler_present = 0;
  uint64_t stack_present = 0;
  uint32_t js_present = 0;
  uint32_t js_features[16] = {};
  uint32_t core_features = 0;
  uint32_t thread_tls_alloc = 0;
  uint32_t afbc_features = 0;
  uint32_t nr_core_groups = 1;
  uint64_t timestamp_frequency = 0;
  // CSF interface (panthor).
  uint32_t csg_slot_count = 0;
  uint32_t cs_slot_count = 0;
  uint32_t cs_reg_count = 0;
  uint32_t scoreboard_slot_count = 0;
  uint32_t unpreserved_cs_reg_count = 0;

  uint32_t va_bits() const { return mmu_features & 0xff; }
};

// The default identity for a model driver flavour ("panthor": a CSF Mali,
// "panfrost": a Bifrost Mali), with WSYS_SIM_GPU applied. On a bad
// WSYS_SIM_GPU value returns false and sets `why` (naming the variable).
bool gpu_identity_for(const std::string& driver, GpuIdentity* out, std::string* why);

}  // namespace wsys::sim
