#include "wsys/gpu_names.hpp"
#include "vulkan/identity.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>

namespace wsys::vk {

namespace {

const char* product_name(uint32_t id) { return wsys::gpu_product_name(id); }

// Two FNV-1a streams with different offsets make 16 bytes.
struct Hash128 {
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  void add(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; i++) {
      a = (a ^ c[i]) * 0x100000001b3ull;
      b = (b ^ c[i]) * 0x100000001b3ull;
      b ^= b >> 29;
    }
  }
  void add(std::string_view s) { add(s.data(), s.size()); }
  void out(uint8_t uuid[VK_UUID_SIZE]) const {
    std::memcpy(uuid, &a, 8);
    std::memcpy(uuid + 8, &b, 8);
  }
};

}  // namespace

std::string gpu_name(uint32_t gpu_id) {
  uint32_t product = gpu_id >> 16;
  if (const char* n = product_name(product)) return n;
  char buf[64];
  std::snprintf(buf, sizeof buf, "Mali (product 0x%04x)", product);
  return buf;
}

std::string device_name(const DeviceInfo& info) {
  std::string n = "wsys (" + info.node + ", " + gpu_name(info.gpu_id) +
                  (info.model ? " model" : "") + ") on lavapipe";
  if (n.size() >= VK_MAX_PHYSICAL_DEVICE_NAME_SIZE) n.resize(VK_MAX_PHYSICAL_DEVICE_NAME_SIZE - 1);
  return n;
}

uint64_t heap_size_bytes(const DeviceInfo& info) {
  // wsys's answer: the model's budget, or a share of RAM on a real device.
  uint64_t bytes = info.memory_bytes ? info.memory_bytes : uint64_t{1} << 30;
  // Where the kernel maps every buffer into the file's GPU VA as it is
  // created (panfrost: [32 MiB, 4 GiB)), live memory can never exceed that
  // range, whatever RAM there is. Saying so matters: zink sizes its
  // out-of-memory flushes from the heap (it flushes a batch that references
  // more than ~80% of it), so a heap larger than the VA lets a streaming
  // program fill the VA before anything is freed (piglit
  // streaming-texture-leak).
  if (info.kernel_managed_va && info.va_end > info.va_start)
    bytes = std::min(bytes, info.va_end - info.va_start);
  return bytes;
}

uint64_t available_system_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib) {
    std::getline(f, unit);
    if (key == "MemAvailable:") return kib << 10;
  }
  long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || psize <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(psize);
}

void make_uuids(const uint8_t executor_driver_uuid[VK_UUID_SIZE],
                const uint8_t executor_device_uuid[VK_UUID_SIZE], const DeviceInfo& info,
                uint8_t driver_uuid[VK_UUID_SIZE], uint8_t device_uuid[VK_UUID_SIZE]) {
  Hash128 drv;
  drv.add("wsys-vk driver 1");
  drv.add(executor_driver_uuid, VK_UUID_SIZE);
  drv.out(driver_uuid);

  Hash128 dev;
  dev.add("wsys-vk device 1");
  dev.add(executor_device_uuid, VK_UUID_SIZE);
  dev.add(info.node);
  dev.add(&info.gpu_id, sizeof info.gpu_id);
  dev.out(device_uuid);
}

}  // namespace wsys::vk
