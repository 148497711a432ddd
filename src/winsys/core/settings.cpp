#include "winsys/core/settings.h"

#include <cstdio>
#include <cstdlib>

namespace wsys::core {

namespace {

// Decimal digits from *p on; advances *p past them. False when there are
// none, on a leading zero followed by more digits, or on overflow.
bool parse_decimal(const char** p, uint64_t* out) {
  const char* s = *p;
  if (*s < '0' || *s > '9') return false;
  if (s[0] == '0' && s[1] >= '0' && s[1] <= '9') return false;
  uint64_t v = 0;
  for (; *s >= '0' && *s <= '9'; ++s) {
    uint64_t d = static_cast<uint64_t>(*s - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *p = s;
  *out = v;
  return true;
}

}  // namespace

bool parse_size_setting(const char* text, uint64_t* out) {
  if (!text || !out) return false;
  const char* s = text;
  uint64_t v = 0;
  if (!parse_decimal(&s, &v)) return false;
  unsigned shift = 0;
  switch (*s) {
    case 'K': case 'k': shift = 10; ++s; break;
    case 'M': case 'm': shift = 20; ++s; break;
    case 'G': case 'g': shift = 30; ++s; break;
    default: break;
  }
  if (*s) return false;
  if (shift && v > (UINT64_MAX >> shift)) return false;
  *out = v << shift;
  return true;
}

bool parse_count_setting(const char* text, uint64_t* out) {
  if (!text || !out) return false;
  const char* s = text;
  uint64_t v = 0;
  if (!parse_decimal(&s, &v) || *s) return false;
  *out = v;
  return true;
}

std::optional<uint64_t> read_setting(const char* name, bool (*parse)(const char*, uint64_t*),
                                     const char* what) {
  const char* s = std::getenv(name);
  if (!s) return std::nullopt;
  uint64_t v = 0;
  if (!parse(s, &v)) {
    std::fprintf(stderr, "wsys: %s: '%s' is not %s; ignored\n", name, s, what);
    return std::nullopt;
  }
  return v;
}

}  // namespace wsys::core
