/* SPDX-License-Identifier: MIT */
/*
 * Compile-time ABI checks of include/drm-uapi/ as seen by the C compiler.
 *
 * Every struct size, every field offset, every ioctl number and every flag
 * value is pinned to the upstream uAPI's numbers (for the syncobj ioctls,
 * whose numbers are known only as nr and size, the
 * expected value is the _IOWR encoding worked out by hand). The C++ twin,
 * abi_static_asserts.cpp, repeats the list and adds run-time checks; this
 * file exists so that a layout slip that only shows up in C (C11 rules for
 * anonymous unions, enum constant types) breaks the build too.
 *
 * Include order differs from the C++ file on purpose: panthor_drm.h comes
 * first here, drm_core.h first there, so each is compiled before anything
 * else could supply what it forgot to include.
 */
#include "drm-uapi/panthor_drm.h"
#include "drm-uapi/panfrost_drm.h"
#include "drm-uapi/drm_core.h"

#include <fcntl.h>
#include <stddef.h>

/* drm_version holds size_t and pointers, so its layout follows the ABI. */
#if defined(__LP64__)
_Static_assert(sizeof(struct drm_version) == 64, "sizeof(struct drm_version) on LP64");
_Static_assert(offsetof(struct drm_version, version_major) == 0, "drm_version.version_major");
_Static_assert(offsetof(struct drm_version, version_minor) == 4, "drm_version.version_minor");
_Static_assert(offsetof(struct drm_version, version_patchlevel) == 8, "drm_version.version_patchlevel");
_Static_assert(offsetof(struct drm_version, name_len) == 16, "drm_version.name_len");
_Static_assert(offsetof(struct drm_version, name) == 24, "drm_version.name");
_Static_assert(offsetof(struct drm_version, date_len) == 32, "drm_version.date_len");
_Static_assert(offsetof(struct drm_version, date) == 40, "drm_version.date");
_Static_assert(offsetof(struct drm_version, desc_len) == 48, "drm_version.desc_len");
_Static_assert(offsetof(struct drm_version, desc) == 56, "drm_version.desc");
_Static_assert(DRM_IOCTL_VERSION == 0xC0406400, "DRM_IOCTL_VERSION on LP64");
#else
_Static_assert(sizeof(struct drm_version) == 36, "sizeof(struct drm_version) on ILP32");
_Static_assert(offsetof(struct drm_version, desc) == 32, "drm_version.desc");
_Static_assert(DRM_IOCTL_VERSION == 0xC0246400, "DRM_IOCTL_VERSION on ILP32");
#endif

/* O_CLOEXEC needs POSIX 2008; the build defines _GNU_SOURCE. */
#ifdef O_CLOEXEC
_Static_assert(DRM_CLOEXEC == O_CLOEXEC, "DRM_CLOEXEC");
#endif
_Static_assert(DRM_RDWR == O_RDWR, "DRM_RDWR");

/* The older ioctl encodings are exactly the structs cut before the newest
 * field. */
_Static_assert(offsetof(struct drm_panfrost_submit, jm_ctx_handle) == 40, "panfrost SUBMIT v1 size");
_Static_assert(offsetof(struct drm_syncobj_wait, deadline_nsec) == 32, "syncobj WAIT v1 size");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, deadline_nsec) == 40, "syncobj TIMELINE_WAIT v1 size");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, flags) == WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE,
               "timestamp_info before 1.8");
_Static_assert(offsetof(struct drm_panthor_gpu_info, core_features) == WSYS_PANTHOR_GPU_INFO_MIN_SIZE,
               "gpu_info minimum size ends at tiler_present");
_Static_assert(sizeof(struct wsys_panthor_heap_chunk_header) == WSYS_PANTHOR_HEAP_CHUNK_HEADER_SIZE,
               "heap chunk header");

