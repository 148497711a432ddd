// The ICD's one errno -> VkResult mapping (src/vulkan/vk_result.cpp), and
// its failure log under WSYS_DEBUG=vk.
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vulkan/vk_result.h"

namespace wsys::vk {

std::vector<std::string> g_logged;

// The ICD's log (executor.cpp in the library), captured here.
void log_error(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  g_logged.emplace_back(buf);
}

namespace {

TEST(VkResultOf, DeviceMemoryFailuresAreOutOfDeviceMemory) {
  for (int e : {ENOMEM, ENOSPC, EFBIG, E2BIG, EINVAL, EIO})
    EXPECT_EQ(vk_result_of(-e, FailureKind::DeviceMemory, "c", "w"),
              VK_ERROR_OUT_OF_DEVICE_MEMORY) << e;
}

TEST(VkResultOf, HostFailuresAreOutOfHostMemory) {
  for (int e : {ENOMEM, EINVAL, EIO, EACCES})
    EXPECT_EQ(vk_result_of(-e, FailureKind::HostResource, "c", "w"),
              VK_ERROR_OUT_OF_HOST_MEMORY) << e;
}

TEST(VkResultOf, OutOfDescriptorsIsTooManyObjectsWhateverWasMade) {
  for (FailureKind k :
       {FailureKind::DeviceMemory, FailureKind::HostResource, FailureKind::ExternalHandle}) {
    EXPECT_EQ(vk_result_of(-EMFILE, k, "c", "w"), VK_ERROR_TOO_MANY_OBJECTS);
    EXPECT_EQ(vk_result_of(-ENFILE, k, "c", "w"), VK_ERROR_TOO_MANY_OBJECTS);
  }
}

TEST(VkResultOf, ABadHandleIsInvalidUnlessMemoryRanOut) {
  for (int e : {EBADF, EINVAL, ENOENT, ENODEV, EOPNOTSUPP, EPERM})
    EXPECT_EQ(vk_result_of(-e, FailureKind::ExternalHandle, "c", "w"),
              VK_ERROR_INVALID_EXTERNAL_HANDLE) << e;
  EXPECT_EQ(vk_result_of(-ENOMEM, FailureKind::ExternalHandle, "c", "w"),
            VK_ERROR_OUT_OF_DEVICE_MEMORY);
}

TEST(VkResultOf, EachFailureIsLoggedOnceUnderWsysDebugVk) {
  // meson runs this program with WSYS_DEBUG=bo,vk (read once).
  ASSERT_TRUE(vk_debug_enabled());
  g_logged.clear();
  vk_result_of(-ENOSPC, FailureKind::DeviceMemory, "vkAllocateMemory", "allocating the BO");
  ASSERT_EQ(g_logged.size(), 1u);
  EXPECT_NE(g_logged[0].find("vkAllocateMemory: allocating the BO failed"), std::string::npos);
  EXPECT_NE(g_logged[0].find("VK_ERROR_OUT_OF_DEVICE_MEMORY"), std::string::npos);
}

}  // namespace
}  // namespace wsys::vk
