#include "vulkan/lavapipe_locate.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace wsys::vk {

namespace {

// A small JSON reader: enough to walk a loader manifest and pull one string
// out by its key path. It validates as it goes, so a truncated or broken
// file yields nothing rather than a wrong path.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  // The string at object keys `path` (outermost first).
  std::optional<std::string> find(const std::vector<std::string_view>& path) {
    std::optional<std::string> found;
    path_ = &path;
    found_ = &found;
    skip_ws();
    if (!value(0)) return std::nullopt;
    skip_ws();
    if (i_ != s_.size()) return std::nullopt;
    return found;
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      i_++;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      i_++;
      return true;
    }
    return false;
  }
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  // A string token; \uXXXX is decoded to UTF-8 (paths may hold any text).
  bool string(std::string* out) {
    skip_ws();
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    i_++;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case '"': case '\\': case '/': out->push_back(e); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          unsigned cp = 0;
          for (int k = 0; k < 4; k++) {
            int h = hex(s_[i_++]);
            if (h < 0) return false;
            cp = cp << 4 | static_cast<unsigned>(h);
          }
          // Surrogate pairs are not decoded (no manifest path needs them);
          // each half becomes U+FFFD rather than invalid UTF-8.
          if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xc0 | cp >> 6));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          } else {
            out->push_back(static_cast<char>(0xe0 | cp >> 12));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
          }
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool number() {
    size_t start = i_;
    while (i_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos)
      i_++;
    return i_ > start;
  }
  // `depth`: how many keys of the path matched on the way here.
  bool value(size_t depth) {
    if (++nesting_ > 64) return false;
    skip_ws();
    bool ok = false;
    if (i_ >= s_.size()) {
      ok = false;
    } else if (s_[i_] == '{') {
      ok = object(depth);
    } else if (s_[i_] == '[') {
      i_++;
      ok = true;
      if (!eat(']')) {
        do {
          if (!value(SIZE_MAX)) {
            ok = false;
            break;
          }
        } while (eat(','));
        ok = ok && eat(']');
      }
    } else if (s_[i_] == '"') {
      std::string v;
      ok = string(&v);
      if (ok && depth == path_->size() && !found_->has_value()) *found_ = std::move(v);
    } else if (s_[i_] == 't') {
      ok = literal("true");
    } else if (s_[i_] == 'f') {
      ok = literal("false");
    } else if (s_[i_] == 'n') {
      ok = literal("null");
    } else {
      ok = number();
    }
    nesting_--;
    return ok;
  }
  bool object(size_t depth) {
    i_++;  // '{'
    if (eat('}')) return true;
    do {
      std::string key;
      if (!string(&key) || !eat(':')) return false;
      bool on_path = depth < path_->size() && key == (*path_)[depth];
      if (!value(on_path ? depth + 1 : SIZE_MAX)) return false;
    } while (eat(','));
    return eat('}');
  }

  std::string_view s_;
  size_t i_ = 0;
  int nesting_ = 0;
  const std::vector<std::string_view>* path_ = nullptr;
  std::optional<std::string>* found_ = nullptr;
};

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return !f.bad();
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The architecture name Mesa puts in its manifest names.
constexpr const char* host_arch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__i386__)
  return "i686";
#elif defined(__arm__)
  return "armv7l";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "";
#endif
}

void split_paths(const char* list, const char* fallback, const std::string& suffix,
                 std::vector<std::string>* out) {
  std::string s = (list && *list) ? list : fallback;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(':', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out->push_back(s.substr(start, end - start) + suffix);
    start = end + 1;
  }
}

std::optional<LavapipeLocation> from_manifest(const std::string& path, std::string* why) {
  std::string text;
  if (!read_file(path, &text)) {
    if (why) *why = "cannot read lavapipe manifest " + path;
    return std::nullopt;
  }
  std::optional<std::string> lib = manifest_library_path(text);
  if (!lib || lib->empty()) {
    if (why) *why = "no ICD.library_path in " + path;
    return std::nullopt;
  }
  LavapipeLocation loc;
  loc.library = resolve_library_path(path, *lib);
  loc.manifest = path;
  if (loc.library.find('/') != std::string::npos && access(loc.library.c_str(), R_OK) != 0) {
    if (why) *why = "lavapipe library " + loc.library + " (from " + path + ") does not exist";
    return std::nullopt;
  }
  return loc;
}

}  // namespace

std::optional<std::string> manifest_library_path(std::string_view json) {
  return JsonReader(json).find({"ICD", "library_path"});
}

std::string resolve_library_path(const std::string& manifest_path, const std::string& library) {
  if (library.empty() || library[0] == '/' || library.find('/') == std::string::npos)
    return library;
  size_t slash = manifest_path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : manifest_path.substr(0, slash);
  return dir + "/" + library;
}

std::vector<std::string> manifest_dirs() {
  std::vector<std::string> dirs;
  const std::string sub = "/vulkan/icd.d";
  split_paths(std::getenv("XDG_CONFIG_DIRS"), "/etc/xdg", sub, &dirs);
  dirs.push_back("/etc" + sub);
  if (const char* h = std::getenv("XDG_DATA_HOME"); h && *h) {
    dirs.push_back(h + sub);
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    dirs.push_back(std::string(home) + "/.local/share" + sub);
  }
  split_paths(std::getenv("XDG_DATA_DIRS"), "/usr/local/share:/usr/share", sub, &dirs);
  return dirs;
}

std::optional<LavapipeLocation> find_lavapipe_in(const std::vector<std::string>& dirs,
                                                 std::string* why) {
  // This architecture's manifest wins over another's (a multiarch system
  // has lvp_icd.i686.json beside lvp_icd.x86_64.json); the first directory
  // holding one wins, as in the loader's search order.
  const std::string own = std::string("lvp_icd.") + host_arch() + ".json";
  std::string last_why;
  for (const std::string& dir : dirs) {
    DIR* d = opendir(dir.c_str());
    if (!d) continue;
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("lvp_icd", 0) == 0 && ends_with(n, ".json")) names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
      if ((a == own) != (b == own)) return a == own;
      return a < b;
    });
    for (const std::string& n : names) {
      std::string w;
      if (auto loc = from_manifest(dir + "/" + n, &w)) return loc;
      last_why = w;
    }
  }
  if (why) {
    std::string searched;
    for (const std::string& d : dirs) searched += (searched.empty() ? "" : ", ") + d;
    *why = "lavapipe not found: no usable lvp_icd*.json in " + searched +
           (last_why.empty() ? "" : " (" + last_why + ")") +
           "; install Debian's mesa-vulkan-drivers or set " + kLavapipeEnv;
  }
  return std::nullopt;
}

std::optional<LavapipeLocation> locate_lavapipe(std::string* why) {
  if (const char* v = std::getenv(kLavapipeEnv); v && *v) {
    std::string path = v;
    if (ends_with(path, ".json")) {
      std::string w;
      auto loc = from_manifest(path, &w);
      if (!loc && why) *why = std::string(kLavapipeEnv) + "=" + path + ": " + w;
      return loc;
    }
    if (path.find('/') != std::string::npos && access(path.c_str(), R_OK) != 0) {
      if (why) *why = std::string(kLavapipeEnv) + "=" + path + ": no such library";
      return std::nullopt;
    }
    return LavapipeLocation{path, ""};
  }
  return find_lavapipe_in(manifest_dirs(), why);
}

}  // namespace wsys::vk
