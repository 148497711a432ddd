// External memory: wsys BOs exported as opaque fds and imported into a
// second VkDevice (its own wsys device and VM) and into a second process
// (this program exec'd again, the fd passed over a UNIX socket); both sides
// write and see each other's writes.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "vk_test_util.h"

namespace wsys::vktest {
namespace {

constexpr int kChildSocketFd = 100;  // where the child finds its end of the socket

uint32_t pattern(size_t i, uint32_t seed) { return static_cast<uint32_t>(i * 0x01000193u) ^ seed; }

PFN_vkGetMemoryFdKHR get_fd_fn(VkDevice d) {
  return reinterpret_cast<PFN_vkGetMemoryFdKHR>(vkGetDeviceProcAddr(d, "vkGetMemoryFdKHR"));
}

int export_fd(const Device& dev, VkDeviceMemory m,
              VkExternalMemoryHandleTypeFlagBits handle =
                  VK_EXTERNAL_MEMORY_HANDLE_TYPE_OPAQUE_FD_BIT) {
  VkMemoryGetFdInfoKHR gi{};
  gi.sType = VK_STRUCTURE_TYPE_MEMORY_GET_FD_INFO_KHR;
  gi.memory = m;
  gi.handleType = handle;
  int fd = -1;
  auto fn = get_fd_fn(dev.get());
  if (!fn || fn(dev.get(), &gi, &fd) != VK_SUCCESS) return -1;
  return fd;
}

struct Message {
  uint64_t size;
  uint32_t seed;
};

bool send_fd(int sock, int fd, const Message& msg) {
  iovec iov{const_cast<Message*>(&msg), sizeof msg};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &mh, 0) == static_cast<ssize_t>(sizeof msg);
}

bool recv_fd(int sock, int* fd, Message* msg) {
  iovec iov{msg, sizeof *msg};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != static_cast<ssize_t>(sizeof *msg)) return false;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  if (!c || c->cmsg_type != SCM_RIGHTS) return false;
  std::memcpy(fd, CMSG_DATA(c), sizeof *fd);
  return true;
}

// The second process: imports the buffer, checks the exporter's pattern,
// overwrites the first half through lavapipe, reports back.
int child_main(int, char**) {
  int sock = kChildSocketFd;
  auto fail = [&](const char* what) {
    std::fprintf(stderr, "child: %s\n", what);
    char r = 1;
    (void)!write(sock, &r, 1);
    return 1;
  };
  int fd = -1;
  Message msg{};
  if (!recv_fd(sock, &fd, &msg)) return fail("no fd received");
  Instance inst;
  std::string why;
  if (!inst.init(&why)) return fail(why.c_str());
  Device dev;
  if (dev.init(inst) != VK_SUCCESS) return fail("vkCreateDevice");
  Buffer buf;
  VkResult r = make_buffer(inst, dev, msg.size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &buf,
                           External::Import, fd, msg.size);
  if (r != VK_SUCCESS) return fail(result_name(r));
  if (fcntl(fd, F_GETFD) != -1) return fail("a successful import must take the fd");
  if (!(dev.info(buf.memory).flags & WSYS_VK_MEMORY_IMPORTED)) return fail("not an import");
  if (dev.stats().imports != 1) return fail("wsys counted no import");
  const auto* w = static_cast<const uint32_t*>(buf.map);
  for (size_t i = 0; i < msg.size / 4; i++)
    if (w[i] != pattern(i, msg.seed)) return fail("the exporter's pattern is not there");
  if (dev.run([&](VkCommandBuffer cb) {
        vkCmdFillBuffer(cb, buf.buffer, 0, msg.size / 2, 0x77777777);
      }) != VK_SUCCESS)
    return fail("fill");
  buf.reset();
  dev.destroy();
  char ok = 0;
  if (write(sock, &ok, 1) != 1) return 1;
  return 0;
}

class ExternalMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ASSERT_TRUE(inst.init(&why)) << why;
    VK_OK(a.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME}));
  }
  void fill(const Buffer& b, uint32_t seed) {
    auto* w = static_cast<uint32_t*>(b.map);
    for (size_t i = 0; i < b.memory_size / 4; i++) w[i] = pattern(i, seed);
  }
  Instance inst;
  Device a;
};

