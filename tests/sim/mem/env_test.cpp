// WSYS_SIM_FAULTS and WSYS_SIM_MEMORY_BUDGET from the environment. The
// model's devices are process-wide and read the variables once, so the
// parent re-runs this program with the variable set and a filter selecting
// one child test (which skips itself when run without it).
#include <cstdlib>
#include <string>
#include <vector>

#include "../../common/run_self.h"
#include "mem_test_util.h"

namespace wsys::sim::memtest {
namespace {

// Runs this program's test EnvChild.`name` with the extra environment
// `vars` ("NAME=value"); its exit status, -1 if it did not exit.
int run_child(const char* name, std::vector<std::string> vars) {
  vars.push_back("WSYS_MEM_ENV_CHILD=1");
  return wsys::test::run_self("sim_mem_test", {std::string("--gtest_filter=EnvChild.") + name},
                              {vars, {}});
}

bool in_child() { return std::getenv("WSYS_MEM_ENV_CHILD") != nullptr; }

TEST(EnvChild, BadFaultsRefuseToOpen) {
  if (!in_child()) GTEST_SKIP() << "run by Env.*";
  std::string why;
  auto f = SimDrmFile::open("panfrost", &why);
  EXPECT_FALSE(f.ok());
  EXPECT_NE(why.find("WSYS_SIM_FAULTS"), std::string::npos) << why;
}

TEST(EnvChild, BadBudgetRefusesToOpen) {
  if (!in_child()) GTEST_SKIP() << "run by Env.*";
  std::string why;
  auto f = SimDrmFile::open("panthor", &why);
  EXPECT_FALSE(f.ok());
  EXPECT_NE(why.find("WSYS_SIM_MEMORY_BUDGET"), std::string::npos) << why;
}

TEST(EnvChild, FaultsAndBudgetApply) {
  if (!in_child()) GTEST_SKIP() << "run by Env.*";
  auto f = open_model_file("panfrost");
  ASSERT_TRUE(f);
  EXPECT_EQ(panfrost_device(*f)->shrinker().budget(), 3 * kMiB);
  uint32_t h = 0;
  EXPECT_EQ(pf_create(*f, 4 * kMiB, &h), -ENOMEM) << "over the 3 MiB budget";
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h), -ENOMEM) << "bo_alloc:nth=2 from the environment";
  EXPECT_EQ(pf_create(*f, 64 * kKiB, &h), 0);
}

TEST(Env, BadWsysSimFaultsNamesTheVariable) {
  EXPECT_EQ(run_child("BadFaultsRefuseToOpen", {"WSYS_SIM_FAULTS=bo_alloc:nth=zero"}), 0);
}

TEST(Env, BadWsysSimMemoryBudgetNamesTheVariable) {
  EXPECT_EQ(run_child("BadBudgetRefusesToOpen", {"WSYS_SIM_MEMORY_BUDGET=3X"}), 0);
}

TEST(Env, RulesAndBudgetFromTheEnvironmentApply) {
  EXPECT_EQ(run_child("FaultsAndBudgetApply",
                      {"WSYS_SIM_MEMORY_BUDGET=3M", "WSYS_SIM_FAULTS=bo_alloc:nth=2"}),
            0);
}

// The panthor shrinker under WSYS_SIM_MEMORY_BUDGET: four 2 MiB objects
// fill the 8 MiB budget, a 4 MiB one makes it swap two of them out, and
// every object's checksum is intact when read back (restored on access).
TEST(EnvChild, PanthorReclaimsUnderTheBudgetFromTheEnvironment) {
  if (!in_child()) GTEST_SKIP() << "run by Env.*";
  auto f = open_model_file("panthor");
  ASSERT_TRUE(f);
  SimDevice* dev = f->file().device();
  ASSERT_EQ(dev->shrinker().budget(), 8 * kMiB);
  ASSERT_NE(dev->shrinker().reclaimer(), nullptr);
  auto create = [&](uint64_t size, uint32_t* h) {
    drm_panthor_bo_create c{};
    c.size = size;
    int r = f->ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c);
    *h = c.handle;
    return r;
  };
  auto map = [&](uint32_t h, uint64_t size) -> uint8_t* {
    drm_panthor_bo_mmap_offset m{};
    m.handle = h;
    if (f->ioctl(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, &m)) return nullptr;
    auto p = f->mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, m.offset);
    return p.ok() ? static_cast<uint8_t*>(*p) : nullptr;
  };
  uint32_t h[4];
  uint64_t sum[4];
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(create(2 * kMiB, &h[i]), 0);
    uint8_t* p = map(h[i], 2 * kMiB);
    ASSERT_TRUE(p);
    fill(p, 2 * kMiB, 40 + i);
    sum[i] = checksum(p, 2 * kMiB);
    munmap(p, 2 * kMiB);
  }
  uint32_t big = 0;
  ASSERT_EQ(create(4 * kMiB, &big), 0) << "the budget is full: reclaim must make room";
  EXPECT_EQ(dev->shrinker().reclaimer()->stats().reclaims, 2u);
  EXPECT_EQ(sim_device_usage(*dev).swapped, 4 * kMiB);
  for (int i = 0; i < 4; i++) {
    uint8_t* p = map(h[i], 2 * kMiB);
    ASSERT_TRUE(p);
    EXPECT_EQ(checksum(p, 2 * kMiB), sum[i]) << i;
    munmap(p, 2 * kMiB);
  }
  EXPECT_EQ(sim_device_usage(*dev).swapped, 0u);
}

TEST(Env, PanthorReclaimUnderAnEnvironmentBudget) {
  EXPECT_EQ(run_child("PanthorReclaimsUnderTheBudgetFromTheEnvironment",
                      {"WSYS_SIM_MEMORY_BUDGET=8M"}),
            0);
}

}  // namespace
}  // namespace wsys::sim::memtest
