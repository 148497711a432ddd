// The model GPU's identity: what DEV_QUERY(GPU_INFO/CSIF_INFO) and
// GET_PARAM report, and what the model itself honours (VA bits, cores).
// Chosen by WSYS_SIM_GPU (see gpu_identity.cpp and docs/environment.md):
//   WSYS_SIM_GPU = [preset][,key=value]...
// presets: g610, g310 (CSF, panthor), g52, g57, t860 (Job Manager, panfrost).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wsys::sim {

inline constexpr const char* kSimGpuEnv = "WSYS_SIM_GPU";

// Range of VA bits the model accepts (each VM reserves 2^va_bits bytes of
// CPU address space). ThreadSanitizer leaves far less address space for
// mmap, so its builds cap lower. Values outside are clamped.
inline constexpr uint32_t kSimMinVaBits = 32;
#ifdef WSYS_SANITIZE_THREAD
inline constexpr uint32_t kSimMaxVaBits = 35;
#else
inline constexpr uint32_t kSimMaxVaBits = 40;
#endif

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
  // GPU_ID fields (panfrost's GPU_PROD_ID is the upper half).
  uint32_t product_id() const { return gpu_id >> 16; }
  uint32_t arch_major() const { return gpu_id >> 28; }
  uint32_t arch_minor() const { return (gpu_id >> 24) & 0xf; }
  uint32_t arch_rev() const { return (gpu_id >> 20) & 0xf; }
  // Command Stream Frontend GPUs (arch 10 and later) are panthor's; older
  // Job Manager GPUs (Midgard, Bifrost, Valhall JM) are panfrost's.
  bool is_csf() const { return arch_major() >= 10; }
  uint32_t core_count() const {
    return static_cast<uint32_t>(__builtin_popcountll(shader_present));
  }
};

// The identity for a model driver flavour ("panthor": a CSF Mali-G610 by
// default, "panfrost": a Bifrost Mali-G52), with WSYS_SIM_GPU applied. On a
// bad WSYS_SIM_GPU value returns false and sets `why` (naming the variable).
bool gpu_identity_for(const std::string& driver, GpuIdentity* out, std::string* why);

// The same for an explicit WSYS_SIM_GPU value (`spec`; empty = defaults).
bool gpu_identity_from_spec(const std::string& driver, std::string_view spec, GpuIdentity* out,
                            std::string* why);

// Preset names accepted as the first item of WSYS_SIM_GPU, for `driver`
// ("panthor" or "panfrost"; empty = all).
std::vector<std::string> gpu_preset_names(const std::string& driver = {});

}  // namespace wsys::sim
