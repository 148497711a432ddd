// vulkaninfo (Debian's vulkan-tools) through the loader with only the wsys
// ICD: it lists one device, named as wsys on lavapipe, with the extensions
// wsys adds and without the ones it hides, and a heap with a budget.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

extern "C" char** environ;

// Runs vulkaninfo with `arg` (or none), stdout captured, stderr dropped.
// Not through popen: the shell would be the first program to get
// WSYS_TEST_PRELOAD (the sanitizer runtime, which vulkaninfo needs to load
// the instrumented ICD) and a ThreadSanitizer runtime crashes sh.
std::string run(const char* arg) {
  std::vector<std::string> env_s;
  for (char** e = environ; *e; e++)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0) env_s.push_back(*e);
  if (const char* pre = std::getenv("WSYS_TEST_PRELOAD"); pre && *pre)
    env_s.push_back(std::string("LD_PRELOAD=") + pre);
  std::vector<char*> envp;
  for (std::string& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string prog = WSYS_VULKANINFO;
  std::string a = arg ? arg : "";
  char* argv[] = {prog.data(), arg ? a.data() : nullptr, nullptr};

  std::string out;
  int fds[2];
  if (pipe(fds) != 0) return out;
  pid_t pid = fork();
  if (pid < 0) return out;
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(fds[1], 1);
    if (devnull >= 0) dup2(devnull, 2);
    close(fds[0]);
    execve(prog.c_str(), argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (status != 0) out += "\n(vulkaninfo wait status " + std::to_string(status) + ")";
  return out;
}

// The lines between `header` and the next blank line.
std::string section(const std::string& text, const std::string& header) {
  size_t s = text.find(header);
  if (s == std::string::npos) return {};
  size_t e = text.find("\n\n", s);
  return text.substr(s, e == std::string::npos ? std::string::npos : e - s);
}

TEST(Vulkaninfo, SummaryListsTheWsysDeviceOnly) {
  std::string out = run("--summary");
  ASSERT_NE(out.find("Devices:"), std::string::npos) << out;
  EXPECT_NE(out.find("GPU0:"), std::string::npos) << out;
  EXPECT_EQ(out.find("GPU1:"), std::string::npos) << "only the wsys ICD is in VK_DRIVER_FILES\n" << out;
  size_t at = out.find("deviceName         = ");
  ASSERT_NE(at, std::string::npos) << out;
  std::string line = out.substr(at, out.find('\n', at) - at);
  EXPECT_NE(line.find("= wsys ("), std::string::npos) << line;
  EXPECT_NE(line.find(") on lavapipe"), std::string::npos) << line;
  EXPECT_NE(out.find("DRIVER_ID_MESA_LLVMPIPE"), std::string::npos) << "lavapipe executes";
}

TEST(Vulkaninfo, FullReportShowsWhatWsysAddsAndHides) {
  std::string out = run(nullptr);
  std::string ext = section(out, "\nDevice Extensions:");  // not "Layer-Device Extensions:"
  ASSERT_FALSE(ext.empty()) << out.substr(0, 2000);
  EXPECT_NE(ext.find("VK_EXT_memory_budget "), std::string::npos) << ext;
  EXPECT_NE(ext.find("VK_KHR_external_memory_fd "), std::string::npos) << ext;
  // wsys's own host-pointer import (the model's HOST_IMPORT extension).
  EXPECT_NE(ext.find("VK_EXT_external_memory_host "), std::string::npos) << ext;
  std::string heaps = section(out, "\nmemoryHeaps: count = 1");
  ASSERT_FALSE(heaps.empty()) << out.substr(0, 2000);
  // vulkaninfo prints budget and usage only for VK_EXT_memory_budget.
  EXPECT_NE(heaps.find("budget ="), std::string::npos) << heaps;
  EXPECT_NE(heaps.find("usage  ="), std::string::npos) << heaps;
}

// The sparse features wsys adds on the panthor model (lavapipe has none):
// the feature table, the queue family's flag and the address space.
TEST(Vulkaninfo, FullReportShowsTheSparseFeaturesWsysAdds) {
  std::string out = run(nullptr);
  std::string features = section(out, "\nVkPhysicalDeviceFeatures:");
  ASSERT_FALSE(features.empty()) << out.substr(0, 2000);
  auto value = [&](const std::string& name) {
    size_t at = features.find("\n\t" + name + " ");
    if (at == std::string::npos) return std::string("(missing)");
    size_t eq = features.find("= ", at);
    return features.substr(eq + 2, features.find('\n', eq) - eq - 2);
  };
  EXPECT_EQ(value("sparseBinding"), "true") << features;
  EXPECT_EQ(value("sparseResidencyBuffer"), "true") << features;
  EXPECT_EQ(value("sparseResidencyAliased"), "true") << features;
  EXPECT_EQ(value("sparseResidencyImage2D"), "false") << "no sparse images\n" << features;
  EXPECT_NE(out.find("QUEUE_SPARSE_BINDING"), std::string::npos) << out.substr(0, 4000);
  size_t at = out.find("sparseAddressSpaceSize");
  ASSERT_NE(at, std::string::npos);
  std::string line = out.substr(at, out.find('\n', at) - at);
  EXPECT_EQ(line.find("= 0x0"), std::string::npos) << line;
  EXPECT_EQ(line.find("= 0\n"), std::string::npos) << line;
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) { return wsys::vktest::test_main(argc, argv); }
