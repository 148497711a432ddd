// WSYS_TRACE: the JSON trace writer and the frontend Span (docs/trace.md).
//
// The file is the JSON array form: "[" then one event per line, "]" added
// when the process exits. A process killed before that leaves a file
// without the closing bracket, which the format allows.
#include "winsys/core/trace.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace wsys::trace::detail {
std::atomic<bool> g_on{false};
}  // namespace wsys::trace::detail

namespace wsys::core {

namespace {

struct Writer {
  std::mutex lock;
  FILE* f = nullptr;
  int pid = 0;
  std::string pending;  // WSYS_TRACE's file, opened at the first event
};
Writer& writer() {
  static Writer* w = new Writer;  // never destroyed: events may come during exit
  return *w;
}

std::atomic<uint64_t> g_next_flow{1};
thread_local wsys::trace::Span* t_span = nullptr;

long tid() {
  static thread_local long t = syscall(SYS_gettid);
  return t;
}

void put_escaped(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += c;
    }
  }
  out += '"';
}

void put_ts(std::string& out, uint64_t ns) {
  char b[40];
  std::snprintf(b, sizeof b, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
  out += b;
}

// {"name":..,"cat":"wsys","ph":..,"pid":..,"tid":..,"ts":..  (left open)
void head(std::string& out, const char* name, const char* ph, uint64_t ts_ns) {
  out += "{\"name\":";
  put_escaped(out, name);
  out += ",\"cat\":\"wsys\",\"ph\":\"";
  out += ph;
  char b[64];
  std::snprintf(b, sizeof b, "\",\"pid\":%d,\"tid\":%ld,\"ts\":", writer().pid, tid());
  out += b;
  put_ts(out, ts_ns);
}

void put_args(std::string& out, TraceArgs args) {
  out += ",\"args\":{";
  bool first = true;
  for (const TraceArg& a : args) {
    if (!first) out += ',';
    first = false;
    put_escaped(out, a.key);
    out += ':';
    char b[32];
    switch (a.kind) {
      case TraceArg::Kind::U64:
        std::snprintf(b, sizeof b, "%" PRIu64, a.u);
        out += b;
        break;
      case TraceArg::Kind::I64:
        std::snprintf(b, sizeof b, "%" PRId64, a.i);
        out += b;
        break;
      case TraceArg::Kind::Bool:
        out += a.b ? "true" : "false";
        break;
      case TraceArg::Kind::Str:
        put_escaped(out, a.s);
        break;
    }
  }
  out += '}';
}

bool open_locked(Writer& w, const char* path);

void emit(const std::string& line) {
  Writer& w = writer();
  std::lock_guard<std::mutex> g(w.lock);
  if (!w.f && !w.pending.empty()) {
    // A process that never makes an event (a Vulkan probe) leaves no file.
    std::string p = std::move(w.pending);
    w.pending.clear();
    if (!open_locked(w, p.c_str())) wsys::trace::detail::g_on.store(false, std::memory_order_relaxed);
  }
  if (!w.f) return;
  std::fputs(",\n", w.f);
  std::fputs(line.c_str(), w.f);
}

// A flow step: "s" starts flow `id` in the slice enclosing ts, "f" (bound to
// the enclosing slice, "bp":"e") ends it.
void flow(const char* ph, uint64_t id, uint64_t ts_ns) {
  std::string e;
  head(e, "flow", ph, ts_ns);
  char b[48];
  std::snprintf(b, sizeof b, ",\"id\":%" PRIu64 "%s}", id, ph[0] == 'f' ? ",\"bp\":\"e\"" : "");
  e += b;
  emit(e);
}

void close_at_exit() { trace_close(); }

bool open_locked(Writer& w, const char* path) {
  // "%p" in the name becomes the pid: one file per process.
  std::string name;
  for (const char* p = path; *p; ++p) {
    if (p[0] == '%' && p[1] == 'p') {
      name += std::to_string(getpid());
      ++p;
    } else {
      name += *p;
    }
  }
  FILE* f = std::fopen(name.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "wsys: WSYS_TRACE: cannot open '%s': %s\n", name.c_str(),
                 std::strerror(errno));
    return false;
  }
  w.f = f;
  w.pid = getpid();
  char comm[64] = "wsys";
  if (FILE* c = std::fopen("/proc/self/comm", "r")) {
    if (std::fgets(comm, sizeof comm, c)) comm[std::strcspn(comm, "\n")] = 0;
    std::fclose(c);
  }
  std::string meta = "[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" + std::to_string(w.pid) +
                     ",\"tid\":0,\"args\":{\"name\":";
  put_escaped(meta, comm);
  meta += "}}";
  std::fputs(meta.c_str(), f);
  return true;
}