TEST_F(ExternalMemory, ExportImportRoundTripInASecondDevice) {
  const VkDeviceSize size = 256 << 10;
  Buffer src;
  VK_OK(make_buffer(inst, a, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                    &src, vktest::External::Export));
  EXPECT_TRUE(a.info(src.memory).flags & WSYS_VK_MEMORY_EXPORTABLE);
  fill(src, 0x1234);
  int fd = export_fd(a, src.memory);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(a.stats().exports, 1u);

  Device b;
  VK_OK(b.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME}));
  Buffer dst;
  VK_OK(make_buffer(inst, b, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                    &dst, vktest::External::Import, fd, src.memory_size));
  EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "the import took ownership of the fd";
  WsysVkMemoryInfo ia = a.info(src.memory), ib = b.info(dst.memory);
  EXPECT_TRUE(ib.flags & WSYS_VK_MEMORY_IMPORTED);
  EXPECT_EQ(b.stats().imports, 1u);
  EXPECT_NE(ia.executor_address, ib.executor_address) << "each device sees it in its own VM";

  // The importer sees the exporter's data, and the exporter the importer's
  // writes through lavapipe.
  const auto* w = static_cast<const uint32_t*>(dst.map);
  for (size_t i = 0; i < size / 4; i++) ASSERT_EQ(w[i], pattern(i, 0x1234)) << i;
  VK_OK(b.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, dst.buffer, 4096, 8192, 0xabcdabcd); }));
  const auto* ws = static_cast<const uint32_t*>(src.map);
  EXPECT_EQ(ws[1023], pattern(1023, 0x1234));
  EXPECT_EQ(ws[1024], 0xabcdabcdu);
  EXPECT_EQ(ws[3071], 0xabcdabcdu);
  EXPECT_EQ(ws[3072], pattern(3072, 0x1234));

  // The exporter frees its memory: the importer's BO lives on.
  src.reset();
  EXPECT_EQ(w[0], pattern(0, 0x1234));
  VK_OK(b.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, dst.buffer, 0, 4, 0x99); }));
  EXPECT_EQ(w[0], 0x99u);

  // An imported buffer can be exported again.
  int fd2 = export_fd(b, dst.memory);
  EXPECT_GE(fd2, 0);
  if (fd2 >= 0) close(fd2);
}

// dma-buf handles: offered where BOs export as real dma-bufs (a real
// render node; under the drm-shim too) and on the in-process model where it
// has the central allocator (a model extension; WSYS_SIM_DEFERRED_ALLOC=0
// turns it off): there dma-buf memory is the allocator's buffers, since
// plain BOs export as memfds no other driver could import
// (vk_dmabuf_test.cpp tests that side).
TEST_F(ExternalMemory, DmaBufHandlesExactlyWhereBosAreRealDmaBufs) {
  const char* alloc_env = std::getenv("WSYS_SIM_DEFERRED_ALLOC");
  const bool model = std::string(inst.properties().deviceName).find(" model)") != std::string::npos;
  const bool real = !model || !(alloc_env && alloc_env[0] == '0');
  const auto dma_buf = VK_EXTERNAL_MEMORY_HANDLE_TYPE_DMA_BUF_BIT_EXT;
  EXPECT_EQ(inst.has_extension("VK_EXT_external_memory_dma_buf"), real)
      << inst.properties().deviceName;
  VkPhysicalDeviceExternalBufferInfo bi{};
  bi.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_BUFFER_INFO;
  bi.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.handleType = dma_buf;
  VkExternalBufferProperties bp{};
  bp.sType = VK_STRUCTURE_TYPE_EXTERNAL_BUFFER_PROPERTIES;
  vkGetPhysicalDeviceExternalBufferProperties(inst.physical(), &bi, &bp);
  EXPECT_EQ((bp.externalMemoryProperties.externalMemoryFeatures &
             VK_EXTERNAL_MEMORY_FEATURE_EXPORTABLE_BIT) != 0,
            real);
  if (!real) {
    // Not offered: allocation with the type is refused, nothing created.
    WsysVkMemoryStats before = a.stats();
    Buffer buf;
    EXPECT_EQ(make_buffer(inst, a, 64 * 1024, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &buf,
                          External::Export, -1, 0, dma_buf),
              VK_ERROR_INVALID_EXTERNAL_HANDLE);
    EXPECT_EQ(a.stats().bo_creates, before.bo_creates);
    return;
  }
  Device b;
  VK_OK(b.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, "VK_EXT_external_memory_dma_buf"}));
  Device a2;
  VK_OK(a2.init(inst, {VK_KHR_EXTERNAL_MEMORY_FD_EXTENSION_NAME, "VK_EXT_external_memory_dma_buf"}));
  Buffer src;
  const VkDeviceSize size = 256 * 1024;
  VK_OK(make_buffer(inst, a2, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &src, External::Export, -1,
                    0, dma_buf));
  fill(src, 0xd0d0);
  int fd = export_fd(a2, src.memory, dma_buf);
  ASSERT_GE(fd, 0);
  // Any memory type can import it.
  auto props_fn = reinterpret_cast<PFN_vkGetMemoryFdPropertiesKHR>(
      vkGetDeviceProcAddr(b.get(), "vkGetMemoryFdPropertiesKHR"));
  ASSERT_NE(props_fn, nullptr);
  VkMemoryFdPropertiesKHR fp{};
  fp.sType = VK_STRUCTURE_TYPE_MEMORY_FD_PROPERTIES_KHR;
  VK_OK(props_fn(b.get(), dma_buf, fd, &fp));
  EXPECT_EQ(fp.memoryTypeBits, (1u << inst.memory().memoryTypeCount) - 1);
  EXPECT_EQ(props_fn(b.get(), dma_buf, -1, &fp), VK_ERROR_INVALID_EXTERNAL_HANDLE);
  Buffer dst;
  VK_OK(make_buffer(inst, b, size, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &dst, External::Import, fd,
                    size, dma_buf));
  const auto* w = static_cast<const uint32_t*>(dst.map);
  for (size_t i = 0; i < size / 4; i++) ASSERT_EQ(w[i], pattern(i, 0xd0d0)) << i;
  // A write through lavapipe in the importer shows in the exporter.
  VK_OK(b.run([&](VkCommandBuffer cb) { vkCmdFillBuffer(cb, dst.buffer, 0, 4096, 0x5a5a5a5a); }));
  EXPECT_EQ(static_cast<const uint32_t*>(src.map)[0], 0x5a5a5a5au);
}

