// A user queue's submission fence waited in another process through the
// drm-shim (issue: user queues, "fences exported and waited in another
// process"). This process drives core's UserQueue on its in-process kernel
// model; shim_fence_waiter runs with LD_PRELOAD=libwsys-drm-shim.so, so its
// model is another one, in another process, reached only through the
// sync_file fd it inherits (docs/user-queues.md, src/winsys/sim/
// foreign_sync_file.h).
//
// The queue's work is gated on a word in GPU memory (the model's SYNC_WAIT):
// the waiter must see the fence pending, report so, and only when this
// process opens the gate does the work complete and the waiter's syncobj
// wait return. Its return is checked to come after the completion here.
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "winsys/kmod/wait.h"
#include "winsys/sim/cmdstream.h"
#include "winsys/sim/executor.h"
#include "wsys/device.hpp"
#include "wsys/user_queue.hpp"

extern char** environ;

namespace wsys {
namespace {

// One byte from `fd` within `ms`, or 0.
char read_report(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return 0;
  char c = 0;
  return ::read(fd, &c, 1) == 1 ? c : 0;
}

template <typename T>
void add(std::vector<uint8_t>& b, T c, uint32_t op) {
  c.hdr.opcode = op;
  c.hdr.size = sizeof(T);
  const auto* p = reinterpret_cast<const uint8_t*>(&c);
  b.insert(b.end(), p, p + sizeof(T));
}

TEST(ShimUserQueueCrossProcess, AFenceExportedHereIsWaitedInAnotherProcess) {
  const char* waiter = std::getenv("WSYS_TEST_FENCE_WAITER");
  const char* preload = std::getenv("WSYS_TEST_SHIM_PRELOAD");
  ASSERT_TRUE(waiter && preload) << "run by meson (tests/shim/meson.build)";
  sim::set_job_timeout_ms(60'000);  // the gate stays shut while the waiter starts

  DeviceOptions o;
  o.cache_from_env = false;
  std::string why;
  auto d = Device::open("sim:panthor", o, &why);
  ASSERT_TRUE(d.ok()) << why;
  std::shared_ptr<Device> dev = *d;
  auto data = dev->bo_alloc(4096, kAllocNoCache, "gate");
  ASSERT_TRUE(data.ok());
  auto m = (*data)->map();
  ASSERT_TRUE(m.ok());
  auto* words = static_cast<uint64_t*>(*m);
  words[0] = 0;  // the gate
  words[1] = 0;  // the result
  auto q = UserQueue::create(dev->vm());
  ASSERT_TRUE(q.ok()) << q.error();

  std::vector<uint8_t> cmds;
  sim::SimCmdWait64 w{};
  w.va = (*data)->gpu_va();
  w.value = 1;
  add(cmds, w, sim::kCmdWait64);
  sim::SimCmdWrite64 wr{};
  wr.va = (*data)->gpu_va() + 8;
  wr.value = 0xfeedf00d;
  add(cmds, wr, sim::kCmdWrite64);
  ASSERT_TRUE((*q)->push(cmds).ok());
  auto seq = (*q)->end_submission();
  ASSERT_TRUE(seq.ok());
  (*q)->ring();
  auto sf = (*q)->export_sync_file(*seq);
  ASSERT_TRUE(sf.ok()) << sf.error();

  int rep[2];
  ASSERT_EQ(::pipe(rep), 0);
  // The child's copies: the sync_file and the report pipe, without CLOEXEC.
  const int child_sf = ::dup(*sf), child_rep = ::dup(rep[1]);
  ASSERT_GE(child_sf, 0);
  ASSERT_GE(child_rep, 0);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; e++)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) && std::strncmp(*e, "WSYS_SIM_DRIVER=", 16))
      env_s.push_back(*e);
  env_s.push_back(std::string("LD_PRELOAD=") + preload);
  env_s.push_back("WSYS_SIM_DRIVER=panthor");
  std::vector<char*> envp;
  for (std::string& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string a1 = std::to_string(child_sf), a2 = std::to_string(child_rep);
  char* argv[] = {const_cast<char*>(waiter), a1.data(), a2.data(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, waiter, nullptr, nullptr, argv, envp.data()), 0);
  ::close(child_sf);
  ::close(child_rep);
  ::close(rep[1]);

  // 1. The waiter saw the fence pending; the work is still gated here.
  EXPECT_EQ(read_report(rep[0], 30'000), 'R');
  EXPECT_LT((*q)->completed(), *seq);
  // 2. Open the gate: the work completes, the waiter's wait returns.
  __atomic_store_n(&words[0], 1, __ATOMIC_RELEASE);
  EXPECT_EQ(read_report(rep[0], 30'000), 'S');
  EXPECT_GE((*q)->completed(), *seq);  // completion came before the signal
  EXPECT_EQ(__atomic_load_n(&words[1], __ATOMIC_ACQUIRE), 0xfeedf00du);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "waiter status " << status;
  ::close(rep[0]);
  ::close(*sf);
}

}  // namespace
}  // namespace wsys
