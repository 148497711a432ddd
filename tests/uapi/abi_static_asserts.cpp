// SPDX-License-Identifier: MIT
//
// ABI checks of include/drm-uapi/: panthor_drm.h, panfrost_drm.h, drm_core.h.
//
// Part 1 (compile time): every struct size, every field offset, every ioctl
// number and every flag value is pinned to the upstream uAPI's values.
// Where those are known only nr and size (the syncobj ioctls, panfrost
// SET_LABEL_BO) the expected number is the _IOC encoding worked out by hand.
// abi_static_asserts_c.c repeats the list for the C compiler.
//
// Part 2 (run time, GoogleTest): each ioctl number is decoded with the
// kernel's _IOC_* accessors and compared with the struct it carries, and the
// layouts are probed byte by byte through real objects.
//
// drm_core.h is included first here (panthor_drm.h first in the C file) so
// each header is compiled at least once before anything that could hide a
// missing include.
#include "drm-uapi/drm_core.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/panthor_drm.h"

#include <fcntl.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

// ===========================================================================
// Part 1: compile-time checks
// ===========================================================================

// drm_version holds size_t and pointers, so its layout follows the ABI.
#if defined(__LP64__)
static_assert(sizeof(struct drm_version) == 64, "sizeof(struct drm_version) on LP64");
static_assert(offsetof(struct drm_version, version_major) == 0, "drm_version.version_major");
static_assert(offsetof(struct drm_version, version_minor) == 4, "drm_version.version_minor");
static_assert(offsetof(struct drm_version, version_patchlevel) == 8, "drm_version.version_patchlevel");
static_assert(offsetof(struct drm_version, name_len) == 16, "drm_version.name_len");
static_assert(offsetof(struct drm_version, name) == 24, "drm_version.name");
static_assert(offsetof(struct drm_version, date_len) == 32, "drm_version.date_len");
static_assert(offsetof(struct drm_version, date) == 40, "drm_version.date");
static_assert(offsetof(struct drm_version, desc_len) == 48, "drm_version.desc_len");
static_assert(offsetof(struct drm_version, desc) == 56, "drm_version.desc");
static_assert(DRM_IOCTL_VERSION == 0xC0406400, "DRM_IOCTL_VERSION on LP64");
#else
static_assert(sizeof(struct drm_version) == 36, "sizeof(struct drm_version) on ILP32");
static_assert(offsetof(struct drm_version, desc) == 32, "drm_version.desc");
static_assert(DRM_IOCTL_VERSION == 0xC0246400, "DRM_IOCTL_VERSION on ILP32");
#endif

static_assert(DRM_CLOEXEC == O_CLOEXEC, "DRM_CLOEXEC");
static_assert(DRM_RDWR == O_RDWR, "DRM_RDWR");

// The older ioctl encodings are exactly the structs cut before the newest
// field.
static_assert(offsetof(struct drm_panfrost_submit, jm_ctx_handle) == 40, "panfrost SUBMIT v1 size");
static_assert(offsetof(struct drm_syncobj_wait, deadline_nsec) == 32, "syncobj WAIT v1 size");
static_assert(offsetof(struct drm_syncobj_timeline_wait, deadline_nsec) == 40, "syncobj TIMELINE_WAIT v1 size");
static_assert(offsetof(struct drm_panthor_timestamp_info, flags) == WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE,
              "timestamp_info before 1.8");
static_assert(offsetof(struct drm_panthor_gpu_info, core_features) == WSYS_PANTHOR_GPU_INFO_MIN_SIZE,
              "gpu_info minimum size ends at tiler_present");
static_assert(sizeof(struct wsys_panthor_heap_chunk_header) == WSYS_PANTHOR_HEAP_CHUNK_HEADER_SIZE,
              "heap chunk header");

