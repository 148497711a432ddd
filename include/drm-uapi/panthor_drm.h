/* SPDX-License-Identifier: MIT */
/*
 * wsys: the panthor (CSF Mali) kernel ABI, written for this project from the
 * facts of the upstream interface (Linux include/uapi/drm/panthor_drm.h).
 *
 * Names, numbers and layouts follow the upstream kernel interface so that the
 * code reads the same as Mesa's; the text is our own. The header stands on
 * its own: it needs only <linux/types.h> and <linux/ioctl.h>, not libdrm's
 * drm.h nor drm-uapi/drm_core.h, and it can share a translation unit with
 * either of those.
 *
 * Driver version gating (DRM_IOCTL_VERSION minor, major is 1):
 *   1.0  everything not marked otherwise
 *   1.1  DEV_QUERY TIMESTAMP_INFO (24-byte struct)
 *   1.2  DEV_QUERY GROUP_PRIORITIES_INFO, PANTHOR_GROUP_PRIORITY_REALTIME
 *   1.3  DRM_PANTHOR_GROUP_STATE_INNOCENT
 *   1.4  BO_SET_LABEL
 *   1.5  SET_USER_MMIO_OFFSET
 *   1.6  cycle counter usable by user command streams (no ABI change)
 *   1.7  DRM_PANTHOR_BO_WB_MMAP, BO_SYNC, BO_QUERY_INFO,
 *        drm_panthor_gpu_info.selected_coherency (formerly pad0)
 *   1.8  drm_panthor_timestamp_info.flags and the fields after it
 *   1.9  (newest) DEV_QUERY MMU_INFO, DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE
 * drm_panthor_gpu_info.gpu_features is also newest; its version is not
 * recorded in the reference, so detect it by the size DEV_QUERY reports.
 *
 * Ground rules shared by every panthor ioctl:
 *   - every ioctl is read/write (_IOWR) on the 'd' ioctl type;
 *   - structs are 8-byte aligned and padded explicitly; every pad field must
 *     be zero or the kernel answers -EINVAL;
 *   - structs only ever grow at the end: the kernel copies what userspace
 *     passed and zero-fills the rest, so older and newer sizes both work.
 */
#ifndef WSYS_DRM_UAPI_PANTHOR_DRM_H
#define WSYS_DRM_UAPI_PANTHOR_DRM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* ------------------------------------------------------------------------ */
/* ioctl numbering                                                          */
/* ------------------------------------------------------------------------ */

/* Driver-private ioctls start at 0x40 (DRM_COMMAND_BASE) on the 'd' type.
 * Private helper: not part of the kernel's names, so it cannot clash with
 * libdrm's DRM_IOWR/DRM_COMMAND_BASE. */
#define WSYS_PANTHOR_IOWR(id, type) _IOWR('d', 0x40 + (id), type)

/* Index of each panthor ioctl above the driver command base. */
enum drm_panthor_ioctl_id {
	DRM_PANTHOR_DEV_QUERY = 0,
	DRM_PANTHOR_VM_CREATE,
	DRM_PANTHOR_VM_DESTROY,
	DRM_PANTHOR_VM_BIND,
	DRM_PANTHOR_VM_GET_STATE,
	DRM_PANTHOR_BO_CREATE,
	DRM_PANTHOR_BO_MMAP_OFFSET,
	DRM_PANTHOR_GROUP_CREATE,
	DRM_PANTHOR_GROUP_DESTROY,
	DRM_PANTHOR_GROUP_SUBMIT,
	DRM_PANTHOR_GROUP_GET_STATE,
	DRM_PANTHOR_TILER_HEAP_CREATE,
	DRM_PANTHOR_TILER_HEAP_DESTROY,
	DRM_PANTHOR_BO_SET_LABEL,		/* 1.4 */
	DRM_PANTHOR_SET_USER_MMIO_OFFSET,	/* 1.5 */
	DRM_PANTHOR_BO_SYNC,			/* 1.7 */
	DRM_PANTHOR_BO_QUERY_INFO,		/* 1.7 */
};

/* ------------------------------------------------------------------------ */
/* User MMIO (mmap offsets on the DRM file, not on a BO)                     */
/* ------------------------------------------------------------------------ */

/* Where the user-visible register page lives in the file's mmap space. A
 * 32-bit process uses the low value, a 64-bit one the high value; since 1.5
 * SET_USER_MMIO_OFFSET lets a process pick either explicitly (useful for a
 * 32-bit process on a 64-bit kernel). */
