/* SPDX-License-Identifier: MIT */
/*
 * wsys: the subset of the DRM core ABI wsys uses (version, capabilities,
 * GEM close, PRIME, and every syncobj ioctl), written for this project from
 * the facts of the upstream interface (Linux include/uapi/drm/drm.h).
 *
 * The names are the kernel's, which means they are also libdrm's: a
 * translation unit includes EITHER this header OR libdrm's <drm.h> (directly
 * or through <xf86drm.h>), never both. Code that talks to a real device
 * through libdrm uses libdrm's header; code that must not depend on libdrm
 * (the kernel model, ABI tests) uses this one. panthor_drm.h and
 * panfrost_drm.h work with either.
 *
 * The header stands on its own: <linux/types.h>, <linux/ioctl.h>,
 * <stddef.h> and <fcntl.h> (for O_CLOEXEC / O_RDWR, which need POSIX 2008
 * feature macros in strict C modes).
 *
 * Kernel versions: DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE and the trailing
 * deadline_nsec of the two wait structs are the newest additions; kernels
 * and userspace built before them use the 32- and 40-byte structs, whose
 * ioctl numbers are DRM_IOCTL_SYNCOBJ_WAIT_V1 and
 * DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1. The kernel accepts both sizes.
 */
#ifndef WSYS_DRM_UAPI_DRM_CORE_H
#define WSYS_DRM_UAPI_DRM_CORE_H

#ifdef _DRM_H_
#error "drm-uapi/drm_core.h and libdrm's drm.h define the same names; include only one of them per translation unit"
#endif

#include <fcntl.h>
#include <stddef.h>

#include <linux/ioctl.h>
#include <linux/types.h>

/* ------------------------------------------------------------------------ */
/* ioctl numbering                                                          */
/* ------------------------------------------------------------------------ */

/* All DRM ioctls use the 'd' type. Core ioctls use nr 0x00..0x3f and
 * 0xa0..0xff; drivers own DRM_COMMAND_BASE..DRM_COMMAND_END - 1. */
#define DRM_IOCTL_BASE		'd'
#define DRM_COMMAND_BASE	0x40
#define DRM_COMMAND_END		0xA0

/* Private helpers; libdrm spells these DRM_IOW/DRM_IOWR. */
#define WSYS_DRM_CORE_IOW(nr, type)	_IOW(DRM_IOCTL_BASE, nr, type)
#define WSYS_DRM_CORE_IOWR(nr, type)	_IOWR(DRM_IOCTL_BASE, nr, type)

/* ------------------------------------------------------------------------ */
/* VERSION and GET_CAP                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Driver name, date and description. Each string is copied into the
 * caller's buffer up to its *_len; the kernel then stores the full length
 * in *_len, so a first call with zero lengths sizes the buffers. 64 bytes
 * on LP64.
 */
struct drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	__kernel_size_t name_len;
	char *name;
	__kernel_size_t date_len;
	char *date;
	__kernel_size_t desc_len;
	char *desc;
};

/* Capability ids for drm_get_cap.capability, and their value bits. */
#define DRM_CAP_PRIME			0x5
#define  DRM_PRIME_CAP_IMPORT		0x1
#define  DRM_PRIME_CAP_EXPORT		0x2
#define DRM_CAP_SYNCOBJ			0x13
#define DRM_CAP_SYNCOBJ_TIMELINE	0x14

struct drm_get_cap {
	__u64 capability;
	__u64 value;		/* out */
};

/* ------------------------------------------------------------------------ */
/* GEM and PRIME                                                            */
/* ------------------------------------------------------------------------ */

struct drm_gem_close {
	__u32 handle;
	__u32 pad;
};

/* drm_prime_handle.flags for HANDLE_TO_FD: flags of the new dma-buf fd. */
#define DRM_CLOEXEC	O_CLOEXEC
#define DRM_RDWR	O_RDWR

/*
 * PRIME export (handle in, fd out) and import (fd in, handle out).
 * Importing the same dma-buf twice into one file yields the same handle.
 */
struct drm_prime_handle {
	__u32 handle;
	__u32 flags;		/* DRM_CLOEXEC | DRM_RDWR, export only */
	__s32 fd;
};

/* ------------------------------------------------------------------------ */
/* Sync objects                                                             */
/* ------------------------------------------------------------------------ */

/* drm_syncobj_create.flags: create with an already signalled fence. */
#define DRM_SYNCOBJ_CREATE_SIGNALED (1 << 0)

struct drm_syncobj_create {
	__u32 handle;		/* out */
	__u32 flags;
};

struct drm_syncobj_destroy {
	__u32 handle;
	__u32 pad;
};

/* drm_syncobj_handle.flags: move the current fence through a sync_file
 * instead of exporting/importing the syncobj itself. */
#define DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE	(1 << 0)
#define DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE	(1 << 0)

/* HANDLE_TO_FD and FD_TO_HANDLE. */
struct drm_syncobj_handle {
	__u32 handle;
	__u32 flags;
	__s32 fd;
	__u32 pad;
};

/* Copy a fence from one syncobj point to another (timeline point 0 means
 * the binary fence). */
struct drm_syncobj_transfer {
	__u32 src_handle;
	__u32 dst_handle;
	__u64 src_point;
	__u64 dst_point;
	__u32 flags;
	__u32 pad;
};

/* Wait flags (drm_syncobj_wait, drm_syncobj_timeline_wait; EVENTFD takes
 * WAIT_AVAILABLE). */