/* ---- panthor: struct sizes and field offsets ---- */
static_assert(sizeof(struct drm_panthor_obj_array) == 16, "sizeof(struct drm_panthor_obj_array)");
static_assert(offsetof(struct drm_panthor_obj_array, stride) == 0, "drm_panthor_obj_array.stride");
static_assert(offsetof(struct drm_panthor_obj_array, count) == 4, "drm_panthor_obj_array.count");
static_assert(offsetof(struct drm_panthor_obj_array, array) == 8, "drm_panthor_obj_array.array");
static_assert(sizeof(struct drm_panthor_sync_op) == 16, "sizeof(struct drm_panthor_sync_op)");
static_assert(offsetof(struct drm_panthor_sync_op, flags) == 0, "drm_panthor_sync_op.flags");
static_assert(offsetof(struct drm_panthor_sync_op, handle) == 4, "drm_panthor_sync_op.handle");
static_assert(offsetof(struct drm_panthor_sync_op, timeline_value) == 8, "drm_panthor_sync_op.timeline_value");
static_assert(sizeof(struct drm_panthor_gpu_info) == 112, "sizeof(struct drm_panthor_gpu_info)");
static_assert(offsetof(struct drm_panthor_gpu_info, gpu_id) == 0, "drm_panthor_gpu_info.gpu_id");
static_assert(offsetof(struct drm_panthor_gpu_info, gpu_rev) == 4, "drm_panthor_gpu_info.gpu_rev");
static_assert(offsetof(struct drm_panthor_gpu_info, csf_id) == 8, "drm_panthor_gpu_info.csf_id");
static_assert(offsetof(struct drm_panthor_gpu_info, l2_features) == 12, "drm_panthor_gpu_info.l2_features");
static_assert(offsetof(struct drm_panthor_gpu_info, tiler_features) == 16, "drm_panthor_gpu_info.tiler_features");
static_assert(offsetof(struct drm_panthor_gpu_info, mem_features) == 20, "drm_panthor_gpu_info.mem_features");
static_assert(offsetof(struct drm_panthor_gpu_info, mmu_features) == 24, "drm_panthor_gpu_info.mmu_features");
static_assert(offsetof(struct drm_panthor_gpu_info, thread_features) == 28, "drm_panthor_gpu_info.thread_features");
static_assert(offsetof(struct drm_panthor_gpu_info, max_threads) == 32, "drm_panthor_gpu_info.max_threads");
static_assert(offsetof(struct drm_panthor_gpu_info, thread_max_workgroup_size) == 36, "drm_panthor_gpu_info.thread_max_workgroup_size");
static_assert(offsetof(struct drm_panthor_gpu_info, thread_max_barrier_size) == 40, "drm_panthor_gpu_info.thread_max_barrier_size");
static_assert(offsetof(struct drm_panthor_gpu_info, coherency_features) == 44, "drm_panthor_gpu_info.coherency_features");
static_assert(offsetof(struct drm_panthor_gpu_info, texture_features) == 48, "drm_panthor_gpu_info.texture_features");
static_assert(offsetof(struct drm_panthor_gpu_info, as_present) == 64, "drm_panthor_gpu_info.as_present");
static_assert(offsetof(struct drm_panthor_gpu_info, pad0) == 68, "drm_panthor_gpu_info.pad0");
static_assert(offsetof(struct drm_panthor_gpu_info, selected_coherency) == 68, "drm_panthor_gpu_info.selected_coherency");
static_assert(offsetof(struct drm_panthor_gpu_info, shader_present) == 72, "drm_panthor_gpu_info.shader_present");
static_assert(offsetof(struct drm_panthor_gpu_info, l2_present) == 80, "drm_panthor_gpu_info.l2_present");
static_assert(offsetof(struct drm_panthor_gpu_info, tiler_present) == 88, "drm_panthor_gpu_info.tiler_present");
static_assert(offsetof(struct drm_panthor_gpu_info, core_features) == 96, "drm_panthor_gpu_info.core_features");
static_assert(offsetof(struct drm_panthor_gpu_info, pad) == 100, "drm_panthor_gpu_info.pad");
static_assert(offsetof(struct drm_panthor_gpu_info, gpu_features) == 104, "drm_panthor_gpu_info.gpu_features");
static_assert(sizeof(struct drm_panthor_csif_info) == 24, "sizeof(struct drm_panthor_csif_info)");
static_assert(offsetof(struct drm_panthor_csif_info, csg_slot_count) == 0, "drm_panthor_csif_info.csg_slot_count");
static_assert(offsetof(struct drm_panthor_csif_info, cs_slot_count) == 4, "drm_panthor_csif_info.cs_slot_count");
static_assert(offsetof(struct drm_panthor_csif_info, cs_reg_count) == 8, "drm_panthor_csif_info.cs_reg_count");
static_assert(offsetof(struct drm_panthor_csif_info, scoreboard_slot_count) == 12, "drm_panthor_csif_info.scoreboard_slot_count");
static_assert(offsetof(struct drm_panthor_csif_info, unpreserved_cs_reg_count) == 16, "drm_panthor_csif_info.unpreserved_cs_reg_count");
static_assert(offsetof(struct drm_panthor_csif_info, pad) == 20, "drm_panthor_csif_info.pad");
static_assert(sizeof(struct drm_panthor_timestamp_info) == 56, "sizeof(struct drm_panthor_timestamp_info)");
static_assert(offsetof(struct drm_panthor_timestamp_info, timestamp_frequency) == 0, "drm_panthor_timestamp_info.timestamp_frequency");
static_assert(offsetof(struct drm_panthor_timestamp_info, current_timestamp) == 8, "drm_panthor_timestamp_info.current_timestamp");
static_assert(offsetof(struct drm_panthor_timestamp_info, timestamp_offset) == 16, "drm_panthor_timestamp_info.timestamp_offset");
static_assert(offsetof(struct drm_panthor_timestamp_info, flags) == 24, "drm_panthor_timestamp_info.flags");
static_assert(offsetof(struct drm_panthor_timestamp_info, duration_nsec) == 28, "drm_panthor_timestamp_info.duration_nsec");
static_assert(offsetof(struct drm_panthor_timestamp_info, cycle_count) == 32, "drm_panthor_timestamp_info.cycle_count");
static_assert(offsetof(struct drm_panthor_timestamp_info, cpu_timestamp_sec) == 40, "drm_panthor_timestamp_info.cpu_timestamp_sec");
static_assert(offsetof(struct drm_panthor_timestamp_info, cpu_timestamp_nsec) == 48, "drm_panthor_timestamp_info.cpu_timestamp_nsec");
static_assert(sizeof(struct drm_panthor_group_priorities_info) == 4, "sizeof(struct drm_panthor_group_priorities_info)");
static_assert(offsetof(struct drm_panthor_group_priorities_info, allowed_mask) == 0, "drm_panthor_group_priorities_info.allowed_mask");
static_assert(offsetof(struct drm_panthor_group_priorities_info, pad) == 1, "drm_panthor_group_priorities_info.pad");
static_assert(sizeof(struct drm_panthor_mmu_info) == 8, "sizeof(struct drm_panthor_mmu_info)");
static_assert(offsetof(struct drm_panthor_mmu_info, page_size_bitmap) == 0, "drm_panthor_mmu_info.page_size_bitmap");
static_assert(sizeof(struct drm_panthor_dev_query) == 16, "sizeof(struct drm_panthor_dev_query)");
static_assert(offsetof(struct drm_panthor_dev_query, type) == 0, "drm_panthor_dev_query.type");
static_assert(offsetof(struct drm_panthor_dev_query, size) == 4, "drm_panthor_dev_query.size");
static_assert(offsetof(struct drm_panthor_dev_query, pointer) == 8, "drm_panthor_dev_query.pointer");
static_assert(sizeof(struct drm_panthor_vm_create) == 16, "sizeof(struct drm_panthor_vm_create)");
static_assert(offsetof(struct drm_panthor_vm_create, flags) == 0, "drm_panthor_vm_create.flags");
static_assert(offsetof(struct drm_panthor_vm_create, id) == 4, "drm_panthor_vm_create.id");
static_assert(offsetof(struct drm_panthor_vm_create, user_va_range) == 8, "drm_panthor_vm_create.user_va_range");
static_assert(sizeof(struct drm_panthor_vm_destroy) == 8, "sizeof(struct drm_panthor_vm_destroy)");
static_assert(offsetof(struct drm_panthor_vm_destroy, id) == 0, "drm_panthor_vm_destroy.id");
static_assert(offsetof(struct drm_panthor_vm_destroy, pad) == 4, "drm_panthor_vm_destroy.pad");
static_assert(sizeof(struct drm_panthor_vm_bind_op) == 48, "sizeof(struct drm_panthor_vm_bind_op)");
static_assert(offsetof(struct drm_panthor_vm_bind_op, flags) == 0, "drm_panthor_vm_bind_op.flags");
static_assert(offsetof(struct drm_panthor_vm_bind_op, bo_handle) == 4, "drm_panthor_vm_bind_op.bo_handle");
static_assert(offsetof(struct drm_panthor_vm_bind_op, bo_offset) == 8, "drm_panthor_vm_bind_op.bo_offset");
static_assert(offsetof(struct drm_panthor_vm_bind_op, va) == 16, "drm_panthor_vm_bind_op.va");
static_assert(offsetof(struct drm_panthor_vm_bind_op, size) == 24, "drm_panthor_vm_bind_op.size");
static_assert(offsetof(struct drm_panthor_vm_bind_op, syncs) == 32, "drm_panthor_vm_bind_op.syncs");
static_assert(sizeof(struct drm_panthor_vm_bind) == 24, "sizeof(struct drm_panthor_vm_bind)");
static_assert(offsetof(struct drm_panthor_vm_bind, vm_id) == 0, "drm_panthor_vm_bind.vm_id");
static_assert(offsetof(struct drm_panthor_vm_bind, flags) == 4, "drm_panthor_vm_bind.flags");
static_assert(offsetof(struct drm_panthor_vm_bind, ops) == 8, "drm_panthor_vm_bind.ops");
static_assert(sizeof(struct drm_panthor_vm_get_state) == 8, "sizeof(struct drm_panthor_vm_get_state)");
static_assert(offsetof(struct drm_panthor_vm_get_state, vm_id) == 0, "drm_panthor_vm_get_state.vm_id");
static_assert(offsetof(struct drm_panthor_vm_get_state, state) == 4, "drm_panthor_vm_get_state.state");
static_assert(sizeof(struct drm_panthor_bo_create) == 24, "sizeof(struct drm_panthor_bo_create)");
static_assert(offsetof(struct drm_panthor_bo_create, size) == 0, "drm_panthor_bo_create.size");
static_assert(offsetof(struct drm_panthor_bo_create, flags) == 8, "drm_panthor_bo_create.flags");
static_assert(offsetof(struct drm_panthor_bo_create, exclusive_vm_id) == 12, "drm_panthor_bo_create.exclusive_vm_id");
static_assert(offsetof(struct drm_panthor_bo_create, handle) == 16, "drm_panthor_bo_create.handle");
static_assert(offsetof(struct drm_panthor_bo_create, pad) == 20, "drm_panthor_bo_create.pad");
static_assert(sizeof(struct drm_panthor_bo_mmap_offset) == 16, "sizeof(struct drm_panthor_bo_mmap_offset)");
static_assert(offsetof(struct drm_panthor_bo_mmap_offset, handle) == 0, "drm_panthor_bo_mmap_offset.handle");
static_assert(offsetof(struct drm_panthor_bo_mmap_offset, pad) == 4, "drm_panthor_bo_mmap_offset.pad");
static_assert(offsetof(struct drm_panthor_bo_mmap_offset, offset) == 8, "drm_panthor_bo_mmap_offset.offset");
static_assert(sizeof(struct drm_panthor_bo_set_label) == 16, "sizeof(struct drm_panthor_bo_set_label)");
static_assert(offsetof(struct drm_panthor_bo_set_label, handle) == 0, "drm_panthor_bo_set_label.handle");
static_assert(offsetof(struct drm_panthor_bo_set_label, pad) == 4, "drm_panthor_bo_set_label.pad");
static_assert(offsetof(struct drm_panthor_bo_set_label, label) == 8, "drm_panthor_bo_set_label.label");
static_assert(sizeof(struct drm_panthor_set_user_mmio_offset) == 8, "sizeof(struct drm_panthor_set_user_mmio_offset)");
static_assert(offsetof(struct drm_panthor_set_user_mmio_offset, offset) == 0, "drm_panthor_set_user_mmio_offset.offset");
static_assert(sizeof(struct drm_panthor_bo_sync_op) == 24, "sizeof(struct drm_panthor_bo_sync_op)");
static_assert(offsetof(struct drm_panthor_bo_sync_op, handle) == 0, "drm_panthor_bo_sync_op.handle");
static_assert(offsetof(struct drm_panthor_bo_sync_op, type) == 4, "drm_panthor_bo_sync_op.type");
static_assert(offsetof(struct drm_panthor_bo_sync_op, offset) == 8, "drm_panthor_bo_sync_op.offset");
static_assert(offsetof(struct drm_panthor_bo_sync_op, size) == 16, "drm_panthor_bo_sync_op.size");
static_assert(sizeof(struct drm_panthor_bo_sync) == 16, "sizeof(struct drm_panthor_bo_sync)");
static_assert(offsetof(struct drm_panthor_bo_sync, ops) == 0, "drm_panthor_bo_sync.ops");
static_assert(sizeof(struct drm_panthor_bo_query_info) == 16, "sizeof(struct drm_panthor_bo_query_info)");
static_assert(offsetof(struct drm_panthor_bo_query_info, handle) == 0, "drm_panthor_bo_query_info.handle");
static_assert(offsetof(struct drm_panthor_bo_query_info, extra_flags) == 4, "drm_panthor_bo_query_info.extra_flags");
static_assert(offsetof(struct drm_panthor_bo_query_info, create_flags) == 8, "drm_panthor_bo_query_info.create_flags");
static_assert(offsetof(struct drm_panthor_bo_query_info, pad) == 12, "drm_panthor_bo_query_info.pad");
static_assert(sizeof(struct drm_panthor_queue_create) == 8, "sizeof(struct drm_panthor_queue_create)");
static_assert(offsetof(struct drm_panthor_queue_create, priority) == 0, "drm_panthor_queue_create.priority");
static_assert(offsetof(struct drm_panthor_queue_create, pad) == 1, "drm_panthor_queue_create.pad");
static_assert(offsetof(struct drm_panthor_queue_create, ringbuf_size) == 4, "drm_panthor_queue_create.ringbuf_size");
static_assert(sizeof(struct drm_panthor_group_create) == 56, "sizeof(struct drm_panthor_group_create)");
static_assert(offsetof(struct drm_panthor_group_create, queues) == 0, "drm_panthor_group_create.queues");
static_assert(offsetof(struct drm_panthor_group_create, max_compute_cores) == 16, "drm_panthor_group_create.max_compute_cores");
static_assert(offsetof(struct drm_panthor_group_create, max_fragment_cores) == 17, "drm_panthor_group_create.max_fragment_cores");
static_assert(offsetof(struct drm_panthor_group_create, max_tiler_cores) == 18, "drm_panthor_group_create.max_tiler_cores");
static_assert(offsetof(struct drm_panthor_group_create, priority) == 19, "drm_panthor_group_create.priority");
static_assert(offsetof(struct drm_panthor_group_create, pad) == 20, "drm_panthor_group_create.pad");
static_assert(offsetof(struct drm_panthor_group_create, compute_core_mask) == 24, "drm_panthor_group_create.compute_core_mask");
static_assert(offsetof(struct drm_panthor_group_create, fragment_core_mask) == 32, "drm_panthor_group_create.fragment_core_mask");
static_assert(offsetof(struct drm_panthor_group_create, tiler_core_mask) == 40, "drm_panthor_group_create.tiler_core_mask");
static_assert(offsetof(struct drm_panthor_group_create, vm_id) == 48, "drm_panthor_group_create.vm_id");
static_assert(offsetof(struct drm_panthor_group_create, group_handle) == 52, "drm_panthor_group_create.group_handle");
static_assert(sizeof(struct drm_panthor_group_destroy) == 8, "sizeof(struct drm_panthor_group_destroy)");
static_assert(offsetof(struct drm_panthor_group_destroy, group_handle) == 0, "drm_panthor_group_destroy.group_handle");
static_assert(offsetof(struct drm_panthor_group_destroy, pad) == 4, "drm_panthor_group_destroy.pad");
static_assert(sizeof(struct drm_panthor_queue_submit) == 40, "sizeof(struct drm_panthor_queue_submit)");
static_assert(offsetof(struct drm_panthor_queue_submit, queue_index) == 0, "drm_panthor_queue_submit.queue_index");
static_assert(offsetof(struct drm_panthor_queue_submit, stream_size) == 4, "drm_panthor_queue_submit.stream_size");
static_assert(offsetof(struct drm_panthor_queue_submit, stream_addr) == 8, "drm_panthor_queue_submit.stream_addr");
static_assert(offsetof(struct drm_panthor_queue_submit, latest_flush) == 16, "drm_panthor_queue_submit.latest_flush");
static_assert(offsetof(struct drm_panthor_queue_submit, pad) == 20, "drm_panthor_queue_submit.pad");
static_assert(offsetof(struct drm_panthor_queue_submit, syncs) == 24, "drm_panthor_queue_submit.syncs");
static_assert(sizeof(struct drm_panthor_group_submit) == 24, "sizeof(struct drm_panthor_group_submit)");
static_assert(offsetof(struct drm_panthor_group_submit, group_handle) == 0, "drm_panthor_group_submit.group_handle");
static_assert(offsetof(struct drm_panthor_group_submit, pad) == 4, "drm_panthor_group_submit.pad");
static_assert(offsetof(struct drm_panthor_group_submit, queue_submits) == 8, "drm_panthor_group_submit.queue_submits");
static_assert(sizeof(struct drm_panthor_group_get_state) == 16, "sizeof(struct drm_panthor_group_get_state)");
static_assert(offsetof(struct drm_panthor_group_get_state, group_handle) == 0, "drm_panthor_group_get_state.group_handle");
static_assert(offsetof(struct drm_panthor_group_get_state, state) == 4, "drm_panthor_group_get_state.state");
static_assert(offsetof(struct drm_panthor_group_get_state, fatal_queues) == 8, "drm_panthor_group_get_state.fatal_queues");
static_assert(offsetof(struct drm_panthor_group_get_state, pad) == 12, "drm_panthor_group_get_state.pad");
static_assert(sizeof(struct drm_panthor_tiler_heap_create) == 40, "sizeof(struct drm_panthor_tiler_heap_create)");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, vm_id) == 0, "drm_panthor_tiler_heap_create.vm_id");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, initial_chunk_count) == 4, "drm_panthor_tiler_heap_create.initial_chunk_count");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, chunk_size) == 8, "drm_panthor_tiler_heap_create.chunk_size");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, max_chunks) == 12, "drm_panthor_tiler_heap_create.max_chunks");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, target_in_flight) == 16, "drm_panthor_tiler_heap_create.target_in_flight");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, handle) == 20, "drm_panthor_tiler_heap_create.handle");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, tiler_heap_ctx_gpu_va) == 24, "drm_panthor_tiler_heap_create.tiler_heap_ctx_gpu_va");
static_assert(offsetof(struct drm_panthor_tiler_heap_create, first_heap_chunk_gpu_va) == 32, "drm_panthor_tiler_heap_create.first_heap_chunk_gpu_va");
static_assert(sizeof(struct drm_panthor_tiler_heap_destroy) == 8, "sizeof(struct drm_panthor_tiler_heap_destroy)");
static_assert(offsetof(struct drm_panthor_tiler_heap_destroy, handle) == 0, "drm_panthor_tiler_heap_destroy.handle");
static_assert(offsetof(struct drm_panthor_tiler_heap_destroy, pad) == 4, "drm_panthor_tiler_heap_destroy.pad");
static_assert(sizeof(struct wsys_panthor_heap_chunk_header) == 64, "sizeof(struct wsys_panthor_heap_chunk_header)");
static_assert(offsetof(struct wsys_panthor_heap_chunk_header, next) == 0, "wsys_panthor_heap_chunk_header.next");
static_assert(offsetof(struct wsys_panthor_heap_chunk_header, unknown) == 8, "wsys_panthor_heap_chunk_header.unknown");