/* ---- panthor: struct sizes and field offsets ---- */
_Static_assert(sizeof(struct drm_panthor_obj_array) == 16, "sizeof(struct drm_panthor_obj_array)");
_Static_assert(offsetof(struct drm_panthor_obj_array, stride) == 0, "drm_panthor_obj_array.stride");
_Static_assert(offsetof(struct drm_panthor_obj_array, count) == 4, "drm_panthor_obj_array.count");
_Static_assert(offsetof(struct drm_panthor_obj_array, array) == 8, "drm_panthor_obj_array.array");
_Static_assert(sizeof(struct drm_panthor_sync_op) == 16, "sizeof(struct drm_panthor_sync_op)");
_Static_assert(offsetof(struct drm_panthor_sync_op, flags) == 0, "drm_panthor_sync_op.flags");
_Static_assert(offsetof(struct drm_panthor_sync_op, handle) == 4, "drm_panthor_sync_op.handle");
_Static_assert(offsetof(struct drm_panthor_sync_op, timeline_value) == 8, "drm_panthor_sync_op.timeline_value");
_Static_assert(sizeof(struct drm_panthor_gpu_info) == 112, "sizeof(struct drm_panthor_gpu_info)");
_Static_assert(offsetof(struct drm_panthor_gpu_info, gpu_id) == 0, "drm_panthor_gpu_info.gpu_id");
_Static_assert(offsetof(struct drm_panthor_gpu_info, gpu_rev) == 4, "drm_panthor_gpu_info.gpu_rev");
_Static_assert(offsetof(struct drm_panthor_gpu_info, csf_id) == 8, "drm_panthor_gpu_info.csf_id");
_Static_assert(offsetof(struct drm_panthor_gpu_info, l2_features) == 12, "drm_panthor_gpu_info.l2_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, tiler_features) == 16, "drm_panthor_gpu_info.tiler_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, mem_features) == 20, "drm_panthor_gpu_info.mem_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, mmu_features) == 24, "drm_panthor_gpu_info.mmu_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, thread_features) == 28, "drm_panthor_gpu_info.thread_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, max_threads) == 32, "drm_panthor_gpu_info.max_threads");
_Static_assert(offsetof(struct drm_panthor_gpu_info, thread_max_workgroup_size) == 36, "drm_panthor_gpu_info.thread_max_workgroup_size");
_Static_assert(offsetof(struct drm_panthor_gpu_info, thread_max_barrier_size) == 40, "drm_panthor_gpu_info.thread_max_barrier_size");
_Static_assert(offsetof(struct drm_panthor_gpu_info, coherency_features) == 44, "drm_panthor_gpu_info.coherency_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, texture_features) == 48, "drm_panthor_gpu_info.texture_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, as_present) == 64, "drm_panthor_gpu_info.as_present");
_Static_assert(offsetof(struct drm_panthor_gpu_info, pad0) == 68, "drm_panthor_gpu_info.pad0");
_Static_assert(offsetof(struct drm_panthor_gpu_info, selected_coherency) == 68, "drm_panthor_gpu_info.selected_coherency");
_Static_assert(offsetof(struct drm_panthor_gpu_info, shader_present) == 72, "drm_panthor_gpu_info.shader_present");
_Static_assert(offsetof(struct drm_panthor_gpu_info, l2_present) == 80, "drm_panthor_gpu_info.l2_present");
_Static_assert(offsetof(struct drm_panthor_gpu_info, tiler_present) == 88, "drm_panthor_gpu_info.tiler_present");
_Static_assert(offsetof(struct drm_panthor_gpu_info, core_features) == 96, "drm_panthor_gpu_info.core_features");
_Static_assert(offsetof(struct drm_panthor_gpu_info, pad) == 100, "drm_panthor_gpu_info.pad");
_Static_assert(offsetof(struct drm_panthor_gpu_info, gpu_features) == 104, "drm_panthor_gpu_info.gpu_features");
_Static_assert(sizeof(struct drm_panthor_csif_info) == 24, "sizeof(struct drm_panthor_csif_info)");
_Static_assert(offsetof(struct drm_panthor_csif_info, csg_slot_count) == 0, "drm_panthor_csif_info.csg_slot_count");
_Static_assert(offsetof(struct drm_panthor_csif_info, cs_slot_count) == 4, "drm_panthor_csif_info.cs_slot_count");
_Static_assert(offsetof(struct drm_panthor_csif_info, cs_reg_count) == 8, "drm_panthor_csif_info.cs_reg_count");
_Static_assert(offsetof(struct drm_panthor_csif_info, scoreboard_slot_count) == 12, "drm_panthor_csif_info.scoreboard_slot_count");
_Static_assert(offsetof(struct drm_panthor_csif_info, unpreserved_cs_reg_count) == 16, "drm_panthor_csif_info.unpreserved_cs_reg_count");
_Static_assert(offsetof(struct drm_panthor_csif_info, pad) == 20, "drm_panthor_csif_info.pad");
_Static_assert(sizeof(struct drm_panthor_timestamp_info) == 56, "sizeof(struct drm_panthor_timestamp_info)");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, timestamp_frequency) == 0, "drm_panthor_timestamp_info.timestamp_frequency");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, current_timestamp) == 8, "drm_panthor_timestamp_info.current_timestamp");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, timestamp_offset) == 16, "drm_panthor_timestamp_info.timestamp_offset");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, flags) == 24, "drm_panthor_timestamp_info.flags");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, duration_nsec) == 28, "drm_panthor_timestamp_info.duration_nsec");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, cycle_count) == 32, "drm_panthor_timestamp_info.cycle_count");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, cpu_timestamp_sec) == 40, "drm_panthor_timestamp_info.cpu_timestamp_sec");
_Static_assert(offsetof(struct drm_panthor_timestamp_info, cpu_timestamp_nsec) == 48, "drm_panthor_timestamp_info.cpu_timestamp_nsec");
_Static_assert(sizeof(struct drm_panthor_group_priorities_info) == 4, "sizeof(struct drm_panthor_group_priorities_info)");
_Static_assert(offsetof(struct drm_panthor_group_priorities_info, allowed_mask) == 0, "drm_panthor_group_priorities_info.allowed_mask");
_Static_assert(offsetof(struct drm_panthor_group_priorities_info, pad) == 1, "drm_panthor_group_priorities_info.pad");
_Static_assert(sizeof(struct drm_panthor_mmu_info) == 8, "sizeof(struct drm_panthor_mmu_info)");
_Static_assert(offsetof(struct drm_panthor_mmu_info, page_size_bitmap) == 0, "drm_panthor_mmu_info.page_size_bitmap");
_Static_assert(sizeof(struct drm_panthor_dev_query) == 16, "sizeof(struct drm_panthor_dev_query)");
_Static_assert(offsetof(struct drm_panthor_dev_query, type) == 0, "drm_panthor_dev_query.type");
_Static_assert(offsetof(struct drm_panthor_dev_query, size) == 4, "drm_panthor_dev_query.size");
_Static_assert(offsetof(struct drm_panthor_dev_query, pointer) == 8, "drm_panthor_dev_query.pointer");
_Static_assert(sizeof(struct drm_panthor_vm_create) == 16, "sizeof(struct drm_panthor_vm_create)");
_Static_assert(offsetof(struct drm_panthor_vm_create, flags) == 0, "drm_panthor_vm_create.flags");
_Static_assert(offsetof(struct drm_panthor_vm_create, id) == 4, "drm_panthor_vm_create.id");
_Static_assert(offsetof(struct drm_panthor_vm_create, user_va_range) == 8, "drm_panthor_vm_create.user_va_range");
_Static_assert(sizeof(struct drm_panthor_vm_destroy) == 8, "sizeof(struct drm_panthor_vm_destroy)");
_Static_assert(offsetof(struct drm_panthor_vm_destroy, id) == 0, "drm_panthor_vm_destroy.id");
_Static_assert(offsetof(struct drm_panthor_vm_destroy, pad) == 4, "drm_panthor_vm_destroy.pad");
_Static_assert(sizeof(struct drm_panthor_vm_bind_op) == 48, "sizeof(struct drm_panthor_vm_bind_op)");
_Static_assert(offsetof(struct drm_panthor_vm_bind_op, flags) == 0, "drm_panthor_vm_bind_op.flags");
_Static_assert(offsetof(struct drm_panthor_vm_bind_op, bo_handle) == 4, "drm_panthor_vm_bind_op.bo_handle");
_Static_assert(offsetof(struct drm_panthor_vm_bind_op, bo_offset) == 8, "drm_panthor_vm_bind_op.bo_offset");
_Static_assert(offsetof(struct drm_panthor_vm_bind_op, va) == 16, "drm_panthor_vm_bind_op.va");
_Static_assert(offsetof(struct drm_panthor_vm_bind_op, size) == 24, "drm_panthor_vm_bind_op.size");
_Static_assert(offsetof(struct drm_panthor_vm_bind_op, syncs) == 32, "drm_panthor_vm_bind_op.syncs");
_Static_assert(sizeof(struct drm_panthor_vm_bind) == 24, "sizeof(struct drm_panthor_vm_bind)");
_Static_assert(offsetof(struct drm_panthor_vm_bind, vm_id) == 0, "drm_panthor_vm_bind.vm_id");
_Static_assert(offsetof(struct drm_panthor_vm_bind, flags) == 4, "drm_panthor_vm_bind.flags");
_Static_assert(offsetof(struct drm_panthor_vm_bind, ops) == 8, "drm_panthor_vm_bind.ops");
_Static_assert(sizeof(struct drm_panthor_vm_get_state) == 8, "sizeof(struct drm_panthor_vm_get_state)");
_Static_assert(offsetof(struct drm_panthor_vm_get_state, vm_id) == 0, "drm_panthor_vm_get_state.vm_id");
_Static_assert(offsetof(struct drm_panthor_vm_get_state, state) == 4, "drm_panthor_vm_get_state.state");
_Static_assert(sizeof(struct drm_panthor_bo_create) == 24, "sizeof(struct drm_panthor_bo_create)");
_Static_assert(offsetof(struct drm_panthor_bo_create, size) == 0, "drm_panthor_bo_create.size");
_Static_assert(offsetof(struct drm_panthor_bo_create, flags) == 8, "drm_panthor_bo_create.flags");
_Static_assert(offsetof(struct drm_panthor_bo_create, exclusive_vm_id) == 12, "drm_panthor_bo_create.exclusive_vm_id");
_Static_assert(offsetof(struct drm_panthor_bo_create, handle) == 16, "drm_panthor_bo_create.handle");
_Static_assert(offsetof(struct drm_panthor_bo_create, pad) == 20, "drm_panthor_bo_create.pad");
_Static_assert(sizeof(struct drm_panthor_bo_mmap_offset) == 16, "sizeof(struct drm_panthor_bo_mmap_offset)");
_Static_assert(offsetof(struct drm_panthor_bo_mmap_offset, handle) == 0, "drm_panthor_bo_mmap_offset.handle");
_Static_assert(offsetof(struct drm_panthor_bo_mmap_offset, pad) == 4, "drm_panthor_bo_mmap_offset.pad");
_Static_assert(offsetof(struct drm_panthor_bo_mmap_offset, offset) == 8, "drm_panthor_bo_mmap_offset.offset");
_Static_assert(sizeof(struct drm_panthor_bo_set_label) == 16, "sizeof(struct drm_panthor_bo_set_label)");
_Static_assert(offsetof(struct drm_panthor_bo_set_label, handle) == 0, "drm_panthor_bo_set_label.handle");
_Static_assert(offsetof(struct drm_panthor_bo_set_label, pad) == 4, "drm_panthor_bo_set_label.pad");
_Static_assert(offsetof(struct drm_panthor_bo_set_label, label) == 8, "drm_panthor_bo_set_label.label");
_Static_assert(sizeof(struct drm_panthor_set_user_mmio_offset) == 8, "sizeof(struct drm_panthor_set_user_mmio_offset)");
_Static_assert(offsetof(struct drm_panthor_set_user_mmio_offset, offset) == 0, "drm_panthor_set_user_mmio_offset.offset");
_Static_assert(sizeof(struct drm_panthor_bo_sync_op) == 24, "sizeof(struct drm_panthor_bo_sync_op)");
_Static_assert(offsetof(struct drm_panthor_bo_sync_op, handle) == 0, "drm_panthor_bo_sync_op.handle");
_Static_assert(offsetof(struct drm_panthor_bo_sync_op, type) == 4, "drm_panthor_bo_sync_op.type");
_Static_assert(offsetof(struct drm_panthor_bo_sync_op, offset) == 8, "drm_panthor_bo_sync_op.offset");
_Static_assert(offsetof(struct drm_panthor_bo_sync_op, size) == 16, "drm_panthor_bo_sync_op.size");
_Static_assert(sizeof(struct drm_panthor_bo_sync) == 16, "sizeof(struct drm_panthor_bo_sync)");
_Static_assert(offsetof(struct drm_panthor_bo_sync, ops) == 0, "drm_panthor_bo_sync.ops");
_Static_assert(sizeof(struct drm_panthor_bo_query_info) == 16, "sizeof(struct drm_panthor_bo_query_info)");
_Static_assert(offsetof(struct drm_panthor_bo_query_info, handle) == 0, "drm_panthor_bo_query_info.handle");
_Static_assert(offsetof(struct drm_panthor_bo_query_info, extra_flags) == 4, "drm_panthor_bo_query_info.extra_flags");
_Static_assert(offsetof(struct drm_panthor_bo_query_info, create_flags) == 8, "drm_panthor_bo_query_info.create_flags");
_Static_assert(offsetof(struct drm_panthor_bo_query_info, pad) == 12, "drm_panthor_bo_query_info.pad");
_Static_assert(sizeof(struct drm_panthor_queue_create) == 8, "sizeof(struct drm_panthor_queue_create)");
_Static_assert(offsetof(struct drm_panthor_queue_create, priority) == 0, "drm_panthor_queue_create.priority");
_Static_assert(offsetof(struct drm_panthor_queue_create, pad) == 1, "drm_panthor_queue_create.pad");
_Static_assert(offsetof(struct drm_panthor_queue_create, ringbuf_size) == 4, "drm_panthor_queue_create.ringbuf_size");
_Static_assert(sizeof(struct drm_panthor_group_create) == 56, "sizeof(struct drm_panthor_group_create)");
_Static_assert(offsetof(struct drm_panthor_group_create, queues) == 0, "drm_panthor_group_create.queues");
_Static_assert(offsetof(struct drm_panthor_group_create, max_compute_cores) == 16, "drm_panthor_group_create.max_compute_cores");
_Static_assert(offsetof(struct drm_panthor_group_create, max_fragment_cores) == 17, "drm_panthor_group_create.max_fragment_cores");
_Static_assert(offsetof(struct drm_panthor_group_create, max_tiler_cores) == 18, "drm_panthor_group_create.max_tiler_cores");
_Static_assert(offsetof(struct drm_panthor_group_create, priority) == 19, "drm_panthor_group_create.priority");
_Static_assert(offsetof(struct drm_panthor_group_create, pad) == 20, "drm_panthor_group_create.pad");
_Static_assert(offsetof(struct drm_panthor_group_create, compute_core_mask) == 24, "drm_panthor_group_create.compute_core_mask");
_Static_assert(offsetof(struct drm_panthor_group_create, fragment_core_mask) == 32, "drm_panthor_group_create.fragment_core_mask");
_Static_assert(offsetof(struct drm_panthor_group_create, tiler_core_mask) == 40, "drm_panthor_group_create.tiler_core_mask");
_Static_assert(offsetof(struct drm_panthor_group_create, vm_id) == 48, "drm_panthor_group_create.vm_id");
_Static_assert(offsetof(struct drm_panthor_group_create, group_handle) == 52, "drm_panthor_group_create.group_handle");
_Static_assert(sizeof(struct drm_panthor_group_destroy) == 8, "sizeof(struct drm_panthor_group_destroy)");
_Static_assert(offsetof(struct drm_panthor_group_destroy, group_handle) == 0, "drm_panthor_group_destroy.group_handle");
_Static_assert(offsetof(struct drm_panthor_group_destroy, pad) == 4, "drm_panthor_group_destroy.pad");
_Static_assert(sizeof(struct drm_panthor_queue_submit) == 40, "sizeof(struct drm_panthor_queue_submit)");
_Static_assert(offsetof(struct drm_panthor_queue_submit, queue_index) == 0, "drm_panthor_queue_submit.queue_index");
_Static_assert(offsetof(struct drm_panthor_queue_submit, stream_size) == 4, "drm_panthor_queue_submit.stream_size");
_Static_assert(offsetof(struct drm_panthor_queue_submit, stream_addr) == 8, "drm_panthor_queue_submit.stream_addr");
_Static_assert(offsetof(struct drm_panthor_queue_submit, latest_flush) == 16, "drm_panthor_queue_submit.latest_flush");
_Static_assert(offsetof(struct drm_panthor_queue_submit, pad) == 20, "drm_panthor_queue_submit.pad");
_Static_assert(offsetof(struct drm_panthor_queue_submit, syncs) == 24, "drm_panthor_queue_submit.syncs");
_Static_assert(sizeof(struct drm_panthor_group_submit) == 24, "sizeof(struct drm_panthor_group_submit)");
_Static_assert(offsetof(struct drm_panthor_group_submit, group_handle) == 0, "drm_panthor_group_submit.group_handle");
_Static_assert(offsetof(struct drm_panthor_group_submit, pad) == 4, "drm_panthor_group_submit.pad");
_Static_assert(offsetof(struct drm_panthor_group_submit, queue_submits) == 8, "drm_panthor_group_submit.queue_submits");
_Static_assert(sizeof(struct drm_panthor_group_get_state) == 16, "sizeof(struct drm_panthor_group_get_state)");
_Static_assert(offsetof(struct drm_panthor_group_get_state, group_handle) == 0, "drm_panthor_group_get_state.group_handle");
_Static_assert(offsetof(struct drm_panthor_group_get_state, state) == 4, "drm_panthor_group_get_state.state");
_Static_assert(offsetof(struct drm_panthor_group_get_state, fatal_queues) == 8, "drm_panthor_group_get_state.fatal_queues");
_Static_assert(offsetof(struct drm_panthor_group_get_state, pad) == 12, "drm_panthor_group_get_state.pad");
_Static_assert(sizeof(struct drm_panthor_tiler_heap_create) == 40, "sizeof(struct drm_panthor_tiler_heap_create)");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, vm_id) == 0, "drm_panthor_tiler_heap_create.vm_id");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, initial_chunk_count) == 4, "drm_panthor_tiler_heap_create.initial_chunk_count");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, chunk_size) == 8, "drm_panthor_tiler_heap_create.chunk_size");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, max_chunks) == 12, "drm_panthor_tiler_heap_create.max_chunks");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, target_in_flight) == 16, "drm_panthor_tiler_heap_create.target_in_flight");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, handle) == 20, "drm_panthor_tiler_heap_create.handle");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, tiler_heap_ctx_gpu_va) == 24, "drm_panthor_tiler_heap_create.tiler_heap_ctx_gpu_va");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_create, first_heap_chunk_gpu_va) == 32, "drm_panthor_tiler_heap_create.first_heap_chunk_gpu_va");
_Static_assert(sizeof(struct drm_panthor_tiler_heap_destroy) == 8, "sizeof(struct drm_panthor_tiler_heap_destroy)");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_destroy, handle) == 0, "drm_panthor_tiler_heap_destroy.handle");
_Static_assert(offsetof(struct drm_panthor_tiler_heap_destroy, pad) == 4, "drm_panthor_tiler_heap_destroy.pad");
_Static_assert(sizeof(struct wsys_panthor_heap_chunk_header) == 64, "sizeof(struct wsys_panthor_heap_chunk_header)");
_Static_assert(offsetof(struct wsys_panthor_heap_chunk_header, next) == 0, "wsys_panthor_heap_chunk_header.next");
_Static_assert(offsetof(struct wsys_panthor_heap_chunk_header, unknown) == 8, "wsys_panthor_heap_chunk_header.unknown");

