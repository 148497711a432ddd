// The ICD as a library: finding lavapipe (manifest parsing, search order,
// the override variable), what the shared library exports, negotiation,
// and what a missing executor or a bad WSYS_DEVICE does to an application
// (in a child process each, since both are decided once per process).
#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <vulkan/vk_icd.h>
#include <vulkan/vulkan.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "vulkan/lavapipe_locate.h"

namespace wsys::vk {
namespace {

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/wsys-vk-icd-XXXXXX";
    path_ = mkdtemp(t) ? t : "";
  }
  ~TempDir() {
    if (!path_.empty()) (void)!std::system(("rm -rf '" + path_ + "'").c_str());
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& rel, const std::string& text) const {
    std::string p = path_ + "/" + rel;
    size_t slash = p.rfind('/');
    (void)!std::system(("mkdir -p '" + p.substr(0, slash) + "'").c_str());
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

std::string manifest(const std::string& lib) {
  return "{\n \"file_format_version\": \"1.0.0\",\n \"ICD\": {\"api_version\": \"1.3.0\", "
         "\"library_path\": \"" + lib + "\"}\n}\n";
}

TEST(LavapipeManifest, ReadsTheLibraryPath) {
  EXPECT_EQ(manifest_library_path(manifest("/usr/lib/libvulkan_lvp.so")).value_or("?"),
            "/usr/lib/libvulkan_lvp.so");
  // Escapes, unicode, key order, nested noise.
  EXPECT_EQ(manifest_library_path(R"({"x":[1,{"library_path":"no"}],"ICD":{"is_portability_driver":false,)"
                                  R"("library_path":"a\/b\\c\u00e9.so"}})")
                .value_or("?"),
            "a/b\\c\xc3\xa9.so");
}

TEST(LavapipeManifest, RejectsWhatIsNotAManifest) {
  EXPECT_FALSE(manifest_library_path(R"({"library_path":"top-level.so"})"));
  EXPECT_FALSE(manifest_library_path(R"({"ICD":{"library_path":"cut.so")"));
  EXPECT_FALSE(manifest_library_path(R"({"ICD":{"library_path":"x.so"}} trailing)"));
  EXPECT_FALSE(manifest_library_path(""));
  EXPECT_FALSE(manifest_library_path(R"({"ICD":{"library_path":12}})"));
  EXPECT_FALSE(manifest_library_path(std::string(200, '[')));
}

TEST(LavapipeManifest, ResolvesPathsAsTheLoaderDoes) {
  EXPECT_EQ(resolve_library_path("/a/b/m.json", "libx.so"), "libx.so");  // dlopen's search
  EXPECT_EQ(resolve_library_path("/a/b/m.json", "/abs/libx.so"), "/abs/libx.so");
  EXPECT_EQ(resolve_library_path("/a/b/m.json", "../lib/libx.so"), "/a/b/../lib/libx.so");
}

TEST(LavapipeSearch, PrefersThisArchitectureAndSkipsBrokenManifests) {
  TempDir t;
  ASSERT_FALSE(t.path().empty());
  std::string lib = t.write("lib/libvulkan_lvp.so", "not really");
  std::string missing = t.path() + "/lib/none.so";
  t.write("d1/lvp_icd.x86_64.json", manifest(missing));  // library missing: skipped
  t.write("d1/lvp_icd.broken.json", "{");
#if defined(__x86_64__)
  t.write("d2/lvp_icd.i686.json", manifest(missing));
  t.write("d2/lvp_icd.x86_64.json", manifest(lib));
#else
  t.write("d2/lvp_icd.json", manifest(lib));
#endif
  t.write("d2/radeon_icd.x86_64.json", manifest(lib));
  std::string why;
  auto loc = find_lavapipe_in({t.path() + "/nope", t.path() + "/d1", t.path() + "/d2"}, &why);
  ASSERT_TRUE(loc) << why;
  EXPECT_EQ(loc->library, lib);
  EXPECT_EQ(loc->manifest.substr(0, t.path().size() + 3), t.path() + "/d2");

  loc = find_lavapipe_in({t.path() + "/d1"}, &why);
  EXPECT_FALSE(loc);
  EXPECT_NE(why.find(kLavapipeEnv), std::string::npos) << why;
  EXPECT_NE(why.find("mesa-vulkan-drivers"), std::string::npos) << why;
}

TEST(LavapipeSearch, TheVariableOverridesTheSearch) {
  TempDir t;
  std::string lib = t.write("libl.so", "x");
  std::string m = t.write("m.json", manifest("libl.so"));  // bare name: left to dlopen
  std::string why;
  setenv(kLavapipeEnv, m.c_str(), 1);
  auto loc = locate_lavapipe(&why);
  ASSERT_TRUE(loc) << why;
  EXPECT_EQ(loc->library, "libl.so");
  EXPECT_EQ(loc->manifest, m);

  setenv(kLavapipeEnv, lib.c_str(), 1);
  loc = locate_lavapipe(&why);
  ASSERT_TRUE(loc) << why;
  EXPECT_EQ(loc->library, lib);

  setenv(kLavapipeEnv, (t.path() + "/absent.json").c_str(), 1);
  EXPECT_FALSE(locate_lavapipe(&why));
  EXPECT_NE(why.find(kLavapipeEnv), std::string::npos) << why;
  setenv(kLavapipeEnv, (t.path() + "/absent.so").c_str(), 1);
  EXPECT_FALSE(locate_lavapipe(&why));
  unsetenv(kLavapipeEnv);
}

bool lavapipe_present() {
  std::string why;
  return locate_lavapipe(&why).has_value();
}

TEST(IcdLibrary, ExportsTheLoaderInterfaceOnly) {
  void* h = dlopen(WSYS_VK_ICD_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  for (const char* s : {"vk_icdNegotiateLoaderICDInterfaceVersion", "vk_icdGetInstanceProcAddr",
                        "vk_icdGetPhysicalDeviceProcAddr"}) {
    void* p = dlsym(h, s);
    ASSERT_NE(p, nullptr) << s;
    Dl_info di{};
    ASSERT_NE(dladdr(p, &di), 0);
    EXPECT_NE(std::strstr(di.dli_fname, "libwsys_vk.so"), nullptr) << s << " from " << di.dli_fname;
  }
  // The model's allocator hooks, the winsys and the C++ runtime stay
  // inside: whatever dlsym finds for these comes from elsewhere.
  for (const char* s : {"_Znwm", "_ZdlPv", "_ZdlPvm", "malloc", "vkGetInstanceProcAddr",
                        "vkCreateInstance", "wsys_device_open"}) {
    void* p = dlsym(h, s);
    if (!p) continue;
    Dl_info di{};
    ASSERT_NE(dladdr(p, &di), 0);
    EXPECT_EQ(std::strstr(di.dli_fname, "libwsys_vk.so"), nullptr) << s << " exported by the ICD";
  }
  if (!lavapipe_present()) {
    dlclose(h);
    GTEST_SKIP() << "lavapipe not found: negotiation not tried";
  }
  auto negotiate = reinterpret_cast<PFN_vk_icdNegotiateLoaderICDInterfaceVersion>(
      dlsym(h, "vk_icdNegotiateLoaderICDInterfaceVersion"));
  uint32_t v = 7;
  EXPECT_EQ(negotiate(&v), VK_SUCCESS);
  EXPECT_GE(v, 4u) << "physical-device proc addresses need version 4";
  EXPECT_LE(v, 7u);
  auto gipa = reinterpret_cast<PFN_vk_icdGetInstanceProcAddr>(dlsym(h, "vk_icdGetInstanceProcAddr"));
  EXPECT_NE(gipa(VK_NULL_HANDLE, "vkCreateInstance"), nullptr);
  EXPECT_NE(gipa(VK_NULL_HANDLE, "vkEnumerateInstanceExtensionProperties"), nullptr);
  EXPECT_EQ(gipa(VK_NULL_HANDLE, "vkNoSuchCommand"), nullptr);
  dlclose(h);  // linked -z nodelete: stays loaded
}

// --- child processes, each with its own environment ---

int child_main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string mode = argv[2];
  if (mode == "locate") {  // for scripts (the gl suite): where lavapipe is, or skip
    std::string why;
    auto loc = locate_lavapipe(&why);
    std::printf("%s\n", loc ? loc->library.c_str() : why.c_str());
    return loc ? 0 : 77;
  }
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{};
  ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  ci.pApplicationInfo = &app;
  VkInstance inst = VK_NULL_HANDLE;
  VkResult r = vkCreateInstance(&ci, nullptr, &inst);
  uint32_t n = 0;
  if (r == VK_SUCCESS) {
    vkEnumeratePhysicalDevices(inst, &n, nullptr);
    vkDestroyInstance(inst, nullptr);
  }
  std::printf("child %s: vkCreateInstance %d, %u devices\n", mode.c_str(), r, n);
  if (mode == "no-lavapipe") return (r != VK_SUCCESS || n == 0) ? 0 : 1;
  if (mode == "bad-device") return (r == VK_SUCCESS && n == 0) ? 0 : 1;
  if (mode == "good") return (r == VK_SUCCESS && n == 1) ? 0 : 1;
  return 2;
}

// Runs this program's child mode with `extra` added to the environment;
// returns its exit status and what it wrote to stderr.
int run_child(const char* mode, const std::vector<std::string>& extra, std::string* err) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = '\0';
  std::vector<std::string> env_s;
  for (char** e = environ; *e; e++) {
    bool replaced = false;
    for (const std::string& x : extra)
      replaced = replaced || std::strncmp(*e, x.c_str(), x.find('=') + 1) == 0;
    if (!replaced) env_s.push_back(*e);
  }
  for (const std::string& x : extra) env_s.push_back(x);
  std::vector<char*> envp;
  for (std::string& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string m = mode;
  char arg_child[] = "--child";
  char* argv[] = {self, arg_child, m.data(), nullptr};
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    execve(self, argv, envp.data());
    _exit(127);
  }
  close(pipefd[1]);
  char buf[4096];
  ssize_t k;
  while ((k = read(pipefd[0], buf, sizeof buf)) > 0) err->append(buf, static_cast<size_t>(k));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

TEST(IcdInProcess, MissingLavapipeMeansNoDriverAndSaysWhy) {
  std::string err;
  EXPECT_EQ(run_child("no-lavapipe", {std::string(kLavapipeEnv) + "=/nonexistent/lvp.json"}, &err),
            0)
      << err;
  EXPECT_NE(err.find("wsys-vk: "), std::string::npos) << err;
  EXPECT_NE(err.find(kLavapipeEnv), std::string::npos) << err;
}

TEST(IcdInProcess, ABadWsysDeviceMeansNoPhysicalDeviceAndSaysWhy) {
  if (!lavapipe_present()) GTEST_SKIP() << "lavapipe not found";
  std::string err;
  EXPECT_EQ(run_child("bad-device", {"WSYS_DEVICE=sim:nonsense"}, &err), 0) << err;
  EXPECT_NE(err.find("WSYS_DEVICE"), std::string::npos) << err;
  err.clear();
  EXPECT_EQ(run_child("good", {}, &err), 0) << err;
}

}  // namespace
}  // namespace wsys::vk

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--child") == 0) return wsys::vk::child_main(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