/* ---- panfrost: struct sizes and field offsets ---- */
static_assert(sizeof(struct drm_panfrost_submit) == 48, "sizeof(struct drm_panfrost_submit)");
static_assert(offsetof(struct drm_panfrost_submit, jc) == 0, "drm_panfrost_submit.jc");
static_assert(offsetof(struct drm_panfrost_submit, in_syncs) == 8, "drm_panfrost_submit.in_syncs");
static_assert(offsetof(struct drm_panfrost_submit, in_sync_count) == 16, "drm_panfrost_submit.in_sync_count");
static_assert(offsetof(struct drm_panfrost_submit, out_sync) == 20, "drm_panfrost_submit.out_sync");
static_assert(offsetof(struct drm_panfrost_submit, bo_handles) == 24, "drm_panfrost_submit.bo_handles");
static_assert(offsetof(struct drm_panfrost_submit, bo_handle_count) == 32, "drm_panfrost_submit.bo_handle_count");
static_assert(offsetof(struct drm_panfrost_submit, requirements) == 36, "drm_panfrost_submit.requirements");
static_assert(offsetof(struct drm_panfrost_submit, jm_ctx_handle) == 40, "drm_panfrost_submit.jm_ctx_handle");
static_assert(offsetof(struct drm_panfrost_submit, pad) == 44, "drm_panfrost_submit.pad");
static_assert(sizeof(struct drm_panfrost_wait_bo) == 16, "sizeof(struct drm_panfrost_wait_bo)");
static_assert(offsetof(struct drm_panfrost_wait_bo, handle) == 0, "drm_panfrost_wait_bo.handle");
static_assert(offsetof(struct drm_panfrost_wait_bo, pad) == 4, "drm_panfrost_wait_bo.pad");
static_assert(offsetof(struct drm_panfrost_wait_bo, timeout_ns) == 8, "drm_panfrost_wait_bo.timeout_ns");
static_assert(sizeof(struct drm_panfrost_create_bo) == 24, "sizeof(struct drm_panfrost_create_bo)");
static_assert(offsetof(struct drm_panfrost_create_bo, size) == 0, "drm_panfrost_create_bo.size");
static_assert(offsetof(struct drm_panfrost_create_bo, flags) == 4, "drm_panfrost_create_bo.flags");
static_assert(offsetof(struct drm_panfrost_create_bo, handle) == 8, "drm_panfrost_create_bo.handle");
static_assert(offsetof(struct drm_panfrost_create_bo, pad) == 12, "drm_panfrost_create_bo.pad");
static_assert(offsetof(struct drm_panfrost_create_bo, offset) == 16, "drm_panfrost_create_bo.offset");
static_assert(sizeof(struct drm_panfrost_mmap_bo) == 16, "sizeof(struct drm_panfrost_mmap_bo)");
static_assert(offsetof(struct drm_panfrost_mmap_bo, handle) == 0, "drm_panfrost_mmap_bo.handle");
static_assert(offsetof(struct drm_panfrost_mmap_bo, flags) == 4, "drm_panfrost_mmap_bo.flags");
static_assert(offsetof(struct drm_panfrost_mmap_bo, offset) == 8, "drm_panfrost_mmap_bo.offset");
static_assert(sizeof(struct drm_panfrost_get_param) == 16, "sizeof(struct drm_panfrost_get_param)");
static_assert(offsetof(struct drm_panfrost_get_param, param) == 0, "drm_panfrost_get_param.param");
static_assert(offsetof(struct drm_panfrost_get_param, pad) == 4, "drm_panfrost_get_param.pad");
static_assert(offsetof(struct drm_panfrost_get_param, value) == 8, "drm_panfrost_get_param.value");
static_assert(sizeof(struct drm_panfrost_get_bo_offset) == 16, "sizeof(struct drm_panfrost_get_bo_offset)");
static_assert(offsetof(struct drm_panfrost_get_bo_offset, handle) == 0, "drm_panfrost_get_bo_offset.handle");
static_assert(offsetof(struct drm_panfrost_get_bo_offset, pad) == 4, "drm_panfrost_get_bo_offset.pad");
static_assert(offsetof(struct drm_panfrost_get_bo_offset, offset) == 8, "drm_panfrost_get_bo_offset.offset");
static_assert(sizeof(struct drm_panfrost_madvise) == 12, "sizeof(struct drm_panfrost_madvise)");
static_assert(offsetof(struct drm_panfrost_madvise, handle) == 0, "drm_panfrost_madvise.handle");
static_assert(offsetof(struct drm_panfrost_madvise, madv) == 4, "drm_panfrost_madvise.madv");
static_assert(offsetof(struct drm_panfrost_madvise, retained) == 8, "drm_panfrost_madvise.retained");
static_assert(sizeof(struct drm_panfrost_set_label_bo) == 16, "sizeof(struct drm_panfrost_set_label_bo)");
static_assert(offsetof(struct drm_panfrost_set_label_bo, handle) == 0, "drm_panfrost_set_label_bo.handle");
static_assert(offsetof(struct drm_panfrost_set_label_bo, pad) == 4, "drm_panfrost_set_label_bo.pad");
static_assert(offsetof(struct drm_panfrost_set_label_bo, label) == 8, "drm_panfrost_set_label_bo.label");

/* ---- core: struct sizes and field offsets ---- */
static_assert(sizeof(struct drm_get_cap) == 16, "sizeof(struct drm_get_cap)");
static_assert(offsetof(struct drm_get_cap, capability) == 0, "drm_get_cap.capability");
static_assert(offsetof(struct drm_get_cap, value) == 8, "drm_get_cap.value");
static_assert(sizeof(struct drm_gem_close) == 8, "sizeof(struct drm_gem_close)");
static_assert(offsetof(struct drm_gem_close, handle) == 0, "drm_gem_close.handle");
static_assert(offsetof(struct drm_gem_close, pad) == 4, "drm_gem_close.pad");
static_assert(sizeof(struct drm_prime_handle) == 12, "sizeof(struct drm_prime_handle)");
static_assert(offsetof(struct drm_prime_handle, handle) == 0, "drm_prime_handle.handle");
static_assert(offsetof(struct drm_prime_handle, flags) == 4, "drm_prime_handle.flags");
static_assert(offsetof(struct drm_prime_handle, fd) == 8, "drm_prime_handle.fd");
static_assert(sizeof(struct drm_syncobj_create) == 8, "sizeof(struct drm_syncobj_create)");
static_assert(offsetof(struct drm_syncobj_create, handle) == 0, "drm_syncobj_create.handle");
static_assert(offsetof(struct drm_syncobj_create, flags) == 4, "drm_syncobj_create.flags");
static_assert(sizeof(struct drm_syncobj_destroy) == 8, "sizeof(struct drm_syncobj_destroy)");
static_assert(offsetof(struct drm_syncobj_destroy, handle) == 0, "drm_syncobj_destroy.handle");
static_assert(offsetof(struct drm_syncobj_destroy, pad) == 4, "drm_syncobj_destroy.pad");
static_assert(sizeof(struct drm_syncobj_handle) == 16, "sizeof(struct drm_syncobj_handle)");
static_assert(offsetof(struct drm_syncobj_handle, handle) == 0, "drm_syncobj_handle.handle");
static_assert(offsetof(struct drm_syncobj_handle, flags) == 4, "drm_syncobj_handle.flags");
static_assert(offsetof(struct drm_syncobj_handle, fd) == 8, "drm_syncobj_handle.fd");
static_assert(offsetof(struct drm_syncobj_handle, pad) == 12, "drm_syncobj_handle.pad");
static_assert(sizeof(struct drm_syncobj_wait) == 40, "sizeof(struct drm_syncobj_wait)");
static_assert(offsetof(struct drm_syncobj_wait, handles) == 0, "drm_syncobj_wait.handles");
static_assert(offsetof(struct drm_syncobj_wait, timeout_nsec) == 8, "drm_syncobj_wait.timeout_nsec");
static_assert(offsetof(struct drm_syncobj_wait, count_handles) == 16, "drm_syncobj_wait.count_handles");
static_assert(offsetof(struct drm_syncobj_wait, flags) == 20, "drm_syncobj_wait.flags");
static_assert(offsetof(struct drm_syncobj_wait, first_signaled) == 24, "drm_syncobj_wait.first_signaled");
static_assert(offsetof(struct drm_syncobj_wait, pad) == 28, "drm_syncobj_wait.pad");
static_assert(offsetof(struct drm_syncobj_wait, deadline_nsec) == 32, "drm_syncobj_wait.deadline_nsec");
static_assert(sizeof(struct drm_syncobj_array) == 16, "sizeof(struct drm_syncobj_array)");
static_assert(offsetof(struct drm_syncobj_array, handles) == 0, "drm_syncobj_array.handles");
static_assert(offsetof(struct drm_syncobj_array, count_handles) == 8, "drm_syncobj_array.count_handles");
static_assert(offsetof(struct drm_syncobj_array, pad) == 12, "drm_syncobj_array.pad");
static_assert(sizeof(struct drm_syncobj_timeline_wait) == 48, "sizeof(struct drm_syncobj_timeline_wait)");
static_assert(offsetof(struct drm_syncobj_timeline_wait, handles) == 0, "drm_syncobj_timeline_wait.handles");
static_assert(offsetof(struct drm_syncobj_timeline_wait, points) == 8, "drm_syncobj_timeline_wait.points");
static_assert(offsetof(struct drm_syncobj_timeline_wait, timeout_nsec) == 16, "drm_syncobj_timeline_wait.timeout_nsec");
static_assert(offsetof(struct drm_syncobj_timeline_wait, count_handles) == 24, "drm_syncobj_timeline_wait.count_handles");
static_assert(offsetof(struct drm_syncobj_timeline_wait, flags) == 28, "drm_syncobj_timeline_wait.flags");
static_assert(offsetof(struct drm_syncobj_timeline_wait, first_signaled) == 32, "drm_syncobj_timeline_wait.first_signaled");
static_assert(offsetof(struct drm_syncobj_timeline_wait, pad) == 36, "drm_syncobj_timeline_wait.pad");
static_assert(offsetof(struct drm_syncobj_timeline_wait, deadline_nsec) == 40, "drm_syncobj_timeline_wait.deadline_nsec");
static_assert(sizeof(struct drm_syncobj_timeline_array) == 24, "sizeof(struct drm_syncobj_timeline_array)");
static_assert(offsetof(struct drm_syncobj_timeline_array, handles) == 0, "drm_syncobj_timeline_array.handles");
static_assert(offsetof(struct drm_syncobj_timeline_array, points) == 8, "drm_syncobj_timeline_array.points");
static_assert(offsetof(struct drm_syncobj_timeline_array, count_handles) == 16, "drm_syncobj_timeline_array.count_handles");
static_assert(offsetof(struct drm_syncobj_timeline_array, flags) == 20, "drm_syncobj_timeline_array.flags");
static_assert(sizeof(struct drm_syncobj_transfer) == 32, "sizeof(struct drm_syncobj_transfer)");
static_assert(offsetof(struct drm_syncobj_transfer, src_handle) == 0, "drm_syncobj_transfer.src_handle");
static_assert(offsetof(struct drm_syncobj_transfer, dst_handle) == 4, "drm_syncobj_transfer.dst_handle");
static_assert(offsetof(struct drm_syncobj_transfer, src_point) == 8, "drm_syncobj_transfer.src_point");
static_assert(offsetof(struct drm_syncobj_transfer, dst_point) == 16, "drm_syncobj_transfer.dst_point");
static_assert(offsetof(struct drm_syncobj_transfer, flags) == 24, "drm_syncobj_transfer.flags");
static_assert(offsetof(struct drm_syncobj_transfer, pad) == 28, "drm_syncobj_transfer.pad");
static_assert(sizeof(struct drm_syncobj_eventfd) == 24, "sizeof(struct drm_syncobj_eventfd)");
static_assert(offsetof(struct drm_syncobj_eventfd, handle) == 0, "drm_syncobj_eventfd.handle");
static_assert(offsetof(struct drm_syncobj_eventfd, flags) == 4, "drm_syncobj_eventfd.flags");
static_assert(offsetof(struct drm_syncobj_eventfd, point) == 8, "drm_syncobj_eventfd.point");
static_assert(offsetof(struct drm_syncobj_eventfd, fd) == 16, "drm_syncobj_eventfd.fd");
static_assert(offsetof(struct drm_syncobj_eventfd, pad) == 20, "drm_syncobj_eventfd.pad");