/* ---- panfrost: struct sizes and field offsets ---- */
_Static_assert(sizeof(struct drm_panfrost_submit) == 48, "sizeof(struct drm_panfrost_submit)");
_Static_assert(offsetof(struct drm_panfrost_submit, jc) == 0, "drm_panfrost_submit.jc");
_Static_assert(offsetof(struct drm_panfrost_submit, in_syncs) == 8, "drm_panfrost_submit.in_syncs");
_Static_assert(offsetof(struct drm_panfrost_submit, in_sync_count) == 16, "drm_panfrost_submit.in_sync_count");
_Static_assert(offsetof(struct drm_panfrost_submit, out_sync) == 20, "drm_panfrost_submit.out_sync");
_Static_assert(offsetof(struct drm_panfrost_submit, bo_handles) == 24, "drm_panfrost_submit.bo_handles");
_Static_assert(offsetof(struct drm_panfrost_submit, bo_handle_count) == 32, "drm_panfrost_submit.bo_handle_count");
_Static_assert(offsetof(struct drm_panfrost_submit, requirements) == 36, "drm_panfrost_submit.requirements");
_Static_assert(offsetof(struct drm_panfrost_submit, jm_ctx_handle) == 40, "drm_panfrost_submit.jm_ctx_handle");
_Static_assert(offsetof(struct drm_panfrost_submit, pad) == 44, "drm_panfrost_submit.pad");
_Static_assert(sizeof(struct drm_panfrost_wait_bo) == 16, "sizeof(struct drm_panfrost_wait_bo)");
_Static_assert(offsetof(struct drm_panfrost_wait_bo, handle) == 0, "drm_panfrost_wait_bo.handle");
_Static_assert(offsetof(struct drm_panfrost_wait_bo, pad) == 4, "drm_panfrost_wait_bo.pad");
_Static_assert(offsetof(struct drm_panfrost_wait_bo, timeout_ns) == 8, "drm_panfrost_wait_bo.timeout_ns");
_Static_assert(sizeof(struct drm_panfrost_create_bo) == 24, "sizeof(struct drm_panfrost_create_bo)");
_Static_assert(offsetof(struct drm_panfrost_create_bo, size) == 0, "drm_panfrost_create_bo.size");
_Static_assert(offsetof(struct drm_panfrost_create_bo, flags) == 4, "drm_panfrost_create_bo.flags");
_Static_assert(offsetof(struct drm_panfrost_create_bo, handle) == 8, "drm_panfrost_create_bo.handle");
_Static_assert(offsetof(struct drm_panfrost_create_bo, pad) == 12, "drm_panfrost_create_bo.pad");
_Static_assert(offsetof(struct drm_panfrost_create_bo, offset) == 16, "drm_panfrost_create_bo.offset");
_Static_assert(sizeof(struct drm_panfrost_mmap_bo) == 16, "sizeof(struct drm_panfrost_mmap_bo)");
_Static_assert(offsetof(struct drm_panfrost_mmap_bo, handle) == 0, "drm_panfrost_mmap_bo.handle");
_Static_assert(offsetof(struct drm_panfrost_mmap_bo, flags) == 4, "drm_panfrost_mmap_bo.flags");
_Static_assert(offsetof(struct drm_panfrost_mmap_bo, offset) == 8, "drm_panfrost_mmap_bo.offset");
_Static_assert(sizeof(struct drm_panfrost_get_param) == 16, "sizeof(struct drm_panfrost_get_param)");
_Static_assert(offsetof(struct drm_panfrost_get_param, param) == 0, "drm_panfrost_get_param.param");
_Static_assert(offsetof(struct drm_panfrost_get_param, pad) == 4, "drm_panfrost_get_param.pad");
_Static_assert(offsetof(struct drm_panfrost_get_param, value) == 8, "drm_panfrost_get_param.value");
_Static_assert(sizeof(struct drm_panfrost_get_bo_offset) == 16, "sizeof(struct drm_panfrost_get_bo_offset)");
_Static_assert(offsetof(struct drm_panfrost_get_bo_offset, handle) == 0, "drm_panfrost_get_bo_offset.handle");
_Static_assert(offsetof(struct drm_panfrost_get_bo_offset, pad) == 4, "drm_panfrost_get_bo_offset.pad");
_Static_assert(offsetof(struct drm_panfrost_get_bo_offset, offset) == 8, "drm_panfrost_get_bo_offset.offset");
_Static_assert(sizeof(struct drm_panfrost_madvise) == 12, "sizeof(struct drm_panfrost_madvise)");
_Static_assert(offsetof(struct drm_panfrost_madvise, handle) == 0, "drm_panfrost_madvise.handle");
_Static_assert(offsetof(struct drm_panfrost_madvise, madv) == 4, "drm_panfrost_madvise.madv");
_Static_assert(offsetof(struct drm_panfrost_madvise, retained) == 8, "drm_panfrost_madvise.retained");
_Static_assert(sizeof(struct drm_panfrost_set_label_bo) == 16, "sizeof(struct drm_panfrost_set_label_bo)");
_Static_assert(offsetof(struct drm_panfrost_set_label_bo, handle) == 0, "drm_panfrost_set_label_bo.handle");
_Static_assert(offsetof(struct drm_panfrost_set_label_bo, pad) == 4, "drm_panfrost_set_label_bo.pad");
_Static_assert(offsetof(struct drm_panfrost_set_label_bo, label) == 8, "drm_panfrost_set_label_bo.label");