#define DRM_PANTHOR_USER_MMIO_OFFSET_32BIT (1ull << 43)
#define DRM_PANTHOR_USER_MMIO_OFFSET_64BIT (1ull << 56)
#define DRM_PANTHOR_USER_MMIO_OFFSET \
	(sizeof(unsigned long) < 8 ? DRM_PANTHOR_USER_MMIO_OFFSET_32BIT \
				   : DRM_PANTHOR_USER_MMIO_OFFSET_64BIT)

/* Page 0 of the user MMIO area: LATEST_FLUSH_ID, read-only. */
#define DRM_PANTHOR_USER_FLUSH_ID_MMIO_OFFSET (DRM_PANTHOR_USER_MMIO_OFFSET | 0)

/* ------------------------------------------------------------------------ */
/* Shared building blocks                                                   */
/* ------------------------------------------------------------------------ */

/*
 * A user array passed by pointer. stride is the size of one element as the
 * caller knows it: smaller than the element's original size is -EINVAL; a
 * larger stride is accepted and the bytes the kernel does not know must be
 * zero. count == 0 means "no array".
 */
struct drm_panthor_obj_array {
	__u32 stride;
	__u32 count;
	__u64 array;	/* user pointer to the first element */
};

/* Fill a drm_panthor_obj_array from a count and a typed pointer. */
#define DRM_PANTHOR_OBJ_ARRAY(cnt, ptr) \
	{ .stride = (__u32)sizeof((ptr)[0]), .count = (__u32)(cnt), \
	  .array = (__u64)(unsigned long)(ptr) }

/* drm_panthor_sync_op.flags */
enum drm_panthor_sync_op_flags {
	/* Low byte: which kind of object handle names. */
	DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_MASK = 0xff,
	DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_SYNCOBJ = 0,
	DRM_PANTHOR_SYNC_OP_HANDLE_TYPE_TIMELINE_SYNCOBJ = 1,

	/* Top bit: wait on the object, or signal it when the job completes. */
	DRM_PANTHOR_SYNC_OP_WAIT = 0,
	DRM_PANTHOR_SYNC_OP_SIGNAL = (int)(1u << 31),
};

/*
 * One wait or signal attached to a job. timeline_value is the point for a
 * timeline syncobj and must be 0 for a binary one. Any flag bit outside the
 * handle type and the SIGNAL bit is -EINVAL.
 */
struct drm_panthor_sync_op {
	__u32 flags;
	__u32 handle;	/* syncobj handle */
	__u64 timeline_value;
};

/* ------------------------------------------------------------------------ */
/* DEV_QUERY                                                                */
/* ------------------------------------------------------------------------ */

enum drm_panthor_dev_query_type {
	DRM_PANTHOR_DEV_QUERY_GPU_INFO = 0,
	DRM_PANTHOR_DEV_QUERY_CSIF_INFO,
	DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO,		/* 1.1 */
	DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO,	/* 1.2 */
	DRM_PANTHOR_DEV_QUERY_MMU_INFO,			/* 1.9, newest */
};

/* Fields of drm_panthor_gpu_info.gpu_id. */
#define DRM_PANTHOR_ARCH_MAJOR(x)	((x) >> 28)
#define DRM_PANTHOR_ARCH_MINOR(x)	(((x) >> 24) & 0xf)
#define DRM_PANTHOR_ARCH_REV(x)		(((x) >> 20) & 0xf)
#define DRM_PANTHOR_PRODUCT_MAJOR(x)	(((x) >> 16) & 0xf)
#define DRM_PANTHOR_VERSION_MAJOR(x)	(((x) >> 12) & 0xf)
#define DRM_PANTHOR_VERSION_MINOR(x)	(((x) >> 4) & 0xff)
#define DRM_PANTHOR_VERSION_STATUS(x)	((x) & 0xf)

/* Fields of drm_panthor_gpu_info.csf_id (command-stream hardware and MCU
 * firmware interface versions). */
#define DRM_PANTHOR_CSHW_MAJOR(x)	(((x) >> 26) & 0x3f)
#define DRM_PANTHOR_CSHW_MINOR(x)	(((x) >> 20) & 0x3f)
#define DRM_PANTHOR_CSHW_REV(x)		(((x) >> 16) & 0xf)
#define DRM_PANTHOR_MCU_MAJOR(x)	(((x) >> 10) & 0x3f)
#define DRM_PANTHOR_MCU_MINOR(x)	(((x) >> 4) & 0x3f)
#define DRM_PANTHOR_MCU_REV(x)		((x) & 0xf)

