// Where the central allocator's state lives (a MODEL EXTENSION, issue 19;
// docs/deferred-allocation.md, "Several processes").
//
// A "system" is the set of processes that share one allocator, as the
// processes of one machine share its dma-heaps and CMA pool: one file,
// mapped MAP_SHARED by each (alloc_state.h). WSYS_SIM_SYSTEM chooses it:
//   - `private`: this process alone (anonymous memory, nothing on disk);
//   - a name ([A-Za-z0-9._-], at most 64): the file `sim-system-<name>.alloc`
//     in the runtime directory the stats segment uses ($WSYS_STATS_DIR,
//     else $XDG_RUNTIME_DIR/wsys, else /tmp/wsys-<uid>, made 0700);
//   - a value with a '/': that file.
// Unset: the process's default, `private` unless the drm-shim made it
// `default` (set_default_system): programs under the shim share one system
// per user, as programs on one machine do; a program that links the model
// keeps it to itself.
#pragma once

#include <string>

#include "winsys/sim/alloc_state.h"

namespace wsys::sim {

inline constexpr const char kSystemEnv[] = "WSYS_SIM_SYSTEM";

// The default when WSYS_SIM_SYSTEM is unset; only effective before the
// model's allocator is first used. The drm-shim calls it with "default".
void set_default_system(const char* name);

// The file of the system WSYS_SIM_SYSTEM (or the default) selects: "" for
// private; "" with *why set for a bad value (naming the variable).
std::string system_path(std::string* why);

// Maps the state of the system at `path`, making the file (and its
// directory) if needed; the first process fills it from `cfg`, later ones
// use the layout it was made with. Null with *why set when the file cannot
// be made or mapped, or was made by another version of the model.
AllocState* map_system(const std::string& path, const PhysLayoutConfig& cfg, std::string* why);

// Private state for one process (or one test's allocator).
AllocState* make_private_state(const PhysLayoutConfig& cfg);

// Releases a mapping made by either function (the file stays).
void unmap_state(AllocState* s);

}  // namespace wsys::sim
