// Parsing of wsys's environment settings (WSYS_BO_CACHE_*): strict, so a
// typo is reported instead of silently becoming another value. strtoull
// with base 0 used to accept "-1" (the largest cap), "010" (octal 8),
// "0x10", leading blanks, and a size suffix on a time.
#pragma once

#include <cstdint>
#include <optional>

namespace wsys::core {

// A size in bytes: decimal digits, optionally followed by one of K, M, G
// (powers of 1024, either case). Nothing else: no sign, no blanks, no
// base prefix, no leading zero unless the number is 0. False (and *out
// untouched) on anything else or on overflow.
bool parse_size_setting(const char* text, uint64_t* out);

// A plain count (milliseconds, a number of objects): decimal digits only,
// the same rules without a suffix.
bool parse_count_setting(const char* text, uint64_t* out);

// Reads `name` from the environment with `parse`: its value, or nothing
// when it is unset or bad. A bad value is reported on stderr as
// "wsys: NAME: 'value' is not <what>; ignored".
std::optional<uint64_t> read_setting(const char* name, bool (*parse)(const char*, uint64_t*),
                                     const char* what);

}  // namespace wsys::core