/* Number of GPU virtual address bits, from drm_panthor_gpu_info.mmu_features. */
#define DRM_PANTHOR_MMU_VA_BITS(x)	((x) & 0xff)

/* drm_panthor_gpu_info.selected_coherency (1.7). */
enum drm_panthor_gpu_coherency {
	DRM_PANTHOR_GPU_COHERENCY_ACE_LITE = 0,
	DRM_PANTHOR_GPU_COHERENCY_ACE = 1,
	DRM_PANTHOR_GPU_COHERENCY_NONE = 31,
};

/*
 * DRM_PANTHOR_DEV_QUERY_GPU_INFO. Mostly raw GPU_CONTROL register values.
 * The kernel accepts any size from 96 bytes (the end of tiler_present) up.
 */
struct drm_panthor_gpu_info {
	__u32 gpu_id;			/* decode with DRM_PANTHOR_ARCH_* etc. */
	__u32 gpu_rev;
	__u32 csf_id;			/* decode with DRM_PANTHOR_CSHW_*, _MCU_* */
	__u32 l2_features;
	__u32 tiler_features;
	__u32 mem_features;
	__u32 mmu_features;		/* DRM_PANTHOR_MMU_VA_BITS() */
	__u32 thread_features;
	__u32 max_threads;
	__u32 thread_max_workgroup_size;
	__u32 thread_max_barrier_size;
	__u32 coherency_features;
	__u32 texture_features[4];
	__u32 as_present;
	union {
		/* 1.7: the coherency protocol the kernel chose,
		 * enum drm_panthor_gpu_coherency. */
		__u32 selected_coherency;
		/* Before 1.7 the same word was padding (returned as zero). */
		__u32 pad0;
	};
	__u64 shader_present;
	__u64 l2_present;
	__u64 tiler_present;
	__u32 core_features;
	__u32 pad;
	__u64 gpu_features;		/* newest */
};

/* DRM_PANTHOR_DEV_QUERY_CSIF_INFO: command-stream interface limits. */
struct drm_panthor_csif_info {
	__u32 csg_slot_count;
	__u32 cs_slot_count;
	__u32 cs_reg_count;
	__u32 scoreboard_slot_count;
	/* Registers at the top of the file the kernel uses around a user
	 * stream it calls from GROUP_SUBMIT; user code must not rely on them. */
	__u32 unpreserved_cs_reg_count;
	__u32 pad;
};

/* drm_panthor_timestamp_info.flags (1.8): which values to sample. A caller
 * passing the 24-byte pre-1.8 struct has no flags and gets the values of the
 * first three fields. */
enum drm_panthor_timestamp_info_flags {
	DRM_PANTHOR_TIMESTAMP_GPU = 1 << 0,
	/* Bits 1..3: CPU clock to sample alongside (CPU_NONE: none). */
	DRM_PANTHOR_TIMESTAMP_CPU_NONE = 0 << 1,
	DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC = 1 << 1,
	DRM_PANTHOR_TIMESTAMP_CPU_MONOTONIC_RAW = 2 << 1,
	DRM_PANTHOR_TIMESTAMP_CPU_TYPE_MASK = 7 << 1,
	DRM_PANTHOR_TIMESTAMP_GPU_OFFSET = 1 << 4,
	DRM_PANTHOR_TIMESTAMP_GPU_CYCLE_COUNT = 1 << 5,
	DRM_PANTHOR_TIMESTAMP_FREQ = 1 << 6,
	DRM_PANTHOR_TIMESTAMP_DURATION = 1 << 7,
};

/* DRM_PANTHOR_DEV_QUERY_TIMESTAMP_INFO (1.1; 24 bytes until 1.8). */
struct drm_panthor_timestamp_info {
	__u64 timestamp_frequency;	/* Hz, 0 when unknown */
	__u64 current_timestamp;
	__u64 timestamp_offset;

	/* 1.8 from here on. flags is an input. */
	__u32 flags;			/* enum drm_panthor_timestamp_info_flags */
	__u32 duration_nsec;		/* how long the sampling took */
	__u64 cycle_count;
	__u64 cpu_timestamp_sec;
	__u64 cpu_timestamp_nsec;
};

