// Fault sweep of the ICD's memory and sparse commands (issue 16): a whole
// Vulkan program per case, with one kernel-model call failing in it.
//
// The model's fault injection is process-wide and read from the environment
// (WSYS_SIM_FAULTS), so every case is a child process running the workload
// below. The parent first runs it once with WSYS_SIM_FAULTS_RECORD to learn
// which fault sites the program reaches and how often, then runs it again
// for each (site, nth call) with exactly that call failing. In each child:
//   - every command whose kernel call failed returns an error its Vulkan
//     specification allows (vkAllocateMemory: OUT_OF_HOST/DEVICE_MEMORY;
//     vkQueueBindSparse: those or, on the queue, DEVICE_LOST; ...), never a
//     crash and never a success over a half-done state;
//   - the same command issued again succeeds (the fault was one call);
//   - memory committed before (a host-visible allocation with a pattern)
//     keeps its contents through every step;
//   - a lost device says so on every later wait, and a new device works;
//   - under ASan, LeakSanitizer checks that nothing leaked at exit.
// The matrix size is printed as `metric vk_fault_sweep_cases`. In CI each
// site is failed at its first, second and last call
// (WSYS_VK_SWEEP_PER_SITE, default 2, or "all").
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "../common/run_self.h"
#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

// ---- the child: the workload and its checks --------------------------------