bool open_from_env() {
  const char* v = std::getenv("WSYS_TRACE");
  if (!v || !*v) return false;
  Writer& w = writer();
  std::lock_guard<std::mutex> g(w.lock);
  w.pending = v;
  w.pid = getpid();
  std::atexit(close_at_exit);
  wsys::trace::detail::g_on.store(true, std::memory_order_relaxed);
  return true;
}
[[maybe_unused]] const bool g_opened = open_from_env();

}  // namespace

uint64_t trace_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void trace_complete(const char* name, uint64_t start_ns, TraceArgs args) {
  if (!trace_on()) return;
  const uint64_t now = trace_now_ns();
  if (wsys::trace::Span* s = t_span) {
    // Linked to the frontend's call: the arrow starts at the call's slice
    // and ends in this event's slice.
    const uint64_t id = g_next_flow.fetch_add(1, std::memory_order_relaxed);
    flow("s", id, s->start_ns());
    flow("f", id, start_ns);
  }
  std::string e;
  head(e, name, "X", start_ns);
  e += ",\"dur\":";
  put_ts(e, now > start_ns ? now - start_ns : 0);
  put_args(e, args);
  e += '}';
  emit(e);
}

void trace_instant(const char* name, TraceArgs args) {
  if (!trace_on()) return;
  std::string e;
  head(e, name, "i", trace_now_ns());
  e += ",\"s\":\"t\"";
  put_args(e, args);
  e += '}';
  emit(e);
}

void trace_counter(const char* name, TraceArgs args) {
  if (!trace_on()) return;
  std::string e;
  head(e, name, "C", trace_now_ns());
  put_args(e, args);
  e += '}';
  emit(e);
}

bool trace_open(const char* path) {
  trace_close();
  Writer& w = writer();
  std::lock_guard<std::mutex> g(w.lock);
  if (!open_locked(w, path)) return false;
  wsys::trace::detail::g_on.store(true, std::memory_order_relaxed);
  return true;
}

void trace_close() {
  Writer& w = writer();
  std::lock_guard<std::mutex> g(w.lock);
  wsys::trace::detail::g_on.store(false, std::memory_order_relaxed);
  w.pending.clear();
  if (!w.f) return;
  std::fputs("\n]\n", w.f);
  std::fclose(w.f);
  w.f = nullptr;
}

}  // namespace wsys::core

// --- the frontend's Span (include/wsys/trace.hpp) ---

namespace wsys::trace {

void Span::begin(const char* name, uint64_t follows) {
  name_ = name;
  start_ns_ = core::trace_now_ns();
  active_ = true;
  outer_ = core::t_span;
  core::t_span = this;
  if (follows) core::flow("f", follows, start_ns_);
}

void Span::end() {
  core::t_span = outer_;
  active_ = false;
  if (!enabled()) return;
  std::string e;
  core::head(e, name_, "X", start_ns_);
  const uint64_t now = core::trace_now_ns();
  e += ",\"dur\":";
  core::put_ts(e, now > start_ns_ ? now - start_ns_ : 0);
  e += ",\"args\":{}}";
  core::emit(e);
}

uint64_t Span::flow() {
  if (!active_ || !enabled()) return 0;
  const uint64_t id = core::g_next_flow.fetch_add(1, std::memory_order_relaxed);
  core::flow("s", id, core::trace_now_ns());
  return id;
}

}  // namespace wsys::trace

namespace wsys::trace {

uint64_t current_flow() {
  if (!enabled() || !core::t_span) return 0;
  return core::t_span->flow();
}

}  // namespace wsys::trace
