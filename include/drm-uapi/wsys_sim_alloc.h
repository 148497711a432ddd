/* SPDX-License-Identifier: MIT */
/*
 * wsys: the kernel MODEL's central buffer allocator and its non-GPU device
 * models (display controller, camera/ISP). A MODEL EXTENSION: nothing in
 * this header is uAPI of any released Linux kernel. dma-heaps allocate
 * up front and solve no constraints; this models the deferred-allocation
 * design discussed on dri-devel (issue 19, docs/deferred-allocation.md).
 *
 * Devices. Each is its own open file of the model (like a render node,
 * opened through the model's opener as "wsys-alloc", "wsys-display",
 * "wsys-camera"; under the drm-shim the nodes /dev/dma_heap/wsys-deferred,
 * /dev/wsys-sim-display and /dev/wsys-sim-camera), with the small ioctl
 * set below, type 'W' (never sent to a real DRM node):
 *   - the allocator (0x00..0x07): ALLOC returns a dma-buf fd with NO
 *     backing; ATTACH adds a device's DMA constraints; the first use (MAP
 *     of any attachment, CPU SYNC, GPU bind) finalizes the placement with
 *     the union of the constraints attached so far;
 *   - display and camera (0x20..0x25): attach with the device's own
 *     constraints plus the pitch/stride the device will use, map for DMA,
 *     and USE (scan out = read, capture = write) the buffer.
 * PRIME import of such an fd into the model's panthor or panfrost device
 * is an attach with the GPU's constraints (its physical address bits);
 * panthor's VM_BIND MAP of it is a first use, and so is panfrost's import
 * itself (panfrost maps every object into the file's GPU VA when it is
 * opened). Both drivers report the feature in EXT_QUERY
 * (WSYS_SIM_EXT_FEATURE_DEFERRED_ALLOC, wsys_sim_ext.h).
 *
 * Errors: ATTACH -EINVAL when the constraints cannot hold together (or
 * the buffer is finalized, in use, and its placement breaks them): `unmet`
 * names the constraint and the model logs it. -ENOMEM when they could hold
 * but the pool has no room (at finalization, or for a migration). A buffer
 * finalized but not mapped by anyone migrates instead of refusing.
 *
 * Processes: the allocator's state (buffers, attachments, placements, the
 * CMA pool, STATS, the log) is shared by every process of one "system"
 * (WSYS_SIM_SYSTEM; by default private for a program linking the model,
 * shared per user under the drm-shim), so an fd passed to another process
 * is the same buffer there: its attaches are checked against everyone's,
 * QUERY answers the same. A process that dies loses its attachments.
 */
#ifndef WSYS_DRM_UAPI_WSYS_SIM_ALLOC_H
#define WSYS_DRM_UAPI_WSYS_SIM_ALLOC_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define WSYS_SIM_ALLOC_IOCTL_TYPE	'W'
#define WSYS_SIM_ALLOC_IOWR(nr, type)	_IOWR(WSYS_SIM_ALLOC_IOCTL_TYPE, (nr), type)

/* Intended uses, given at ALLOC. Deferred buffers use them only for the
 * up-front baseline; ALLOC_FLAG_UPFRONT picks the heap from them now. */
#define WSYS_ALLOC_USE_GPU		(1u << 0)
#define WSYS_ALLOC_USE_DISPLAY		(1u << 1)
#define WSYS_ALLOC_USE_CAMERA		(1u << 2)
#define WSYS_ALLOC_USE_CPU		(1u << 3)
#define WSYS_ALLOC_USE_ALL		0xfu

/* ION-style baseline: finalize at ALLOC from `uses` alone: anything that
 * may be displayed or captured goes to the contiguous (CMA) heap. */
#define WSYS_ALLOC_FLAG_UPFRONT		(1u << 0)

/* Cache/access domains. */
#define WSYS_ALLOC_DOMAIN_CPU		1u
#define WSYS_ALLOC_DOMAIN_GPU		2u
#define WSYS_ALLOC_DOMAIN_DISPLAY	3u
#define WSYS_ALLOC_DOMAIN_CAMERA	4u
#define WSYS_ALLOC_DOMAIN_OTHER		5u

/* The constraint that refused an attach (ATTACH.unmet, QUERY.last_unmet). */
#define WSYS_ALLOC_UNMET_NONE		0u
#define WSYS_ALLOC_UNMET_DMA_MASK	1u	/* no zone lies under the mask */
#define WSYS_ALLOC_UNMET_CONTIGUOUS	2u	/* placed in several extents, or too big to be one */
#define WSYS_ALLOC_UNMET_SEGMENT_SIZE	3u	/* one segment allowed, max_segment_size < size */
#define WSYS_ALLOC_UNMET_SEGMENTS	4u	/* needs more segments than max_segments */
#define WSYS_ALLOC_UNMET_BOUNDARY	5u	/* one segment allowed, segment_boundary < size */
#define WSYS_ALLOC_UNMET_ALIGNMENT	6u	/* an extent start misaligned */
#define WSYS_ALLOC_UNMET_PITCH		7u	/* pitch/stride not a multiple of the device's */
#define WSYS_ALLOC_UNMET_SIZE		8u	/* pitch x height exceeds the buffer */

