#include "winsys/sim/fault_inject.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace wsys::sim {

namespace {

struct SiteState {
  FaultRule rule;
  uint64_t calls = 0;
  uint64_t failures = 0;
  uint64_t rng = 1;
};

struct Registry {
  std::mutex lock;  // never held while allocating inside a signalling section
  std::vector<SiteState> sites;
  // Failures of rules replaced or cleared so far, per site (updated by
  // set/clear, which may allocate; fault_inject_check never does: sites
  // are checked inside signalling sections).
  std::map<std::string, uint64_t> failures;
  bool set_by_api = false;
};

void retire_rules_locked(Registry& r) {
  for (const SiteState& s : r.sites)
    if (s.failures) r.failures[s.rule.site] += s.failures;
  r.sites.clear();
}

Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}

std::atomic<bool> g_active{false};

// Recording (fault_inject_record_start): site names are the string
// literals of the call sites, so a pointer identifies one; a name reached
// through two different literals is merged when the counts are read.
struct Recording {
  bool on = false;
  bool overflowed = false;
  size_t used = 0;
  const char* sites[kMaxRecordedSites] = {};
  uint64_t calls[kMaxRecordedSites] = {};
};
Recording g_recording;  // guarded by Registry::lock
std::atomic<bool> g_recording_on{false};

void record_locked(const char* site) {
  Recording& rec = g_recording;
  for (size_t i = 0; i < rec.used; i++) {
    if (rec.sites[i] == site || std::strcmp(rec.sites[i], site) == 0) {
      rec.calls[i]++;
      return;
    }
  }
  if (rec.used == kMaxRecordedSites) {
    rec.overflowed = true;
    return;
  }
  rec.sites[rec.used] = site;
  rec.calls[rec.used++] = 1;
}
std::once_flag g_env_once;

int default_error(const std::string& site) {
  if (site.rfind("ioctl:", 0) == 0) return -ENOMEM;
  return -ENOMEM;
}

