// copy_from_user / copy_to_user (src/winsys/sim/user_copy.cpp): the same
// answers on both paths, the direct copy of the calling thread's stack and
// the syscall for everything else; -EFAULT for what is not mapped.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "winsys/sim/user_copy.h"

namespace wsys::sim {
namespace {

uint64_t addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(UserCopy, StackLocalsCopyBothWays) {
  uint32_t src[8], dst[8] = {};
  for (uint32_t i = 0; i < 8; i++) src[i] = 0xabc00000u + i;
  ASSERT_EQ(copy_from_user(dst, addr(src), sizeof src), 0);
  EXPECT_EQ(std::memcmp(src, dst, sizeof src), 0);
  uint32_t out[8] = {};
  ASSERT_EQ(copy_to_user(addr(out), src, sizeof src), 0);
  EXPECT_EQ(std::memcmp(src, out, sizeof src), 0);
}

TEST(UserCopy, HeapAndAnotherThreadsStackCopy) {
  std::vector<uint8_t> heap(10000, 0x5a), back(10000, 0);
  ASSERT_EQ(copy_from_user(back.data(), addr(heap.data()), heap.size()), 0);
  EXPECT_EQ(heap, back);
  // Memory on another thread's stack is not this thread's: the syscall
  // path, with the same answer.
  uint64_t theirs = 0x1122334455667788ull, got = 0;
  std::thread t([&] { EXPECT_EQ(copy_from_user(&got, addr(&theirs), sizeof theirs), 0); });
  t.join();
  EXPECT_EQ(got, theirs);
}

TEST(UserCopy, UnmappedAndPartlyMappedRangesFault) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  auto* two = static_cast<uint8_t*>(
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(two, MAP_FAILED);
  ASSERT_EQ(mprotect(two + page, page, PROT_NONE), 0);
  uint8_t buf[64] = {};
  EXPECT_EQ(copy_from_user(buf, addr(two + page), 8), -EFAULT);
  EXPECT_EQ(copy_from_user(buf, addr(two + page - 8), 16), -EFAULT);  // crosses into none
  EXPECT_EQ(copy_to_user(addr(two + page - 8), buf, 16), -EFAULT);
  EXPECT_EQ(copy_from_user(buf, addr(two + page - 8), 8), 0);
  EXPECT_EQ(copy_from_user(buf, 0, 8), -EFAULT);
  EXPECT_EQ(copy_from_user(buf, addr(two), 0), 0);
  munmap(two, 2 * page);
}

TEST(UserCopy, AStringIsReadUpToItsNulOnly) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  auto* two = static_cast<char*>(
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(two, MAP_FAILED);
  ASSERT_EQ(mprotect(two + page, page, PROT_NONE), 0);
  char* s = two + page - 4;
  std::memcpy(s, "abc", 4);  // the NUL is the last byte before the hole
  std::string out;
  EXPECT_EQ(strndup_user(addr(s), 64, &out), 0);
  EXPECT_EQ(out, "abc");
  std::memcpy(s, "abcd", 4);  // no NUL before the hole
  EXPECT_EQ(strndup_user(addr(s), 64, &out), -EFAULT);
  char local[] = "on the stack";
  EXPECT_EQ(strndup_user(addr(local), 64, &out), 0);
  EXPECT_EQ(out, "on the stack");
  EXPECT_EQ(strndup_user(addr(local), 4, &out), -EINVAL);
  munmap(two, 2 * page);
}

}  // namespace
}  // namespace wsys::sim