/* DMA constraints of one device (40 bytes). A segment is one scatter-list
 * entry: at most max_segment_size bytes, never crossing a multiple of
 * segment_boundary; a longer extent is split into several segments, so
 * those two limit a placement only through max_segments. */
#define WSYS_ALLOC_CONSTRAINT_CONTIGUOUS	(1u << 0)
struct drm_wsys_alloc_constraints {
	__u64 dma_mask;		/* highest bus address reachable; 0: 64-bit */
	__u64 max_segment_size;	/* 0: none; else a multiple of 4096 */
	__u64 segment_boundary;	/* 0: none; else a power of two >= 4096 */
	__u32 max_segments;	/* 0: none */
	__u32 alignment;	/* extent start alignment; 0 or a power of two >= 4096 */
	__u32 flags;		/* WSYS_ALLOC_CONSTRAINT_* */
	__u32 pad;		/* MBZ */
};

/* --- allocator device ------------------------------------------------ */
struct drm_wsys_alloc_create {
	__u64 size;		/* in: > 0; rounded up to 4096 */
	__u32 uses;		/* in: WSYS_ALLOC_USE_*, at least one */
	__u32 flags;		/* in: WSYS_ALLOC_FLAG_* */
	__s32 fd;		/* out: the dma-buf fd (O_CLOEXEC) */
	__u32 handle;		/* out: the allocator file's reference (FREE) */
};

struct drm_wsys_alloc_free {
	__u32 handle;
	__u32 pad;		/* MBZ */
};

struct drm_wsys_alloc_attach {
	__s32 fd;		/* in: a dma-buf fd from ALLOC */
	__u32 domain;		/* in: WSYS_ALLOC_DOMAIN_{GPU,DISPLAY,CAMERA,OTHER} */
	struct drm_wsys_alloc_constraints c;	/* in */
	__u32 attach_id;	/* out */
	__u32 unmet;		/* out: WSYS_ALLOC_UNMET_* when refused with -EINVAL */
};

struct drm_wsys_alloc_attach_op {
	__u32 attach_id;	/* DETACH, MAP, UNMAP */
	__u32 pad;		/* MBZ */
};

/* SYNC: an access by `domain` begins (like DMA_BUF_IOCTL_SYNC START, and
 * for devices the hand-over to them). The model cannot see a raw mmap of
 * the dma-buf fd: CPU access is announced with SYNC(CPU), which is a
 * first use. A device domain on a buffer not placed yet is -EINVAL (a
 * device accesses only what it mapped). Cache maintenance is done only
 * when the previous domain requires it, and counted (STATS). */
#define WSYS_ALLOC_SYNC_READ		(1u << 0)
#define WSYS_ALLOC_SYNC_WRITE		(1u << 1)
struct drm_wsys_alloc_sync {
	__s32 fd;
	__u32 domain;		/* WSYS_ALLOC_DOMAIN_* */
	__u32 flags;		/* READ and/or WRITE, at least one */
	__u32 pad;		/* MBZ */
};

#define WSYS_ALLOC_STATE_FINALIZED	(1u << 0)
#define WSYS_ALLOC_STATE_MAPPED		(1u << 1)	/* someone has it mapped: no migration */
#define WSYS_ALLOC_STATE_CPU_USED	(1u << 2)
struct drm_wsys_alloc_query {
	__s32 fd;		/* in */
	__u32 state;		/* out: WSYS_ALLOC_STATE_* */
	__u64 size;		/* out */
	__u32 zone;		/* out: WSYS_ALLOC_ZONE_* (NONE until finalized) */
	__u32 extent_count;	/* out */
	__u64 first_addr;	/* out: bus address of the first extent */
	__u64 largest_extent;	/* out */
	__u64 highest_addr;	/* out: last byte of the highest extent */
	__u32 attachments;	/* out */
	__u32 last_unmet;	/* out: the last refused attach's WSYS_ALLOC_UNMET_* */
	__u32 migrations;	/* out */
	__u32 pad;
};
#define WSYS_ALLOC_ZONE_NONE		0u
#define WSYS_ALLOC_ZONE_NORMAL		1u
#define WSYS_ALLOC_ZONE_DMA32		2u
#define WSYS_ALLOC_ZONE_CMA		3u

