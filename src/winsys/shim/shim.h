// Internal entry points shared by the shim's interceptors.
#pragma once

#include <sys/types.h>

#include "vfs.h"

namespace wsys::shim {

// open(2) of a node: a new model file behind a fresh real fd (O_CLOEXEC
// and O_NONBLOCK honoured): the render node's on the WSYS_SIM_DRIVER
// device, or the extension device `n` names. Returns the fd, or -1 with
// errno set (ENODEV and a message on stderr for a bad WSYS_SIM_DRIVER or
// WSYS_SIM_GPU).
int open_node(const VNode& n, int flags);

// open(2) of a fake regular file (read-only): a memfd holding its contents.
int open_fake_file(const VNode& n, int flags);

// open(2) of a path resolve() found to be the shim's (any kind but Pass).
int open_resolved(const Resolved& r, int flags, mode_t mode);

// The node file behind `fd` answers fstat: true (and *st filled) if `fd` is
// an open node.
bool node_fd_stat(int fd, struct stat* st);

}  // namespace wsys::shim
