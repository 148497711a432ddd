// wsys-top: a live view of the memory of every process using wsys.
//
// Reads the statistics segments wsys Devices publish
// (include/wsys/stats_segment.hpp, docs/stats-segment.md): per process and
// device, live / cached / heap-committed memory, memory by label, BO cache
// hit rate, binds and allocations per second over the last seconds, purges
// and evictions. Plain ANSI; `q` or Ctrl-C quits. Batch mode (`--once`,
// `-n N`, or output that is not a terminal) prints samples one after the
// other, as text or JSON lines (`--json`).
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "drm_fdinfo.h"
#include "winsys/core/stats_publish.h"
#include "wsys/stats_segment.hpp"

namespace {

using wsys::stats::Segment;

struct Sample {
  double t = 0;  // seconds, CLOCK_MONOTONIC
  uint64_t live = 0, bos = 0, cached = 0, cache_entries = 0, heap = 0, heaps = 0;
  uint64_t hits = 0, misses = 0, binds = 0, bind_ops = 0, allocs = 0, purged = 0, evicted = 0;
  uint64_t peak = 0, trims = 0;
  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> labels;  // name: bos, bytes
};

struct Dev {
  std::string file;
  int pid = 0;
  unsigned index = 0;
  std::string process, node, driver;
  std::deque<Sample> history;
  bool seen = false;
};

volatile sig_atomic_t g_stop = 0;
termios g_saved;
bool g_raw = false;

void on_signal(int) { g_stop = 1; }

double now_s() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

std::string bytes(uint64_t b) {
  static const char* const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    i++;
  }
  char buf[32];
  if (i == 0) std::snprintf(buf, sizeof buf, "%" PRIu64 " B", b);
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, u[i]);
  return buf;
}

uint64_t ld(const wsys::stats::Counter& c) { return c.load(std::memory_order_relaxed); }