/* ---- ioctl numbers (reference tables; syncobj numbers from nr and size) ---- */
static_assert(DRM_IOCTL_PANTHOR_DEV_QUERY == 0xC0106440, "DRM_IOCTL_PANTHOR_DEV_QUERY");
static_assert(DRM_IOCTL_PANTHOR_VM_CREATE == 0xC0106441, "DRM_IOCTL_PANTHOR_VM_CREATE");
static_assert(DRM_IOCTL_PANTHOR_VM_DESTROY == 0xC0086442, "DRM_IOCTL_PANTHOR_VM_DESTROY");
static_assert(DRM_IOCTL_PANTHOR_VM_BIND == 0xC0186443, "DRM_IOCTL_PANTHOR_VM_BIND");
static_assert(DRM_IOCTL_PANTHOR_VM_GET_STATE == 0xC0086444, "DRM_IOCTL_PANTHOR_VM_GET_STATE");
static_assert(DRM_IOCTL_PANTHOR_BO_CREATE == 0xC0186445, "DRM_IOCTL_PANTHOR_BO_CREATE");
static_assert(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET == 0xC0106446, "DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET");
static_assert(DRM_IOCTL_PANTHOR_GROUP_CREATE == 0xC0386447, "DRM_IOCTL_PANTHOR_GROUP_CREATE");
static_assert(DRM_IOCTL_PANTHOR_GROUP_DESTROY == 0xC0086448, "DRM_IOCTL_PANTHOR_GROUP_DESTROY");
static_assert(DRM_IOCTL_PANTHOR_GROUP_SUBMIT == 0xC0186449, "DRM_IOCTL_PANTHOR_GROUP_SUBMIT");
static_assert(DRM_IOCTL_PANTHOR_GROUP_GET_STATE == 0xC010644A, "DRM_IOCTL_PANTHOR_GROUP_GET_STATE");
static_assert(DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE == 0xC028644B, "DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE");
static_assert(DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY == 0xC008644C, "DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY");
static_assert(DRM_IOCTL_PANTHOR_BO_SET_LABEL == 0xC010644D, "DRM_IOCTL_PANTHOR_BO_SET_LABEL");
static_assert(DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET == 0xC008644E, "DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET");
static_assert(DRM_IOCTL_PANTHOR_BO_SYNC == 0xC010644F, "DRM_IOCTL_PANTHOR_BO_SYNC");
static_assert(DRM_IOCTL_PANTHOR_BO_QUERY_INFO == 0xC0106450, "DRM_IOCTL_PANTHOR_BO_QUERY_INFO");
static_assert(DRM_IOCTL_PANFROST_SUBMIT == 0x40306440, "DRM_IOCTL_PANFROST_SUBMIT");
static_assert(DRM_IOCTL_PANFROST_SUBMIT_V1 == 0x40286440, "DRM_IOCTL_PANFROST_SUBMIT_V1");
static_assert(DRM_IOCTL_PANFROST_WAIT_BO == 0x40106441, "DRM_IOCTL_PANFROST_WAIT_BO");
static_assert(DRM_IOCTL_PANFROST_CREATE_BO == 0xC0186442, "DRM_IOCTL_PANFROST_CREATE_BO");
static_assert(DRM_IOCTL_PANFROST_MMAP_BO == 0xC0106443, "DRM_IOCTL_PANFROST_MMAP_BO");
static_assert(DRM_IOCTL_PANFROST_GET_PARAM == 0xC0106444, "DRM_IOCTL_PANFROST_GET_PARAM");
static_assert(DRM_IOCTL_PANFROST_GET_BO_OFFSET == 0xC0106445, "DRM_IOCTL_PANFROST_GET_BO_OFFSET");
static_assert(DRM_IOCTL_PANFROST_MADVISE == 0xC00C6448, "DRM_IOCTL_PANFROST_MADVISE");
static_assert(DRM_IOCTL_PANFROST_SET_LABEL_BO == 0xC0106449, "DRM_IOCTL_PANFROST_SET_LABEL_BO");
static_assert(DRM_IOCTL_PANFROST_JM_CTX_CREATE == 0xC008644A, "DRM_IOCTL_PANFROST_JM_CTX_CREATE");
static_assert(DRM_IOCTL_PANFROST_JM_CTX_DESTROY == 0xC008644B, "DRM_IOCTL_PANFROST_JM_CTX_DESTROY");
static_assert(DRM_IOCTL_PANFROST_SYNC_BO == 0xC010644C, "DRM_IOCTL_PANFROST_SYNC_BO");
static_assert(DRM_IOCTL_PANFROST_QUERY_BO_INFO == 0xC010644D, "DRM_IOCTL_PANFROST_QUERY_BO_INFO");
static_assert(sizeof(struct drm_panfrost_jm_ctx_create) == 8, "sizeof(struct drm_panfrost_jm_ctx_create)");
static_assert(sizeof(struct drm_panfrost_jm_ctx_destroy) == 8, "sizeof(struct drm_panfrost_jm_ctx_destroy)");
static_assert(sizeof(struct drm_panfrost_bo_sync_op) == 16, "sizeof(struct drm_panfrost_bo_sync_op)");
static_assert(sizeof(struct drm_panfrost_sync_bo) == 16, "sizeof(struct drm_panfrost_sync_bo)");
static_assert(sizeof(struct drm_panfrost_query_bo_info) == 16, "sizeof(struct drm_panfrost_query_bo_info)");
static_assert(offsetof(struct drm_panfrost_jm_ctx_create, handle) == 0, "drm_panfrost_jm_ctx_create.handle");
static_assert(offsetof(struct drm_panfrost_jm_ctx_create, priority) == 4, "drm_panfrost_jm_ctx_create.priority");
static_assert(offsetof(struct drm_panfrost_jm_ctx_destroy, handle) == 0, "drm_panfrost_jm_ctx_destroy.handle");
static_assert(offsetof(struct drm_panfrost_jm_ctx_destroy, pad) == 4, "drm_panfrost_jm_ctx_destroy.pad");
static_assert(offsetof(struct drm_panfrost_bo_sync_op, handle) == 0, "drm_panfrost_bo_sync_op.handle");
static_assert(offsetof(struct drm_panfrost_bo_sync_op, type) == 4, "drm_panfrost_bo_sync_op.type");
static_assert(offsetof(struct drm_panfrost_bo_sync_op, offset) == 8, "drm_panfrost_bo_sync_op.offset");
static_assert(offsetof(struct drm_panfrost_bo_sync_op, size) == 12, "drm_panfrost_bo_sync_op.size");
static_assert(offsetof(struct drm_panfrost_sync_bo, ops) == 0, "drm_panfrost_sync_bo.ops");
static_assert(offsetof(struct drm_panfrost_sync_bo, op_count) == 8, "drm_panfrost_sync_bo.op_count");
static_assert(offsetof(struct drm_panfrost_sync_bo, pad) == 12, "drm_panfrost_sync_bo.pad");
static_assert(offsetof(struct drm_panfrost_query_bo_info, handle) == 0, "drm_panfrost_query_bo_info.handle");
static_assert(offsetof(struct drm_panfrost_query_bo_info, extra_flags) == 4, "drm_panfrost_query_bo_info.extra_flags");
static_assert(offsetof(struct drm_panfrost_query_bo_info, create_flags) == 8, "drm_panfrost_query_bo_info.create_flags");
static_assert(offsetof(struct drm_panfrost_query_bo_info, pad) == 12, "drm_panfrost_query_bo_info.pad");
static_assert(offsetof(struct drm_panfrost_submit, jm_ctx_handle) == 40, "drm_panfrost_submit.jm_ctx_handle");
static_assert(offsetof(struct drm_panfrost_submit, pad) == 44, "drm_panfrost_submit.pad");
static_assert((__u32)(DRM_PANFROST_JM_CTX_CREATE) == 0xAu, "DRM_PANFROST_JM_CTX_CREATE");
static_assert((__u32)(DRM_PANFROST_JM_CTX_DESTROY) == 0xBu, "DRM_PANFROST_JM_CTX_DESTROY");
static_assert((__u32)(DRM_PANFROST_SYNC_BO) == 0xCu, "DRM_PANFROST_SYNC_BO");
static_assert((__u32)(DRM_PANFROST_QUERY_BO_INFO) == 0xDu, "DRM_PANFROST_QUERY_BO_INFO");
static_assert((__u32)(DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES) == 0x2Bu, "DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES");
static_assert((__u32)(DRM_PANFROST_PARAM_SELECTED_COHERENCY) == 0x2Cu, "DRM_PANFROST_PARAM_SELECTED_COHERENCY");
static_assert((__u32)(PANFROST_JM_CTX_PRIORITY_LOW) == 0x0u, "PANFROST_JM_CTX_PRIORITY_LOW");
static_assert((__u32)(PANFROST_JM_CTX_PRIORITY_MEDIUM) == 0x1u, "PANFROST_JM_CTX_PRIORITY_MEDIUM");
static_assert((__u32)(PANFROST_JM_CTX_PRIORITY_HIGH) == 0x2u, "PANFROST_JM_CTX_PRIORITY_HIGH");
static_assert((__u32)(PANFROST_BO_SYNC_CPU_CACHE_FLUSH) == 0x0u, "PANFROST_BO_SYNC_CPU_CACHE_FLUSH");
static_assert((__u32)(PANFROST_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE) == 0x1u, "PANFROST_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE");
static_assert((__u32)(DRM_PANFROST_BO_IS_IMPORTED) == 0x1u, "DRM_PANFROST_BO_IS_IMPORTED");
static_assert((__u32)(DRM_PANFROST_GPU_COHERENCY_NONE) == 0x1Fu, "DRM_PANFROST_GPU_COHERENCY_NONE");
static_assert(DRM_IOCTL_GEM_CLOSE == 0x40086409, "DRM_IOCTL_GEM_CLOSE");
static_assert(DRM_IOCTL_GET_CAP == 0xC010640C, "DRM_IOCTL_GET_CAP");
static_assert(DRM_IOCTL_PRIME_HANDLE_TO_FD == 0xC00C642D, "DRM_IOCTL_PRIME_HANDLE_TO_FD");
static_assert(DRM_IOCTL_PRIME_FD_TO_HANDLE == 0xC00C642E, "DRM_IOCTL_PRIME_FD_TO_HANDLE");
static_assert(DRM_IOCTL_SYNCOBJ_CREATE == 0xC00864BF, "DRM_IOCTL_SYNCOBJ_CREATE");
static_assert(DRM_IOCTL_SYNCOBJ_DESTROY == 0xC00864C0, "DRM_IOCTL_SYNCOBJ_DESTROY");
static_assert(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD == 0xC01064C1, "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD");
static_assert(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE == 0xC01064C2, "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE");
static_assert(DRM_IOCTL_SYNCOBJ_WAIT == 0xC02864C3, "DRM_IOCTL_SYNCOBJ_WAIT");
static_assert(DRM_IOCTL_SYNCOBJ_WAIT_V1 == 0xC02064C3, "DRM_IOCTL_SYNCOBJ_WAIT_V1");
static_assert(DRM_IOCTL_SYNCOBJ_RESET == 0xC01064C4, "DRM_IOCTL_SYNCOBJ_RESET");
static_assert(DRM_IOCTL_SYNCOBJ_SIGNAL == 0xC01064C5, "DRM_IOCTL_SYNCOBJ_SIGNAL");
static_assert(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT == 0xC03064CA, "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT");
static_assert(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1 == 0xC02864CA, "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1");
static_assert(DRM_IOCTL_SYNCOBJ_QUERY == 0xC01864CB, "DRM_IOCTL_SYNCOBJ_QUERY");
static_assert(DRM_IOCTL_SYNCOBJ_TRANSFER == 0xC02064CC, "DRM_IOCTL_SYNCOBJ_TRANSFER");
static_assert(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL == 0xC01864CD, "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL");
static_assert(DRM_IOCTL_SYNCOBJ_EVENTFD == 0xC01864CF, "DRM_IOCTL_SYNCOBJ_EVENTFD");

