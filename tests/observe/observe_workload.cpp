// A small core program for the observability tests: allocations, binds, a
// trim and a heap on the kernel model, each frame inside a frontend
// wsys::trace::Span, for --seconds S (default: --frames N, 50). SIGTERM ends
// the loop early and the program exits normally (so its statistics segment
// is removed the way a normal exit removes it): a test that watches it can
// keep it running as long as a slow configuration needs, then stop it.
//   observe_workload [--frames N | --seconds S] [--device SPEC]
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "wsys/device.hpp"
#include "wsys/heap.hpp"
#include "wsys/trace.hpp"
#include "wsys/vm.hpp"

using namespace wsys;

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_sigterm(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  int frames = 50;
  double seconds = 0;
  std::string spec = "sim:panthor";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--frames")) frames = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--device")) spec = argv[i + 1];
  }
  std::signal(SIGTERM, on_sigterm);
  std::string why;
  auto d = Device::open(spec, {}, &why);
  if (!d.ok()) {
    std::fprintf(stderr, "observe_workload: cannot open %s: %s\n", spec.c_str(), why.c_str());
    return 1;
  }
  std::shared_ptr<Device> dev = *d;
  auto vm = Vm::create(dev, 1ull << 32);
  HeapConfig hc;
  hc.label = "heap:tiler";
  auto heap = Heap::create(dev, hc);  // -EOPNOTSUPP where there is none: fine

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (int f = 0; !g_stop && (seconds > 0 ? elapsed() < seconds : f < frames); f++) {
    wsys::trace::Span frame("app frame");
    std::vector<BoRef> bos;
    const uint64_t size = (uint64_t{64} << 10) * (1 + f % 4);
    for (const char* label : {"vk memory", "staging"}) {
      auto b = dev->bo_alloc(size, 0, label);
      if (!b.ok()) return 1;
      bos.push_back(std::move(*b));
    }
    if (vm.ok() && !dev->info().kernel_managed_va) {
      auto va = (*vm)->alloc_va(size, 64 << 10);
      if (va.ok()) {
        BindBatch batch;
        batch.map(*bos[0], 0, va->addr, size);
        (void)(*vm)->bind(batch, BindMode::Immediate);
        (void)(*vm)->unmap_and_free(*va, std::nullopt);
      }
    }
    if (heap.ok()) (*heap)->record_frame(size * 2, 0);
    bos.clear();
    if (f % 10 == 9) dev->trim(size);
    if (seconds > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::printf("observe_workload: %s done\n", spec.c_str());
  return 0;
}