bool parse_u64(const std::string& s, uint64_t* out) {
  // Decimal digits only: strtoull would take "-1" (as 2^64 - 1) or octal.
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// The sites the model has (fault_inject.h); ioctl:<NAME> with NAME in
// upper case, digits and '_' (the names of ioctl_table.cpp).
bool known_site(const std::string& site) {
  static const char* const kSites[] = {"bo_alloc",   "page_commit", "pt_reserve", "chunk_grow",
                                       "reclaim",    "restore",     "host_steal", "host_pin"};
  for (const char* k : kSites)
    if (site == k) return true;
  if (site.rfind("ioctl:", 0) != 0 || site.size() == 6) return false;
  for (size_t i = 6; i < site.size(); i++) {
    char c = site[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool parse_rule(const std::string& text, FaultRule* r, std::string* why) {
  // site[:key=value]...   (the site itself may contain one ':' for ioctl:NAME)
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t c = text.find(':', start);
    parts.push_back(text.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  size_t i = 0;
  r->site = parts[i++];
  if (r->site == "ioctl" && i < parts.size()) r->site += ":" + parts[i++];
  if (r->site.empty()) {
    if (why) *why = "WSYS_SIM_FAULTS: empty site in '" + text + "'";
    return false;
  }
  if (!known_site(r->site)) {
    if (why)
      *why = "WSYS_SIM_FAULTS: unknown site '" + r->site + "' in rule '" + text +
             "' (bo_alloc, page_commit, pt_reserve, chunk_grow, ioctl:<NAME>)";
    return false;
  }
  for (; i < parts.size(); i++) {
    size_t eq = parts[i].find('=');
    std::string key = parts[i].substr(0, eq);
    std::string val = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    uint64_t n = 0;
    bool ok = true;
    if (key == "nth") ok = parse_u64(val, &r->nth) && r->nth > 0;
    else if (key == "every") ok = parse_u64(val, &r->every) && r->every > 0;
    else if (key == "seed") ok = parse_u64(val, &r->seed);
    else if (key == "errno") { ok = parse_u64(val, &n) && n > 0 && n < 4096; r->error = -static_cast<int>(n); }
    else if (key == "prob") {
      char* end = nullptr;
      r->probability = std::strtod(val.c_str(), &end);
      ok = !val.empty() && !*end && r->probability >= 0 && r->probability <= 1;
    } else ok = false;
    if (!ok) {
      if (why) *why = "WSYS_SIM_FAULTS: bad '" + parts[i] + "' in rule '" + text +
                      "' (use nth=N, every=N, prob=P, seed=S, errno=E)";
      return false;
    }
  }
  if (!r->nth && !r->every && r->probability == 0) {
    if (why) *why = "WSYS_SIM_FAULTS: rule '" + text + "' never fails (give nth=, every= or prob=)";
    return false;
  }
  if (!r->error) r->error = default_error(r->site);
  return true;
}

bool g_env_ok = true;
std::string* g_env_why = nullptr;

// Applies WSYS_SIM_FAULTS once (unless the test API set rules first). A bad
// value is remembered for fault_inject_env_check (device creation fails
// with it) and disables injection.
// WSYS_SIM_FAULTS_RECORD=FILE (a testing aid for sweeps that run a whole
// program per case, e.g. the Vulkan fault sweep): record every site the
// model checks from the first device on, and write "site calls" lines to
// FILE when the process exits.
char* g_record_path = nullptr;
void write_record_at_exit() {
  std::vector<SiteCount> counts = fault_inject_record_stop();
  if (FILE* f = std::fopen(g_record_path, "w")) {
    for (const SiteCount& c : counts)
      std::fprintf(f, "%s %llu\n", c.site.c_str(), static_cast<unsigned long long>(c.calls));
    std::fclose(f);
  }
}

void load_env() {
  if (const char* rec = std::getenv("WSYS_SIM_FAULTS_RECORD"); rec && *rec) {
    g_record_path = strdup(rec);
    fault_inject_record_start();
    std::atexit(write_record_at_exit);
  }
  const char* v = std::getenv("WSYS_SIM_FAULTS");
  if (!v || !*v) return;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> g(r.lock);
    if (r.set_by_api) return;
  }
  std::string why;
  if (!fault_inject_set(v, &why, /*from_env=*/true)) {
    g_env_ok = false;
    g_env_why = new std::string(why);
  }
}

}  // namespace

bool fault_inject_env_check(std::string* why) {
  std::call_once(g_env_once, load_env);
  if (!g_env_ok && why) *why = *g_env_why;
  return g_env_ok;
}

bool fault_inject_set(const std::string& spec, std::string* why) {
  std::call_once(g_env_once, load_env);  // the test API wins over the env
  return fault_inject_set(spec, why, false);
}

bool fault_inject_set(const std::string& spec, std::string* why, bool from_env) {
  std::vector<SiteState> sites;
  size_t start = 0;
  while (start < spec.size()) {
    size_t semi = spec.find(';', start);
    std::string rule = spec.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
    start = semi == std::string::npos ? spec.size() : semi + 1;
    if (rule.empty()) continue;
    SiteState s;
    if (!parse_rule(rule, &s.rule, why)) return false;
    s.rng = s.rule.seed ? s.rule.seed : 1;
    sites.push_back(std::move(s));
  }
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.lock);
  if (!from_env) r.set_by_api = true;
  retire_rules_locked(r);
  r.sites = std::move(sites);
  g_active.store(!r.sites.empty(), std::memory_order_release);
  return true;
}

void fault_inject_clear() {
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.lock);
  r.set_by_api = true;
  retire_rules_locked(r);
  g_active.store(false, std::memory_order_release);
}

uint64_t fault_inject_failures(const char* site) {
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.lock);
  auto it = r.failures.find(site);
  uint64_t n = it == r.failures.end() ? 0 : it->second;
  for (const SiteState& s : r.sites)
    if (s.rule.site == site) n += s.failures;
  return n;
}

int fault_inject_check(const char* site) {
  std::call_once(g_env_once, load_env);
  if (!g_active.load(std::memory_order_acquire) &&
      !g_recording_on.load(std::memory_order_acquire))
    return 0;
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.lock);
  if (g_recording.on) record_locked(site);
  for (SiteState& s : r.sites) {
    if (s.rule.site != site) continue;
    s.calls++;
    bool fail = false;
    if (s.rule.nth && s.calls == s.rule.nth) fail = true;
    if (s.rule.every && s.calls % s.rule.every == 0) fail = true;
    if (s.rule.probability > 0) {
      // xorshift64: deterministic for a given seed.
      s.rng ^= s.rng << 13;
      s.rng ^= s.rng >> 7;
      s.rng ^= s.rng << 17;
      if (static_cast<double>(s.rng % 1000000) / 1e6 < s.rule.probability) fail = true;
    }
    if (fail) {
      s.failures++;
      return s.rule.error;
    }
  }
  return 0;
}

void fault_inject_record_start() {
  Registry& r = registry();
  std::lock_guard<std::mutex> g(r.lock);
  g_recording = Recording{};
  g_recording.on = true;
  g_recording_on.store(true, std::memory_order_release);
}

std::vector<SiteCount> fault_inject_record_stop(bool* overflowed) {
  Recording copy;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> g(r.lock);
    copy = g_recording;
    g_recording = Recording{};
    g_recording_on.store(false, std::memory_order_release);
  }
  if (overflowed) *overflowed = copy.overflowed;
  std::vector<SiteCount> out;
  for (size_t i = 0; i < copy.used; i++) out.push_back({copy.sites[i], copy.calls[i]});
  return out;
}

}  // namespace wsys::sim
