// Finding Mesa's lavapipe, the ICD's executor, through its loader manifest.
//
// Plain C++ (no Vulkan headers): the ICD uses it to dlopen lavapipe and the
// tests use it to decide whether to skip, so both agree on "not found".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsys::vk {

// The variable that overrides the search: a manifest (.json) or the
// library itself.
inline constexpr const char kLavapipeEnv[] = "WSYS_VK_LAVAPIPE";

struct LavapipeLocation {
  std::string library;   // what to dlopen (absolute, or a bare name for the search path)
  std::string manifest;  // the manifest it came from (empty: named directly)
};

// The value of "ICD" -> "library_path" in a loader manifest, unescaped;
// nullopt when the text has none (or is not a manifest).
std::optional<std::string> manifest_library_path(std::string_view json);

// Resolves a manifest's library_path as the loader does: a path with a '/'
// is relative to the manifest's directory, a bare name is left for dlopen's
// search.
std::string resolve_library_path(const std::string& manifest_path, const std::string& library);

// The directories searched for ICD manifests: $XDG_CONFIG_DIRS (or
// /etc/xdg), /etc, $XDG_DATA_HOME (or ~/.local/share), $XDG_DATA_DIRS (or
// /usr/local/share:/usr/share), each with /vulkan/icd.d appended.
std::vector<std::string> manifest_dirs();

// Looks for lavapipe's manifest (lvp_icd*.json, this architecture's first)
// in `dirs`. nullopt with `why` set when there is none.
std::optional<LavapipeLocation> find_lavapipe_in(const std::vector<std::string>& dirs,
                                                 std::string* why);

// $WSYS_VK_LAVAPIPE when set (a .json manifest, else a library path), else
// find_lavapipe_in(manifest_dirs()). The library must exist when given as a
// path. nullopt with `why` naming what was tried.
std::optional<LavapipeLocation> locate_lavapipe(std::string* why);

}  // namespace wsys::vk