/* ---- core: struct sizes and field offsets ---- */
_Static_assert(sizeof(struct drm_get_cap) == 16, "sizeof(struct drm_get_cap)");
_Static_assert(offsetof(struct drm_get_cap, capability) == 0, "drm_get_cap.capability");
_Static_assert(offsetof(struct drm_get_cap, value) == 8, "drm_get_cap.value");
_Static_assert(sizeof(struct drm_gem_close) == 8, "sizeof(struct drm_gem_close)");
_Static_assert(offsetof(struct drm_gem_close, handle) == 0, "drm_gem_close.handle");
_Static_assert(offsetof(struct drm_gem_close, pad) == 4, "drm_gem_close.pad");
_Static_assert(sizeof(struct drm_prime_handle) == 12, "sizeof(struct drm_prime_handle)");
_Static_assert(offsetof(struct drm_prime_handle, handle) == 0, "drm_prime_handle.handle");
_Static_assert(offsetof(struct drm_prime_handle, flags) == 4, "drm_prime_handle.flags");
_Static_assert(offsetof(struct drm_prime_handle, fd) == 8, "drm_prime_handle.fd");
_Static_assert(sizeof(struct drm_syncobj_create) == 8, "sizeof(struct drm_syncobj_create)");
_Static_assert(offsetof(struct drm_syncobj_create, handle) == 0, "drm_syncobj_create.handle");
_Static_assert(offsetof(struct drm_syncobj_create, flags) == 4, "drm_syncobj_create.flags");
_Static_assert(sizeof(struct drm_syncobj_destroy) == 8, "sizeof(struct drm_syncobj_destroy)");
_Static_assert(offsetof(struct drm_syncobj_destroy, handle) == 0, "drm_syncobj_destroy.handle");
_Static_assert(offsetof(struct drm_syncobj_destroy, pad) == 4, "drm_syncobj_destroy.pad");
_Static_assert(sizeof(struct drm_syncobj_handle) == 16, "sizeof(struct drm_syncobj_handle)");
_Static_assert(offsetof(struct drm_syncobj_handle, handle) == 0, "drm_syncobj_handle.handle");
_Static_assert(offsetof(struct drm_syncobj_handle, flags) == 4, "drm_syncobj_handle.flags");
_Static_assert(offsetof(struct drm_syncobj_handle, fd) == 8, "drm_syncobj_handle.fd");
_Static_assert(offsetof(struct drm_syncobj_handle, pad) == 12, "drm_syncobj_handle.pad");
_Static_assert(sizeof(struct drm_syncobj_wait) == 40, "sizeof(struct drm_syncobj_wait)");
_Static_assert(offsetof(struct drm_syncobj_wait, handles) == 0, "drm_syncobj_wait.handles");
_Static_assert(offsetof(struct drm_syncobj_wait, timeout_nsec) == 8, "drm_syncobj_wait.timeout_nsec");
_Static_assert(offsetof(struct drm_syncobj_wait, count_handles) == 16, "drm_syncobj_wait.count_handles");
_Static_assert(offsetof(struct drm_syncobj_wait, flags) == 20, "drm_syncobj_wait.flags");
_Static_assert(offsetof(struct drm_syncobj_wait, first_signaled) == 24, "drm_syncobj_wait.first_signaled");
_Static_assert(offsetof(struct drm_syncobj_wait, pad) == 28, "drm_syncobj_wait.pad");
_Static_assert(offsetof(struct drm_syncobj_wait, deadline_nsec) == 32, "drm_syncobj_wait.deadline_nsec");
_Static_assert(sizeof(struct drm_syncobj_array) == 16, "sizeof(struct drm_syncobj_array)");
_Static_assert(offsetof(struct drm_syncobj_array, handles) == 0, "drm_syncobj_array.handles");
_Static_assert(offsetof(struct drm_syncobj_array, count_handles) == 8, "drm_syncobj_array.count_handles");
_Static_assert(offsetof(struct drm_syncobj_array, pad) == 12, "drm_syncobj_array.pad");
_Static_assert(sizeof(struct drm_syncobj_timeline_wait) == 48, "sizeof(struct drm_syncobj_timeline_wait)");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, handles) == 0, "drm_syncobj_timeline_wait.handles");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, points) == 8, "drm_syncobj_timeline_wait.points");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, timeout_nsec) == 16, "drm_syncobj_timeline_wait.timeout_nsec");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, count_handles) == 24, "drm_syncobj_timeline_wait.count_handles");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, flags) == 28, "drm_syncobj_timeline_wait.flags");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, first_signaled) == 32, "drm_syncobj_timeline_wait.first_signaled");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, pad) == 36, "drm_syncobj_timeline_wait.pad");
_Static_assert(offsetof(struct drm_syncobj_timeline_wait, deadline_nsec) == 40, "drm_syncobj_timeline_wait.deadline_nsec");
_Static_assert(sizeof(struct drm_syncobj_timeline_array) == 24, "sizeof(struct drm_syncobj_timeline_array)");
_Static_assert(offsetof(struct drm_syncobj_timeline_array, handles) == 0, "drm_syncobj_timeline_array.handles");
_Static_assert(offsetof(struct drm_syncobj_timeline_array, points) == 8, "drm_syncobj_timeline_array.points");
_Static_assert(offsetof(struct drm_syncobj_timeline_array, count_handles) == 16, "drm_syncobj_timeline_array.count_handles");
_Static_assert(offsetof(struct drm_syncobj_timeline_array, flags) == 20, "drm_syncobj_timeline_array.flags");
_Static_assert(sizeof(struct drm_syncobj_transfer) == 32, "sizeof(struct drm_syncobj_transfer)");
_Static_assert(offsetof(struct drm_syncobj_transfer, src_handle) == 0, "drm_syncobj_transfer.src_handle");
_Static_assert(offsetof(struct drm_syncobj_transfer, dst_handle) == 4, "drm_syncobj_transfer.dst_handle");
_Static_assert(offsetof(struct drm_syncobj_transfer, src_point) == 8, "drm_syncobj_transfer.src_point");
_Static_assert(offsetof(struct drm_syncobj_transfer, dst_point) == 16, "drm_syncobj_transfer.dst_point");
_Static_assert(offsetof(struct drm_syncobj_transfer, flags) == 24, "drm_syncobj_transfer.flags");
_Static_assert(offsetof(struct drm_syncobj_transfer, pad) == 28, "drm_syncobj_transfer.pad");
_Static_assert(sizeof(struct drm_syncobj_eventfd) == 24, "sizeof(struct drm_syncobj_eventfd)");
_Static_assert(offsetof(struct drm_syncobj_eventfd, handle) == 0, "drm_syncobj_eventfd.handle");
_Static_assert(offsetof(struct drm_syncobj_eventfd, flags) == 4, "drm_syncobj_eventfd.flags");
_Static_assert(offsetof(struct drm_syncobj_eventfd, point) == 8, "drm_syncobj_eventfd.point");
_Static_assert(offsetof(struct drm_syncobj_eventfd, fd) == 16, "drm_syncobj_eventfd.fd");
_Static_assert(offsetof(struct drm_syncobj_eventfd, pad) == 20, "drm_syncobj_eventfd.pad");

