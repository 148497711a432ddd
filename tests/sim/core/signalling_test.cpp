// The signalling-section checker must see what it claims to see.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <thread>

#include "winsys/sim/fence.h"
#include "winsys/sim/signalling.h"

using namespace wsys::sim;

namespace {
// Each test starts from zero and must leave zero behind (the program's
// environment checks the totals at exit).
class Signalling : public ::testing::Test {
 protected:
  void SetUp() override { reset_signalling_violations(); }
  void TearDown() override { reset_signalling_violations(); }
};
}  // namespace

TEST_F(Signalling, AllocationInsideASectionIsCounted) {
  if (getenv("WSYS_SIM_SIGNALLING_ABORT")) GTEST_SKIP() << "abort mode set";
  {
    SignallingSection s;
    EXPECT_TRUE(in_signalling_section());
    auto p = std::make_unique<int>(5);  // a violation, on purpose
    EXPECT_EQ(*p, 5);
  }
  EXPECT_FALSE(in_signalling_section());
  EXPECT_GE(signalling_violations().allocations, 1u);
}

TEST_F(Signalling, AllocationOutsideIsNotCounted) {
  auto p = std::make_unique<int[]>(1000);
  p[0] = 1;
  EXPECT_EQ(signalling_violations().total(), 0u);
}

TEST_F(Signalling, SignallingAFenceInsideIsClean) {
  auto f = std::make_shared<Fence>();
  uint64_t before = signalling_sections_entered();
  {
    SignallingSection s;
    f->signal(0);
  }
  EXPECT_TRUE(f->is_signalled());
  EXPECT_EQ(signalling_sections_entered(), before + 1);
  EXPECT_EQ(signalling_violations().total(), 0u);
}

TEST_F(Signalling, WaitingAndReclaimLocksInsideAreCounted) {
  if (getenv("WSYS_SIM_SIGNALLING_ABORT")) GTEST_SKIP() << "abort mode set";
  auto f = std::make_shared<Fence>();
  ReclaimMutex m;
  {
    SignallingSection s;
    std::lock_guard<ReclaimMutex> g(m);
    EXPECT_FALSE(f->wait(monotonic_ns()));  // expired deadline: no block
  }
  auto v = signalling_violations();
  EXPECT_EQ(v.blocking_locks, 1u);
  EXPECT_EQ(v.waits, 1u);
}

TEST(Fence, WaitWakesOnSignalFromAnotherThread) {
  auto f = std::make_shared<Fence>();
  std::thread t([f] { f->signal(-EIO); });
  EXPECT_TRUE(f->wait());
  t.join();
  EXPECT_EQ(f->status(), -EIO);
  f->signal(0);  // a second signal does not change the status
  EXPECT_EQ(f->status(), -EIO);
}

TEST(Fence, AbsoluteDeadlineExpires) {
  auto f = std::make_shared<Fence>();
  int64_t start = monotonic_ns();
  EXPECT_FALSE(f->wait(start + 2'000'000));
  EXPECT_GE(monotonic_ns(), start + 2'000'000);
}
