/* SPDX-License-Identifier: MIT */
/*
 * wsys: the panfrost (Job Manager Mali) kernel ABI, written for this project
 * from the facts of the upstream interface (Linux include/uapi/drm/panfrost_drm.h).
 *
 * Names, numbers and layouts follow the upstream kernel interface; the text
 * is our own. The header stands on its own (<linux/types.h>,
 * <linux/ioctl.h>, <stddef.h>) and can share a translation unit with
 * libdrm's drm.h or with drm-uapi/drm_core.h.
 *
 * Driver version gating (DRM_IOCTL_VERSION minor, major is 1):
 *   1.0  everything not marked otherwise
 *   1.1  PANFROST_BO_HEAP, PANFROST_BO_NOEXEC
 *   1.2  DRM_PANFROST_PARAM_AFBC_FEATURES
 *   1.3  PANFROST_JD_REQ_CYCLE_COUNT, DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP and
 *        DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY
 *   1.4  SET_LABEL_BO
 *   1.5  JM_CTX_CREATE, JM_CTX_DESTROY, the 48-byte SUBMIT (jm_ctx_handle),
 *        DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES; older kernels take
 *        the 40-byte SUBMIT, DRM_IOCTL_PANFROST_SUBMIT_V1 (and ignore
 *        anything a caller passes beyond it)
 *   1.6  (newest) PANFROST_BO_WB_MMAP, SYNC_BO, QUERY_BO_INFO,
 *        DRM_PANFROST_PARAM_SELECTED_COHERENCY
 *
 * Unlike panthor, SUBMIT and WAIT_BO are write-only (_IOW) ioctls.
 */
#ifndef WSYS_DRM_UAPI_PANFROST_DRM_H
#define WSYS_DRM_UAPI_PANFROST_DRM_H

#include <stddef.h>

#include <linux/ioctl.h>
#include <linux/types.h>

/* Driver-private ioctls start at 0x40 (DRM_COMMAND_BASE) on the 'd' type.
 * Private helpers, so they cannot clash with libdrm's DRM_IOW/DRM_IOWR. */
#define WSYS_PANFROST_IOW(nr, type)	_IOW('d', 0x40 + (nr), type)
#define WSYS_PANFROST_IOWR(nr, type)	_IOWR('d', 0x40 + (nr), type)

/* Index of each panfrost ioctl above the driver command base.
 * 0x06 and 0x07 are the performance-counter ioctls, which wsys does not use. */
#define DRM_PANFROST_SUBMIT		0x00
#define DRM_PANFROST_WAIT_BO		0x01
#define DRM_PANFROST_CREATE_BO		0x02
#define DRM_PANFROST_MMAP_BO		0x03
#define DRM_PANFROST_GET_PARAM		0x04
#define DRM_PANFROST_GET_BO_OFFSET	0x05
#define DRM_PANFROST_MADVISE		0x08
#define DRM_PANFROST_SET_LABEL_BO	0x09	/* 1.4 */
#define DRM_PANFROST_JM_CTX_CREATE	0x0a	/* 1.5 */
#define DRM_PANFROST_JM_CTX_DESTROY	0x0b	/* 1.5 */
#define DRM_PANFROST_SYNC_BO		0x0c	/* 1.6 */
#define DRM_PANFROST_QUERY_BO_INFO	0x0d	/* 1.6 */

/* ------------------------------------------------------------------------ */
/* SUBMIT                                                                   */
/* ------------------------------------------------------------------------ */

/* drm_panfrost_submit.requirements */
#define PANFROST_JD_REQ_FS		(1 << 0)	/* fragment job slot */
#define PANFROST_JD_REQ_CYCLE_COUNT	(1 << 1)	/* 1.3 */

/*
 * Queue one job chain. jc (GPU VA of the first job descriptor) must be
 * non-zero. in_syncs points at in_sync_count binary syncobj handles to wait
 * on; out_sync is a syncobj that receives the job's fence. bo_handles lists
 * the BOs the job uses, for implicit synchronisation.
 */
