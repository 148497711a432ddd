// sync_files that cross processes.
//
// The model lives in each process (in process, or in the drm-shim), so the
// fence behind a sync_file exported by one process's model does not exist in
// another's. On a kernel it is one object for every process. To keep the
// property programs rely on (a sync_file passed to another process, e.g.
// over a socket or across exec, can be polled and imported there, and the
// import signals when the exporter's fence does), the exporting model names
// its end of every sync_file (an abstract AF_UNIX address with its pid), and
// its fence's signal sends one byte carrying the status. A model in another
// process recognises such an fd by its peer's name and imports a proxy fence
// of its own that a watcher thread signals when the byte arrives.
//
// Semantics: the proxy signals with the exporter's status (0, or the
// negative errno the fence carried, clamped to 1..127). If the exporting
// side goes away (every copy of its end closed: the process exited) before
// the fence signalled, the proxy signals with -ESRCH, the status the DRM
// scheduler gives jobs of a killed entity. Only sync_files cross processes:
// a syncobj fd (HANDLE_TO_FD without EXPORT_SYNC_FILE) stays -EINVAL in
// another process, which the kernel would accept (a documented limit).
#pragma once

#include <cstddef>

#include "winsys/sim/fence.h"

namespace wsys::sim {

// Names `our_fd` (the model's end of a new sync_file) so other processes can
// recognise the exported end. Best effort: a failure only means the fd
// cannot be imported elsewhere.
void name_sync_file_end(int our_fd);

// The byte the model sends when the fence signals with `status`, and back.
char sync_file_ready_byte(int status);
int sync_file_status_of(char byte);

// True if `fd` is the exported end of a sync_file made by the model of
// another process.
bool is_foreign_sync_file(int fd);

// A fence of this process that follows the foreign sync_file `fd` (which
// stays the caller's: a duplicate is watched). Null with *err set on
// failure (-EMFILE, -ENOMEM, ...).
FencePtr import_foreign_sync_file(int fd, int* err);

// Foreign sync_files being watched now (for tests).
size_t foreign_sync_file_watches();

}  // namespace wsys::sim
