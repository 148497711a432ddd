// WSYS_TRACE writer: Chrome/Perfetto JSON trace events (docs/trace.md).
//
// Event sites cost one relaxed load when tracing is off:
//
//   core::TraceSpan t("bo_alloc");          // reads the clock only when on
//   ...
//   if (t) t.end({{"size", n}, {"hit", hit}});
//
// Events written while a frontend's wsys::trace::Span is open on the thread
// are linked to it by a flow arrow.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "wsys/trace.hpp"

namespace wsys::core {

// One "args" member: a number, a string or a boolean.
struct TraceArg {
  enum class Kind { U64, I64, Str, Bool };
  TraceArg(const char* k, uint64_t v) : key(k), kind(Kind::U64), u(v) {}
  TraceArg(const char* k, unsigned v) : key(k), kind(Kind::U64), u(v) {}
  TraceArg(const char* k, unsigned long long v) : key(k), kind(Kind::U64), u(v) {}
  TraceArg(const char* k, int v) : key(k), kind(Kind::I64), i(v) {}
  TraceArg(const char* k, long long v) : key(k), kind(Kind::I64), i(v) {}
  TraceArg(const char* k, bool v) : key(k), kind(Kind::Bool), b(v) {}
  TraceArg(const char* k, std::string_view v) : key(k), kind(Kind::Str), s(v) {}
  TraceArg(const char* k, const char* v) : key(k), kind(Kind::Str), s(v ? v : "") {}
  const char* key;
  Kind kind;
  uint64_t u = 0;
  int64_t i = 0;
  bool b = false;
  std::string_view s;
};
using TraceArgs = std::initializer_list<TraceArg>;

inline bool trace_on() { return wsys::trace::enabled(); }
uint64_t trace_now_ns();

// A complete ("X") event from start_ns to now, linked to the thread's open
// frontend Span.
void trace_complete(const char* name, uint64_t start_ns, TraceArgs args);
// An instant ("i") event now.
void trace_instant(const char* name, TraceArgs args);
// A counter ("C") event now: one track per arg.
void trace_counter(const char* name, TraceArgs args);

// Tests and benches: start or stop writing to `path` (empty: stop, closing
// the file). Returns false if the file cannot be opened.
bool trace_open(const char* path);
void trace_close();

class TraceSpan {
 public:
  explicit TraceSpan(const char* name) : name_(name), start_(trace_on() ? trace_now_ns() : 0) {}
  explicit operator bool() const { return start_ != 0; }
  void end(TraceArgs args) {
    if (start_) trace_complete(name_, start_, args);
    start_ = 0;
  }

 private:
  const char* name_;
  uint64_t start_;
};

}  // namespace wsys::core