/* DRM_PANTHOR_DEV_QUERY_GROUP_PRIORITIES_INFO (1.2). Bit p of allowed_mask
 * is set when this file may create groups of priority p. */
struct drm_panthor_group_priorities_info {
	__u8 allowed_mask;
	__u8 pad[3];
};

/* DRM_PANTHOR_DEV_QUERY_MMU_INFO (1.9, newest). Bit n set: pages of 1 << n
 * bytes are supported. Kernels without the query support 4 KiB and 2 MiB. */
struct drm_panthor_mmu_info {
	__u64 page_size_bitmap;
};

/*
 * DEV_QUERY. With pointer == 0 the kernel only stores the size of its
 * struct for type into size. Otherwise it copies min(size, its size) bytes
 * to pointer and zero-fills the remainder of the caller's buffer; a size
 * below the struct's original size or an unknown type is -EINVAL.
 */
struct drm_panthor_dev_query {
	__u32 type;	/* enum drm_panthor_dev_query_type */
	__u32 size;
	__u64 pointer;
};

/* ------------------------------------------------------------------------ */
/* VMs                                                                      */
/* ------------------------------------------------------------------------ */

struct drm_panthor_vm_create {
	__u32 flags;		/* must be zero */
	__u32 id;		/* out: 1..32, per file */
	/*
	 * in/out: size of the user part of the VA space, starting at 0. Zero
	 * lets the kernel choose. The kernel keeps at least the top 256 MiB.
	 */
	__u64 user_va_range;
};

struct drm_panthor_vm_destroy {
	__u32 id;
	__u32 pad;
};

/* drm_panthor_vm_bind_op.flags */
enum drm_panthor_vm_bind_op_flags {
	/* MAP only. */
	DRM_PANTHOR_VM_BIND_OP_MAP_READONLY = 1 << 0,
	DRM_PANTHOR_VM_BIND_OP_MAP_NOEXEC = 1 << 1,
	DRM_PANTHOR_VM_BIND_OP_MAP_UNCACHED = 1 << 2,
	/* 1.9, newest: back the range with one dummy page repeated; needs
	 * MAP_NOEXEC and bo_handle == bo_offset == 0; reads are undefined. */
	DRM_PANTHOR_VM_BIND_OP_MAP_SPARSE = 1 << 3,

	/* Bits 28..31: the operation. */
	DRM_PANTHOR_VM_BIND_OP_TYPE_MASK = (int)(0xfu << 28),
	DRM_PANTHOR_VM_BIND_OP_TYPE_MAP = 0 << 28,
	DRM_PANTHOR_VM_BIND_OP_TYPE_UNMAP = 1 << 28,
	/* No mapping change, only the syncs (needs at least one). */
	DRM_PANTHOR_VM_BIND_OP_TYPE_SYNC_ONLY = 2 << 28,
};

/*
 * One VM_BIND operation. va and size must be multiples of the VM page size.
 * UNMAP and SYNC_ONLY require bo_handle and bo_offset (and for SYNC_ONLY also
 * va and size) to be zero. syncs is an array of drm_panthor_sync_op and is
 * only allowed on asynchronous binds.
 */
struct drm_panthor_vm_bind_op {
	__u32 flags;		/* enum drm_panthor_vm_bind_op_flags */
	__u32 bo_handle;
	__u64 bo_offset;
	__u64 va;
	__u64 size;
	struct drm_panthor_obj_array syncs;
};

/* drm_panthor_vm_bind.flags */
enum drm_panthor_vm_bind_flags {
	/* Queue each op as a job on the VM's bind queue instead of running
	 * the ops in the ioctl. */
	DRM_PANTHOR_VM_BIND_ASYNC = 1 << 0,
};

/*
 * VM_BIND. On a synchronous failure the kernel rewrites ops.count to the
 * index of the op that failed.
 */
struct drm_panthor_vm_bind {
	__u32 vm_id;
	__u32 flags;		/* enum drm_panthor_vm_bind_flags */
	struct drm_panthor_obj_array ops;	/* of drm_panthor_vm_bind_op */
};

enum drm_panthor_vm_state {
	DRM_PANTHOR_VM_STATE_USABLE = 0,
	/* An async bind failed: maps and jobs fail, unmaps still work, only
	 * destroying the VM gets out of this state. */
	DRM_PANTHOR_VM_STATE_UNUSABLE = 1,
};

