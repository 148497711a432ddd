// wsys's memory report: one short block of text from a Device's statistics
// (BOs, cache hits, purges, VM binds, peak memory). The ICD prints it at
// vkDestroyDevice (WSYS_VK_REPORT) and returns it through
// vkGetWsysMemoryReportWSYS; anything holding a wsys::Device can print it.
// Depends on include/wsys only.
#pragma once

#include <cstdint>
#include <string>

#include "wsys/device.hpp"

namespace wsys {

struct MemoryReport {
  std::string title;                  // e.g. "sim:panthor (Mali-G610 model)"
  DeviceStats stats;
  uint64_t peak_committed_bytes = 0;  // live + cached at its highest; 0: not tracked
};

// Several lines, each ending in '\n', the first "wsys memory report: <title>".
std::string format_memory_report(const MemoryReport& report);

// The same figures as one JSON object on one line, ending in '\n'
// (docs/json-schema.md, "wsys.memory_report" version 1).
std::string format_memory_report_json(const MemoryReport& report);

// "12.5 MiB"-style sizes, as the report prints them.
std::string format_bytes(uint64_t bytes);

}  // namespace wsys
