// main() for every model test program: runs the tests, then checks that no
// fence signalling section allocated, took a reclaim lock or waited during
// the whole run (the kernel's dma_fence_begin_signalling rule).
#include <gtest/gtest.h>

#include "winsys/sim/signalling.h"

namespace {
class SignallingSectionsClean : public ::testing::Environment {
 public:
  void TearDown() override {
    auto v = wsys::sim::signalling_violations();
    EXPECT_EQ(v.allocations, 0u) << "heap allocations inside fence signalling sections";
    EXPECT_EQ(v.blocking_locks, 0u) << "reclaim locks taken inside fence signalling sections";
    EXPECT_EQ(v.waits, 0u) << "fence waits inside fence signalling sections";
  }
};
}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new SignallingSectionsClean);
  return RUN_ALL_TESTS();
}
