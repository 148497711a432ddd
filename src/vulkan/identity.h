// How the wsys device presents itself through Vulkan: names, UUIDs, the
// memory heap's size.
#pragma once

#include <cstdint>
#include <string>

#include "vulkan/vk.h"
#include "wsys/device.hpp"

namespace wsys::vk {

// "Mali-G610" for the GPU id's product, or "Mali (product 0x1234)".
std::string gpu_name(uint32_t gpu_id);

// "wsys (sim:panthor, Mali-G610 model) on lavapipe".
std::string device_name(const DeviceInfo& info);

// The size of the one device-local heap: DeviceInfo::memory_bytes (the
// model's memory budget, or on a real device three quarters of the RAM: a
// Mali GPU shares system memory with the CPU).
uint64_t heap_size_bytes(const DeviceInfo& info);

// What the system could still give: MemAvailable, else free RAM.
uint64_t available_system_bytes();

// UUIDs derived from lavapipe's and the wsys device's identity: opaque fds
// are wsys BOs, so they must only be imported where the same wsys node and
// the same lavapipe (its image layouts) are on the other side.
void make_uuids(const uint8_t executor_driver_uuid[VK_UUID_SIZE],
                const uint8_t executor_device_uuid[VK_UUID_SIZE], const DeviceInfo& info,
                uint8_t driver_uuid[VK_UUID_SIZE], uint8_t device_uuid[VK_UUID_SIZE]);

}  // namespace wsys::vk