TEST_F(ExternalMemory, ImportIntoTheExportingDeviceIsTheSameBo) {
  Buffer src;
  VK_OK(make_buffer(inst, a, 64 << 10, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &src, vktest::External::Export));
  fill(src, 7);
  int fd = export_fd(a, src.memory);
  ASSERT_GE(fd, 0);
  Buffer again;
  VK_OK(make_buffer(inst, a, 64 << 10, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &again,
                    vktest::External::Import, fd, src.memory_size));
  EXPECT_EQ(a.info(src.memory).gem_handle, a.info(again.memory).gem_handle);
  EXPECT_EQ(a.info(src.memory).gpu_va, a.info(again.memory).gpu_va);
  EXPECT_EQ(static_cast<uint32_t*>(again.map)[5], pattern(5, 7));
}

TEST_F(ExternalMemory, BadImportsFailAndLeaveTheFdToTheCaller) {
  Buffer b;
  EXPECT_EQ(make_buffer(inst, a, 4096, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &b,
                        vktest::External::Import, -1, 4096),
            VK_ERROR_INVALID_EXTERNAL_HANDLE);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(make_buffer(inst, a, 4096, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &b,
                        vktest::External::Import, pipefd[0], 4096),
            VK_ERROR_INVALID_EXTERNAL_HANDLE);
  EXPECT_NE(fcntl(pipefd[0], F_GETFD), -1) << "a failed import must not close the fd";
  close(pipefd[0]);
  close(pipefd[1]);

  // Larger than the dma-buf.
  Buffer src;
  VK_OK(make_buffer(inst, a, 4096, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &src, vktest::External::Export));
  int fd = export_fd(a, src.memory);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(make_buffer(inst, a, 4096, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &b,
                        vktest::External::Import, fd, 64u << 20),
            VK_ERROR_INVALID_EXTERNAL_HANDLE);
  EXPECT_NE(fcntl(fd, F_GETFD), -1);
  close(fd);
}

TEST_F(ExternalMemory, ExportImportRoundTripInASecondProcess) {
  const VkDeviceSize size = 1u << 20;
  Buffer src;
  VK_OK(make_buffer(inst, a, size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT, &src, vktest::External::Export));
  fill(src, 0xfeed);
  int fd = export_fd(a, src.memory);
  ASSERT_GE(fd, 0);

  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls until exec.
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(n, 0);
  self[n] = '\0';
  char arg_child[] = "--child";
  char* argv[] = {self, arg_child, nullptr};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (dup2(sv[1], kChildSocketFd) < 0) _exit(127);
    execv(self, argv);
    _exit(127);
  }
  close(sv[1]);
  ASSERT_TRUE(send_fd(sv[0], fd, Message{size, 0xfeed}));
  close(fd);  // the child holds its own copy now
  char reply = 1;
  EXPECT_EQ(read(sv[0], &reply, 1), 1);
  close(sv[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "child died: status " << status;
  ASSERT_EQ(WEXITSTATUS(status), 0) << "child failed (see its stderr above)";
  EXPECT_EQ(reply, 0);

  // The other process's lavapipe wrote the first half of our BO.
  const auto* w = static_cast<const uint32_t*>(src.map);
  for (size_t i = 0; i < size / 4; i++)
    ASSERT_EQ(w[i], i < size / 8 ? 0x77777777u : pattern(i, 0xfeed)) << i;
}

}  // namespace
}  // namespace wsys::vktest

int main(int argc, char** argv) {
  return wsys::vktest::test_main(argc, argv, wsys::vktest::child_main);
}