struct drm_panthor_vm_get_state {
	__u32 vm_id;
	__u32 state;		/* out: enum drm_panthor_vm_state */
};

/* ------------------------------------------------------------------------ */
/* Buffer objects                                                           */
/* ------------------------------------------------------------------------ */

enum drm_panthor_bo_flags {
	DRM_PANTHOR_BO_NO_MMAP = 1 << 0,
	/* 1.7: CPU mapping is write-back cached; not with NO_MMAP. */
	DRM_PANTHOR_BO_WB_MMAP = 1 << 1,
};

struct drm_panthor_bo_create {
	__u64 size;		/* in/out: non-zero; returned page-aligned */
	__u32 flags;		/* enum drm_panthor_bo_flags */
	/* Non-zero: the BO can only be mapped in this VM, shares its
	 * reservation, and cannot be exported. */
	__u32 exclusive_vm_id;
	__u32 handle;		/* out */
	__u32 pad;
};

struct drm_panthor_bo_mmap_offset {
	__u32 handle;
	__u32 pad;
	__u64 offset;		/* out: fake offset for mmap() on the DRM fd */
};

/* BO_SET_LABEL (1.4). label is a user pointer to a NUL-terminated string
 * of at most 4096 bytes. */
struct drm_panthor_bo_set_label {
	__u32 handle;
	__u32 pad;
	__u64 label;
};

/* SET_USER_MMIO_OFFSET (1.5): one of DRM_PANTHOR_USER_MMIO_OFFSET_32BIT or
 * _64BIT. */
struct drm_panthor_set_user_mmio_offset {
	__u64 offset;
};

/* drm_panthor_bo_sync_op.type (1.7) */
enum drm_panthor_bo_sync_op_type {
	DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH = 0,
	DRM_PANTHOR_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE = 1,
};

/* One CPU cache maintenance range of a BO (1.7). */
struct drm_panthor_bo_sync_op {
	__u32 handle;
	__u32 type;		/* enum drm_panthor_bo_sync_op_type */
	__u64 offset;
	__u64 size;
};

/* BO_SYNC (1.7). */
struct drm_panthor_bo_sync {
	struct drm_panthor_obj_array ops;	/* of drm_panthor_bo_sync_op */
};

/* drm_panthor_bo_query_info.extra_flags (1.7) */
enum drm_panthor_bo_extra_flags {
	DRM_PANTHOR_BO_IS_IMPORTED = 1 << 0,
};

/* BO_QUERY_INFO (1.7). */
struct drm_panthor_bo_query_info {
	__u32 handle;
	__u32 extra_flags;	/* out: enum drm_panthor_bo_extra_flags */
	__u32 create_flags;	/* out: the flags the BO was created with */
	__u32 pad;
};

/* ------------------------------------------------------------------------ */
/* Scheduling groups and queues                                             */
/* ------------------------------------------------------------------------ */

/* One queue of a group. priority is 0..15 within the group;
 * ringbuf_size is a power of two from 4 KiB to 64 KiB. */
struct drm_panthor_queue_create {
	__u8 priority;
	__u8 pad[3];
	__u32 ringbuf_size;
};

enum drm_panthor_group_priority {
	PANTHOR_GROUP_PRIORITY_LOW = 0,
	PANTHOR_GROUP_PRIORITY_MEDIUM,
	/* HIGH and REALTIME need CAP_SYS_NICE or DRM master, else -EACCES. */
	PANTHOR_GROUP_PRIORITY_HIGH,
	PANTHOR_GROUP_PRIORITY_REALTIME,	/* 1.2 */
};

/*
 * GROUP_CREATE. Each core mask must be a subset of the matching *_present
 * mask of drm_panthor_gpu_info and contain at least max_*_cores cores.
 */
struct drm_panthor_group_create {
	struct drm_panthor_obj_array queues;	/* of drm_panthor_queue_create, >= 1 */
	__u8 max_compute_cores;
	__u8 max_fragment_cores;
	__u8 max_tiler_cores;
	__u8 priority;		/* enum drm_panthor_group_priority */
	__u32 pad;
	__u64 compute_core_mask;
	__u64 fragment_core_mask;
	__u64 tiler_core_mask;
	__u32 vm_id;
	__u32 group_handle;	/* out: 1..128 */
};

struct drm_panthor_group_destroy {
	__u32 group_handle;
	__u32 pad;
};

