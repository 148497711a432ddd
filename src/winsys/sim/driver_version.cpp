#include "winsys/sim/driver_version.h"

#include <cstdlib>

namespace wsys::sim {

namespace {

constexpr const char* kVar = "WSYS_SIM_DRIVER_VERSION";

DriverVersion newest(const std::string& driver) {
  return driver == "panthor" ? kPanthorNewest : kPanfrostNewest;
}

// "1.N" with N a decimal number; nothing else.
bool parse_version(const std::string& s, DriverVersion* out) {
  if (s.size() < 3 || s[0] != '1' || s[1] != '.') return false;
  int minor = 0;
  for (size_t i = 2; i < s.size(); i++) {
    if (s[i] < '0' || s[i] > '9' || i > 4) return false;
    minor = minor * 10 + (s[i] - '0');
  }
  *out = DriverVersion{1, minor};
  return true;
}

}  // namespace

bool parse_driver_versions(const std::string& spec, const std::string& driver,
                           DriverVersion* out, std::string* why) {
  *out = newest(driver);
  auto fail = [&](const std::string& item, const std::string& what) {
    if (why)
      *why = std::string("bad ") + kVar + " '" + spec + "': " + what + " in '" + item +
             "' (panthor=1.0..1.9, panfrost=1.0..1.6, comma-separated)";
    return false;
  };
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? spec.size() + 1 : comma + 1;
    size_t eq = item.find('=');
    if (eq == std::string::npos) return fail(item, "no driver=version");
    std::string name = item.substr(0, eq), ver = item.substr(eq + 1);
    DriverVersion v;
    if (name != "panthor" && name != "panfrost") return fail(item, "unknown driver '" + name + "'");
    if (!parse_version(ver, &v)) return fail(item, "'" + ver + "' is not a version 1.N");
    if (!version_at_least(newest(name), v))
      return fail(item, "version " + ver + " is newer than the model's " + name + " (1." +
                            std::to_string(newest(name).minor) + ")");
    if (name == driver) *out = v;
  }
  return true;
}

bool driver_version_from_env(const std::string& driver, DriverVersion* out, std::string* why) {
  const char* v = std::getenv(kVar);
  if (!v || !*v) {
    *out = newest(driver);
    return true;
  }
  return parse_driver_versions(v, driver, out, why);
}

}  // namespace wsys::sim
