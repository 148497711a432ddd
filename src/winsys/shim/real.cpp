#include "real.h"

#include <dlfcn.h>

namespace wsys::shim {

namespace {
// initial-exec: the shim is loaded at start (LD_PRELOAD), so its TLS is in
// the static block and reading it never allocates.
__attribute__((tls_model("initial-exec"))) thread_local bool t_resolving = false;
}  // namespace

void* next_symbol(const char* name) {
  if (t_resolving) return nullptr;
  ErrnoKeeper keep;  // a successful lookup must not leave dlerror's errno
  t_resolving = true;
  void* p = dlsym(RTLD_NEXT, name);
  t_resolving = false;
  return p;
}

}  // namespace wsys::shim