/* ---- ioctl numbers (reference tables; syncobj numbers from nr and size) ---- */
_Static_assert(DRM_IOCTL_PANTHOR_DEV_QUERY == 0xC0106440, "DRM_IOCTL_PANTHOR_DEV_QUERY");
_Static_assert(DRM_IOCTL_PANTHOR_VM_CREATE == 0xC0106441, "DRM_IOCTL_PANTHOR_VM_CREATE");
_Static_assert(DRM_IOCTL_PANTHOR_VM_DESTROY == 0xC0086442, "DRM_IOCTL_PANTHOR_VM_DESTROY");
_Static_assert(DRM_IOCTL_PANTHOR_VM_BIND == 0xC0186443, "DRM_IOCTL_PANTHOR_VM_BIND");
_Static_assert(DRM_IOCTL_PANTHOR_VM_GET_STATE == 0xC0086444, "DRM_IOCTL_PANTHOR_VM_GET_STATE");
_Static_assert(DRM_IOCTL_PANTHOR_BO_CREATE == 0xC0186445, "DRM_IOCTL_PANTHOR_BO_CREATE");
_Static_assert(DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET == 0xC0106446, "DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET");
_Static_assert(DRM_IOCTL_PANTHOR_GROUP_CREATE == 0xC0386447, "DRM_IOCTL_PANTHOR_GROUP_CREATE");
_Static_assert(DRM_IOCTL_PANTHOR_GROUP_DESTROY == 0xC0086448, "DRM_IOCTL_PANTHOR_GROUP_DESTROY");
_Static_assert(DRM_IOCTL_PANTHOR_GROUP_SUBMIT == 0xC0186449, "DRM_IOCTL_PANTHOR_GROUP_SUBMIT");
_Static_assert(DRM_IOCTL_PANTHOR_GROUP_GET_STATE == 0xC010644A, "DRM_IOCTL_PANTHOR_GROUP_GET_STATE");
_Static_assert(DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE == 0xC028644B, "DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE");
_Static_assert(DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY == 0xC008644C, "DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY");
_Static_assert(DRM_IOCTL_PANTHOR_BO_SET_LABEL == 0xC010644D, "DRM_IOCTL_PANTHOR_BO_SET_LABEL");
_Static_assert(DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET == 0xC008644E, "DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET");
_Static_assert(DRM_IOCTL_PANTHOR_BO_SYNC == 0xC010644F, "DRM_IOCTL_PANTHOR_BO_SYNC");
_Static_assert(DRM_IOCTL_PANTHOR_BO_QUERY_INFO == 0xC0106450, "DRM_IOCTL_PANTHOR_BO_QUERY_INFO");
_Static_assert(DRM_IOCTL_PANFROST_SUBMIT == 0x40306440, "DRM_IOCTL_PANFROST_SUBMIT");
_Static_assert(DRM_IOCTL_PANFROST_SUBMIT_V1 == 0x40286440, "DRM_IOCTL_PANFROST_SUBMIT_V1");
_Static_assert(DRM_IOCTL_PANFROST_WAIT_BO == 0x40106441, "DRM_IOCTL_PANFROST_WAIT_BO");
_Static_assert(DRM_IOCTL_PANFROST_CREATE_BO == 0xC0186442, "DRM_IOCTL_PANFROST_CREATE_BO");
_Static_assert(DRM_IOCTL_PANFROST_MMAP_BO == 0xC0106443, "DRM_IOCTL_PANFROST_MMAP_BO");
_Static_assert(DRM_IOCTL_PANFROST_GET_PARAM == 0xC0106444, "DRM_IOCTL_PANFROST_GET_PARAM");
_Static_assert(DRM_IOCTL_PANFROST_GET_BO_OFFSET == 0xC0106445, "DRM_IOCTL_PANFROST_GET_BO_OFFSET");
_Static_assert(DRM_IOCTL_PANFROST_MADVISE == 0xC00C6448, "DRM_IOCTL_PANFROST_MADVISE");
_Static_assert(DRM_IOCTL_PANFROST_SET_LABEL_BO == 0xC0106449, "DRM_IOCTL_PANFROST_SET_LABEL_BO");
_Static_assert(DRM_IOCTL_GEM_CLOSE == 0x40086409, "DRM_IOCTL_GEM_CLOSE");
_Static_assert(DRM_IOCTL_GET_CAP == 0xC010640C, "DRM_IOCTL_GET_CAP");
_Static_assert(DRM_IOCTL_PRIME_HANDLE_TO_FD == 0xC00C642D, "DRM_IOCTL_PRIME_HANDLE_TO_FD");
_Static_assert(DRM_IOCTL_PRIME_FD_TO_HANDLE == 0xC00C642E, "DRM_IOCTL_PRIME_FD_TO_HANDLE");
_Static_assert(DRM_IOCTL_SYNCOBJ_CREATE == 0xC00864BF, "DRM_IOCTL_SYNCOBJ_CREATE");
_Static_assert(DRM_IOCTL_SYNCOBJ_DESTROY == 0xC00864C0, "DRM_IOCTL_SYNCOBJ_DESTROY");
_Static_assert(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD == 0xC01064C1, "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD");
_Static_assert(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE == 0xC01064C2, "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE");
_Static_assert(DRM_IOCTL_SYNCOBJ_WAIT == 0xC02864C3, "DRM_IOCTL_SYNCOBJ_WAIT");
_Static_assert(DRM_IOCTL_SYNCOBJ_WAIT_V1 == 0xC02064C3, "DRM_IOCTL_SYNCOBJ_WAIT_V1");
_Static_assert(DRM_IOCTL_SYNCOBJ_RESET == 0xC01064C4, "DRM_IOCTL_SYNCOBJ_RESET");
_Static_assert(DRM_IOCTL_SYNCOBJ_SIGNAL == 0xC01064C5, "DRM_IOCTL_SYNCOBJ_SIGNAL");
_Static_assert(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT == 0xC03064CA, "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT");
_Static_assert(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1 == 0xC02864CA, "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1");
_Static_assert(DRM_IOCTL_SYNCOBJ_QUERY == 0xC01864CB, "DRM_IOCTL_SYNCOBJ_QUERY");
_Static_assert(DRM_IOCTL_SYNCOBJ_TRANSFER == 0xC02064CC, "DRM_IOCTL_SYNCOBJ_TRANSFER");
_Static_assert(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL == 0xC01864CD, "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL");
_Static_assert(DRM_IOCTL_SYNCOBJ_EVENTFD == 0xC01864CF, "DRM_IOCTL_SYNCOBJ_EVENTFD");