int g_fail = 0;
#define CHECK(cond, ...)                                                  \
  do {                                                                    \
    if (!(cond)) {                                                        \
      g_fail++;                                                           \
      std::fprintf(stderr, "CHECK %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                  \
      std::fprintf(stderr, "\n");                                         \
    }                                                                     \
  } while (0)

bool in(VkResult r, std::initializer_list<VkResult> allowed) {
  for (VkResult a : allowed)
    if (r == a) return true;
  return false;
}

const std::initializer_list<VkResult> kOom = {VK_ERROR_OUT_OF_HOST_MEMORY,
                                              VK_ERROR_OUT_OF_DEVICE_MEMORY};

// Runs `fn`; a failure must be one of `allowed`, and `fn` again must succeed.
template <typename F>
VkResult step(const char* what, std::initializer_list<VkResult> allowed, F fn) {
  VkResult r = fn();
  if (r == VK_SUCCESS) return r;
  std::fprintf(stderr, "sweep: %s failed with %s\n", what, result_name(r));
  CHECK(in(r, allowed), "%s returned %s, which its specification does not allow", what,
        result_name(r));
  r = fn();
  CHECK(r == VK_SUCCESS, "%s again after the injected failure: %s", what, result_name(r));
  return r;
}

struct Committed {
  VkDevice dev = VK_NULL_HANDLE;
  VkDeviceMemory mem = VK_NULL_HANDLE;
  uint32_t* p = nullptr;
  static constexpr uint32_t kWords = 16384;  // 64 KiB
  void verify(const char* after) {
    if (!p) return;
    uint32_t bad = 0;
    for (uint32_t i = 0; i < kWords; i++) bad += p[i] != (i * 2654435761u ^ 0x5eed);
    CHECK(bad == 0, "committed memory changed after %s (%u words)", after, bad);
  }
};

VkResult alloc(const Instance& inst, VkDevice dev, VkDeviceSize size, uint32_t bits,
               VkDeviceMemory* out) {
  VkMemoryAllocateInfo ai{};
  ai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  ai.allocationSize = size;
  ai.memoryTypeIndex = inst.memory_type(bits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
  return vkAllocateMemory(dev, &ai, nullptr, out);
}

VkResult bind_sparse(VkQueue q, VkBuffer b, VkDeviceMemory m, VkDeviceSize size, VkFence f) {
  VkSparseMemoryBind mb{};
  mb.size = size;
  mb.memory = m;
  VkSparseBufferMemoryBindInfo bb{};
  bb.buffer = b;
  bb.bindCount = 1;
  bb.pBinds = &mb;
  VkBindSparseInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_BIND_SPARSE_INFO;
  bi.bufferBindCount = 1;
  bi.pBufferBinds = &bb;
  return vkQueueBindSparse(q, 1, &bi, f);
}

// A device that works: a fenced empty submit completes.
void check_device_works(Device& d, const char* what) {
  VkFenceCreateInfo fci{};
  fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  VkFence f = VK_NULL_HANDLE;
  CHECK(vkCreateFence(d.get(), &fci, nullptr, &f) == VK_SUCCESS, "%s: fence", what);
  CHECK(vkQueueSubmit(d.queue(), 0, nullptr, f) == VK_SUCCESS, "%s: submit", what);
  CHECK(vkWaitForFences(d.get(), 1, &f, VK_TRUE, 10'000'000'000ull) == VK_SUCCESS, "%s: wait",
        what);
  vkDestroyFence(d.get(), f, nullptr);
}

int child(int, char**) {
  std::string why;
  Instance inst;
  if (!inst.init(&why)) {
    // A failed device probe may leave the instance without the wsys device;
    // a new instance must find it.
    std::fprintf(stderr, "sweep: instance: %s\n", why.c_str());
    Instance again;
    CHECK(again.init(&why), "a new instance after the injected failure: %s", why.c_str());
    return g_fail ? 1 : 0;
  }
  VkPhysicalDeviceFeatures feat{};
  feat.sparseBinding = VK_TRUE;
  feat.sparseResidencyBuffer = VK_TRUE;
  auto dev = std::make_unique<Device>();
  if (VkResult r = dev->init(inst, {}, &feat); r != VK_SUCCESS) {
    std::fprintf(stderr, "sweep: vkCreateDevice failed with %s\n", result_name(r));
    CHECK(in(r, {VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY,
                 VK_ERROR_INITIALIZATION_FAILED}),
          "vkCreateDevice returned %s", result_name(r));
    dev = std::make_unique<Device>();
    r = dev->init(inst, {}, &feat);
    CHECK(r == VK_SUCCESS, "vkCreateDevice again: %s", result_name(r));
    if (r != VK_SUCCESS) return 1;
  }
  VkDevice d = dev->get();

  // Memory committed before the operations under test.
  Committed c;
  c.dev = d;
  step("vkAllocateMemory (committed)", kOom,
       [&] { return alloc(inst, d, Committed::kWords * 4, ~0u, &c.mem); });
  void* cp = nullptr;
  step("vkMapMemory (committed)", {VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY,
                                   VK_ERROR_MEMORY_MAP_FAILED},
       [&] { return vkMapMemory(d, c.mem, 0, VK_WHOLE_SIZE, 0, &cp); });
  c.p = static_cast<uint32_t*>(cp);
  if (c.p)
    for (uint32_t i = 0; i < Committed::kWords; i++) c.p[i] = i * 2654435761u ^ 0x5eed;

  // Allocations of a few sizes, written and freed.
  for (VkDeviceSize size : {VkDeviceSize{4096}, VkDeviceSize{1} << 20, VkDeviceSize{6} << 20}) {
    VkDeviceMemory m = VK_NULL_HANDLE;
    if (step("vkAllocateMemory", kOom, [&] { return alloc(inst, d, size, ~0u, &m); }) !=
        VK_SUCCESS)
      continue;
    void* p = nullptr;
    if (step("vkMapMemory", {VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY,
                             VK_ERROR_MEMORY_MAP_FAILED},
             [&] { return vkMapMemory(d, m, 0, VK_WHOLE_SIZE, 0, &p); }) == VK_SUCCESS) {
      std::memset(p, 0xab, size);
      vkUnmapMemory(d, m);
    }
    vkFreeMemory(d, m, nullptr);
    c.verify("an allocation");
  }

  // A buffer bound to memory of its own.
  {
    VkBufferCreateInfo bci{};
    bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bci.size = 1 << 20;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBuffer b = VK_NULL_HANDLE;
    if (step("vkCreateBuffer", kOom, [&] { return vkCreateBuffer(d, &bci, nullptr, &b); }) ==
        VK_SUCCESS) {
      VkMemoryRequirements req{};
      vkGetBufferMemoryRequirements(d, b, &req);
      VkDeviceMemory m = VK_NULL_HANDLE;
      if (step("vkAllocateMemory (buffer)", kOom,
               [&] { return alloc(inst, d, req.size, req.memoryTypeBits, &m); }) == VK_SUCCESS) {
        step("vkBindBufferMemory", kOom, [&] { return vkBindBufferMemory(d, b, m, 0); });
        vkDestroyBuffer(d, b, nullptr);
        vkFreeMemory(d, m, nullptr);
      } else {
        vkDestroyBuffer(d, b, nullptr);
      }
    }
    c.verify("a bound buffer");
  }

  // A sparse buffer bound and unbound on the queue. A failed kernel bind
  // loses the device (the Vulkan answer to a VM the kernel gave up on).
  bool lost = false;
  {
    VkBufferCreateInfo bci{};
    bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bci.size = 2 << 20;
    bci.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bci.flags = VK_BUFFER_CREATE_SPARSE_BINDING_BIT;
    VkBuffer sb = VK_NULL_HANDLE;
    if (step("vkCreateBuffer (sparse)", kOom,
             [&] { return vkCreateBuffer(d, &bci, nullptr, &sb); }) == VK_SUCCESS) {
      VkMemoryRequirements req{};
      vkGetBufferMemoryRequirements(d, sb, &req);
      VkDeviceMemory m = VK_NULL_HANDLE;
      if (step("vkAllocateMemory (sparse)", kOom,
               [&] { return alloc(inst, d, req.size, req.memoryTypeBits, &m); }) == VK_SUCCESS) {
        VkFenceCreateInfo fci{};
        fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
        for (VkDeviceMemory what : {m, VkDeviceMemory(VK_NULL_HANDLE)}) {  // bind, unbind
          if (lost) break;
          VkFence f = VK_NULL_HANDLE;
          if (vkCreateFence(d, &fci, nullptr, &f) != VK_SUCCESS) break;
          VkResult r = bind_sparse(dev->queue(), sb, what, req.size, f);
          CHECK(in(r, {VK_SUCCESS, VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY,
                       VK_ERROR_DEVICE_LOST}),
                "vkQueueBindSparse returned %s", result_name(r));
          if (r == VK_SUCCESS) r = vkWaitForFences(d, 1, &f, VK_TRUE, 10'000'000'000ull);
          CHECK(in(r, {VK_SUCCESS, VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY,
                       VK_ERROR_DEVICE_LOST}),
                "the sparse bind's fence: %s", result_name(r));
          if (r == VK_ERROR_DEVICE_LOST) {
            std::fprintf(stderr, "sweep: sparse %s lost the device\n", what ? "bind" : "unbind");
            lost = true;
            CHECK(vkDeviceWaitIdle(d) == VK_ERROR_DEVICE_LOST, "a lost device keeps saying so");
            CHECK(vkQueueSubmit(dev->queue(), 0, nullptr, VK_NULL_HANDLE) == VK_ERROR_DEVICE_LOST,
                  "submit on a lost device");
          } else if (r != VK_SUCCESS) {
            std::fprintf(stderr, "sweep: sparse bind failed with %s\n", result_name(r));
          }
          vkDestroyFence(d, f, nullptr);
        }
        vkDestroyBuffer(d, sb, nullptr);
        vkFreeMemory(d, m, nullptr);
      } else {
        vkDestroyBuffer(d, sb, nullptr);
      }
    }
  }
  c.verify("the sparse binds");  // the CPU view stays even on a lost device
  if (!lost) {
    check_device_works(*dev, "the device after the sweep");
  } else {
    Device other;
    CHECK(other.init(inst, {}, &feat) == VK_SUCCESS, "a new device after a loss");
    if (other.get()) check_device_works(other, "a new device after a loss");
  }
  if (c.p) vkUnmapMemory(d, c.mem);
  if (c.mem) vkFreeMemory(d, c.mem, nullptr);
  dev.reset();
  return g_fail ? 1 : 0;
}

// ---- the parent -------------------------------------------------------------

// Runs this program as the child with `vars` added (and the parent's
// WSYS_SIM_FAULTS* removed); its exit status, or -1. The child is quiet
// unless it fails: the parent prints the case.
int run_child(const std::vector<std::string>& vars) {
  return wsys::test::run_self("vk_fault_sweep_test", {"--child"}, {vars, {"WSYS_SIM_FAULTS"}});
}

TEST(VkFaultSweep, MemoryAndSparseCommandsFailTheWayTheSpecSays) {
  char path[] = "/tmp/wsys-vk-sweep-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_EQ(run_child({std::string("WSYS_SIM_FAULTS_RECORD=") + path}), 0)
      << "the workload must pass without faults";
  std::vector<std::pair<std::string, uint64_t>> sites;
  {
    std::ifstream in(path);
    std::string site;
    uint64_t calls;
    while (in >> site >> calls) sites.emplace_back(site, calls);
  }
  unlink(path);
  ASSERT_FALSE(sites.empty()) << "the recording found no fault site";

  const char* per = std::getenv("WSYS_VK_SWEEP_PER_SITE");
  const bool all = per && !std::strcmp(per, "all");
  const uint64_t first_n = per && !all ? std::strtoull(per, nullptr, 10) : 2;
  uint64_t cases = 0;
  std::vector<std::string> failed;
  for (const auto& [site, calls] : sites) {
    std::set<uint64_t> ns;
    for (uint64_t n = 1; n <= calls && (all || n <= first_n); n++) ns.insert(n);
    ns.insert(calls);
    for (uint64_t n : ns) {
      const std::string rule = site + ":nth=" + std::to_string(n);
      cases++;
      const int rc = run_child({"WSYS_SIM_FAULTS=" + rule});
      if (rc != 0) failed.push_back(rule + " (exit " + std::to_string(rc) + ")");
    }
  }
  std::string list;
  for (const std::string& f : failed) list += "\n  " + f;
  EXPECT_TRUE(failed.empty()) << failed.size() << " of " << cases << " cases failed:" << list;
  std::printf("metric vk_fault_sweep_cases %llu cases (%zu sites)\n",
              static_cast<unsigned long long>(cases), sites.size());
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) { return wsys::vktest::test_main(argc, argv, wsys::vktest::child); }