// Reads one segment file; false if it is not (or no longer) a live one.
bool read_segment(const std::string& dir, const std::string& name, Dev* d, Sample* s) {
  const std::string path = dir + "/" + name;
  // Staleness is decided by the pid in the name, before the contents: a
  // process killed between creating its file and publishing the magic leaves
  // a file that never becomes valid, and it must go too.
  if (wsys::core::stats_file_is_stale(name.c_str())) {
    unlink(path.c_str());
    return false;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < sizeof(Segment)) {
    close(fd);
    return false;
  }
  void* m = mmap(nullptr, sizeof(Segment), PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return false;
  const Segment& g = *static_cast<const Segment*>(m);
  // The magic is stored last with release order (stats_publish.cpp): read it
  // with acquire order before anything else.
  uint64_t magic = 0, want = 0;
  magic = __atomic_load_n(reinterpret_cast<const uint64_t*>(g.magic), __ATOMIC_ACQUIRE);
  std::memcpy(&want, wsys::stats::kMagic, sizeof want);
  bool ok = magic == want && g.version == wsys::stats::kVersion && g.size == sizeof(Segment);
  if (ok) {
    if (kill(g.pid, 0) != 0 && errno == ESRCH) {
      // The process died without removing its file.
      unlink(path.c_str());
      ok = false;
    }
  }
  if (ok) {
    d->pid = g.pid;
    d->index = g.device_index;
    d->process.assign(g.process, strnlen(g.process, sizeof g.process));
    d->node.assign(g.node, strnlen(g.node, sizeof g.node));
    d->driver.assign(g.driver, strnlen(g.driver, sizeof g.driver));
    s->t = now_s();
    s->live = ld(g.bytes_live);
    s->bos = ld(g.bos_live);
    s->peak = ld(g.peak_bytes_live);
    s->cached = ld(g.bytes_cached);
    s->cache_entries = ld(g.cache_entries);
    s->heap = ld(g.heap_committed);
    s->heaps = ld(g.heaps);
    s->hits = ld(g.cache_hits);
    s->misses = ld(g.cache_misses);
    s->binds = ld(g.bind_calls);
    s->bind_ops = ld(g.bind_ops);
    s->allocs = s->hits + s->misses;
    s->purged = ld(g.cache_purged);
    s->evicted = ld(g.cache_evicted);
    s->trims = ld(g.cache_trims);
    for (const wsys::stats::LabelSlot& l : g.labels) {
      if (l.state.load(std::memory_order_acquire) != 2) continue;
      s->labels.push_back({std::string(l.name, strnlen(l.name, sizeof l.name)),
                           {ld(l.bos_live), ld(l.bytes_live)}});
    }
  }
  munmap(m, sizeof(Segment));
  return ok;
}

struct Options {
  double interval = 1.0;
  double window = 5.0;
  long iterations = -1;  // -1: until q
  bool batch = false;
  bool json = false;
  std::string proc_root = "/proc";  // DRM fdinfo (drm_fdinfo.h)
  bool fdinfo = true;
};

// DRM clients seen through fdinfo, with their engines' busy time history
// for the busy percentage over the window.
struct Client {
  wsys::top::DrmClient now;
  std::deque<std::pair<double, uint64_t>> busy;  // (t, sum of drm-engine-* ns)
  bool seen = false;
};

std::string client_key(const wsys::top::DrmClient& c) {
  char k[64];
  std::snprintf(k, sizeof k, "%010d-%020llu-", c.pid, static_cast<unsigned long long>(c.client_id));
  return k + c.driver + "-" + c.pdev;
}

void scan_clients(std::map<std::string, Client>& clients, const Options& opt) {
  for (auto& [k, c] : clients) c.seen = false;
  if (opt.fdinfo) {
    const double t = now_s();
    for (wsys::top::DrmClient& d : wsys::top::scan_drm_clients(opt.proc_root)) {
      Client& c = clients[client_key(d)];
      uint64_t ns = 0;
      for (const auto& [e, v] : d.engine_ns) ns += v;
      c.now = std::move(d);
      c.seen = true;
      c.busy.emplace_back(t, ns);
      while (c.busy.size() > 2 && c.busy.back().first - c.busy[1].first >= opt.window)
        c.busy.pop_front();
    }
  }
  for (auto it = clients.begin(); it != clients.end();)
    it = it->second.seen ? std::next(it) : clients.erase(it);
}

// Busy percentage of all engines over the window, or -1 before two samples.
double busy_pct(const Client& c) {
  if (c.busy.size() < 2 || c.now.engine_ns.empty()) return -1;
  const double dt = c.busy.back().first - c.busy.front().first;
  if (dt <= 0) return -1;
  return 100.0 * double(c.busy.back().second - c.busy.front().second) / (dt * 1e9);
}

// Rates over the window: the oldest sample in it against the newest.
struct Rates {
  bool valid = false;
  double binds = 0, allocs = 0, hit_rate = -1;
};
Rates rates(const Dev& d) {
  Rates r;
  if (d.history.size() < 2) return r;
  const Sample& a = d.history.front();
  const Sample& b = d.history.back();
  const double dt = b.t - a.t;
  if (dt <= 0) return r;
  r.valid = true;
  r.binds = (b.binds - a.binds) / dt;
  r.allocs = (b.allocs - a.allocs) / dt;
  const uint64_t takes = b.allocs - a.allocs;
  if (takes) r.hit_rate = 100.0 * (b.hits - a.hits) / takes;
  return r;
}

std::string jstr(const std::string& v) {
  std::string o = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o + "\"";
}

void print_json(const std::map<std::string, Dev>& devs, const std::map<std::string, Client>& clients,
                double t) {
  std::string o = "{\"schema\":\"wsys.top\",\"version\":1,\"time\":" + std::to_string(t) +
                  ",\"devices\":[";
  bool first = true;
  for (const auto& [key, d] : devs) {
    if (d.history.empty()) continue;
    const Sample& s = d.history.back();
    Rates r = rates(d);
    char b[1024];
    std::snprintf(b, sizeof b,
                  "%s{\"pid\":%d,\"device_index\":%u,\"process\":%s,\"node\":%s,\"driver\":%s,"
                  "\"live_bytes\":%" PRIu64 ",\"bos_live\":%" PRIu64 ",\"peak_live_bytes\":%" PRIu64
                  ",\"cached_bytes\":%" PRIu64 ",\"cache_entries\":%" PRIu64
                  ",\"heap_committed_bytes\":%" PRIu64 ",\"heaps\":%" PRIu64
                  ",\"cache_hits\":%" PRIu64 ",\"cache_misses\":%" PRIu64 ",\"bind_calls\":%" PRIu64
                  ",\"bind_ops\":%" PRIu64 ",\"purged\":%" PRIu64 ",\"evicted\":%" PRIu64
                  ",\"trims\":%" PRIu64,
                  first ? "" : ",", d.pid, d.index, jstr(d.process).c_str(), jstr(d.node).c_str(),
                  jstr(d.driver).c_str(), s.live, s.bos, s.peak, s.cached, s.cache_entries, s.heap,
                  s.heaps, s.hits, s.misses, s.binds, s.bind_ops, s.purged, s.evicted, s.trims);
    o += b;
    if (r.valid) {
      std::snprintf(b, sizeof b, ",\"binds_per_s\":%.3f,\"allocs_per_s\":%.3f", r.binds, r.allocs);
      o += b;
      if (r.hit_rate >= 0) {
        std::snprintf(b, sizeof b, ",\"hit_rate_pct\":%.2f", r.hit_rate);
        o += b;
      }
    }
    o += ",\"labels\":[";
    for (size_t i = 0; i < s.labels.size(); i++) {
      std::snprintf(b, sizeof b, "%s{\"label\":%s,\"bos_live\":%" PRIu64 ",\"live_bytes\":%" PRIu64 "}",
                    i ? "," : "", jstr(s.labels[i].first).c_str(), s.labels[i].second.first,
                    s.labels[i].second.second);
      o += b;
    }
    o += "]}";
    first = false;
  }
  o += "],\"drm_clients\":[";
  first = true;
  for (const auto& [key, c] : clients) {
    char b[256];
    std::snprintf(b, sizeof b, "%s{\"pid\":%d,\"client_id\":%llu,", first ? "" : ",", c.now.pid,
                  static_cast<unsigned long long>(c.now.client_id));
    o += b;
    o += "\"process\":" + jstr(c.now.process) + ",\"driver\":" + jstr(c.now.driver) +
         ",\"pdev\":" + jstr(c.now.pdev) + ",\"memory\":{";
    bool f2 = true;
    for (const auto& [k, v] : c.now.memory) {
      o += (f2 ? "" : ",") + jstr(k) + ":" + std::to_string(v);
      f2 = false;
    }
    o += "},\"engine_ns\":{";
    f2 = true;
    for (const auto& [k, v] : c.now.engine_ns) {
      o += (f2 ? "" : ",") + jstr(k) + ":" + std::to_string(v);
      f2 = false;
    }
    o += "}";
    if (double b2 = busy_pct(c); b2 >= 0) {
      std::snprintf(b, sizeof b, ",\"busy_pct\":%.2f", b2);
      o += b;
    }
    o += "}";
    first = false;
  }
  o += "]}\n";
  std::fputs(o.c_str(), stdout);
  std::fflush(stdout);
}

void print_text(const std::map<std::string, Dev>& devs, const std::map<std::string, Client>& clients,
                const std::string& dir, const Options& opt, bool screen) {
  std::string o;
  if (screen) o += "\x1b[H\x1b[2J";
  int procs = 0, ndev = 0, last_pid = -1;
  for (const auto& [key, d] : devs) {
    if (d.history.empty()) continue;
    ndev++;
    if (d.pid != last_pid) procs++;
    last_pid = d.pid;
  }
  char b[512];
  std::snprintf(b, sizeof b, "wsys-top: %d process%s, %d device%s (%s; rates over %.0f s)%s\n", procs,
                procs == 1 ? "" : "es", ndev, ndev == 1 ? "" : "s", dir.c_str(), opt.window,
                screen ? "  q: quit" : "");
  o += b;
  std::snprintf(b, sizeof b, "%7s %-15s %-16s %10s %6s %10s %10s %6s %8s %8s %7s %7s\n", "PID",
                "PROCESS", "DEVICE", "LIVE", "BOS", "CACHED", "HEAP", "HIT%", "BINDS/s",
                "ALLOCS/s", "PURGED", "EVICTED");
  o += screen ? "\x1b[7m" + std::string(b, strlen(b) - 1) + "\x1b[0m\n" : std::string(b);
  for (const auto& [key, d] : devs) {
    if (d.history.empty()) continue;
    const Sample& s = d.history.back();
    Rates r = rates(d);
    std::string dev = d.node + "#" + std::to_string(d.index);
    char hit[16] = "-", binds[16] = "-", allocs[16] = "-";
    if (r.valid) {
      if (r.hit_rate >= 0) std::snprintf(hit, sizeof hit, "%.1f", r.hit_rate);
      std::snprintf(binds, sizeof binds, "%.1f", r.binds);
      std::snprintf(allocs, sizeof allocs, "%.1f", r.allocs);
    } else if (s.allocs) {
      std::snprintf(hit, sizeof hit, "%.1f", 100.0 * s.hits / s.allocs);
    }
    std::snprintf(b, sizeof b, "%7d %-15.15s %-16.16s %10s %6" PRIu64 " %10s %10s %6s %8s %8s %7" PRIu64
                  " %7" PRIu64 "\n",
                  d.pid, d.process.c_str(), dev.c_str(), bytes(s.live).c_str(), s.bos,
                  bytes(s.cached).c_str(), bytes(s.heap).c_str(), hit, binds, allocs, s.purged,
                  s.evicted);
    o += b;
    for (const auto& [name, v] : s.labels) {
      std::snprintf(b, sizeof b, "%7s   label %-28.28s %10s %6" PRIu64 "\n", "", name.c_str(),
                    bytes(v.second).c_str(), v.first);
      o += b;
    }
  }
  if (!ndev) o += "  (no process is using wsys)\n";
  if (!clients.empty()) {
    std::snprintf(b, sizeof b, "DRM clients (fdinfo in %s):\n", opt.proc_root.c_str());
    o += b;
    std::snprintf(b, sizeof b, "%7s %-15s %-9s %7s %10s %10s %10s %10s %10s %6s\n", "PID", "PROCESS",
                  "DRIVER", "CLIENT", "TOTAL", "RESIDENT", "SHARED", "PURGEABLE", "SWAPPED", "BUSY%");
    o += screen ? "\x1b[7m" + std::string(b, strlen(b) - 1) + "\x1b[0m\n" : std::string(b);
    for (const auto& [key, c] : clients) {
      char busy[16] = "-";
      if (double p = busy_pct(c); p >= 0) std::snprintf(busy, sizeof busy, "%.1f", p);
      std::snprintf(b, sizeof b, "%7d %-15.15s %-9.9s %7llu %10s %10s %10s %10s %10s %6s\n",
                    c.now.pid, c.now.process.c_str(), c.now.driver.c_str(),
                    static_cast<unsigned long long>(c.now.client_id), bytes(c.now.sum("total")).c_str(),
                    bytes(c.now.sum("resident")).c_str(), bytes(c.now.sum("shared")).c_str(),
                    bytes(c.now.sum("purgeable")).c_str(), bytes(c.now.sum("swapped")).c_str(), busy);
      o += b;
    }
  }
  if (!screen) o += "\n";
  std::fputs(o.c_str(), stdout);
  std::fflush(stdout);
}

void scan(const std::string& dir, std::map<std::string, Dev>& devs, const Options& opt) {
  for (auto& [k, d] : devs) d.seen = false;
  if (DIR* dp = opendir(dir.c_str())) {
    while (dirent* e = readdir(dp)) {
      std::string name = e->d_name;
      if (name.size() < 7 || name.compare(name.size() - 6, 6, ".stats") != 0) continue;
      Dev probe;
      Sample s;
      if (!read_segment(dir, name, &probe, &s)) continue;
      // Sorted by pid, then device.
      char key[64];
      std::snprintf(key, sizeof key, "%010d-%06u-%s", probe.pid, probe.index, name.c_str());
      Dev& d = devs[key];
      if (d.history.empty()) d = probe;
      d.seen = true;
      d.history.push_back(std::move(s));
      while (d.history.size() > 2 && d.history.back().t - d.history[1].t >= opt.window)
        d.history.pop_front();
    }
    closedir(dp);
  }
  for (auto it = devs.begin(); it != devs.end();) it = it->second.seen ? std::next(it) : devs.erase(it);
}

void restore_terminal() {
  if (g_raw) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
    std::fputs("\x1b[?25h\n", stdout);
    std::fflush(stdout);
    g_raw = false;
  }
}

