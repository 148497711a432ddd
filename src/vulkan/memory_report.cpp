#include "vulkan/memory_report.hpp"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

namespace wsys {

namespace {

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

}  // namespace

std::string format_bytes(uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  unsigned u = 0;
  while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024.0;
    u++;
  }
  return u == 0 ? fmt("%" PRIu64 " B", bytes) : fmt("%.1f %s", v, units[u]);
}

std::string format_memory_report(const MemoryReport& r) {
  const DeviceStats& s = r.stats;
  const BoCacheStats& c = s.cache;
  std::string out = "wsys memory report: " + r.title + "\n";
  out += fmt("  BOs:       %" PRIu64 " created, %" PRIu64 " destroyed, %" PRIu64
             " live (%s), %" PRIu64 " imported, %" PRIu64 " exported\n",
             s.bo_creates, s.bo_destroys, s.bos_live, format_bytes(s.bytes_live).c_str(),
             s.imports, s.exports);
  out += fmt("  BO cache:  %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " returned, %" PRIu64
             " purged (found purged on reuse), %" PRIu64 " evicted; %" PRIu64 " cached (%s)\n",
             c.hits, c.misses, c.puts, c.purged_on_reuse, c.evicted, c.entries,
             format_bytes(c.bytes_cached).c_str());
  out += fmt("  VM binds:  %" PRIu64 " bind calls, %" PRIu64 " maps, %" PRIu64 " unmaps (%" PRIu64
             " async), %" PRIu64 " VAs reclaimed\n",
             s.vm.bind_calls, s.va_maps, s.va_unmaps, s.va_async_unmaps, s.va_reclaimed);
  if (!s.labels.empty()) {
    out += "  by label: ";
    for (const LabelUsage& l : s.labels)
      out += fmt(" %s %" PRIu64 " allocated (%" PRIu64 " live, %s);", l.label.c_str(), l.allocs,
                 l.bos_live, format_bytes(l.bytes_live).c_str());
    out += "\n";
  }
  out += "  peak:      " + format_bytes(s.peak_bytes_live) + " live";
  if (r.peak_committed_bytes)
    out += ", " + format_bytes(r.peak_committed_bytes) + " committed (live + cached)";
  out += fmt(", %s cached at most\n", format_bytes(c.peak_bytes_cached).c_str());
  return out;
}

namespace {

std::string json_string(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string format_memory_report_json(const MemoryReport& r) {
  const DeviceStats& s = r.stats;
  const BoCacheStats& c = s.cache;
  std::string out = "{\"schema\":\"wsys.memory_report\",\"version\":1,\"title\":" + json_string(r.title);
  out += fmt(",\"bos\":{\"created\":%" PRIu64 ",\"destroyed\":%" PRIu64 ",\"live\":%" PRIu64
             ",\"live_bytes\":%" PRIu64 ",\"requested_bytes\":%" PRIu64 ",\"imported\":%" PRIu64
             ",\"exported\":%" PRIu64 ",\"alloc_retries\":%" PRIu64 ",\"zero_fills\":%" PRIu64 "}",
             s.bo_creates, s.bo_destroys, s.bos_live, s.bytes_live, s.bytes_requested, s.imports,
             s.exports, s.alloc_retries, s.zero_fills);
  out += fmt(",\"cache\":{\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"returned\":%" PRIu64
             ",\"purged_on_reuse\":%" PRIu64 ",\"evicted\":%" PRIu64 ",\"evicted_by_decay\":%" PRIu64
             ",\"evicted_by_cap\":%" PRIu64 ",\"evicted_by_trim\":%" PRIu64
             ",\"evicted_by_purge\":%" PRIu64 ",\"entries\":%" PRIu64 ",\"cached_bytes\":%" PRIu64
             ",\"peak_cached_bytes\":%" PRIu64 "}",
             c.hits, c.misses, c.puts, c.purged_on_reuse, c.evicted, c.evicted_by_decay,
             c.evicted_by_cap, c.evicted_by_trim, c.evicted_by_purge, c.entries, c.bytes_cached,
             c.peak_bytes_cached);
  out += fmt(",\"vm\":{\"bind_calls\":%" PRIu64 ",\"ops_submitted\":%" PRIu64 ",\"maps\":%" PRIu64
             ",\"unmaps\":%" PRIu64 ",\"async_unmaps\":%" PRIu64 ",\"reclaimed\":%" PRIu64
             ",\"deferred\":%" PRIu64 "}",
             s.vm.bind_calls, s.vm.ops_submitted, s.va_maps, s.va_unmaps, s.va_async_unmaps,
             s.va_reclaimed, s.va_deferred);
  out += ",\"labels\":[";
  for (size_t i = 0; i < s.labels.size(); i++) {
    const LabelUsage& l = s.labels[i];
    out += (i ? "," : "") + std::string("{\"label\":") + json_string(l.label) +
           fmt(",\"allocs\":%" PRIu64 ",\"live\":%" PRIu64 ",\"live_bytes\":%" PRIu64 "}",
               l.allocs, l.bos_live, l.bytes_live);
  }
  out += "]";
  out += fmt(",\"peak\":{\"live_bytes\":%" PRIu64 ",\"committed_bytes\":%" PRIu64
             ",\"cached_bytes\":%" PRIu64 "}}\n",
             s.peak_bytes_live, r.peak_committed_bytes, c.peak_bytes_cached);
  return out;
}

}  // namespace wsys