#define DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL		(1 << 0)
/* A missing fence/point is waited for instead of being -EINVAL. */
#define DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT	(1 << 1)
/* Timeline only: wake when the point has a fence, not when it signals. */
#define DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE	(1 << 2)
/* Newest: pass deadline_nsec on to the fences as a hint. */
#define DRM_SYNCOBJ_WAIT_FLAGS_WAIT_DEADLINE	(1 << 3)

/*
 * Wait on count_handles binary syncobjs. timeout_nsec is an absolute
 * CLOCK_MONOTONIC time; 0 polls; expiry is -ETIME. count_handles == 0 is
 * -EINVAL. Without WAIT_ALL, first_signaled receives the index of a
 * signalled entry.
 */
struct drm_syncobj_wait {
	__u64 handles;		/* user pointer to __u32 handles */
	__s64 timeout_nsec;
	__u32 count_handles;
	__u32 flags;		/* DRM_SYNCOBJ_WAIT_FLAGS_* */
	__u32 first_signaled;	/* out */
	__u32 pad;
	/* Newest: the 32-byte layout ends here. */
	__u64 deadline_nsec;
};

/* As drm_syncobj_wait, with a point per handle (point 0: binary). */
struct drm_syncobj_timeline_wait {
	__u64 handles;		/* user pointer to __u32 handles */
	__u64 points;		/* user pointer to __u64 points */
	__s64 timeout_nsec;
	__u32 count_handles;
	__u32 flags;		/* DRM_SYNCOBJ_WAIT_FLAGS_* */
	__u32 first_signaled;	/* out */
	__u32 pad;
	/* Newest: the 40-byte layout ends here. */
	__u64 deadline_nsec;
};

/* Signal an eventfd when a syncobj point signals (or, with
 * DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE, gets a fence). */
struct drm_syncobj_eventfd {
	__u32 handle;
	__u32 flags;		/* 0 or DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE */
	__u64 point;
	__s32 fd;
	__u32 pad;
};

/* RESET and SIGNAL (binary syncobjs). */
struct drm_syncobj_array {
	__u64 handles;		/* user pointer to __u32 handles */
	__u32 count_handles;
	__u32 pad;
};

/* drm_syncobj_timeline_array.flags for QUERY: report the last submitted
 * point rather than the last signalled one. */
#define DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED (1 << 0)

/* QUERY (points out) and TIMELINE_SIGNAL (points in, flags must be 0). */
struct drm_syncobj_timeline_array {
	__u64 handles;		/* user pointer to __u32 handles */
	__u64 points;		/* user pointer to __u64 points */
	__u32 count_handles;
	__u32 flags;
};

/* ------------------------------------------------------------------------ */
/* ioctl numbers                                                            */
/* ------------------------------------------------------------------------ */

#define DRM_IOCTL_VERSION		WSYS_DRM_CORE_IOWR(0x00, struct drm_version)
#define DRM_IOCTL_GEM_CLOSE		WSYS_DRM_CORE_IOW(0x09, struct drm_gem_close)
#define DRM_IOCTL_GET_CAP		WSYS_DRM_CORE_IOWR(0x0c, struct drm_get_cap)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD	WSYS_DRM_CORE_IOWR(0x2d, struct drm_prime_handle)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE	WSYS_DRM_CORE_IOWR(0x2e, struct drm_prime_handle)

#define DRM_IOCTL_SYNCOBJ_CREATE	WSYS_DRM_CORE_IOWR(0xBF, struct drm_syncobj_create)
#define DRM_IOCTL_SYNCOBJ_DESTROY	WSYS_DRM_CORE_IOWR(0xC0, struct drm_syncobj_destroy)
#define DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD	WSYS_DRM_CORE_IOWR(0xC1, struct drm_syncobj_handle)
#define DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE	WSYS_DRM_CORE_IOWR(0xC2, struct drm_syncobj_handle)
#define DRM_IOCTL_SYNCOBJ_WAIT		WSYS_DRM_CORE_IOWR(0xC3, struct drm_syncobj_wait)
#define DRM_IOCTL_SYNCOBJ_RESET		WSYS_DRM_CORE_IOWR(0xC4, struct drm_syncobj_array)
#define DRM_IOCTL_SYNCOBJ_SIGNAL	WSYS_DRM_CORE_IOWR(0xC5, struct drm_syncobj_array)
#define DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT	WSYS_DRM_CORE_IOWR(0xCA, struct drm_syncobj_timeline_wait)
#define DRM_IOCTL_SYNCOBJ_QUERY		WSYS_DRM_CORE_IOWR(0xCB, struct drm_syncobj_timeline_array)
#define DRM_IOCTL_SYNCOBJ_TRANSFER	WSYS_DRM_CORE_IOWR(0xCC, struct drm_syncobj_transfer)
#define DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL WSYS_DRM_CORE_IOWR(0xCD, struct drm_syncobj_timeline_array)
#define DRM_IOCTL_SYNCOBJ_EVENTFD	WSYS_DRM_CORE_IOWR(0xCF, struct drm_syncobj_eventfd)

/* The wait ioctls as encoded by userspace built before deadline_nsec
 * (not kernel names: the kernel has one number per struct). */
#define DRM_IOCTL_SYNCOBJ_WAIT_V1 \
	_IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, 0xC3, \
	     offsetof(struct drm_syncobj_wait, deadline_nsec))
#define DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT_V1 \
	_IOC(_IOC_READ | _IOC_WRITE, DRM_IOCTL_BASE, 0xCA, \
	     offsetof(struct drm_syncobj_timeline_wait, deadline_nsec))

#endif /* WSYS_DRM_UAPI_DRM_CORE_H */