/*
 * Work for one queue of a group. stream_addr is 64-byte aligned and
 * stream_size a multiple of 8; both zero makes a pure synchronisation
 * point. latest_flush is the LATEST_FLUSH_ID value read when the stream
 * was built.
 */
struct drm_panthor_queue_submit {
	__u32 queue_index;
	__u32 stream_size;
	__u64 stream_addr;
	__u32 latest_flush;
	__u32 pad;
	struct drm_panthor_obj_array syncs;	/* of drm_panthor_sync_op */
};

struct drm_panthor_group_submit {
	__u32 group_handle;
	__u32 pad;
	struct drm_panthor_obj_array queue_submits;	/* of drm_panthor_queue_submit */
};

/* drm_panthor_group_get_state.state */
enum drm_panthor_group_state_flags {
	DRM_PANTHOR_GROUP_STATE_TIMEDOUT = 1 << 0,
	DRM_PANTHOR_GROUP_STATE_FATAL_FAULT = 1 << 1,
	/* 1.3: the group was caught up in a reset it did not cause. */
	DRM_PANTHOR_GROUP_STATE_INNOCENT = 1 << 2,
};

struct drm_panthor_group_get_state {
	__u32 group_handle;
	__u32 state;		/* out: enum drm_panthor_group_state_flags */
	__u32 fatal_queues;	/* out: bit i set when queue i hit a fatal fault */
	__u32 pad;
};

/* ------------------------------------------------------------------------ */
/* Tiler heaps                                                              */
/* ------------------------------------------------------------------------ */

/*
 * TILER_HEAP_CREATE. 1 <= initial_chunk_count <= max_chunks; chunk_size is
 * page-aligned in [128 KiB, 8 MiB]. At most 128 heaps per VM; the returned
 * handle is (vm_id << 16) | heap index.
 */
struct drm_panthor_tiler_heap_create {
	__u32 vm_id;
	__u32 initial_chunk_count;
	__u32 chunk_size;
	__u32 max_chunks;
	/* Above this many render passes in flight the kernel stops growing the
	 * heap and lets the firmware wait for fragment jobs instead. */
	__u32 target_in_flight;
	__u32 handle;			/* out */
	__u64 tiler_heap_ctx_gpu_va;	/* out: the 32-byte heap context */
	__u64 first_heap_chunk_gpu_va;	/* out */
};

struct drm_panthor_tiler_heap_destroy {
	__u32 handle;
	__u32 pad;
};

/*
 * Not kernel uAPI: facts about the in-memory heap format the kernel and the
 * firmware share, named with a wsys prefix so nobody mistakes them for
 * kernel header names. Each chunk starts with this 64-byte header; next
 * links to the following chunk and packs its size into the low 12 bits.
 */
struct wsys_panthor_heap_chunk_header {
	__u64 next;
	__u32 unknown[14];
};

#define WSYS_PANTHOR_HEAP_CHUNK_HEADER_SIZE	64u
#define WSYS_PANTHOR_HEAP_CONTEXT_SIZE		32u
#define WSYS_PANTHOR_HEAP_MAX_PER_VM		128u
#define WSYS_PANTHOR_HEAP_CHUNK_MIN_SIZE	(128u * 1024u)
#define WSYS_PANTHOR_HEAP_CHUNK_MAX_SIZE	(8u * 1024u * 1024u)
/* Link encoding: chunk GPU VA (4 KiB aligned) in the high bits, chunk size
 * in 4 KiB units in the low 12 bits. */
#define WSYS_PANTHOR_HEAP_CHUNK_LINK_VA_MASK	(~0xfffull)
#define WSYS_PANTHOR_HEAP_CHUNK_LINK_SIZE_MASK	0xfffull
#define WSYS_PANTHOR_HEAP_CHUNK_LINK_SIZE_SHIFT	12
#define WSYS_PANTHOR_HEAP_CHUNK_LINK(gpu_va, chunk_size) \
	(((__u64)(gpu_va) & WSYS_PANTHOR_HEAP_CHUNK_LINK_VA_MASK) | \
	 ((__u64)(chunk_size) >> WSYS_PANTHOR_HEAP_CHUNK_LINK_SIZE_SHIFT))
#define WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_VA(next) \
	((__u64)(next) & WSYS_PANTHOR_HEAP_CHUNK_LINK_VA_MASK)