struct drm_panfrost_submit {
	__u64 jc;
	__u64 in_syncs;		/* user pointer to __u32 handles */
	__u32 in_sync_count;
	__u32 out_sync;
	__u64 bo_handles;	/* user pointer to __u32 handles */
	__u32 bo_handle_count;
	__u32 requirements;	/* PANFROST_JD_REQ_* */
	/* 1.5: the 40-byte layout ends here. */
	__u32 jm_ctx_handle;	/* JM_CTX_CREATE handle; 0 = the file's default context */
	__u32 pad;		/* must be zero */
};

/* ------------------------------------------------------------------------ */
/* Job-manager contexts (1.5)                                               */
/* ------------------------------------------------------------------------ */

/* drm_panfrost_jm_ctx_create.priority; bit p of GET_PARAM
 * ALLOWED_JM_CTX_PRIORITIES is set when this file may use priority p (HIGH
 * needs CAP_SYS_NICE or DRM master; refused with -EACCES). */
enum drm_panfrost_jm_ctx_priority {
	PANFROST_JM_CTX_PRIORITY_LOW = 0,
	PANFROST_JM_CTX_PRIORITY_MEDIUM = 1,
	PANFROST_JM_CTX_PRIORITY_HIGH = 2,
};

struct drm_panfrost_jm_ctx_create {
	__u32 handle;		/* out: never 0 (the default context's) */
	__u32 priority;		/* enum drm_panfrost_jm_ctx_priority */
};

/* Destroying a context cancels its jobs; handle 0 cannot be destroyed. */
struct drm_panfrost_jm_ctx_destroy {
	__u32 handle;
	__u32 pad;		/* must be zero */
};

/* ------------------------------------------------------------------------ */
/* Buffer objects                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Wait for the GPU to be done with a BO. timeout_ns is an absolute
 * CLOCK_MONOTONIC time; 0 polls (-EBUSY if busy), expiry is -ETIMEDOUT.
 */
struct drm_panfrost_wait_bo {
	__u32 handle;
	__u32 pad;
	__s64 timeout_ns;
};

/* drm_panfrost_create_bo.flags */
#define PANFROST_BO_NOEXEC	1	/* 1.1 */
/* 1.1: grown 2 MiB at a time on GPU faults; needs NOEXEC; no mmap, pin or
 * export. */
#define PANFROST_BO_HEAP	2
/* 1.6: CPU mappings are write-back cached (flush with SYNC_BO on a
 * non-coherent GPU); not with HEAP. */
#define PANFROST_BO_WB_MMAP	4

/*
 * The kernel picks the GPU VA (offset) per file in [32 MiB, 4 GiB); it is
 * never 0.
 */
struct drm_panfrost_create_bo {
	__u32 size;
	__u32 flags;		/* PANFROST_BO_* */
	__u32 handle;		/* out */
	__u32 pad;
	__u64 offset;		/* out: GPU VA */
};

struct drm_panfrost_mmap_bo {
	__u32 handle;
	__u32 flags;		/* must be zero */
	__u64 offset;		/* out: fake offset for mmap() on the DRM fd */
};