int usage(const char* argv0, int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: %s [--once] [-n N] [-d SECONDS] [-w SECONDS] [--json] [--dir DIR]\n"
               "Live memory of every process using wsys (docs/stats-segment.md).\n"
               "  --once      one sample, then exit (batch mode)\n"
               "  -n N        N samples, then exit (batch mode)\n"
               "  -d SECONDS  time between samples (default 1)\n"
               "  -w SECONDS  window of the rates (default 5)\n"
               "  --json      batch samples as JSON lines (docs/json-schema.md, wsys.top)\n"
               "  --dir DIR   where the segments are (default: $WSYS_STATS_DIR,\n"
               "              $XDG_RUNTIME_DIR/wsys or /tmp/wsys-UID)\n"
               "  --proc DIR  where to read DRM fdinfo (default /proc): every process's\n"
               "              DRM clients as the kernel reports them\n"
               "  --no-fdinfo only wsys's own segments\n"
               "Interactive when standard output is a terminal: q or Ctrl-C quits.\n",
               argv0);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  std::string dir;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "wsys-top: %s needs a value\n", what);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--once") {
      opt.iterations = 1;
      opt.batch = true;
    } else if (a == "-n") {
      opt.iterations = std::atol(next("-n"));
      opt.batch = true;
      if (opt.iterations < 1) return usage(argv[0], 2);
    } else if (a == "-d") {
      opt.interval = std::atof(next("-d"));
      if (opt.interval <= 0) return usage(argv[0], 2);
    } else if (a == "-w") {
      opt.window = std::atof(next("-w"));
      if (opt.window <= 0) return usage(argv[0], 2);
    } else if (a == "--json") {
      opt.json = true;
      opt.batch = true;
    } else if (a == "--dir") {
      dir = next("--dir");
    } else if (a == "--proc") {
      opt.proc_root = next("--proc");
    } else if (a == "--no-fdinfo") {
      opt.fdinfo = false;
    } else if (a == "-h" || a == "--help") {
      return usage(argv[0], 0);
    } else {
      std::fprintf(stderr, "wsys-top: unknown argument '%s'\n", argv[i]);
      return usage(argv[0], 2);
    }
  }
  if (dir.empty()) dir = wsys::core::StatsPublisher::directory(false);
  if (!isatty(STDOUT_FILENO)) opt.batch = true;
  const bool screen = !opt.batch;

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (screen && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &g_saved) == 0) {
    termios raw = g_saved;
    raw.c_lflag &= ~(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    g_raw = true;
    std::fputs("\x1b[?25l", stdout);
  }

  std::map<std::string, Dev> devs;
  std::map<std::string, Client> clients;
  for (long n = 0; !g_stop && (opt.iterations < 0 || n < opt.iterations); n++) {
    if (n) {
      // Sleep one interval, waking for a key.
      double until = now_s() + opt.interval;
      while (!g_stop) {
        double left = until - now_s();
        if (left <= 0) break;
        pollfd p{STDIN_FILENO, POLLIN, 0};
        int r = poll(&p, g_raw ? 1 : 0, static_cast<int>(left * 1000) + 1);
        if (r > 0 && g_raw) {
          char c = 0;
          if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q')) g_stop = 1;
        }
      }
      if (g_stop) break;
    }
    scan(dir, devs, opt);
    scan_clients(clients, opt);
    if (opt.json) print_json(devs, clients, now_s());
    else print_text(devs, clients, dir, opt, screen);
  }
  restore_terminal();
  return 0;
}
