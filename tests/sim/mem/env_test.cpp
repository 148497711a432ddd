// WSYS_SIM_FAULTS and WSYS_SIM_MEMORY_BUDGET from the environment. The
// model's devices are process-wide and read the variables once, so the
// parent re-runs this program with the variable set and a filter selecting
// one child test (which skips itself when run without it).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "mem_test_util.h"

namespace wsys::sim::memtest {
namespace {

// Runs this program's test EnvChild.`name` with the extra environment
// `vars` ("NAME=value"); its exit status, -1 if it did not exit. Everything
// is prepared before fork: the child only calls execve.
int run_child(const char* name, std::vector<std::string> vars) {
  vars.push_back("WSYS_MEM_ENV_CHILD=1");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; e++) {
    std::string cur = *e;
    bool overridden = false;  // getenv takes the first match: drop ours'
    for (auto& v : vars)
      if (cur.compare(0, v.find('=') + 1, v, 0, v.find('=') + 1) == 0) overridden = true;
    if (!overridden) env_strings.push_back(cur);
  }
  for (auto& v : vars) env_strings.push_back(v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string filter = std::string("--gtest_filter=EnvChild.") + name;
  std::string prog = "sim_mem_test";
  char* argv[] = {prog.data(), filter.data(), nullptr};
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
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

}  // namespace
}  // namespace wsys::sim::memtest