enum drm_panfrost_param {
	DRM_PANFROST_PARAM_GPU_PROD_ID = 0,
	DRM_PANFROST_PARAM_GPU_REVISION = 1,
	DRM_PANFROST_PARAM_SHADER_PRESENT = 2,
	DRM_PANFROST_PARAM_TILER_PRESENT = 3,
	DRM_PANFROST_PARAM_L2_PRESENT = 4,
	DRM_PANFROST_PARAM_STACK_PRESENT = 5,
	DRM_PANFROST_PARAM_AS_PRESENT = 6,
	DRM_PANFROST_PARAM_JS_PRESENT = 7,
	DRM_PANFROST_PARAM_L2_FEATURES = 8,
	DRM_PANFROST_PARAM_CORE_FEATURES = 9,
	DRM_PANFROST_PARAM_TILER_FEATURES = 10,
	DRM_PANFROST_PARAM_MEM_FEATURES = 11,
	DRM_PANFROST_PARAM_MMU_FEATURES = 12,
	DRM_PANFROST_PARAM_THREAD_FEATURES = 13,
	DRM_PANFROST_PARAM_MAX_THREADS = 14,
	DRM_PANFROST_PARAM_THREAD_MAX_WORKGROUP_SZ = 15,
	DRM_PANFROST_PARAM_THREAD_MAX_BARRIER_SZ = 16,
	DRM_PANFROST_PARAM_COHERENCY_FEATURES = 17,
	DRM_PANFROST_PARAM_TEXTURE_FEATURES0 = 18,
	DRM_PANFROST_PARAM_TEXTURE_FEATURES1 = 19,
	DRM_PANFROST_PARAM_TEXTURE_FEATURES2 = 20,
	DRM_PANFROST_PARAM_TEXTURE_FEATURES3 = 21,
	DRM_PANFROST_PARAM_JS_FEATURES0 = 22,
	DRM_PANFROST_PARAM_JS_FEATURES1 = 23,
	DRM_PANFROST_PARAM_JS_FEATURES2 = 24,
	DRM_PANFROST_PARAM_JS_FEATURES3 = 25,
	DRM_PANFROST_PARAM_JS_FEATURES4 = 26,
	DRM_PANFROST_PARAM_JS_FEATURES5 = 27,
	DRM_PANFROST_PARAM_JS_FEATURES6 = 28,
	DRM_PANFROST_PARAM_JS_FEATURES7 = 29,
	DRM_PANFROST_PARAM_JS_FEATURES8 = 30,
	DRM_PANFROST_PARAM_JS_FEATURES9 = 31,
	DRM_PANFROST_PARAM_JS_FEATURES10 = 32,
	DRM_PANFROST_PARAM_JS_FEATURES11 = 33,
	DRM_PANFROST_PARAM_JS_FEATURES12 = 34,
	DRM_PANFROST_PARAM_JS_FEATURES13 = 35,
	DRM_PANFROST_PARAM_JS_FEATURES14 = 36,
	DRM_PANFROST_PARAM_JS_FEATURES15 = 37,
	DRM_PANFROST_PARAM_NR_CORE_GROUPS = 38,
	DRM_PANFROST_PARAM_THREAD_TLS_ALLOC = 39,
	DRM_PANFROST_PARAM_AFBC_FEATURES = 40,			/* 1.2 */
	DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP = 41,		/* 1.3 */
	DRM_PANFROST_PARAM_SYSTEM_TIMESTAMP_FREQUENCY = 42,	/* 1.3 */
	DRM_PANFROST_PARAM_ALLOWED_JM_CTX_PRIORITIES = 43,	/* 1.5 */
	DRM_PANFROST_PARAM_SELECTED_COHERENCY = 44,		/* 1.6 */
};

/* Not a kernel name: how many parameters the newest kernel has (0..44). An
 * unknown parameter is -EINVAL. */
#define WSYS_PANFROST_PARAM_COUNT 45

/* DRM_PANFROST_PARAM_SELECTED_COHERENCY values (1.6). */
#define DRM_PANFROST_GPU_COHERENCY_ACE_LITE	0
#define DRM_PANFROST_GPU_COHERENCY_ACE		1
#define DRM_PANFROST_GPU_COHERENCY_NONE		31

struct drm_panfrost_get_param {
	__u32 param;		/* enum drm_panfrost_param */
	__u32 pad;
	__u64 value;		/* out */
};

/* The GPU VA of a BO in this file's address space. */
struct drm_panfrost_get_bo_offset {
	__u32 handle;
	__u32 pad;
	__u64 offset;		/* out */
};

/* drm_panfrost_madvise.madv */
#define PANFROST_MADV_WILLNEED	0
#define PANFROST_MADV_DONTNEED	1	/* the shrinker may purge the pages */

struct drm_panfrost_madvise {
	__u32 handle;
	__u32 madv;		/* PANFROST_MADV_* */
	__u32 retained;		/* out: 0 if the pages had already been purged */
};

/* SET_LABEL_BO (1.4). label is a user pointer to a NUL-terminated string. */
struct drm_panfrost_set_label_bo {
	__u32 handle;
	__u32 pad;
	__u64 label;
};

/* drm_panfrost_bo_sync_op.type (1.6) */
#define PANFROST_BO_SYNC_CPU_CACHE_FLUSH			0
#define PANFROST_BO_SYNC_CPU_CACHE_FLUSH_AND_INVALIDATE		1