/* ---- flag, enum and constant values ---- */
static_assert((__u32)(DRM_PANTHOR_DEV_QUERY) == 0x0u, "DRM_PANTHOR_DEV_QUERY");
static_assert((__u32)(DRM_PANTHOR_VM_CREATE) == 0x1u, "DRM_PANTHOR_VM_CREATE");
static_assert((__u32)(DRM_PANTHOR_VM_DESTROY) == 0x2u, "DRM_PANTHOR_VM_DESTROY");
static_assert((__u32)(DRM_PANTHOR_VM_BIND) == 0x3u, "DRM_PANTHOR_VM_BIND");
static_assert((__u32)(DRM_PANTHOR_VM_GET_STATE) == 0x4u, "DRM_PANTHOR_VM_GET_STATE");
static_assert((__u32)(DRM_PANTHOR_BO_CREATE) == 0x5u, "DRM_PANTHOR_BO_CREATE");
static_assert((__u32)(DRM_PANTHOR_BO_MMAP_OFFSET) == 0x6u, "DRM_PANTHOR_BO_MMAP_OFFSET");
static_assert((__u32)(DRM_PANTHOR_GROUP_CREATE) == 0x7u, "DRM_PANTHOR_GROUP_CREATE");
static_assert((__u32)(DRM_PANTHOR_GROUP_DESTROY) == 0x8u, "DRM_PANTHOR_GROUP_DESTROY");
static_assert((__u32)(DRM_PANTHOR_GROUP_SUBMIT) == 0x9u, "DRM_PANTHOR_GROUP_SUBMIT");
static_assert((__u32)(DRM_PANTHOR_GROUP_GET_STATE) == 0xAu, "DRM_PANTHOR_GROUP_GET_STATE");
static_assert((__u32)(DRM_PANTHOR_TILER_HEAP_CREATE) == 0xBu, "DRM_PANTHOR_TILER_HEAP_CREATE");
static_assert((__u32)(DRM_PANTHOR_TILER_HEAP_DESTROY) == 0xCu, "DRM_PANTHOR_TILER_HEAP_DESTROY");
static_assert((__u32)(DRM_PANTHOR_BO_SET_LABEL) == 0xDu, "DRM_PANTHOR_BO_SET_LABEL");
static_assert((__u32)(DRM_PANTHOR_SET_USER_MMIO_OFFSET) == 0xEu, "DRM_PANTHOR_SET_USER_MMIO_OFFSET");
static_assert((__u32)(DRM_PANTHOR_BO_SYNC) == 0xFu, "DRM_PANTHOR_BO_SYNC");
static_assert((__u32)(DRM_PANTHOR_BO_QUERY_INFO) == 0x10u, "DRM_PANTHOR_BO_QUERY_INFO");
static_assert((__u32)(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK) == 0xFFu, "DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK");
static_assert((__u32)(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ) == 0x0u, "DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ");
static_assert((__u32)(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ) == 0x1u, "DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ");
static_assert((__u32)(DRM_PANTHOR_SYNC_OP_WAIT) == 0x0u, "DRM_PANTHOR_SYNC_OP_WAIT");
static_assert((__u32)(DRM_PANTHOR_SYNC_OP_SIGNAL) == 0x80000000u, "DRM_PANTHOR_SYNC_OP_SIGNAL");
static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_GPU_INFO) == 0x0u, "DRM_PANTHOR_DEV_QUERY_GPU_INFO");
static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_CSIF_INFO) == 0x1u, "DRM_PANTHOR_DEV_QUERY_CSIF_INFO");
static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO) == 0x2u, "DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO");
static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO) == 0x3u, "DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO");
static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_MMU_INFO) == 0x4u, "DRM_PANTHOR_DEV_QUERY_MMU_INFO");
static_assert((__u32)(DRM_PANTHOR_GPU_COHERENCY_ACE_LITE) == 0x0u, "DRM_PANTHOR_GPU_COHERENCY_ACE_LITE");
static_assert((__u32)(DRM_PANTHOR_GPU_COHERENCY_ACE) == 0x1u, "DRM_PANTHOR_GPU_COHERENCY_ACE");
static_assert((__u32)(DRM_PANTHOR_GPU_COHERENCY_NONE) == 0x1Fu, "DRM_PANTHOR_GPU_COHERENCY_NONE");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_GPU) == 0x1u, "DRM_PANTHOR_TIMESTAMP_GPU");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_NONE) == 0x0u, "DRM_PANTHOR_TIMESTAMP_CPU_NONE");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC) == 0x2u, "DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW) == 0x4u, "DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK) == 0xEu, "DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_GPU_OFFSET) == 0x10u, "DRM_PANTHOR_TIMESTAMP_GPU_OFFSET");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT) == 0x20u, "DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_FREQ) == 0x40u, "DRM_PANTHOR_TIMESTAMP_FREQ");
static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_DURATION) == 0x80u, "DRM_PANTHOR_TIMESTAMP_DURATION");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_READONLY) == 0x1u, "DRM_PANTHOR_VM_BIND_OP_MAP_READONLY");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC) == 0x2u, "DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED) == 0x4u, "DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE) == 0x8u, "DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_MASK) == 0xF0000000u, "DRM_PANTHOR_VM_BIND_OP_TYPE_MASK");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_MAP) == 0x0u, "DRM_PANTHOR_VM_BIND_OP_TYPE_MAP");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP) == 0x10000000u, "DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY) == 0x20000000u, "DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY");
static_assert((__u32)(DRM_PANTHOR_VM_BIND_ASYNC) == 0x1u, "DRM_PANTHOR_VM_BIND_ASYNC");
static_assert((__u32)(DRM_PANTHOR_VM_STATE_USABLE) == 0x0u, "DRM_PANTHOR_VM_STATE_USABLE");
static_assert((__u32)(DRM_PANTHOR_VM_STATE_UNUSABLE) == 0x1u, "DRM_PANTHOR_VM_STATE_UNUSABLE");
static_assert((__u32)(DRM_PANTHOR_BO_NO_MMAP) == 0x1u, "DRM_PANTHOR_BO_NO_MMAP");
static_assert((__u32)(DRM_PANTHOR_BO_WB_MMAP) == 0x2u, "DRM_PANTHOR_BO_WB_MMAP");
static_assert((__u32)(DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH) == 0x0u, "DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH");
static_assert((__u32)(DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE) == 0x1u, "DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE");
static_assert((__u32)(DRM_PANTHOR_BO_IS_IMPORTED) == 0x1u, "DRM_PANTHOR_BO_IS_IMPORTED");
static_assert((__u32)(PANTHOR_GROUP_PRIORITY_LOW) == 0x0u, "PANTHOR_GROUP_PRIORITY_LOW");
static_assert((__u32)(PANTHOR_GROUP_PRIORITY_MEDIUM) == 0x1u, "PANTHOR_GROUP_PRIORITY_MEDIUM");
static_assert((__u32)(PANTHOR_GROUP_PRIORITY_HIGH) == 0x2u, "PANTHOR_GROUP_PRIORITY_HIGH");
static_assert((__u32)(PANTHOR_GROUP_PRIORITY_REALTIME) == 0x3u, "PANTHOR_GROUP_PRIORITY_REALTIME");
static_assert((__u32)(DRM_PANTHOR_GROUP_STATE_TIMEDOUT) == 0x1u, "DRM_PANTHOR_GROUP_STATE_TIMEDOUT");
static_assert((__u32)(DRM_PANTHOR_GROUP_STATE_FATAL_FAULT) == 0x2u, "DRM_PANTHOR_GROUP_STATE_FATAL_FAULT");
static_assert((__u32)(DRM_PANTHOR_GROUP_STATE_INNOCENT) == 0x4u, "DRM_PANTHOR_GROUP_STATE_INNOCENT");
static_assert((__u64)(DRM_PANTHOR_USER_MMIO_OFFSET_32BIT) == 0x80000000000ull, "DRM_PANTHOR_USER_MMIO_OFFSET_32BIT");
static_assert((__u64)(DRM_PANTHOR_USER_MMIO_OFFSET_64BIT) == 0x100000000000000ull, "DRM_PANTHOR_USER_MMIO_OFFSET_64BIT");
static_assert((__u32)(DRM_PANTHOR_ARCH_MAJOR(0xABCDE123u)) == 0xAu, "DRM_PANTHOR_ARCH_MAJOR(0xABCDE123u)");
static_assert((__u32)(DRM_PANTHOR_ARCH_MINOR(0xABCDE123u)) == 0xBu, "DRM_PANTHOR_ARCH_MINOR(0xABCDE123u)");
static_assert((__u32)(DRM_PANTHOR_ARCH_REV(0xABCDE123u)) == 0xCu, "DRM_PANTHOR_ARCH_REV(0xABCDE123u)");
static_assert((__u32)(DRM_PANTHOR_PRODUCT_MAJOR(0xABCDE123u)) == 0xDu, "DRM_PANTHOR_PRODUCT_MAJOR(0xABCDE123u)");
static_assert((__u32)(DRM_PANTHOR_VERSION_MAJOR(0xABCDE123u)) == 0xEu, "DRM_PANTHOR_VERSION_MAJOR(0xABCDE123u)");
static_assert((__u32)(DRM_PANTHOR_VERSION_MINOR(0xABCDE123u)) == 0x12u, "DRM_PANTHOR_VERSION_MINOR(0xABCDE123u)");
static_assert((__u32)(DRM_PANTHOR_VERSION_STATUS(0xABCDE123u)) == 0x3u, "DRM_PANTHOR_VERSION_STATUS(0xABCDE123u)");
static_assert((__u32)(DRM_PANTHOR_MMU_VA_BITS(0x00002830u)) == 0x30u, "DRM_PANTHOR_MMU_VA_BITS(0x00002830u)");
static_assert((__u32)(WSYS_PANTHOR_HEAP_CHUNK_HEADER_SIZE) == 0x40u, "WSYS_PANTHOR_HEAP_CHUNK_HEADER_SIZE");
static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK(0x12345000ull, 2u * 1024u * 1024u)) == 0x12345200ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK(0x12345000ull, 2u * 1024u * 1024u)");
static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK(0xfedcba987000ull, 8u * 1024u * 1024u)) == 0xFEDCBA987800ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK(0xfedcba987000ull, 8u * 1024u * 1024u)");
static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_SIZE(0x12345200ull)) == 0x200000ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_SIZE(0x12345200ull)");
static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_VA(0x12345200ull)) == 0x12345000ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_VA(0x12345200ull)");
static_assert((__u32)(WSYS_PANTHOR_HEAP_HANDLE(3, 5)) == 0x30005u, "WSYS_PANTHOR_HEAP_HANDLE(3, 5)");
static_assert((__u32)(WSYS_PANTHOR_GPU_INFO_MIN_SIZE) == 0x60u, "WSYS_PANTHOR_GPU_INFO_MIN_SIZE");
static_assert((__u32)(WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE) == 0x18u, "WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE");
static_assert((__u32)(PANFROST_JD_REQ_FS) == 0x1u, "PANFROST_JD_REQ_FS");
static_assert((__u32)(PANFROST_JD_REQ_CYCLE_COUNT) == 0x2u, "PANFROST_JD_REQ_CYCLE_COUNT");
static_assert((__u32)(PANFROST_BO_NOEXEC) == 0x1u, "PANFROST_BO_NOEXEC");
static_assert((__u32)(PANFROST_BO_HEAP) == 0x2u, "PANFROST_BO_HEAP");
static_assert((__u32)(PANFROST_BO_WB_MMAP) == 0x4u, "PANFROST_BO_WB_MMAP");
static_assert((__u32)(PANFROST_MADV_WILLNEED) == 0x0u, "PANFROST_MADV_WILLNEED");
static_assert((__u32)(PANFROST_MADV_DONTNEED) == 0x1u, "PANFROST_MADV_DONTNEED");
static_assert((__u32)(DRM_PANFROST_SUBMIT) == 0x0u, "DRM_PANFROST_SUBMIT");
static_assert((__u32)(DRM_PANFROST_WAIT_BO) == 0x1u, "DRM_PANFROST_WAIT_BO");
static_assert((__u32)(DRM_PANFROST_CREATE_BO) == 0x2u, "DRM_PANFROST_CREATE_BO");
static_assert((__u32)(DRM_PANFROST_MMAP_BO) == 0x3u, "DRM_PANFROST_MMAP_BO");
static_assert((__u32)(DRM_PANFROST_GET_PARAM) == 0x4u, "DRM_PANFROST_GET_PARAM");
static_assert((__u32)(DRM_PANFROST_GET_BO_OFFSET) == 0x5u, "DRM_PANFROST_GET_BO_OFFSET");
static_assert((__u32)(DRM_PANFROST_MADVISE) == 0x8u, "DRM_PANFROST_MADVISE");
static_assert((__u32)(DRM_PANFROST_SET_LABEL_BO) == 0x9u, "DRM_PANFROST_SET_LABEL_BO");
static_assert((__u32)(WSYS_PANFROST_PARAM_COUNT) == 0x2Du, "WSYS_PANFROST_PARAM_COUNT");
static_assert((__u64)(DRM_CAP_PRIME) == 0x5ull, "DRM_CAP_PRIME");
static_assert((__u64)(DRM_PRIME_CAP_IMPORT) == 0x1ull, "DRM_PRIME_CAP_IMPORT");
static_assert((__u64)(DRM_PRIME_CAP_EXPORT) == 0x2ull, "DRM_PRIME_CAP_EXPORT");
static_assert((__u64)(DRM_CAP_SYNCOBJ) == 0x13ull, "DRM_CAP_SYNCOBJ");
static_assert((__u64)(DRM_CAP_SYNCOBJ_TIMELINE) == 0x14ull, "DRM_CAP_SYNCOBJ_TIMELINE");
static_assert((__u32)(DRM_SYNCOBJ_CREATE_SIGNALED) == 0x1u, "DRM_SYNCOBJ_CREATE_SIGNALED");
static_assert((__u32)(DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE) == 0x1u, "DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE");
static_assert((__u32)(DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE) == 0x1u, "DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE");
static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL) == 0x1u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL");
static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) == 0x2u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT");
static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) == 0x4u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE");
static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE) == 0x8u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE");
static_assert((__u32)(DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED) == 0x1u, "DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED");
static_assert((__u32)(DRM_COMMAND_BASE) == 0x40u, "DRM_COMMAND_BASE");
static_assert((__u32)(DRM_IOCTL_BASE) == 0x64u, "DRM_IOCTL_BASE");
static_assert((__u32)(DRM_PANFROST_PARAM_GPU_PROD_ID) == 0x0u, "DRM_PANFROST_PARAM_GPU_PROD_ID");
static_assert((__u32)(DRM_PANFROST_PARAM_GPU_REVISION) == 0x1u, "DRM_PANFROST_PARAM_GPU_REVISION");
static_assert((__u32)(DRM_PANFROST_PARAM_SHADER_PRESENT) == 0x2u, "DRM_PANFROST_PARAM_SHADER_PRESENT");
static_assert((__u32)(DRM_PANFROST_PARAM_TILER_PRESENT) == 0x3u, "DRM_PANFROST_PARAM_TILER_PRESENT");
static_assert((__u32)(DRM_PANFROST_PARAM_L2_PRESENT) == 0x4u, "DRM_PANFROST_PARAM_L2_PRESENT");
static_assert((__u32)(DRM_PANFROST_PARAM_STACK_PRESENT) == 0x5u, "DRM_PANFROST_PARAM_STACK_PRESENT");
static_assert((__u32)(DRM_PANFROST_PARAM_AS_PRESENT) == 0x6u, "DRM_PANFROST_PARAM_AS_PRESENT");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_PRESENT) == 0x7u, "DRM_PANFROST_PARAM_JS_PRESENT");
static_assert((__u32)(DRM_PANFROST_PARAM_L2_FEATURES) == 0x8u, "DRM_PANFROST_PARAM_L2_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_CORE_FEATURES) == 0x9u, "DRM_PANFROST_PARAM_CORE_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_TILER_FEATURES) == 0xAu, "DRM_PANFROST_PARAM_TILER_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_MEM_FEATURES) == 0xBu, "DRM_PANFROST_PARAM_MEM_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_MMU_FEATURES) == 0xCu, "DRM_PANFROST_PARAM_MMU_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_FEATURES) == 0xDu, "DRM_PANFROST_PARAM_THREAD_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_MAX_THREADS) == 0xEu, "DRM_PANFROST_PARAM_MAX_THREADS");
static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ) == 0xFu, "DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ");
static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ) == 0x10u, "DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ");
static_assert((__u32)(DRM_PANFROST_PARAM_COHERENCY_FEATURES) == 0x11u, "DRM_PANFROST_PARAM_COHERENCY_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES0) == 0x12u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES0");
static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES1) == 0x13u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES1");
static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES2) == 0x14u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES2");
static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES3) == 0x15u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES3");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES0) == 0x16u, "DRM_PANFROST_PARAM_JS_FEATURES0");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES1) == 0x17u, "DRM_PANFROST_PARAM_JS_FEATURES1");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES2) == 0x18u, "DRM_PANFROST_PARAM_JS_FEATURES2");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES3) == 0x19u, "DRM_PANFROST_PARAM_JS_FEATURES3");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES4) == 0x1Au, "DRM_PANFROST_PARAM_JS_FEATURES4");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES5) == 0x1Bu, "DRM_PANFROST_PARAM_JS_FEATURES5");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES6) == 0x1Cu, "DRM_PANFROST_PARAM_JS_FEATURES6");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES7) == 0x1Du, "DRM_PANFROST_PARAM_JS_FEATURES7");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES8) == 0x1Eu, "DRM_PANFROST_PARAM_JS_FEATURES8");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES9) == 0x1Fu, "DRM_PANFROST_PARAM_JS_FEATURES9");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES10) == 0x20u, "DRM_PANFROST_PARAM_JS_FEATURES10");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES11) == 0x21u, "DRM_PANFROST_PARAM_JS_FEATURES11");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES12) == 0x22u, "DRM_PANFROST_PARAM_JS_FEATURES12");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES13) == 0x23u, "DRM_PANFROST_PARAM_JS_FEATURES13");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES14) == 0x24u, "DRM_PANFROST_PARAM_JS_FEATURES14");
static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES15) == 0x25u, "DRM_PANFROST_PARAM_JS_FEATURES15");
static_assert((__u32)(DRM_PANFROST_PARAM_NR_CORE_GROUPS) == 0x26u, "DRM_PANFROST_PARAM_NR_CORE_GROUPS");
static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_TLS_ALLOC) == 0x27u, "DRM_PANFROST_PARAM_THREAD_TLS_ALLOC");
static_assert((__u32)(DRM_PANFROST_PARAM_AFBC_FEATURES) == 0x28u, "DRM_PANFROST_PARAM_AFBC_FEATURES");
static_assert((__u32)(DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP) == 0x29u, "DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP");
static_assert((__u32)(DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY) == 0x2Au, "DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY");