/* ---- flag, enum and constant values ---- */
_Static_assert((__u32)(DRM_PANTHOR_DEV_QUERY) == 0x0u, "DRM_PANTHOR_DEV_QUERY");
_Static_assert((__u32)(DRM_PANTHOR_VM_CREATE) == 0x1u, "DRM_PANTHOR_VM_CREATE");
_Static_assert((__u32)(DRM_PANTHOR_VM_DESTROY) == 0x2u, "DRM_PANTHOR_VM_DESTROY");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND) == 0x3u, "DRM_PANTHOR_VM_BIND");
_Static_assert((__u32)(DRM_PANTHOR_VM_GET_STATE) == 0x4u, "DRM_PANTHOR_VM_GET_STATE");
_Static_assert((__u32)(DRM_PANTHOR_BO_CREATE) == 0x5u, "DRM_PANTHOR_BO_CREATE");
_Static_assert((__u32)(DRM_PANTHOR_BO_MMAP_OFFSET) == 0x6u, "DRM_PANTHOR_BO_MMAP_OFFSET");
_Static_assert((__u32)(DRM_PANTHOR_GROUP_CREATE) == 0x7u, "DRM_PANTHOR_GROUP_CREATE");
_Static_assert((__u32)(DRM_PANTHOR_GROUP_DESTROY) == 0x8u, "DRM_PANTHOR_GROUP_DESTROY");
_Static_assert((__u32)(DRM_PANTHOR_GROUP_SUBMIT) == 0x9u, "DRM_PANTHOR_GROUP_SUBMIT");
_Static_assert((__u32)(DRM_PANTHOR_GROUP_GET_STATE) == 0xAu, "DRM_PANTHOR_GROUP_GET_STATE");
_Static_assert((__u32)(DRM_PANTHOR_TILER_HEAP_CREATE) == 0xBu, "DRM_PANTHOR_TILER_HEAP_CREATE");
_Static_assert((__u32)(DRM_PANTHOR_TILER_HEAP_DESTROY) == 0xCu, "DRM_PANTHOR_TILER_HEAP_DESTROY");
_Static_assert((__u32)(DRM_PANTHOR_BO_SET_LABEL) == 0xDu, "DRM_PANTHOR_BO_SET_LABEL");
_Static_assert((__u32)(DRM_PANTHOR_SET_USER_MMIO_OFFSET) == 0xEu, "DRM_PANTHOR_SET_USER_MMIO_OFFSET");
_Static_assert((__u32)(DRM_PANTHOR_BO_SYNC) == 0xFu, "DRM_PANTHOR_BO_SYNC");
_Static_assert((__u32)(DRM_PANTHOR_BO_QUERY_INFO) == 0x10u, "DRM_PANTHOR_BO_QUERY_INFO");
_Static_assert((__u32)(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK) == 0xFFu, "DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK");
_Static_assert((__u32)(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ) == 0x0u, "DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ");
_Static_assert((__u32)(DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ) == 0x1u, "DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ");
_Static_assert((__u32)(DRM_PANTHOR_SYNC_OP_WAIT) == 0x0u, "DRM_PANTHOR_SYNC_OP_WAIT");
_Static_assert((__u32)(DRM_PANTHOR_SYNC_OP_SIGNAL) == 0x80000000u, "DRM_PANTHOR_SYNC_OP_SIGNAL");
_Static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_GPU_INFO) == 0x0u, "DRM_PANTHOR_DEV_QUERY_GPU_INFO");
_Static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_CSIF_INFO) == 0x1u, "DRM_PANTHOR_DEV_QUERY_CSIF_INFO");
_Static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO) == 0x2u, "DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO");
_Static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO) == 0x3u, "DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO");
_Static_assert((__u32)(DRM_PANTHOR_DEV_QUERY_MMU_INFO) == 0x4u, "DRM_PANTHOR_DEV_QUERY_MMU_INFO");
_Static_assert((__u32)(DRM_PANTHOR_GPU_COHERENCY_ACE_LITE) == 0x0u, "DRM_PANTHOR_GPU_COHERENCY_ACE_LITE");
_Static_assert((__u32)(DRM_PANTHOR_GPU_COHERENCY_ACE) == 0x1u, "DRM_PANTHOR_GPU_COHERENCY_ACE");
_Static_assert((__u32)(DRM_PANTHOR_GPU_COHERENCY_NONE) == 0x1Fu, "DRM_PANTHOR_GPU_COHERENCY_NONE");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_GPU) == 0x1u, "DRM_PANTHOR_TIMESTAMP_GPU");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_NONE) == 0x0u, "DRM_PANTHOR_TIMESTAMP_CPU_NONE");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC) == 0x2u, "DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW) == 0x4u, "DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK) == 0xEu, "DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_GPU_OFFSET) == 0x10u, "DRM_PANTHOR_TIMESTAMP_GPU_OFFSET");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT) == 0x20u, "DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_FREQ) == 0x40u, "DRM_PANTHOR_TIMESTAMP_FREQ");
_Static_assert((__u32)(DRM_PANTHOR_TIMESTAMP_DURATION) == 0x80u, "DRM_PANTHOR_TIMESTAMP_DURATION");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_READONLY) == 0x1u, "DRM_PANTHOR_VM_BIND_OP_MAP_READONLY");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC) == 0x2u, "DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED) == 0x4u, "DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE) == 0x8u, "DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_MASK) == 0xF0000000u, "DRM_PANTHOR_VM_BIND_OP_TYPE_MASK");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_MAP) == 0x0u, "DRM_PANTHOR_VM_BIND_OP_TYPE_MAP");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP) == 0x10000000u, "DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY) == 0x20000000u, "DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY");
_Static_assert((__u32)(DRM_PANTHOR_VM_BIND_ASYNC) == 0x1u, "DRM_PANTHOR_VM_BIND_ASYNC");
_Static_assert((__u32)(DRM_PANTHOR_VM_STATE_USABLE) == 0x0u, "DRM_PANTHOR_VM_STATE_USABLE");
_Static_assert((__u32)(DRM_PANTHOR_VM_STATE_UNUSABLE) == 0x1u, "DRM_PANTHOR_VM_STATE_UNUSABLE");
_Static_assert((__u32)(DRM_PANTHOR_BO_NO_MMAP) == 0x1u, "DRM_PANTHOR_BO_NO_MMAP");
_Static_assert((__u32)(DRM_PANTHOR_BO_WB_MMAP) == 0x2u, "DRM_PANTHOR_BO_WB_MMAP");
_Static_assert((__u32)(DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH) == 0x0u, "DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH");
_Static_assert((__u32)(DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE) == 0x1u, "DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE");
_Static_assert((__u32)(DRM_PANTHOR_BO_IS_IMPORTED) == 0x1u, "DRM_PANTHOR_BO_IS_IMPORTED");
_Static_assert((__u32)(PANTHOR_GROUP_PRIORITY_LOW) == 0x0u, "PANTHOR_GROUP_PRIORITY_LOW");
_Static_assert((__u32)(PANTHOR_GROUP_PRIORITY_MEDIUM) == 0x1u, "PANTHOR_GROUP_PRIORITY_MEDIUM");
_Static_assert((__u32)(PANTHOR_GROUP_PRIORITY_HIGH) == 0x2u, "PANTHOR_GROUP_PRIORITY_HIGH");
_Static_assert((__u32)(PANTHOR_GROUP_PRIORITY_REALTIME) == 0x3u, "PANTHOR_GROUP_PRIORITY_REALTIME");
_Static_assert((__u32)(DRM_PANTHOR_GROUP_STATE_TIMEDOUT) == 0x1u, "DRM_PANTHOR_GROUP_STATE_TIMEDOUT");
_Static_assert((__u32)(DRM_PANTHOR_GROUP_STATE_FATAL_FAULT) == 0x2u, "DRM_PANTHOR_GROUP_STATE_FATAL_FAULT");
_Static_assert((__u32)(DRM_PANTHOR_GROUP_STATE_INNOCENT) == 0x4u, "DRM_PANTHOR_GROUP_STATE_INNOCENT");
_Static_assert((__u64)(DRM_PANTHOR_USER_MMIO_OFFSET_32BIT) == 0x80000000000ull, "DRM_PANTHOR_USER_MMIO_OFFSET_32BIT");
_Static_assert((__u64)(DRM_PANTHOR_USER_MMIO_OFFSET_64BIT) == 0x100000000000000ull, "DRM_PANTHOR_USER_MMIO_OFFSET_64BIT");
_Static_assert((__u32)(DRM_PANTHOR_ARCH_MAJOR(0xABCDE123u)) == 0xAu, "DRM_PANTHOR_ARCH_MAJOR(0xABCDE123u)");
_Static_assert((__u32)(DRM_PANTHOR_ARCH_MINOR(0xABCDE123u)) == 0xBu, "DRM_PANTHOR_ARCH_MINOR(0xABCDE123u)");
_Static_assert((__u32)(DRM_PANTHOR_ARCH_REV(0xABCDE123u)) == 0xCu, "DRM_PANTHOR_ARCH_REV(0xABCDE123u)");
_Static_assert((__u32)(DRM_PANTHOR_PRODUCT_MAJOR(0xABCDE123u)) == 0xDu, "DRM_PANTHOR_PRODUCT_MAJOR(0xABCDE123u)");
_Static_assert((__u32)(DRM_PANTHOR_VERSION_MAJOR(0xABCDE123u)) == 0xEu, "DRM_PANTHOR_VERSION_MAJOR(0xABCDE123u)");
_Static_assert((__u32)(DRM_PANTHOR_VERSION_MINOR(0xABCDE123u)) == 0x12u, "DRM_PANTHOR_VERSION_MINOR(0xABCDE123u)");
_Static_assert((__u32)(DRM_PANTHOR_VERSION_STATUS(0xABCDE123u)) == 0x3u, "DRM_PANTHOR_VERSION_STATUS(0xABCDE123u)");
_Static_assert((__u32)(DRM_PANTHOR_MMU_VA_BITS(0x00002830u)) == 0x30u, "DRM_PANTHOR_MMU_VA_BITS(0x00002830u)");
_Static_assert((__u32)(WSYS_PANTHOR_HEAP_CHUNK_HEADER_SIZE) == 0x40u, "WSYS_PANTHOR_HEAP_CHUNK_HEADER_SIZE");
_Static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK(0x12345000ull, 2u * 1024u * 1024u)) == 0x12345200ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK(0x12345000ull, 2u * 1024u * 1024u)");
_Static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK(0xfedcba987000ull, 8u * 1024u * 1024u)) == 0xFEDCBA987800ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK(0xfedcba987000ull, 8u * 1024u * 1024u)");
_Static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_SIZE(0x12345200ull)) == 0x200000ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_SIZE(0x12345200ull)");
_Static_assert((__u64)(WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_VA(0x12345200ull)) == 0x12345000ull, "WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_VA(0x12345200ull)");
_Static_assert((__u32)(WSYS_PANTHOR_HEAP_HANDLE(3, 5)) == 0x30005u, "WSYS_PANTHOR_HEAP_HANDLE(3, 5)");
_Static_assert((__u32)(WSYS_PANTHOR_GPU_INFO_MIN_SIZE) == 0x60u, "WSYS_PANTHOR_GPU_INFO_MIN_SIZE");
_Static_assert((__u32)(WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE) == 0x18u, "WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE");
_Static_assert((__u32)(PANFROST_JD_REQ_FS) == 0x1u, "PANFROST_JD_REQ_FS");
_Static_assert((__u32)(PANFROST_JD_REQ_CYCLE_COUNT) == 0x2u, "PANFROST_JD_REQ_CYCLE_COUNT");
_Static_assert((__u32)(PANFROST_BO_NOEXEC) == 0x1u, "PANFROST_BO_NOEXEC");
_Static_assert((__u32)(PANFROST_BO_HEAP) == 0x2u, "PANFROST_BO_HEAP");
_Static_assert((__u32)(PANFROST_BO_WB_MMAP) == 0x4u, "PANFROST_BO_WB_MMAP");
_Static_assert((__u32)(PANFROST_MADV_WILLNEED) == 0x0u, "PANFROST_MADV_WILLNEED");
_Static_assert((__u32)(PANFROST_MADV_DONTNEED) == 0x1u, "PANFROST_MADV_DONTNEED");
_Static_assert((__u32)(DRM_PANFROST_SUBMIT) == 0x0u, "DRM_PANFROST_SUBMIT");
_Static_assert((__u32)(DRM_PANFROST_WAIT_BO) == 0x1u, "DRM_PANFROST_WAIT_BO");
_Static_assert((__u32)(DRM_PANFROST_CREATE_BO) == 0x2u, "DRM_PANFROST_CREATE_BO");
_Static_assert((__u32)(DRM_PANFROST_MMAP_BO) == 0x3u, "DRM_PANFROST_MMAP_BO");
_Static_assert((__u32)(DRM_PANFROST_GET_PARAM) == 0x4u, "DRM_PANFROST_GET_PARAM");
_Static_assert((__u32)(DRM_PANFROST_GET_BO_OFFSET) == 0x5u, "DRM_PANFROST_GET_BO_OFFSET");
_Static_assert((__u32)(DRM_PANFROST_MADVISE) == 0x8u, "DRM_PANFROST_MADVISE");
_Static_assert((__u32)(DRM_PANFROST_SET_LABEL_BO) == 0x9u, "DRM_PANFROST_SET_LABEL_BO");
_Static_assert((__u32)(WSYS_PANFROST_PARAM_COUNT) == 0x2Bu, "WSYS_PANFROST_PARAM_COUNT");
_Static_assert((__u64)(DRM_CAP_PRIME) == 0x5ull, "DRM_CAP_PRIME");
_Static_assert((__u64)(DRM_PRIME_CAP_IMPORT) == 0x1ull, "DRM_PRIME_CAP_IMPORT");
_Static_assert((__u64)(DRM_PRIME_CAP_EXPORT) == 0x2ull, "DRM_PRIME_CAP_EXPORT");
_Static_assert((__u64)(DRM_CAP_SYNCOBJ) == 0x13ull, "DRM_CAP_SYNCOBJ");
_Static_assert((__u64)(DRM_CAP_SYNCOBJ_TIMELINE) == 0x14ull, "DRM_CAP_SYNCOBJ_TIMELINE");
_Static_assert((__u32)(DRM_SYNCOBJ_CREATE_SIGNALED) == 0x1u, "DRM_SYNCOBJ_CREATE_SIGNALED");
_Static_assert((__u32)(DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE) == 0x1u, "DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE");
_Static_assert((__u32)(DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE) == 0x1u, "DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE");
_Static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL) == 0x1u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL");
_Static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) == 0x2u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT");
_Static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) == 0x4u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE");
_Static_assert((__u32)(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE) == 0x8u, "DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE");
_Static_assert((__u32)(DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED) == 0x1u, "DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED");
_Static_assert((__u32)(DRM_COMMAND_BASE) == 0x40u, "DRM_COMMAND_BASE");
_Static_assert((__u32)(DRM_IOCTL_BASE) == 0x64u, "DRM_IOCTL_BASE");
_Static_assert((__u32)(DRM_PANFROST_PARAM_GPU_PROD_ID) == 0x0u, "DRM_PANFROST_PARAM_GPU_PROD_ID");
_Static_assert((__u32)(DRM_PANFROST_PARAM_GPU_REVISION) == 0x1u, "DRM_PANFROST_PARAM_GPU_REVISION");
_Static_assert((__u32)(DRM_PANFROST_PARAM_SHADER_PRESENT) == 0x2u, "DRM_PANFROST_PARAM_SHADER_PRESENT");
_Static_assert((__u32)(DRM_PANFROST_PARAM_TILER_PRESENT) == 0x3u, "DRM_PANFROST_PARAM_TILER_PRESENT");
_Static_assert((__u32)(DRM_PANFROST_PARAM_L2_PRESENT) == 0x4u, "DRM_PANFROST_PARAM_L2_PRESENT");
_Static_assert((__u32)(DRM_PANFROST_PARAM_STACK_PRESENT) == 0x5u, "DRM_PANFROST_PARAM_STACK_PRESENT");
_Static_assert((__u32)(DRM_PANFROST_PARAM_AS_PRESENT) == 0x6u, "DRM_PANFROST_PARAM_AS_PRESENT");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_PRESENT) == 0x7u, "DRM_PANFROST_PARAM_JS_PRESENT");
_Static_assert((__u32)(DRM_PANFROST_PARAM_L2_FEATURES) == 0x8u, "DRM_PANFROST_PARAM_L2_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_CORE_FEATURES) == 0x9u, "DRM_PANFROST_PARAM_CORE_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_TILER_FEATURES) == 0xAu, "DRM_PANFROST_PARAM_TILER_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_MEM_FEATURES) == 0xBu, "DRM_PANFROST_PARAM_MEM_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_MMU_FEATURES) == 0xCu, "DRM_PANFROST_PARAM_MMU_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_FEATURES) == 0xDu, "DRM_PANFROST_PARAM_THREAD_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_MAX_THREADS) == 0xEu, "DRM_PANFROST_PARAM_MAX_THREADS");
_Static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ) == 0xFu, "DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ");
_Static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ) == 0x10u, "DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ");
_Static_assert((__u32)(DRM_PANFROST_PARAM_COHERENCY_FEATURES) == 0x11u, "DRM_PANFROST_PARAM_COHERENCY_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES0) == 0x12u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES0");
_Static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES1) == 0x13u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES1");
_Static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES2) == 0x14u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES2");
_Static_assert((__u32)(DRM_PANFROST_PARAM_TEXTURE_FEATURES3) == 0x15u, "DRM_PANFROST_PARAM_TEXTURE_FEATURES3");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES0) == 0x16u, "DRM_PANFROST_PARAM_JS_FEATURES0");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES1) == 0x17u, "DRM_PANFROST_PARAM_JS_FEATURES1");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES2) == 0x18u, "DRM_PANFROST_PARAM_JS_FEATURES2");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES3) == 0x19u, "DRM_PANFROST_PARAM_JS_FEATURES3");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES4) == 0x1Au, "DRM_PANFROST_PARAM_JS_FEATURES4");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES5) == 0x1Bu, "DRM_PANFROST_PARAM_JS_FEATURES5");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES6) == 0x1Cu, "DRM_PANFROST_PARAM_JS_FEATURES6");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES7) == 0x1Du, "DRM_PANFROST_PARAM_JS_FEATURES7");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES8) == 0x1Eu, "DRM_PANFROST_PARAM_JS_FEATURES8");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES9) == 0x1Fu, "DRM_PANFROST_PARAM_JS_FEATURES9");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES10) == 0x20u, "DRM_PANFROST_PARAM_JS_FEATURES10");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES11) == 0x21u, "DRM_PANFROST_PARAM_JS_FEATURES11");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES12) == 0x22u, "DRM_PANFROST_PARAM_JS_FEATURES12");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES13) == 0x23u, "DRM_PANFROST_PARAM_JS_FEATURES13");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES14) == 0x24u, "DRM_PANFROST_PARAM_JS_FEATURES14");
_Static_assert((__u32)(DRM_PANFROST_PARAM_JS_FEATURES15) == 0x25u, "DRM_PANFROST_PARAM_JS_FEATURES15");
_Static_assert((__u32)(DRM_PANFROST_PARAM_NR_CORE_GROUPS) == 0x26u, "DRM_PANFROST_PARAM_NR_CORE_GROUPS");
_Static_assert((__u32)(DRM_PANFROST_PARAM_THREAD_TLS_ALLOC) == 0x27u, "DRM_PANFROST_PARAM_THREAD_TLS_ALLOC");
_Static_assert((__u32)(DRM_PANFROST_PARAM_AFBC_FEATURES) == 0x28u, "DRM_PANFROST_PARAM_AFBC_FEATURES");
_Static_assert((__u32)(DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP) == 0x29u, "DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP");
_Static_assert((__u32)(DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY) == 0x2Au, "DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY");

/* Something with external linkage so the static library is not empty. */
int wsys_uapi_c_abi_checked(void);
int wsys_uapi_c_abi_checked(void)
{
	return 1;
}
