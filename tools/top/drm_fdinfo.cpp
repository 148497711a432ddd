// DRM fdinfo parsing and the /proc scan: see drm_fdinfo.h.
#include "drm_fdinfo.h"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

namespace wsys::top {

namespace {

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) a++;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) b--;
  return s.substr(a, b - a);
}

// "1024 KiB" -> 1048576; "4096" -> 4096; false if not a number.
bool parse_size(const std::string& v, uint64_t* out) {
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
  if (end == v.c_str()) return false;
  std::string unit = trim(end);
  uint64_t mul = 1;
  if (unit == "KiB") mul = 1ull << 10;
  else if (unit == "MiB") mul = 1ull << 20;
  else if (unit == "GiB") mul = 1ull << 30;
  else if (!unit.empty()) return false;
  *out = static_cast<uint64_t>(n) * mul;
  return true;
}

bool starts(const std::string& s, const char* p, std::string* rest) {
  const std::string pre(p);
  if (s.compare(0, pre.size(), pre) != 0) return false;
  *rest = s.substr(pre.size());
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return {};
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool all_digits(const char* s) {
  if (!*s) return false;
  for (; *s; s++)
    if (!std::isdigit(static_cast<unsigned char>(*s))) return false;
  return true;
}

}  // namespace

uint64_t DrmClient::sum(const std::string& kind) const {
  uint64_t t = 0;
  const std::string pre = kind + "-";
  for (const auto& [k, v] : memory)
    if (k.compare(0, pre.size(), pre) == 0) t += v;
  return t;
}

bool parse_drm_fdinfo(const std::string& text, DrmClient* out) {
  std::istringstream in(text);
  std::string line;
  bool drm = false;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon), val = trim(line.substr(colon + 1));
    std::string rest;
    if (key == "drm-driver") {
      out->driver = val;
      drm = true;
    } else if (key == "drm-pdev") {
      out->pdev = val;
    } else if (key == "drm-client-id") {
      out->client_id = std::strtoull(val.c_str(), nullptr, 10);
    } else if (starts(key, "drm-engine-", &rest)) {
      uint64_t ns = 0;
      // "9288864723 ns"
      if (parse_size(val.substr(0, val.find(' ')), &ns)) out->engine_ns[rest] = ns;
    } else if (starts(key, "drm-", &rest)) {
      // drm-<kind>-<region>: a size (drm-cycles-, drm-maxfreq- ... are not
      // sizes with a kind we show, but parse the same; keep only those with
      // a region and a size).
      const size_t dash = rest.find('-');
      uint64_t bytes = 0;
      if (dash != std::string::npos && dash + 1 < rest.size() && parse_size(val, &bytes) &&
          rest.compare(0, 7, "cycles-") != 0 && rest.compare(0, 8, "maxfreq-") != 0 &&
          rest.compare(0, 8, "curfreq-") != 0)
        out->memory[rest] = bytes;
    }
  }
  return drm;
}

std::vector<DrmClient> scan_drm_clients(const std::string& proc_root) {
  std::vector<DrmClient> out;
  DIR* pd = opendir(proc_root.c_str());
  if (!pd) return out;
  std::vector<int> pids;
  while (dirent* e = readdir(pd))
    if (all_digits(e->d_name)) pids.push_back(std::atoi(e->d_name));
  closedir(pd);
  std::sort(pids.begin(), pids.end());
  for (int pid : pids) {
    const std::string dir = proc_root + "/" + std::to_string(pid);
    DIR* fd = opendir((dir + "/fdinfo").c_str());
    if (!fd) continue;
    std::set<std::tuple<std::string, std::string, uint64_t>> seen;
    std::string comm;
    while (dirent* e = readdir(fd)) {
      if (!all_digits(e->d_name)) continue;
      DrmClient c;
      if (!parse_drm_fdinfo(read_file(dir + "/fdinfo/" + e->d_name), &c)) continue;
      // dup'ed fds of one drm_file show the same client id: count it once.
      if (!seen.insert({c.driver, c.pdev, c.client_id}).second) continue;
      if (comm.empty()) comm = trim(read_file(dir + "/comm"));
      c.pid = pid;
      c.process = comm;
      out.push_back(std::move(c));
    }
    closedir(fd);
  }
  return out;
}

}  // namespace wsys::top