// ===========================================================================
// Part 2: run-time checks
// ===========================================================================

namespace {

constexpr unsigned long kDirW = _IOC_WRITE;
constexpr unsigned long kDirRW = _IOC_READ | _IOC_WRITE;

// One ioctl: its number as the header builds it, what that number must
// decode to, and the reference's literal number and struct size.
struct IoctlCase {
  const char* name;
  unsigned long number;      // from the header
  unsigned long nr;          // expected _IOC_NR
  unsigned long dir;         // expected _IOC_DIR
  unsigned long arg_size;    // sizeof the struct (or the older prefix) it carries
  unsigned long ref_size;    // bytes, from the reference
  unsigned long ref_number;  // literal number, from the reference (or worked out)
};

void PrintTo(const IoctlCase& c, std::ostream* os) { *os << c.name; }

#define IOCTL_CASE(label, number, nr, dir, arg_size, ref_size, ref_number) \
  IoctlCase{label, static_cast<unsigned long>(number), nr, dir, \
            static_cast<unsigned long>(arg_size), ref_size, ref_number}

const std::vector<IoctlCase>& AllIoctls() {
  static const std::vector<IoctlCase> cases = {
      // panthor: all _IOWR, nr 0x40 + id
      IOCTL_CASE("PANTHOR_DEV_QUERY", DRM_IOCTL_PANTHOR_DEV_QUERY, 0x40, kDirRW,
                 sizeof(drm_panthor_dev_query), 16, 0xC0106440),
      IOCTL_CASE("PANTHOR_VM_CREATE", DRM_IOCTL_PANTHOR_VM_CREATE, 0x41, kDirRW,
                 sizeof(drm_panthor_vm_create), 16, 0xC0106441),
      IOCTL_CASE("PANTHOR_VM_DESTROY", DRM_IOCTL_PANTHOR_VM_DESTROY, 0x42, kDirRW,
                 sizeof(drm_panthor_vm_destroy), 8, 0xC0086442),
      IOCTL_CASE("PANTHOR_VM_BIND", DRM_IOCTL_PANTHOR_VM_BIND, 0x43, kDirRW,
                 sizeof(drm_panthor_vm_bind), 24, 0xC0186443),
      IOCTL_CASE("PANTHOR_VM_GET_STATE", DRM_IOCTL_PANTHOR_VM_GET_STATE, 0x44, kDirRW,
                 sizeof(drm_panthor_vm_get_state), 8, 0xC0086444),
      IOCTL_CASE("PANTHOR_BO_CREATE", DRM_IOCTL_PANTHOR_BO_CREATE, 0x45, kDirRW,
                 sizeof(drm_panthor_bo_create), 24, 0xC0186445),
      IOCTL_CASE("PANTHOR_BO_MMAP_OFFSET", DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET, 0x46, kDirRW,
                 sizeof(drm_panthor_bo_mmap_offset), 16, 0xC0106446),
      IOCTL_CASE("PANTHOR_GROUP_CREATE", DRM_IOCTL_PANTHOR_GROUP_CREATE, 0x47, kDirRW,
                 sizeof(drm_panthor_group_create), 56, 0xC0386447),
      IOCTL_CASE("PANTHOR_GROUP_DESTROY", DRM_IOCTL_PANTHOR_GROUP_DESTROY, 0x48, kDirRW,
                 sizeof(drm_panthor_group_destroy), 8, 0xC0086448),
      IOCTL_CASE("PANTHOR_GROUP_SUBMIT", DRM_IOCTL_PANTHOR_GROUP_SUBMIT, 0x49, kDirRW,
                 sizeof(drm_panthor_group_submit), 24, 0xC0186449),
      IOCTL_CASE("PANTHOR_GROUP_GET_STATE", DRM_IOCTL_PANTHOR_GROUP_GET_STATE, 0x4A, kDirRW,
                 sizeof(drm_panthor_group_get_state), 16, 0xC010644A),
      IOCTL_CASE("PANTHOR_TILER_HEAP_CREATE", DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE, 0x4B, kDirRW,
                 sizeof(drm_panthor_tiler_heap_create), 40, 0xC028644B),
      IOCTL_CASE("PANTHOR_TILER_HEAP_DESTROY", DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY, 0x4C, kDirRW,
                 sizeof(drm_panthor_tiler_heap_destroy), 8, 0xC008644C),
      IOCTL_CASE("PANTHOR_BO_SET_LABEL", DRM_IOCTL_PANTHOR_BO_SET_LABEL, 0x4D, kDirRW,
                 sizeof(drm_panthor_bo_set_label), 16, 0xC010644D),
      IOCTL_CASE("PANTHOR_SET_USER_MMIO_OFFSET", DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET, 0x4E, kDirRW,
                 sizeof(drm_panthor_set_user_mmio_offset), 8, 0xC008644E),
      IOCTL_CASE("PANTHOR_BO_SYNC", DRM_IOCTL_PANTHOR_BO_SYNC, 0x4F, kDirRW,
                 sizeof(drm_panthor_bo_sync), 16, 0xC010644F),
      IOCTL_CASE("PANTHOR_BO_QUERY_INFO", DRM_IOCTL_PANTHOR_BO_QUERY_INFO, 0x50, kDirRW,
                 sizeof(drm_panthor_bo_query_info), 16, 0xC0106450),

      // panfrost: SUBMIT and WAIT_BO are _IOW, the rest _IOWR
      IOCTL_CASE("PANFROST_SUBMIT", DRM_IOCTL_PANFROST_SUBMIT, 0x40, kDirW,
                 sizeof(drm_panfrost_submit), 48, 0x40306440),
      IOCTL_CASE("PANFROST_SUBMIT_V1", DRM_IOCTL_PANFROST_SUBMIT_V1, 0x40, kDirW,
                 offsetof(drm_panfrost_submit, jm_ctx_handle), 40, 0x40286440),
      IOCTL_CASE("PANFROST_WAIT_BO", DRM_IOCTL_PANFROST_WAIT_BO, 0x41, kDirW,
                 sizeof(drm_panfrost_wait_bo), 16, 0x40106441),
      IOCTL_CASE("PANFROST_CREATE_BO", DRM_IOCTL_PANFROST_CREATE_BO, 0x42, kDirRW,
                 sizeof(drm_panfrost_create_bo), 24, 0xC0186442),
      IOCTL_CASE("PANFROST_MMAP_BO", DRM_IOCTL_PANFROST_MMAP_BO, 0x43, kDirRW,
                 sizeof(drm_panfrost_mmap_bo), 16, 0xC0106443),
      IOCTL_CASE("PANFROST_GET_PARAM", DRM_IOCTL_PANFROST_GET_PARAM, 0x44, kDirRW,
                 sizeof(drm_panfrost_get_param), 16, 0xC0106444),
      IOCTL_CASE("PANFROST_GET_BO_OFFSET", DRM_IOCTL_PANFROST_GET_BO_OFFSET, 0x45, kDirRW,
                 sizeof(drm_panfrost_get_bo_offset), 16, 0xC0106445),
      IOCTL_CASE("PANFROST_MADVISE", DRM_IOCTL_PANFROST_MADVISE, 0x48, kDirRW,
                 sizeof(drm_panfrost_madvise), 12, 0xC00C6448),
      IOCTL_CASE("PANFROST_SET_LABEL_BO", DRM_IOCTL_PANFROST_SET_LABEL_BO, 0x49, kDirRW,
                 sizeof(drm_panfrost_set_label_bo), 16, 0xC0106449),
      IOCTL_CASE("PANFROST_JM_CTX_CREATE", DRM_IOCTL_PANFROST_JM_CTX_CREATE, 0x4A, kDirRW,
                 sizeof(drm_panfrost_jm_ctx_create), 8, 0xC008644A),
      IOCTL_CASE("PANFROST_JM_CTX_DESTROY", DRM_IOCTL_PANFROST_JM_CTX_DESTROY, 0x4B, kDirRW,
                 sizeof(drm_panfrost_jm_ctx_destroy), 8, 0xC008644B),
      IOCTL_CASE("PANFROST_SYNC_BO", DRM_IOCTL_PANFROST_SYNC_BO, 0x4C, kDirRW,
                 sizeof(drm_panfrost_sync_bo), 16, 0xC010644C),
      IOCTL_CASE("PANFROST_QUERY_BO_INFO", DRM_IOCTL_PANFROST_QUERY_BO_INFO, 0x4D, kDirRW,
                 sizeof(drm_panfrost_query_bo_info), 16, 0xC010644D),

      // DRM core
#if defined(__LP64__)
      IOCTL_CASE("VERSION", DRM_IOCTL_VERSION, 0x00, kDirRW, sizeof(drm_version), 64, 0xC0406400),
#endif
      IOCTL_CASE("GEM_CLOSE", DRM_IOCTL_GEM_CLOSE, 0x09, kDirW, sizeof(drm_gem_close), 8, 0x40086409),
      IOCTL_CASE("GET_CAP", DRM_IOCTL_GET_CAP, 0x0C, kDirRW, sizeof(drm_get_cap), 16, 0xC010640C),
      IOCTL_CASE("PRIME_HANDLE_TO_FD", DRM_IOCTL_PRIME_HANDLE_TO_FD, 0x2D, kDirRW,
                 sizeof(drm_prime_handle), 12, 0xC00C642D),
      IOCTL_CASE("PRIME_FD_TO_HANDLE", DRM_IOCTL_PRIME_FD_TO_HANDLE, 0x2E, kDirRW,
                 sizeof(drm_prime_handle), 12, 0xC00C642E),
      IOCTL_CASE("SYNCOBJ_CREATE", DRM_IOCTL_SYNCOBJ_CREATE, 0xBF, kDirRW,
                 sizeof(drm_syncobj_create), 8, 0xC00864BF),
      IOCTL_CASE("SYNCOBJ_DESTROY", DRM_IOCTL_SYNCOBJ_DESTROY, 0xC0, kDirRW,
                 sizeof(drm_syncobj_destroy), 8, 0xC00864C0),
      IOCTL_CASE("SYNCOBJ_HANDLE_TO_FD", DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, 0xC1, kDirRW,
                 sizeof(drm_syncobj_handle), 16, 0xC01064C1),
      IOCTL_CASE("SYNCOBJ_FD_TO_HANDLE", DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, 0xC2, kDirRW,
                 sizeof(drm_syncobj_handle), 16, 0xC01064C2),
      IOCTL_CASE("SYNCOBJ_WAIT", DRM_IOCTL_SYNCOBJ_WAIT, 0xC3, kDirRW,
                 sizeof(drm_syncobj_wait), 40, 0xC02864C3),
      IOCTL_CASE("SYNCOBJ_WAIT_V1", DRM_IOCTL_SYNCOBJ_WAIT_V1, 0xC3, kDirRW,
                 offsetof(drm_syncobj_wait, deadline_nsec), 32, 0xC02064C3),
      IOCTL_CASE("SYNCOBJ_RESET", DRM_IOCTL_SYNCOBJ_RESET, 0xC4, kDirRW,
                 sizeof(drm_syncobj_array), 16, 0xC01064C4),
      IOCTL_CASE("SYNCOBJ_SIGNAL", DRM_IOCTL_SYNCOBJ_SIGNAL, 0xC5, kDirRW,
                 sizeof(drm_syncobj_array), 16, 0xC01064C5),
      IOCTL_CASE("SYNCOBJ_TIMELINE_WAIT", DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, 0xCA, kDirRW,
                 sizeof(drm_syncobj_timeline_wait), 48, 0xC03064CA),
      IOCTL_CASE("SYNCOBJ_TIMELINE_WAIT_V1", DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1, 0xCA, kDirRW,
                 offsetof(drm_syncobj_timeline_wait, deadline_nsec), 40, 0xC02864CA),
      IOCTL_CASE("SYNCOBJ_QUERY", DRM_IOCTL_SYNCOBJ_QUERY, 0xCB, kDirRW,
                 sizeof(drm_syncobj_timeline_array), 24, 0xC01864CB),
      IOCTL_CASE("SYNCOBJ_TRANSFER", DRM_IOCTL_SYNCOBJ_TRANSFER, 0xCC, kDirRW,
                 sizeof(drm_syncobj_transfer), 32, 0xC02064CC),
      IOCTL_CASE("SYNCOBJ_TIMELINE_SIGNAL", DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, 0xCD, kDirRW,
                 sizeof(drm_syncobj_timeline_array), 24, 0xC01864CD),
      IOCTL_CASE("SYNCOBJ_EVENTFD", DRM_IOCTL_SYNCOBJ_EVENTFD, 0xCF, kDirRW,
                 sizeof(drm_syncobj_eventfd), 24, 0xC01864CF),
  };
  return cases;
}

#undef IOCTL_CASE

class IoctlEncoding : public ::testing::TestWithParam<IoctlCase> {};

TEST_P(IoctlEncoding, DecodesToItsStruct) {
  const IoctlCase& c = GetParam();
  const unsigned long type = _IOC_TYPE(c.number);
  const unsigned long nr = _IOC_NR(c.number);
  const unsigned long size = _IOC_SIZE(c.number);
  const unsigned long dir = _IOC_DIR(c.number);

  EXPECT_EQ(type, static_cast<unsigned long>('d'));
  EXPECT_EQ(nr, c.nr);
  EXPECT_EQ(size, c.arg_size) << "_IOC_SIZE differs from the struct the ioctl carries";
  EXPECT_EQ(c.arg_size, c.ref_size) << "struct size differs from the reference";
  EXPECT_EQ(dir, c.dir);
  EXPECT_EQ(c.number, c.ref_number) << std::hex << "0x" << c.number << " vs 0x" << c.ref_number;
}

TEST_P(IoctlEncoding, DriverIoctlsLiveInTheCommandRange) {
  const IoctlCase& c = GetParam();
  const std::string name = c.name;
  const bool driver = name.rfind("PANTHOR_", 0) == 0 || name.rfind("PANFROST_", 0) == 0;
  const unsigned long nr = _IOC_NR(c.number);
  const bool in_range = nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END;
  EXPECT_EQ(driver, in_range) << "nr 0x" << std::hex << nr;
}

INSTANTIATE_TEST_SUITE_P(Uapi, IoctlEncoding, ::testing::ValuesIn(AllIoctls()),
                         [](const ::testing::TestParamInfo<IoctlCase>& param_info) {
                           return std::string(param_info.param.name);
                         });

TEST(IoctlTable, NumbersAreDistinct) {
  const auto& cases = AllIoctls();
  for (size_t i = 0; i < cases.size(); ++i) {
    for (size_t j = i + 1; j < cases.size(); ++j) {
      const std::string a = cases[i].name;
      const std::string b = cases[j].name;
      // panthor and panfrost share the driver range; they are never on the
      // same fd. Everything else must be unique.
      const bool cross_driver = (a.rfind("PANTHOR_", 0) == 0 && b.rfind("PANFROST_", 0) == 0) ||
                                (a.rfind("PANFROST_", 0) == 0 && b.rfind("PANTHOR_", 0) == 0);
      if (!cross_driver) {
        EXPECT_NE(cases[i].number, cases[j].number) << a << " and " << b;
      }
    }
  }
}

// Read sizeof(T) bytes at a byte offset of an object, as the kernel would.
template <typename T, typename S>
T LoadAt(const S& s, size_t offset) {
  T v{};
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(&s) + offset, sizeof(T));
  return v;
}