/* One CPU cache maintenance range of a BO (1.6). offset + size must lie
 * inside the BO; imported BOs are refused (-EINVAL). */
struct drm_panfrost_bo_sync_op {
	__u32 handle;
	__u32 type;		/* PANFROST_BO_SYNC_* */
	__u32 offset;
	__u32 size;
};

/* SYNC_BO (1.6): ops is a user pointer to op_count drm_panfrost_bo_sync_op. */
struct drm_panfrost_sync_bo {
	__u64 ops;
	__u32 op_count;
	__u32 pad;		/* must be zero */
};

/* drm_panfrost_query_bo_info.extra_flags (1.6) */
#define DRM_PANFROST_BO_IS_IMPORTED	(1 << 0)

/* QUERY_BO_INFO (1.6). create_flags: NOEXEC, HEAP, WB_MMAP as created (0
 * for an imported BO). */
struct drm_panfrost_query_bo_info {
	__u32 handle;
	__u32 extra_flags;	/* out */
	__u32 create_flags;	/* out */
	__u32 pad;
};

/* ------------------------------------------------------------------------ */
/* ioctl numbers                                                            */
/* ------------------------------------------------------------------------ */

#define DRM_IOCTL_PANFROST_SUBMIT \
	WSYS_PANFROST_IOW(DRM_PANFROST_SUBMIT, struct drm_panfrost_submit)
/* SUBMIT as encoded by userspace built before jm_ctx_handle (40 bytes). */
#define DRM_IOCTL_PANFROST_SUBMIT_V1 \
	_IOC(_IOC_WRITE, 'd', 0x40 + DRM_PANFROST_SUBMIT, \
	     offsetof(struct drm_panfrost_submit, jm_ctx_handle))
#define DRM_IOCTL_PANFROST_WAIT_BO \
	WSYS_PANFROST_IOW(DRM_PANFROST_WAIT_BO, struct drm_panfrost_wait_bo)
#define DRM_IOCTL_PANFROST_CREATE_BO \
	WSYS_PANFROST_IOWR(DRM_PANFROST_CREATE_BO, struct drm_panfrost_create_bo)
#define DRM_IOCTL_PANFROST_MMAP_BO \
	WSYS_PANFROST_IOWR(DRM_PANFROST_MMAP_BO, struct drm_panfrost_mmap_bo)
#define DRM_IOCTL_PANFROST_GET_PARAM \
	WSYS_PANFROST_IOWR(DRM_PANFROST_GET_PARAM, struct drm_panfrost_get_param)
#define DRM_IOCTL_PANFROST_GET_BO_OFFSET \
	WSYS_PANFROST_IOWR(DRM_PANFROST_GET_BO_OFFSET, struct drm_panfrost_get_bo_offset)
#define DRM_IOCTL_PANFROST_MADVISE \
	WSYS_PANFROST_IOWR(DRM_PANFROST_MADVISE, struct drm_panfrost_madvise)
/* 1.4 */
#define DRM_IOCTL_PANFROST_SET_LABEL_BO \
	WSYS_PANFROST_IOWR(DRM_PANFROST_SET_LABEL_BO, struct drm_panfrost_set_label_bo)
/* 1.5 */
#define DRM_IOCTL_PANFROST_JM_CTX_CREATE \
	WSYS_PANFROST_IOWR(DRM_PANFROST_JM_CTX_CREATE, struct drm_panfrost_jm_ctx_create)
#define DRM_IOCTL_PANFROST_JM_CTX_DESTROY \
	WSYS_PANFROST_IOWR(DRM_PANFROST_JM_CTX_DESTROY, struct drm_panfrost_jm_ctx_destroy)
/* 1.6 */
#define DRM_IOCTL_PANFROST_SYNC_BO \
	WSYS_PANFROST_IOWR(DRM_PANFROST_SYNC_BO, struct drm_panfrost_sync_bo)
#define DRM_IOCTL_PANFROST_QUERY_BO_INFO \
	WSYS_PANFROST_IOWR(DRM_PANFROST_QUERY_BO_INFO, struct drm_panfrost_query_bo_info)

#endif /* WSYS_DRM_UAPI_PANFROST_DRM_H */