/* Figures of the modelled machine (every process of the system). */
struct drm_wsys_alloc_stats {
	__u64 cma_size;
	__u64 cma_used;
	__u64 cma_peak;
	__u64 cma_largest_free;
	__u64 cache_flushes;		/* CPU cache cleans done */
	__u64 cache_invalidates;	/* CPU cache invalidates done */
	__u64 cache_ops_avoided;	/* what map/unmap-time maintenance would have added */
	__u64 migrations;
	__u64 finalize_failures;	/* -ENOMEM at first use or ALLOC_FLAG_UPFRONT */
	__u64 refused_attaches;
};

#define DRM_IOCTL_WSYS_ALLOC_CREATE	WSYS_SIM_ALLOC_IOWR(0x00, struct drm_wsys_alloc_create)
#define DRM_IOCTL_WSYS_ALLOC_FREE	WSYS_SIM_ALLOC_IOWR(0x01, struct drm_wsys_alloc_free)
#define DRM_IOCTL_WSYS_ALLOC_ATTACH	WSYS_SIM_ALLOC_IOWR(0x02, struct drm_wsys_alloc_attach)
#define DRM_IOCTL_WSYS_ALLOC_DETACH	WSYS_SIM_ALLOC_IOWR(0x03, struct drm_wsys_alloc_attach_op)
#define DRM_IOCTL_WSYS_ALLOC_MAP	WSYS_SIM_ALLOC_IOWR(0x04, struct drm_wsys_alloc_attach_op)
#define DRM_IOCTL_WSYS_ALLOC_UNMAP	WSYS_SIM_ALLOC_IOWR(0x05, struct drm_wsys_alloc_attach_op)
#define DRM_IOCTL_WSYS_ALLOC_SYNC	WSYS_SIM_ALLOC_IOWR(0x06, struct drm_wsys_alloc_sync)
#define DRM_IOCTL_WSYS_ALLOC_QUERY	WSYS_SIM_ALLOC_IOWR(0x07, struct drm_wsys_alloc_query)
#define DRM_IOCTL_WSYS_ALLOC_STATS	WSYS_SIM_ALLOC_IOWR(0x08, struct drm_wsys_alloc_stats)

/* --- display and camera device models --------------------------------
 * Display: contiguous (or single-extent) scanout, 32-bit DMA mask, pitch
 * a multiple of 64 bytes; reads the buffer. Camera/ISP: 32-bit DMA mask,
 * at most 16 segments of at most 1 MiB, stride a multiple of 128 bytes;
 * only writes the buffer. */
#define WSYS_PERIPH_KIND_DISPLAY	1u
#define WSYS_PERIPH_KIND_CAMERA		2u
#define WSYS_PERIPH_ACCESS_READ		(1u << 0)
#define WSYS_PERIPH_ACCESS_WRITE	(1u << 1)
struct drm_wsys_periph_info {
	__u32 kind;		/* out */
	__u32 access;		/* out: WSYS_PERIPH_ACCESS_* */
	__u32 pitch_align;	/* out */
	__u32 pad;
	struct drm_wsys_alloc_constraints c;	/* out */
};

struct drm_wsys_periph_attach {
	__s32 fd;		/* in: dma-buf fd from ALLOC */
	__u32 pitch;		/* in: bytes per line */
	__u32 height;		/* in: lines, > 0 */
	__u32 attach_id;	/* out */
	__u32 unmet;		/* out */
	__u32 pad;		/* MBZ */
};

/* USE: the device accesses the mapped buffer. Display (scan out): reads
 * pitch x height bytes, `value` returns their byte sum. Camera (capture):
 * fills them with the byte `value`. -EINVAL if not mapped. */
struct drm_wsys_periph_use {
	__u32 attach_id;
	__u32 pad;		/* MBZ */
	__u64 value;
};

#define DRM_IOCTL_WSYS_PERIPH_INFO	WSYS_SIM_ALLOC_IOWR(0x20, struct drm_wsys_periph_info)
#define DRM_IOCTL_WSYS_PERIPH_ATTACH	WSYS_SIM_ALLOC_IOWR(0x21, struct drm_wsys_periph_attach)
#define DRM_IOCTL_WSYS_PERIPH_DETACH	WSYS_SIM_ALLOC_IOWR(0x22, struct drm_wsys_alloc_attach_op)
#define DRM_IOCTL_WSYS_PERIPH_MAP	WSYS_SIM_ALLOC_IOWR(0x23, struct drm_wsys_alloc_attach_op)
#define DRM_IOCTL_WSYS_PERIPH_UNMAP	WSYS_SIM_ALLOC_IOWR(0x24, struct drm_wsys_alloc_attach_op)
#define DRM_IOCTL_WSYS_PERIPH_USE	WSYS_SIM_ALLOC_IOWR(0x25, struct drm_wsys_periph_use)

#endif /* WSYS_DRM_UAPI_WSYS_SIM_ALLOC_H */