// True when every byte of the object outside the (offset, length) ranges in
// used is zero: catches a field written somewhere the reference does not say.
template <typename S>
bool ZeroOutside(const S& s, const std::vector<std::pair<size_t, size_t>>& used) {
  const auto* p = reinterpret_cast<const unsigned char*>(&s);
  for (size_t i = 0; i < sizeof(S); ++i) {
    bool in_use = false;
    for (const auto& [off, n] : used) in_use = in_use || (i >= off && i < off + n);
    if (!in_use && p[i] != 0) return false;
  }
  return true;
}

TEST(PanthorLayout, VmBindOpBytes) {
  drm_panthor_vm_bind_op op{};
  op.flags = DRM_PANTHOR_VM_BIND_OP_TYPE_MAP | DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC;
  op.bo_handle = 0x11223344u;
  op.bo_offset = 0x0102030405060708ull;
  op.va = 0x1112131415161718ull;
  op.size = 0x2122232425262728ull;
  op.syncs.stride = sizeof(drm_panthor_sync_op);
  op.syncs.count = 3;
  op.syncs.array = 0x3132333435363738ull;
  EXPECT_EQ(LoadAt<__u32>(op, 0), 0x2u);
  EXPECT_EQ(LoadAt<__u32>(op, 4), 0x11223344u);
  EXPECT_EQ(LoadAt<__u64>(op, 8), 0x0102030405060708ull);
  EXPECT_EQ(LoadAt<__u64>(op, 16), 0x1112131415161718ull);
  EXPECT_EQ(LoadAt<__u64>(op, 24), 0x2122232425262728ull);
  EXPECT_EQ(LoadAt<__u32>(op, 32), 16u);
  EXPECT_EQ(LoadAt<__u32>(op, 36), 3u);
  EXPECT_EQ(LoadAt<__u64>(op, 40), 0x3132333435363738ull);
}

TEST(PanthorLayout, QueueSubmitAndGroupSubmitBytes) {
  drm_panthor_queue_submit qs{};
  qs.queue_index = 2;
  qs.stream_size = 0x40;
  qs.stream_addr = 0xABCDEF000040ull;
  qs.latest_flush = 0x77;
  qs.syncs.count = 1;
  EXPECT_EQ(LoadAt<__u32>(qs, 0), 2u);
  EXPECT_EQ(LoadAt<__u32>(qs, 4), 0x40u);
  EXPECT_EQ(LoadAt<__u64>(qs, 8), 0xABCDEF000040ull);
  EXPECT_EQ(LoadAt<__u32>(qs, 16), 0x77u);
  EXPECT_EQ(LoadAt<__u32>(qs, 28), 1u);
  EXPECT_TRUE(ZeroOutside(qs, {{0, 20}, {24, 16}}));

  drm_panthor_group_submit gs{};
  gs.group_handle = 5;
  gs.queue_submits.array = 0x1000;
  EXPECT_EQ(LoadAt<__u32>(gs, 0), 5u);
  EXPECT_EQ(LoadAt<__u64>(gs, 16), 0x1000ull);
}

TEST(PanthorLayout, GroupCreateBytes) {
  drm_panthor_group_create gc{};
  gc.queues.count = 2;
  gc.max_compute_cores = 0xA1;
  gc.max_fragment_cores = 0xA2;
  gc.max_tiler_cores = 0xA3;
  gc.priority = PANTHOR_GROUP_PRIORITY_REALTIME;
  gc.compute_core_mask = 0xF0F0ull;
  gc.fragment_core_mask = 0x0F0Full;
  gc.tiler_core_mask = 0x1ull;
  gc.vm_id = 7;
  gc.group_handle = 9;
  EXPECT_EQ(LoadAt<__u32>(gc, 4), 2u);
  EXPECT_EQ(LoadAt<__u8>(gc, 16), 0xA1u);
  EXPECT_EQ(LoadAt<__u8>(gc, 17), 0xA2u);
  EXPECT_EQ(LoadAt<__u8>(gc, 18), 0xA3u);
  EXPECT_EQ(LoadAt<__u8>(gc, 19), 3u);
  EXPECT_EQ(LoadAt<__u32>(gc, 20), 0u);  // pad
  EXPECT_EQ(LoadAt<__u64>(gc, 24), 0xF0F0ull);
  EXPECT_EQ(LoadAt<__u64>(gc, 32), 0x0F0Full);
  EXPECT_EQ(LoadAt<__u64>(gc, 40), 0x1ull);
  EXPECT_EQ(LoadAt<__u32>(gc, 48), 7u);
  EXPECT_EQ(LoadAt<__u32>(gc, 52), 9u);
}