#define WSYS_PANTHOR_HEAP_CHUNK_LINK_TO_SIZE(next) \
	(((__u64)(next) & WSYS_PANTHOR_HEAP_CHUNK_LINK_SIZE_MASK) \
	 << WSYS_PANTHOR_HEAP_CHUNK_LINK_SIZE_SHIFT)
/* Tiler heap handle from its VM and per-VM index. */
#define WSYS_PANTHOR_HEAP_HANDLE(vm_id, heap_idx) \
	(((__u32)(vm_id) << 16) | (__u32)(heap_idx))

/* Other limits from the reference that the kernel enforces (not uAPI names). */
#define WSYS_PANTHOR_GPU_INFO_MIN_SIZE		96u	/* end of tiler_present */
#define WSYS_PANTHOR_TIMESTAMP_INFO_V1_SIZE	24u	/* before 1.8 */
#define WSYS_PANTHOR_MMU_DEFAULT_PAGE_SIZES	((1ull << 12) | (1ull << 21))
#define WSYS_PANTHOR_QUEUE_PRIORITY_MAX		15u
#define WSYS_PANTHOR_RINGBUF_MIN_SIZE		(4u * 1024u)
#define WSYS_PANTHOR_RINGBUF_MAX_SIZE		(64u * 1024u)
#define WSYS_PANTHOR_MAX_VMS_PER_FILE		32u
#define WSYS_PANTHOR_MAX_GROUPS_PER_FILE	128u
#define WSYS_PANTHOR_BO_LABEL_MAX_SIZE		4096u

/* ------------------------------------------------------------------------ */
/* ioctl numbers                                                            */
/* ------------------------------------------------------------------------ */

#define DRM_IOCTL_PANTHOR_DEV_QUERY \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_DEV_QUERY, struct drm_panthor_dev_query)
#define DRM_IOCTL_PANTHOR_VM_CREATE \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_VM_CREATE, struct drm_panthor_vm_create)
#define DRM_IOCTL_PANTHOR_VM_DESTROY \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_VM_DESTROY, struct drm_panthor_vm_destroy)
#define DRM_IOCTL_PANTHOR_VM_BIND \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_VM_BIND, struct drm_panthor_vm_bind)
#define DRM_IOCTL_PANTHOR_VM_GET_STATE \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_VM_GET_STATE, struct drm_panthor_vm_get_state)
#define DRM_IOCTL_PANTHOR_BO_CREATE \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_BO_CREATE, struct drm_panthor_bo_create)
#define DRM_IOCTL_PANTHOR_BO_MMAP_OFFSET \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_BO_MMAP_OFFSET, struct drm_panthor_bo_mmap_offset)
#define DRM_IOCTL_PANTHOR_GROUP_CREATE \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_GROUP_CREATE, struct drm_panthor_group_create)
#define DRM_IOCTL_PANTHOR_GROUP_DESTROY \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_GROUP_DESTROY, struct drm_panthor_group_destroy)
#define DRM_IOCTL_PANTHOR_GROUP_SUBMIT \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_GROUP_SUBMIT, struct drm_panthor_group_submit)
#define DRM_IOCTL_PANTHOR_GROUP_GET_STATE \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_GROUP_GET_STATE, struct drm_panthor_group_get_state)
#define DRM_IOCTL_PANTHOR_TILER_HEAP_CREATE \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_TILER_HEAP_CREATE, struct drm_panthor_tiler_heap_create)
#define DRM_IOCTL_PANTHOR_TILER_HEAP_DESTROY \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_TILER_HEAP_DESTROY, struct drm_panthor_tiler_heap_destroy)
/* 1.4 */
#define DRM_IOCTL_PANTHOR_BO_SET_LABEL \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_BO_SET_LABEL, struct drm_panthor_bo_set_label)
/* 1.5 */
#define DRM_IOCTL_PANTHOR_SET_USER_MMIO_OFFSET \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_SET_USER_MMIO_OFFSET, struct drm_panthor_set_user_mmio_offset)
/* 1.7 */
#define DRM_IOCTL_PANTHOR_BO_SYNC \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_BO_SYNC, struct drm_panthor_bo_sync)
#define DRM_IOCTL_PANTHOR_BO_QUERY_INFO \
	WSYS_PANTHOR_IOWR(DRM_PANTHOR_BO_QUERY_INFO, struct drm_panthor_bo_query_info)

#endif /* WSYS_DRM_UAPI_PANTHOR_DRM_H */
