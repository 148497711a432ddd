// GPU identities of the model and the WSYS_SIM_GPU parser.
//
// WSYS_SIM_GPU = [preset][,key=value]...
//   preset  one of the names below; without one, the driver's default
//           (panthor: g610, panfrost: g52)
//   key     a GpuIdentity field (see kKeys); values are C integers
//           (decimal, 0x hex, 0 octal) and must fit the field
// A CSF preset or gpu_id (arch >= 10) fits only panthor, a Job Manager one
// only panfrost; anything else is an error naming WSYS_SIM_GPU.
//
// The register values are plausible for the named parts (product ids as
// Mesa and the kernels know them), not dumps of real boards.
#include "winsys/sim/gpu_identity.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wsys::sim {

namespace {

// Default VA bits of the CSF presets: each VM reserves a window of CPU
// address space as large as its GPU VA range, so 32 VMs must fit the 47-bit
// user address space (and TSan's much smaller mmap area).
constexpr uint32_t kDefaultCsfVaBits = kSimMaxVaBits;
// panfrost VMs are always [32 MiB, 4 GiB) whatever the MMU reports; the JM
// presets report 33 bits.
constexpr uint32_t kDefaultJmVaBits = 33;

constexpr uint64_t kTimestampHz = 24000000;  // the usual Arm generic timer

GpuIdentity csf_g610() {
  GpuIdentity g;
  g.name = "Mali-G610";
  g.gpu_id = 0xa8670000u | (1u << 12) | 0x5;  // product 0xa867: arch 10.8.6, product major 7
  g.csf_id = 0x40a0412;
  g.l2_features = 0x07110206;
  g.tiler_features = 0x809;
  g.mem_features = 0x1;
  g.mmu_features = 0x2800 | kDefaultCsfVaBits;  // PA bits 15:8, VA bits 7:0
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
  g.timestamp_frequency = kTimestampHz;
  g.csg_slot_count = 8;
  g.cs_slot_count = 8;
  g.cs_reg_count = 96;
  g.scoreboard_slot_count = 8;
  g.unpreserved_cs_reg_count = 4;
  return g;
}

GpuIdentity csf_g310() {
  GpuIdentity g = csf_g610();
  g.name = "Mali-G310";
  g.gpu_id = 0xac740000u;      // product 0xac74: arch 10.12.7, product major 4
  g.l2_features = 0x07100206;  // 64 KiB L2
  g.max_threads = 1024;
  g.thread_max_workgroup_size = 512;
  g.thread_max_barrier_size = 512;
  g.shader_present = 0x3;  // 2 cores
  g.stack_present = 0x1;
  g.core_features = 0x0;
  g.csg_slot_count = 4;
  g.cs_slot_count = 4;
  return g;
}

GpuIdentity bifrost_g52() {
  GpuIdentity g;
  g.name = "Mali-G52";
  g.gpu_id = 0x72120000u;  // product 0x7212: arch 7.2.1, product major 2
  g.l2_features = 0x07120206;
  g.tiler_features = 0x809;
  g.mem_features = 0x1;
  g.mmu_features = 0x2800 | kDefaultJmVaBits;
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
  g.timestamp_frequency = kTimestampHz;
  return g;
}

GpuIdentity valhall_jm_g57() {
  GpuIdentity g = bifrost_g52();
  g.name = "Mali-G57";
  g.gpu_id = 0x90930000u;  // product 0x9093: arch 9.0.9, product major 3
  g.l2_features = 0x07110206;
  g.max_threads = 2048;
  g.thread_max_workgroup_size = 1024;
  g.thread_max_barrier_size = 1024;
  g.shader_present = 0x1f;  // 5 cores
  g.stack_present = 0x1f;
  g.core_features = 0x0;
  g.thread_tls_alloc = 0;  // 0: size TLS by max_threads
  return g;
}

GpuIdentity midgard_t860() {
  GpuIdentity g;
  g.name = "Mali-T860";
  g.gpu_id = 0x08602000u;  // legacy product id 0x0860, r2p0
  g.l2_features = 0x07120206;
  g.tiler_features = 0x809;
  g.mem_features = 0x1;
  g.mmu_features = 0x2800 | kDefaultJmVaBits;
  g.thread_features = 0x0a040400;
  g.max_threads = 256;
  g.thread_max_workgroup_size = 256;
  g.thread_max_barrier_size = 256;
  g.coherency_features = 0x1;
  g.texture_features[0] = 0x00fe001e;
  g.texture_features[1] = 0x0000ffff;
  g.texture_features[2] = 0x9f81ffff;
  g.as_present = 0xff;
  g.shader_present = 0xf;  // MP4
  g.l2_present = 0x1;
  g.tiler_present = 0x1;
  g.js_present = 0x7;
  g.js_features[0] = 0x20e;
  g.js_features[1] = 0x1fe;
  g.js_features[2] = 0x7e;
  g.thread_tls_alloc = 0;  // no THREAD_TLS_ALLOC register before Bifrost
  g.timestamp_frequency = kTimestampHz;
  return g;
}

struct Preset {
  const char* key;
  GpuIdentity (*make)();
  bool csf;
};

constexpr Preset kPresets[] = {
    {"g610", csf_g610, true},       {"g310", csf_g310, true},      {"g52", bifrost_g52, false},
    {"g57", valhall_jm_g57, false}, {"t860", midgard_t860, false},
};

// Marketing names of the product ids the presets use, so an overridden
// gpu_id gets a truthful name.
std::string product_name(uint32_t product_id) {
  for (const Preset& p : kPresets) {
    GpuIdentity g = p.make();
    if (g.product_id() == product_id) return g.name;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "Mali (product 0x%04x)", product_id);
  return buf;
}

enum class KeyScope { Any, CsfOnly, JmOnly };

struct Key {
  const char* name;
  uint32_t GpuIdentity::*u32;
  uint64_t GpuIdentity::*u64;
  KeyScope scope;
};

constexpr Key kKeys[] = {
    {"gpu_id", &GpuIdentity::gpu_id, nullptr, KeyScope::Any},
    {"gpu_rev", &GpuIdentity::gpu_rev, nullptr, KeyScope::Any},
    {"csf_id", &GpuIdentity::csf_id, nullptr, KeyScope::CsfOnly},
    {"l2_features", &GpuIdentity::l2_features, nullptr, KeyScope::Any},
    {"tiler_features", &GpuIdentity::tiler_features, nullptr, KeyScope::Any},
    {"mem_features", &GpuIdentity::mem_features, nullptr, KeyScope::Any},
    {"thread_features", &GpuIdentity::thread_features, nullptr, KeyScope::Any},
    {"max_threads", &GpuIdentity::max_threads, nullptr, KeyScope::Any},
    {"thread_max_workgroup_size", &GpuIdentity::thread_max_workgroup_size, nullptr, KeyScope::Any},
    {"thread_max_barrier_size", &GpuIdentity::thread_max_barrier_size, nullptr, KeyScope::Any},
    {"coherency_features", &GpuIdentity::coherency_features, nullptr, KeyScope::Any},
    {"as_present", &GpuIdentity::as_present, nullptr, KeyScope::Any},
    {"shader_present", nullptr, &GpuIdentity::shader_present, KeyScope::Any},
    {"l2_present", nullptr, &GpuIdentity::l2_present, KeyScope::Any},
    {"tiler_present", nullptr, &GpuIdentity::tiler_present, KeyScope::Any},
    {"stack_present", nullptr, &GpuIdentity::stack_present, KeyScope::Any},
    {"core_features", &GpuIdentity::core_features, nullptr, KeyScope::Any},
    {"thread_tls_alloc", &GpuIdentity::thread_tls_alloc, nullptr, KeyScope::Any},
    {"timestamp_frequency", nullptr, &GpuIdentity::timestamp_frequency, KeyScope::Any},
    {"js_present", &GpuIdentity::js_present, nullptr, KeyScope::JmOnly},
    {"afbc_features", &GpuIdentity::afbc_features, nullptr, KeyScope::JmOnly},
    {"nr_core_groups", &GpuIdentity::nr_core_groups, nullptr, KeyScope::JmOnly},
    {"csg_slot_count", &GpuIdentity::csg_slot_count, nullptr, KeyScope::CsfOnly},
    {"cs_slot_count", &GpuIdentity::cs_slot_count, nullptr, KeyScope::CsfOnly},
    {"cs_reg_count", &GpuIdentity::cs_reg_count, nullptr, KeyScope::CsfOnly},
    {"scoreboard_slot_count", &GpuIdentity::scoreboard_slot_count, nullptr, KeyScope::CsfOnly},
    {"unpreserved_cs_reg_count", &GpuIdentity::unpreserved_cs_reg_count, nullptr,
     KeyScope::CsfOnly},
    // Special: bits 7:0 of mmu_features, clamped to what the model can reserve.
    {"va_bits", nullptr, nullptr, KeyScope::Any},
};

// panthor's firmware interface limits (the kernel refuses other counts).
constexpr uint32_t kMinCsgSlots = 3, kMaxCsgSlots = 16;
constexpr uint32_t kMinCsSlots = 1, kMaxCsSlots = 32;

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool parse_u64(const std::string& s, uint64_t* v) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || s[0] == ' ') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long x = std::strtoull(s.c_str(), &end, 0);
  if (errno != 0 || end == s.c_str() || *end != '\0') return false;
  *v = x;
  return true;
}