TEST(PanthorLayout, TilerHeapCreateBytes) {
  drm_panthor_tiler_heap_create h{};
  h.vm_id = 1;
  h.initial_chunk_count = 5;
  h.chunk_size = 2u << 20;
  h.max_chunks = 64;
  h.target_in_flight = 65535;
  h.handle = WSYS_PANTHOR_HEAP_HANDLE(1, 0);
  h.tiler_heap_ctx_gpu_va = 0x100000ull;
  h.first_heap_chunk_gpu_va = 0x200000ull;
  EXPECT_EQ(LoadAt<__u32>(h, 0), 1u);
  EXPECT_EQ(LoadAt<__u32>(h, 4), 5u);
  EXPECT_EQ(LoadAt<__u32>(h, 8), 2u << 20);
  EXPECT_EQ(LoadAt<__u32>(h, 12), 64u);
  EXPECT_EQ(LoadAt<__u32>(h, 16), 65535u);
  EXPECT_EQ(LoadAt<__u32>(h, 20), 0x10000u);
  EXPECT_EQ(LoadAt<__u64>(h, 24), 0x100000ull);
  EXPECT_EQ(LoadAt<__u64>(h, 32), 0x200000ull);
}

TEST(PanthorLayout, GpuInfoSelectedCoherencyAliasesPad0) {
  drm_panthor_gpu_info info{};
  info.selected_coherency = DRM_PANTHOR_GPU_COHERENCY_NONE;
  EXPECT_EQ(info.pad0, 31u);
  EXPECT_EQ(LoadAt<__u32>(info, 68), 31u);
  info.shader_present = 0xFFull;
  info.gpu_features = 0x55ull;
  EXPECT_EQ(LoadAt<__u64>(info, 72), 0xFFull);
  EXPECT_EQ(LoadAt<__u64>(info, 104), 0x55ull);
  EXPECT_TRUE(ZeroOutside(info, {{68, 4}, {72, 8}, {104, 8}}));
}

TEST(PanthorLayout, SyncOpSignalIsTheTopBit) {
  drm_panthor_sync_op s{};
  s.flags = static_cast<__u32>(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ) |
            static_cast<__u32>(DRM_PANTHOR_SYNC_OP_SIGNAL);
  s.timeline_value = 42;
  EXPECT_EQ(LoadAt<__u32>(s, 0), 0x80000001u);
  EXPECT_EQ(s.flags & static_cast<__u32>(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK), 1u);
  EXPECT_EQ(LoadAt<__u64>(s, 8), 42ull);
}

TEST(PanthorLayout, VmBindOpTypeField) {
  const __u32 flags = static_cast<__u32>(DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY) |
                      static_cast<__u32>(DRM_PANTHOR_VM_BIND_OP_MAP_READONLY);
  const __u32 mask = static_cast<__u32>(DRM_PANTHOR_VM_BIND_OP_TYPE_MASK);
  EXPECT_EQ(mask, 0xF0000000u);
  EXPECT_EQ(flags & mask, static_cast<__u32>(DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY));
  EXPECT_EQ(flags & ~mask, static_cast<__u32>(DRM_PANTHOR_VM_BIND_OP_MAP_READONLY));
}

TEST(PanthorHelpers, GpuIdDecoding) {
  // A G610-like id: arch 10.8.7, product major 2, version r0p0 status 0.
  const __u32 id = 0xA8720000u;
  EXPECT_EQ(DRM_PANTHOR_ARCH_MAJOR(id), 10u);
  EXPECT_EQ(DRM_PANTHOR_ARCH_MINOR(id), 8u);
  EXPECT_EQ(DRM_PANTHOR_ARCH_REV(id), 7u);
  EXPECT_EQ(DRM_PANTHOR_PRODUCT_MAJOR(id), 2u);
  EXPECT_EQ(DRM_PANTHOR_VERSION_MAJOR(id), 0u);
  EXPECT_EQ(DRM_PANTHOR_VERSION_MINOR(id), 0u);
  EXPECT_EQ(DRM_PANTHOR_VERSION_STATUS(id), 0u);

  const __u32 all = 0xFFFFFFFFu;
  EXPECT_EQ(DRM_PANTHOR_ARCH_MAJOR(all), 0xFu);
  EXPECT_EQ(DRM_PANTHOR_VERSION_MINOR(all), 0xFFu);
  EXPECT_EQ(DRM_PANTHOR_MMU_VA_BITS(0x2830u), 0x30u);
}

TEST(PanthorHelpers, CsfIdDecoding) {
  const __u32 csf = (1u << 26) | (2u << 20) | (3u << 16) | (4u << 10) | (5u << 4) | 6u;
  EXPECT_EQ(DRM_PANTHOR_CSHW_MAJOR(csf), 1u);
  EXPECT_EQ(DRM_PANTHOR_CSHW_MINOR(csf), 2u);
  EXPECT_EQ(DRM_PANTHOR_CSHW_REV(csf), 3u);
  EXPECT_EQ(DRM_PANTHOR_MCU_MAJOR(csf), 4u);
  EXPECT_EQ(DRM_PANTHOR_MCU_MINOR(csf), 5u);
  EXPECT_EQ(DRM_PANTHOR_MCU_REV(csf), 6u);
}

TEST(PanthorHelpers, HeapChunkLinkRoundTrips) {
  for (__u64 size = WSYS_PANTHOR_HEAP_CHUNK_MIN_SIZE; size <= WSYS_PANTHOR_HEAP_CHUNK_MAX_SIZE;
       size *= 2) {
    const __u64 va = 0x7F1234560000ull;
    const __u64 link = WSYS_PANTHOR_HEAP_CHUNK_LINK(va, size);
    EXPECT_EQ(WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_VA(link), va) << size;
    EXPECT_EQ(WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_SIZE(link), size) << size;
  }
  wsys_panthor_heap_chunk_header hdr{};
  hdr.next = WSYS_PANTHOR_HEAP_CHUNK_LINK(0x200000ull, 2u << 20);
  EXPECT_EQ(LoadAt<__u64>(hdr, 0), 0x200200ull);
}

TEST(PanthorHelpers, ObjArrayMacro) {
  drm_panthor_vm_bind_op ops[3] = {};
  const drm_panthor_obj_array a = DRM_PANTHOR_OBJ_ARRAY(3, ops);
  EXPECT_EQ(a.stride, 48u);
  EXPECT_EQ(a.count, 3u);
  EXPECT_EQ(a.array, static_cast<__u64>(reinterpret_cast<uintptr_t>(&ops[0])));
}

TEST(PanthorHelpers, UserMmioOffsetMatchesWordSize) {
  const unsigned long long expected =
      sizeof(unsigned long) < 8 ? (1ull << 43) : (1ull << 56);
  EXPECT_EQ(DRM_PANTHOR_USER_MMIO_OFFSET, expected);
  EXPECT_EQ(DRM_PANTHOR_USER_FLUSH_ID_MMIO_OFFSET, expected);
}

TEST(PanfrostLayout, SubmitBytes) {
  drm_panfrost_submit s{};
  s.jc = 0x1000;
  s.in_syncs = 0x2000;
  s.in_sync_count = 3;
  s.out_sync = 4;
  s.bo_handles = 0x5000;
  s.bo_handle_count = 6;
  s.requirements = PANFROST_JD_REQ_FS | PANFROST_JD_REQ_CYCLE_COUNT;
  s.jm_ctx_handle = 7;
  EXPECT_EQ(LoadAt<__u64>(s, 0), 0x1000ull);
  EXPECT_EQ(LoadAt<__u64>(s, 8), 0x2000ull);
  EXPECT_EQ(LoadAt<__u32>(s, 16), 3u);
  EXPECT_EQ(LoadAt<__u32>(s, 20), 4u);
  EXPECT_EQ(LoadAt<__u64>(s, 24), 0x5000ull);
  EXPECT_EQ(LoadAt<__u32>(s, 32), 6u);
  EXPECT_EQ(LoadAt<__u32>(s, 36), 3u);
  EXPECT_EQ(LoadAt<__u32>(s, 40), 7u);
  EXPECT_EQ(LoadAt<__u32>(s, 44), 0u);
}

TEST(PanfrostLayout, CreateBoAndWaitBoBytes) {
  drm_panfrost_create_bo c{};
  c.size = 4096;
  c.flags = PANFROST_BO_HEAP | PANFROST_BO_NOEXEC;
  c.handle = 8;
  c.offset = 0x2000000ull;
  EXPECT_EQ(LoadAt<__u32>(c, 0), 4096u);
  EXPECT_EQ(LoadAt<__u32>(c, 4), 3u);
  EXPECT_EQ(LoadAt<__u32>(c, 8), 8u);
  EXPECT_EQ(LoadAt<__u64>(c, 16), 0x2000000ull);
  EXPECT_TRUE(ZeroOutside(c, {{0, 12}, {16, 8}}));

  drm_panfrost_wait_bo w{};
  w.handle = 1;
  w.timeout_ns = -1;
  EXPECT_EQ(LoadAt<__s64>(w, 8), -1);
}

TEST(PanfrostParams, AllFortyFiveAreContiguous) {
  EXPECT_EQ(DRM_PANFROST_PARAM_GPU_PROD_ID, 0);
  EXPECT_EQ(DRM_PANFROST_PARAM_TEXTURE_FEATURES3 - DRM_PANFROST_PARAM_TEXTURE_FEATURES0, 3);
  EXPECT_EQ(DRM_PANFROST_PARAM_JS_FEATURES15 - DRM_PANFROST_PARAM_JS_FEATURES0, 15);
  EXPECT_EQ(DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY + 1,
            DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES);
  EXPECT_EQ(DRM_PANFROST_PARAM_SELECTED_COHERENCY + 1, WSYS_PANFROST_PARAM_COUNT);
}

TEST(DrmCoreLayout, SyncobjWaitBytes) {
  drm_syncobj_wait w{};
  w.handles = 0x1000;
  w.timeout_nsec = -2;
  w.count_handles = 4;
  w.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE;
  w.first_signaled = 5;
  w.deadline_nsec = 0x99ull;
  EXPECT_EQ(LoadAt<__u64>(w, 0), 0x1000ull);
  EXPECT_EQ(LoadAt<__s64>(w, 8), -2);
  EXPECT_EQ(LoadAt<__u32>(w, 16), 4u);
  EXPECT_EQ(LoadAt<__u32>(w, 20), 9u);
  EXPECT_EQ(LoadAt<__u32>(w, 24), 5u);
  EXPECT_EQ(LoadAt<__u64>(w, 32), 0x99ull);
}

TEST(DrmCoreLayout, SyncobjTimelineWaitBytes) {
  drm_syncobj_timeline_wait w{};
  w.handles = 0x1000;
  w.points = 0x2000;
  w.timeout_nsec = 3;
  w.count_handles = 4;
  w.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;
  w.first_signaled = 6;
  w.deadline_nsec = 7;
  EXPECT_EQ(LoadAt<__u64>(w, 8), 0x2000ull);
  EXPECT_EQ(LoadAt<__s64>(w, 16), 3);
  EXPECT_EQ(LoadAt<__u32>(w, 24), 4u);
  EXPECT_EQ(LoadAt<__u32>(w, 28), 4u);
  EXPECT_EQ(LoadAt<__u32>(w, 32), 6u);
  EXPECT_EQ(LoadAt<__u64>(w, 40), 7ull);
}

TEST(DrmCoreLayout, SyncobjTransferAndEventfdBytes) {
  drm_syncobj_transfer t{};
  t.src_handle = 1;
  t.dst_handle = 2;
  t.src_point = 3;
  t.dst_point = 4;
  t.flags = 5;
  EXPECT_EQ(LoadAt<__u32>(t, 4), 2u);
  EXPECT_EQ(LoadAt<__u64>(t, 8), 3ull);
  EXPECT_EQ(LoadAt<__u64>(t, 16), 4ull);
  EXPECT_EQ(LoadAt<__u32>(t, 24), 5u);
  EXPECT_TRUE(ZeroOutside(t, {{0, 28}}));

  drm_syncobj_eventfd e{};
  e.handle = 1;
  e.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE;
  e.point = 0x1234;
  e.fd = -1;
  EXPECT_EQ(LoadAt<__u32>(e, 4), 4u);
  EXPECT_EQ(LoadAt<__u64>(e, 8), 0x1234ull);
  EXPECT_EQ(LoadAt<__s32>(e, 16), -1);
  EXPECT_EQ(LoadAt<__u32>(e, 20), 0u);
}

TEST(DrmCoreLayout, PrimeHandleBytes) {
  drm_prime_handle p{};
  p.handle = 3;
  p.flags = DRM_CLOEXEC | DRM_RDWR;
  p.fd = -1;
  EXPECT_EQ(LoadAt<__u32>(p, 4), static_cast<__u32>(O_CLOEXEC | O_RDWR));
  EXPECT_EQ(LoadAt<__s32>(p, 8), -1);
}

}  // namespace
