// The process's one maintenance thread (src/winsys/core/maintenance.h) on
// the kernel model: it serves every Device (their caches decay on their own
// schedules), a process whose Devices cache nothing has none, Devices come
// and go while it runs passes on them, and a fork()ed child gets its own.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../common/run_self.h"
#include "winsys/core/maintenance.h"
#include "wsys/device.hpp"

namespace wsys {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::shared_ptr<Device> open_model(const std::string& driver, uint64_t half_life_ns) {
  DeviceOptions opt;
  opt.cache_from_env = false;
  opt.cache.decay_half_life_ns = half_life_ns;
  std::string why;
  auto d = Device::open("sim:" + driver, opt, &why);
  EXPECT_TRUE(d.ok()) << why;
  return d.ok() ? *d : nullptr;
}

int thread_count() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

void cache_some(Device& dev, int n) {
  std::vector<BoRef> v;
  for (int i = 0; i < n; ++i) {
    auto bo = dev.bo_alloc(64 << 10, 0);
    ASSERT_TRUE(bo.ok()) << bo.error();
    v.push_back(std::move(*bo));
  }
}

// Polls until every device's cache is empty or the deadline (a generous
// one: sanitizer builds on a loaded machine) passes.
bool all_decayed(const std::vector<std::shared_ptr<Device>>& devs, int seconds) {
  const auto end = steady_clock::now() + std::chrono::seconds(seconds);
  while (steady_clock::now() < end) {
    bool empty = true;
    for (const auto& d : devs) empty = empty && d->stats().cache.bytes_cached == 0;
    if (empty) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return false;
}

const char* g_argv0 = nullptr;

TEST(Maintenance, OneThreadDecaysTheCachesOfEveryDevice) {
  std::vector<std::shared_ptr<Device>> devs;
  devs.push_back(open_model("panthor", 20'000'000));
  ASSERT_TRUE(devs.back());
  cache_some(*devs.back(), 4);
  EXPECT_TRUE(core::maintenance_thread_running());
  // Counted once the thread exists (a sanitizer's own background thread
  // starts with the process's first thread).
  const int with_one = thread_count();
  for (int i = 1; i < 8; ++i) {
    devs.push_back(open_model(i % 2 ? "panfrost" : "panthor", 20'000'000 + i * 5'000'000ull));
    ASSERT_TRUE(devs.back());
    cache_some(*devs.back(), 4);
    EXPECT_GT(devs.back()->stats().cache.bytes_cached, 0u);
  }
  EXPECT_EQ(thread_count(), with_one) << "no thread more for seven more Devices";
  EXPECT_TRUE(all_decayed(devs, 60)) << "every Device's idle cache decays to nothing";
}

// The body of the next case, in a process of its own (this one's thread
// is already running): exit status 0 when it holds.
int fresh_process_case() {
  auto d = open_model("panthor", 20'000'000);
  if (!d || core::maintenance_thread_running()) return 1;
  {
    auto bo = d->bo_alloc(64 << 10, kAllocNoCache);
    if (!bo.ok()) return 2;
  }
  if (core::maintenance_thread_running()) return 3;  // nothing was cached
  cache_some(*d, 1);
  if (!core::maintenance_thread_running()) return 4;  // the first put starts it
  return all_decayed({d}, 60) ? 0 : 5;
}

TEST(Maintenance, AProcessWhoseDevicesCacheNothingHasNoThread) {
  EXPECT_EQ(test::run_self(g_argv0, {"--fresh-process"}, {}), 0);
}

TEST(Maintenance, DevicesComeAndGoWhileItRunsPassesOnThem) {
  // A half-life of 0 leaves nothing to decay, so use the floor (10 ms
  // periods): passes run all the time while Devices are destroyed, each
  // with a cache to drain. ASan/TSan builds check the hand-over.
  const uint64_t passes = core::maintenance_passes();
  for (int i = 0; i < 60; ++i) {
    auto a = open_model(i % 2 ? "panfrost" : "panthor", 1'000'000);
    auto b = open_model("panthor", 1'000'000);
    ASSERT_TRUE(a && b);
    cache_some(*a, 3);
    cache_some(*b, 2);
    if (i % 3 == 0) std::this_thread::sleep_for(milliseconds(2));
  }
  EXPECT_GT(core::maintenance_passes(), passes) << "passes ran meanwhile";
}

// fork() without exec: the child has no thread (the parent's did not come
// along) and its first wake starts one that runs its clients' passes. A
// client without a Device: the model is not made for use after a fork of a
// multi-threaded process (a lock one of its threads held stays held).
TEST(Maintenance, AForkedChildStartsItsOwnThread) {
#ifdef WSYS_SANITIZE_THREAD
  GTEST_SKIP() << "ThreadSanitizer stops a child of a multi-threaded fork that starts a thread";
#else
  auto parent = open_model("panthor", 20'000'000);
  ASSERT_TRUE(parent);
  cache_some(*parent, 2);
  ASSERT_TRUE(core::maintenance_thread_running());
  pid_t pid = fork();
  if (pid == 0) {
    if (core::maintenance_thread_running()) _exit(1);
    core::MaintenanceClient c;
    std::atomic<int> runs{0};
    c.run = [&]() -> std::chrono::nanoseconds {
      return ++runs < 3 ? std::chrono::nanoseconds(1'000'000) : std::chrono::nanoseconds(0);
    };
    c.idle.store(true);
    core::maintenance_add(&c);
    core::maintenance_wake(&c);
    const auto end = steady_clock::now() + std::chrono::seconds(30);
    while (runs.load() < 3 && steady_clock::now() < end)
      std::this_thread::sleep_for(milliseconds(1));
    core::maintenance_remove(&c);
    _exit(runs.load() == 3 && core::maintenance_thread_running() ? 0 : 2);
  }
  int st = 0;
  ASSERT_EQ(waitpid(pid, &st, 0), pid);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "child status " << st;
  EXPECT_TRUE(all_decayed({parent}, 60)) << "the parent's thread goes on";
#endif
}

}  // namespace
}  // namespace wsys

int main(int argc, char** argv) {
  wsys::g_argv0 = argv[0];
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--fresh-process") return wsys::fresh_process_case();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