std::string presets_list(bool csf) {
  std::string out;
  for (const Preset& p : kPresets) {
    if (p.csf != csf) continue;
    if (!out.empty()) out += ", ";
    out += p.key;
  }
  return out;
}

std::string keys_list() {
  std::string out;
  for (const Key& k : kKeys) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

}  // namespace

std::vector<std::string> gpu_preset_names(const std::string& driver) {
  std::vector<std::string> out;
  for (const Preset& p : kPresets) {
    if (driver.empty() || (driver == "panthor") == p.csf) out.emplace_back(p.key);
  }
  return out;
}

bool gpu_identity_from_spec(const std::string& driver, std::string_view spec, GpuIdentity* out,
                            std::string* why) {
  auto fail = [&](const std::string& msg) {
    if (why) *why = std::string(kSimGpuEnv) + "='" + std::string(spec) + "': " + msg;
    return false;
  };
  bool panthor;
  if (driver == "panthor") {
    panthor = true;
  } else if (driver == "panfrost") {
    panthor = false;
  } else {
    if (why) *why = "the kernel model has no driver '" + driver + "'";
    return false;
  }
  const std::string flavour =
      panthor ? "panthor drives CSF GPUs (presets: " + presets_list(true) + ")"
              : "panfrost drives Job Manager GPUs (presets: " + presets_list(false) + ")";

  GpuIdentity g = panthor ? csf_g610() : bifrost_g52();
  bool gpu_id_overridden = false;

  // Split on commas; the first item may be a preset name.
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string_view::npos) comma = spec.size();
    items.push_back(trim(spec.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  if (items.size() == 1 && items[0].empty()) items.clear();  // unset / empty: defaults

  for (size_t i = 0; i < items.size(); i++) {
    const std::string& item = items[i];
    if (item.empty()) return fail("empty item (stray comma?)");
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      if (i != 0) {
        return fail("'" + item + "' is not key=value; only the first item may be a preset name");
      }
      std::string name = item;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (name.size() > 5 && name.compare(0, 5, "mali-") == 0) name = name.substr(5);
      const Preset* preset = nullptr;
      for (const Preset& p : kPresets)
        if (name == p.key) preset = &p;
      if (!preset) {
        return fail("unknown GPU preset '" + item + "'; presets: " + presets_list(true) +
                    " (CSF, panthor), " + presets_list(false) + " (Job Manager, panfrost)");
      }
      if (preset->csf != panthor) {
        GpuIdentity pg = preset->make();
        return fail(pg.name + " is a " + (preset->csf ? "CSF" : "Job Manager") +
                    " GPU and does not fit the model's " + driver + " device: " + flavour);
      }
      g = preset->make();
      continue;
    }
    std::string key = trim(item.substr(0, eq));
    std::string val = trim(item.substr(eq + 1));
    const Key* k = nullptr;
    for (const Key& kk : kKeys)
      if (key == kk.name) k = &kk;
    if (!k) return fail("unknown key '" + key + "'; keys: " + keys_list());
    if (k->scope == KeyScope::CsfOnly && !panthor)
      return fail("key '" + key + "' applies to CSF GPUs (panthor) only");
    if (k->scope == KeyScope::JmOnly && panthor)
      return fail("key '" + key + "' applies to Job Manager GPUs (panfrost) only");
    uint64_t v = 0;
    if (!parse_u64(val, &v))
      return fail("value '" + val + "' of " + key + " is not a non-negative integer");
    if (k->u32) {
      if (v > UINT32_MAX) return fail("value " + val + " of " + key + " does not fit 32 bits");
      g.*(k->u32) = static_cast<uint32_t>(v);
      if (k->u32 == &GpuIdentity::gpu_id) gpu_id_overridden = true;
    } else if (k->u64) {
      g.*(k->u64) = v;
    } else {  // va_bits: clamped to what the model can reserve
      if (v > 64) return fail("va_bits " + val + " is not a number of address bits");
      uint32_t bits = static_cast<uint32_t>(std::clamp<uint64_t>(v, kSimMinVaBits, kSimMaxVaBits));
      g.mmu_features = (g.mmu_features & ~0xffu) | bits;
    }
  }

  // The preset's own VA bits obey the same clamp.
  uint32_t bits = std::clamp(g.va_bits(), kSimMinVaBits, kSimMaxVaBits);
  g.mmu_features = (g.mmu_features & ~0xffu) | bits;

  if (gpu_id_overridden) {
    if (g.is_csf() != panthor) {
      return fail("gpu_id " + hex(g.gpu_id) + " is a " + (g.is_csf() ? "CSF" : "Job Manager") +
                  " GPU (arch major " + std::to_string(g.arch_major()) +
                  ") and does not fit the model's " + driver + " device: " + flavour);
    }
    g.name = product_name(g.product_id());
  }
  if (g.shader_present == 0) return fail("shader_present must name at least one core");
  if (g.l2_present == 0) return fail("l2_present must name at least one L2 slice");
  if (g.tiler_present == 0) return fail("tiler_present must name at least one tiler");
  if (g.max_threads == 0) return fail("max_threads must be non-zero");
  if (panthor) {
    if (g.csg_slot_count < kMinCsgSlots || g.csg_slot_count > kMaxCsgSlots)
      return fail("csg_slot_count " + std::to_string(g.csg_slot_count) + " is outside " +
                  std::to_string(kMinCsgSlots) + ".." + std::to_string(kMaxCsgSlots));
    if (g.cs_slot_count < kMinCsSlots || g.cs_slot_count > kMaxCsSlots)
      return fail("cs_slot_count " + std::to_string(g.cs_slot_count) + " is outside " +
                  std::to_string(kMinCsSlots) + ".." + std::to_string(kMaxCsSlots));
  } else if (g.js_present == 0) {
    return fail("js_present must name at least one job slot");
  }
  *out = std::move(g);
  return true;
}

bool gpu_identity_for(const std::string& driver, GpuIdentity* out, std::string* why) {
  const char* v = std::getenv(kSimGpuEnv);
  return gpu_identity_from_spec(driver, v ? std::string_view(v) : std::string_view(), out, why);
}

}  // namespace wsys::sim
