// kmod's capabilities: every driver/version gate is decided in kmod and
// published as DeviceProps fields; the layers above read only those. These
// check the gates without a kernel of each version.
#include <gtest/gtest.h>

#include "winsys/kmod/backends.h"
#include "winsys/kmod/kmod.h"

namespace wsys::kmod {
namespace {

drm::DriverVersion version(const char* name, int major, int minor) {
  drm::DriverVersion v;
  v.name = name;
  v.major = major;
  v.minor = minor;
  return v;
}

DeviceProps panthor(int minor) {
  DeviceProps p;
  set_panthor_capabilities(version("panthor", 1, minor), p);
  return p;
}

DeviceProps panfrost(int minor) {
  DeviceProps p;
  set_panfrost_capabilities(version("panfrost", 1, minor), p);
  return p;
}

// Moved here from core's sparse test: MAP_SPARSE is panthor 1.9's.
TEST(KmodCaps, MapSparseOnlyFromPanthor19) {
  EXPECT_FALSE(panthor(8).has_sparse_map);
  EXPECT_TRUE(panthor(9).has_sparse_map);
  EXPECT_FALSE(panfrost(9).has_sparse_map);
}

// User queues are a model extension: probed by the backend (EXT_QUERY),
// never granted by a version.
TEST(KmodCaps, UserQueuesAreNeverAVersionGate) {
  for (int minor = 0; minor <= 9; minor++) EXPECT_FALSE(panthor(minor).has_user_queues) << minor;
  EXPECT_FALSE(panfrost(6).has_user_queues);
}

// Host import is a model extension too (EXT_QUERY, on both drivers), and
// udmabuf a property of the machine: neither comes from a version.
TEST(KmodCaps, HostMemoryIsNeverAVersionGate) {
  for (int minor = 0; minor <= 9; minor++) {
    EXPECT_FALSE(panthor(minor).has_host_import) << minor;
    EXPECT_FALSE(panthor(minor).has_udmabuf) << minor;
  }
  EXPECT_FALSE(panfrost(6).has_host_import || panfrost(6).has_udmabuf);
}

// So is deferred allocation (issue 19): never granted by a version.
TEST(KmodCaps, DeferredAllocIsNeverAVersionGate) {
  for (int minor = 0; minor <= 9; minor++) EXPECT_FALSE(panthor(minor).has_deferred_alloc) << minor;
  for (int minor = 0; minor <= 6; minor++) EXPECT_FALSE(panfrost(minor).has_deferred_alloc) << minor;
}

TEST(KmodCaps, WhatEachDriverCanDo) {
  const DeviceProps t = panthor(5), f = panfrost(4);
  EXPECT_FALSE(t.has_madvise);
  EXPECT_TRUE(f.has_madvise);
  EXPECT_FALSE(t.has_bo_wait);
  EXPECT_TRUE(f.has_bo_wait);
  EXPECT_TRUE(t.has_vm_per_context);
  EXPECT_FALSE(f.has_vm_per_context);
  EXPECT_TRUE(t.has_async_bind && t.has_deferred_bind);
  EXPECT_FALSE(f.has_async_bind || f.has_deferred_bind);
  EXPECT_EQ(t.growable_heap, GrowableHeap::TilerHeap);
  EXPECT_EQ(f.growable_heap, GrowableHeap::GrowOnFaultBo);
  EXPECT_EQ(panfrost(0).growable_heap, GrowableHeap::None);  // HEAP BOs are 1.1
}

TEST(KmodCaps, VersionGates) {
  EXPECT_FALSE(panthor(3).has_bo_labels);
  EXPECT_TRUE(panthor(4).has_bo_labels);
  EXPECT_FALSE(panfrost(3).has_bo_labels);
  EXPECT_TRUE(panfrost(4).has_bo_labels);
  EXPECT_FALSE(panthor(0).has_gpu_timestamp);
  EXPECT_TRUE(panthor(1).has_gpu_timestamp);
  EXPECT_FALSE(panfrost(2).has_gpu_timestamp);
  EXPECT_TRUE(panfrost(3).has_gpu_timestamp);
  EXPECT_FALSE(panthor(6).has_cache_maintenance);
  EXPECT_TRUE(panthor(7).has_cache_maintenance);
  EXPECT_FALSE(panfrost(5).has_cache_maintenance);
  EXPECT_TRUE(panfrost(6).has_cache_maintenance);
}

TEST(KmodCaps, Gates2026) {
  // panthor 1.7: WB_MMAP, BO_QUERY_INFO; never JM contexts.
  EXPECT_FALSE(panthor(6).has_wb_mmap || panthor(6).has_bo_query_info);
  EXPECT_TRUE(panthor(7).has_wb_mmap && panthor(7).has_bo_query_info);
  EXPECT_FALSE(panthor(9).has_jm_contexts);
  // panfrost 1.5: JM contexts; 1.6: WB_MMAP, QUERY_BO_INFO.
  EXPECT_FALSE(panfrost(4).has_jm_contexts);
  EXPECT_TRUE(panfrost(5).has_jm_contexts);
  EXPECT_FALSE(panfrost(5).has_wb_mmap || panfrost(5).has_bo_query_info);
  EXPECT_TRUE(panfrost(6).has_wb_mmap && panfrost(6).has_bo_query_info);
}

TEST(KmodCaps, VaAlignmentFromThePageSizeBitmap) {
  DeviceProps p;
  p.page_size_bitmap = (1ull << 12) | (1ull << 21);  // 4 KiB pages, 2 MiB blocks
  EXPECT_EQ(p.gpu_page_bytes(), 4096u);
  EXPECT_EQ(p.va_alignment_bytes(1), 4096u);
  EXPECT_EQ(p.va_alignment_bytes(4096), 4096u);
  EXPECT_EQ(p.va_alignment_bytes((2u << 20) - 1), 4096u);
  EXPECT_EQ(p.va_alignment_bytes(2u << 20), 2u << 20);
  EXPECT_EQ(p.va_alignment_bytes(1ull << 40), 2u << 20);
  p.page_size_bitmap |= 1ull << 30;  // 1 GiB blocks too
  EXPECT_EQ(p.va_alignment_bytes(1ull << 30), 1ull << 30);
  EXPECT_EQ(p.va_alignment_bytes((1ull << 30) - 1), 2u << 20);
  p.page_size_bitmap = 0;  // unknown: the 4 KiB page
  EXPECT_EQ(p.gpu_page_bytes(), 4096u);
  EXPECT_EQ(p.va_alignment_bytes(8u << 20), 4096u);
}

}  // namespace
}  // namespace wsys::kmod
