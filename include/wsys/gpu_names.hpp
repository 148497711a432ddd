// Marketing names of Mali GPUs by product id (GPU_ID >> 16), shared by
// wsys-info and the Vulkan ICD's device name. Facts, not policy: a header
// with no dependencies so any layer can use it.
#pragma once

#include <cstdint>

namespace wsys {

// The name of a Mali product id, or nullptr when it is not known.
inline const char* gpu_product_name(uint32_t product_id) {
  struct Entry {
    uint32_t id;
    const char* name;
  };
  static constexpr Entry kTable[] = {
      {0x0600, "Mali-T600"}, {0x0620, "Mali-T620"}, {0x0720, "Mali-T720"},   {0x0750, "Mali-T760"},
      {0x0820, "Mali-T820"}, {0x0830, "Mali-T830"}, {0x0860, "Mali-T860"},   {0x0880, "Mali-T880"},
      {0x6000, "Mali-G71"},  {0x6221, "Mali-G72"},  {0x7090, "Mali-G51"},    {0x7093, "Mali-G31"},
      {0x7211, "Mali-G76"},  {0x7212, "Mali-G52"},  {0x7402, "Mali-G52 r1"}, {0x9091, "Mali-G57"},
      {0x9093, "Mali-G57"},  {0xa867, "Mali-G610"}, {0xac74, "Mali-G310"},
  };
  for (const Entry& e : kTable)
    if (e.id == product_id) return e.name;
  return nullptr;
}

}  // namespace wsys
