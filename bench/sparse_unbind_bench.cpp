// Unbinding sparse memory: the kernel's MAP_SPARSE (panthor 1.9: one op for a
// whole range) against the fallback of older kernels (one shared dummy BO
// mapped over unbound ranges, one op per 2 MiB chunk), in the same run.
//
// The model is one device per process, and its driver version is fixed when
// it opens, so the program runs itself twice as a child: once as panthor 1.9
// and once as panthor 1.8 (WSYS_SIM_DRIVER_VERSION); each child creates a
// 1 GiB ZeroReadOnly sparse buffer, binds every block to memory, then unbinds
// the whole range, and reports the VM_BIND ioctls and ops of the unbind and
// its time. Metrics:
//   sparse_unbind_ioctls_per_gib         MAP_SPARSE (panthor 1.9)
//   sparse_unbind_ioctls_per_gib_dummy   the dummy fallback (panthor 1.8)
//   sparse_unbind_ops_per_gib[_dummy]    bind ops after coalescing
//   sparse_unbind_ms_per_gib[_dummy]     wall time of the unbind
//   sparse_unbind_dummy_over_map_sparse_ops   ops ratio (how many times more
//                                             work the fallback hands the kernel)
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "metrics.h"
#include "wsys/device.hpp"
#include "wsys/sparse.hpp"
#include "wsys/vm.hpp"

namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kBlock = 64 << 10;
constexpr uint64_t kBoBytes = 2 << 20;

struct ChildResult {
  uint64_t ioctls = 0, ops = 0;
  double ms = 0;
  int kernel_sparse = -1;
};

double now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

int child() {
  wsys::DeviceOptions opt;
  opt.cache_from_env = false;
  opt.maintenance_thread = false;
  std::string why;
  auto d = wsys::Device::open("sim:panthor", opt, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "sparse_unbind_bench: %s\n", why.c_str());
    return 1;
  }
  auto sp = wsys::SparseBuffer::create(*d, kGiB, wsys::SparseUnbound::ZeroReadOnly);
  auto bo = (*d)->bo_alloc(kBoBytes, 0);
  if (!sp.ok() || !bo.ok()) return 1;
  const uint64_t per_bo = kBoBytes / kBlock;
  for (uint64_t b = 0; b < (*sp)->block_count(); b += per_bo)
    if (!(*sp)->bind(b, per_bo, **bo, 0).ok()) return 1;
  if (!(*sp)->submit(wsys::BindMode::Immediate).ok()) return 1;
  const wsys::VmStats before = (*d)->vm().stats();
  const double t0 = now_ms();
  if (!(*sp)->unbind(0, (*sp)->block_count()).ok()) return 1;
  if (!(*sp)->submit(wsys::BindMode::Immediate).ok()) return 1;
  const double ms = now_ms() - t0;
  const wsys::VmStats after = (*d)->vm().stats();
  std::printf("%llu %llu %.6f %d\n",
              static_cast<unsigned long long>(after.bind_calls - before.bind_calls),
              static_cast<unsigned long long>(after.ops_submitted - before.ops_submitted), ms,
              (*sp)->kernel_sparse() ? 1 : 0);
  return 0;
}

bool run_child(const char* self, const char* version, ChildResult* r) {
  int p[2];
  if (pipe(p) != 0) return false;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    setenv("WSYS_SIM_DRIVER_VERSION", version, 1);
    execl(self, self, "--child", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(p[1]);
  char buf[256] = {};
  size_t n = 0;
  ssize_t k;
  while (n < sizeof buf - 1 && (k = read(p[0], buf + n, sizeof buf - 1 - n)) > 0) n += static_cast<size_t>(k);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
  unsigned long long ioctls = 0, ops = 0;
  return std::sscanf(buf, "%llu %llu %lf %d", &ioctls, &ops, &r->ms, &r->kernel_sparse) == 4 &&
         (r->ioctls = ioctls, r->ops = ops, true);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && !std::strcmp(argv[1], "--child")) return child();
  ChildResult sparse, dummy;
  if (!run_child("/proc/self/exe", "panthor=1.9", &sparse) ||
      !run_child("/proc/self/exe", "panthor=1.8", &dummy)) {
    std::fprintf(stderr, "sparse_unbind_bench: a child run failed\n");
    return 1;
  }
  if (sparse.kernel_sparse != 1 || dummy.kernel_sparse != 0) {
    std::fprintf(stderr, "sparse_unbind_bench: expected MAP_SPARSE on 1.9 and the dummy on 1.8\n");
    return 1;
  }
  using wsys::bench::record_metric;
  record_metric("sparse_unbind_ioctls_per_gib", static_cast<double>(sparse.ioctls), "ioctls");
  record_metric("sparse_unbind_ioctls_per_gib_dummy", static_cast<double>(dummy.ioctls), "ioctls");
  record_metric("sparse_unbind_ops_per_gib", static_cast<double>(sparse.ops), "ops");
  record_metric("sparse_unbind_ops_per_gib_dummy", static_cast<double>(dummy.ops), "ops");
  record_metric("sparse_unbind_ms_per_gib", sparse.ms, "ms");
  record_metric("sparse_unbind_ms_per_gib_dummy", dummy.ms, "ms");
  record_metric("sparse_unbind_dummy_over_map_sparse_ops",
                static_cast<double>(dummy.ops) / static_cast<double>(sparse.ops ? sparse.ops : 1),
                "x");
  wsys::bench::print_metrics();
  return 0;
}
