// WSYS_TRACE: the JSON trace writer and the frontend Span (docs/trace.md).
//
// The file is the JSON array form: "[" then one event per line, "]" added
// when the process exits. A process killed before that leaves a file
// without the closing bracket, which the format allows.
#include "winsys/core/trace.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
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

// Events are built in a per-thread buffer that keeps its capacity, with
// numbers formatted by std::to_chars, and written with one fwrite under the
// lock (a span with its flow pair is one write): no allocation, no printf,
// one lock per event (observe_bench: trace_event_ns).
thread_local std::string t_buf;

void put_u64(std::string& out, uint64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

void put_i64(std::string& out, int64_t v) {
  char b[24];
  auto r = std::to_chars(b, b + sizeof b, v);
  out.append(b, r.ptr);
}

void put_escaped(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[(c >> 4) & 0xf];
      out += hex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

// Microseconds with three decimals (the format's unit).
void put_ts(std::string& out, uint64_t ns) {
  put_u64(out, ns / 1000);
  const unsigned f = static_cast<unsigned>(ns % 1000);
  const char d[4] = {'.', static_cast<char>('0' + f / 100), static_cast<char>('0' + f / 10 % 10),
                     static_cast<char>('0' + f % 10)};
  out.append(d, 4);
}

// ",\n{"name":..,"cat":"wsys","ph":..,"pid":..,"tid":..,"ts":..  (left open)
void head(std::string& out, const char* name, const char* ph, uint64_t ts_ns) {
  out += ",\n{\"name\":";
  put_escaped(out, name);
  out += ",\"cat\":\"wsys\",\"ph\":\"";
  out += ph;
  out += "\",\"pid\":";
  put_i64(out, writer().pid);
  out += ",\"tid\":";
  put_i64(out, tid());
  out += ",\"ts\":";
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
    switch (a.kind) {
      case TraceArg::Kind::U64:
        put_u64(out, a.u);
        break;
      case TraceArg::Kind::I64:
        put_i64(out, a.i);
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

// Writes the events in `events` (each starting with ",\n").
void emit(const std::string& events) {
  Writer& w = writer();
  std::lock_guard<std::mutex> g(w.lock);
  if (!w.f && !w.pending.empty()) {
    // A process that never makes an event (a Vulkan probe) leaves no file.
    std::string p = std::move(w.pending);
    w.pending.clear();
    if (!open_locked(w, p.c_str())) wsys::trace::detail::g_on.store(false, std::memory_order_relaxed);
  }
  if (!w.f) return;
  std::fwrite(events.data(), 1, events.size(), w.f);
}

// A flow step appended to `out`: "s" starts flow `id` in the slice
// enclosing ts, "f" (bound to the enclosing slice, "bp":"e") ends it.
void put_flow(std::string& out, const char* ph, uint64_t id, uint64_t ts_ns) {
  head(out, "flow", ph, ts_ns);
  out += ",\"id\":";
  put_u64(out, id);
  if (ph[0] == 'f') out += ",\"bp\":\"e\"";
  out += '}';
}

// The thread's buffer, emptied (capacity kept).
std::string& buf() {
  t_buf.clear();
  return t_buf;
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
  // A larger buffer than stdio's 4 KiB: a write(2) per ~25 events cost
  // more than building them (observe_bench). A process killed outright
  // loses at most this much of its tail.
  std::setvbuf(f, nullptr, _IOFBF, 64 * 1024);
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
  std::string& e = buf();
  if (wsys::trace::Span* s = t_span) {
    // Linked to the frontend's call: the arrow starts at the call's slice
    // and ends in this event's slice.
    const uint64_t id = g_next_flow.fetch_add(1, std::memory_order_relaxed);
    put_flow(e, "s", id, s->start_ns());
    put_flow(e, "f", id, start_ns);
  }
  head(e, name, "X", start_ns);
  e += ",\"dur\":";
  put_ts(e, now > start_ns ? now - start_ns : 0);
  put_args(e, args);
  e += '}';
  emit(e);
}

void trace_instant(const char* name, TraceArgs args) {
  if (!trace_on()) return;
  std::string& e = buf();
  head(e, name, "i", trace_now_ns());
  e += ",\"s\":\"t\"";
  put_args(e, args);
  e += '}';
  emit(e);
}

void trace_counter(const char* name, TraceArgs args) {
  if (!trace_on()) return;
  std::string& e = buf();
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
  if (follows) {
    std::string& e = core::buf();
    core::put_flow(e, "f", follows, start_ns_);
    core::emit(e);
  }
}

void Span::end() {
  core::t_span = outer_;
  active_ = false;
  if (!enabled()) return;
  std::string& e = core::buf();
  core::head(e, name_, "X", start_ns_);
  const uint64_t now = core::trace_now_ns();
  e += ",\"dur\":";
  core::put_ts(e, now > start_ns_ ? now - start_ns_ : 0);
  e += ",\"args\":{}}";
  core::emit(e);
}

bool Span::innermost() const { return active_ && core::t_span == this; }

uint64_t Span::flow() {
  if (!active_ || !enabled()) return 0;
  const uint64_t id = core::g_next_flow.fetch_add(1, std::memory_order_relaxed);
  std::string& e = core::buf();
  core::put_flow(e, "s", id, core::trace_now_ns());
  core::emit(e);
  return id;
}

}  // namespace wsys::trace

namespace wsys::trace {

uint64_t current_flow() {
  if (!enabled() || !core::t_span) return 0;
  return core::t_span->flow();
}

}  // namespace wsys::trace
