/* SPDX-License-Identifier: MIT */
/*
 * wsys: extensions of the wsys kernel MODEL (src/winsys/sim) to the panthor
 * and panfrost ABIs. NOTHING in this header is uAPI of any released Linux
 * kernel: no panthor or panfrost version has these ioctls. They exist so
 * that wsys can build and test user-mode submission (issue 17) and host
 * memory import (issue 18) against the model before a kernel offers them; a
 * real kernel answers their numbers with -EINVAL (an ioctl number past its
 * table), which is how kmod detects them.
 *
 * Numbers: the driver-private range (DRM_COMMAND_BASE 0x40 .. 0x9f) on the
 * 'd' type, at 0x90 and up, far from panthor's own 0x40.. numbers. The
 * model offers them on its panthor device from driver version 1.5 (the
 * doorbell is an mmap offset in the spirit of SET_USER_MMIO_OFFSET) unless
 * WSYS_SIM_USERQ=0.
 *
 * User queues (docs/user-queues.md, src/winsys/sim/userq.h):
 *   - USERQ_CREATE makes a queue on a panthor group (and so on its VM) whose
 *     ring buffer, read pointer, write pointer and seqno live in user memory
 *     at GPU VAs of that VM. Pointers are u64 byte counts that only grow;
 *     the ring index is ptr & (ring_size - 1). The producer writes commands
 *     (the model's command format, src/winsys/sim/cmdstream.h) into the
 *     ring, then advances *wptr, then writes anything to its doorbell page
 *     (mmap of doorbell_offset, 4 KiB). No ioctl per submission.
 *     A command never straddles the end of the ring: the producer pads the
 *     tail with one NOP. WSYS_SIM_CMD_SEQNO {u64 seqno} marks the end of a
 *     submission: the model writes seqno to *seqno_va when it gets there.
 *     END is skipped in a ring.
 *   - USERQ_SIGNAL installs, in a syncobj (point 0: binary), a fence for
 *     "the queue's work up to seqno N": only for N already completed or
 *     present in the ring between *rptr and *wptr (never a future fence:
 *     -EINVAL), and not while the queue is being evicted (-EAGAIN).
 *   - When the model's shrinker needs the memory of a VM with user queues
 *     (its eviction fence): it waits for the submission fences created so
 *     far, suspends the queues at a command boundary and reclaims; the next
 *     doorbell, or USERQ_RESUME, brings the memory back and resumes them.
 *   - A queue whose work makes no progress (no SEQNO reached) for the job
 *     timeout is killed: the group is marked TIMEDOUT, pending fences are
 *     signalled with -ETIMEDOUT. A GPU fault kills it with FATAL_FAULT.
 *
 * Host memory import (issue 18, docs/host-memory.md,
 * src/winsys/sim/host_import.h): model extension, not in any released
 * kernel. Offered on BOTH model devices (panthor and panfrost, every driver
 * version) unless WSYS_SIM_HOST_IMPORT=0; EXT_QUERY answers on both then.
 *   - HOST_IMPORT turns a page-aligned user range into a GEM object:
 *       STEAL_LOSE  private anonymous pages move into the object (no copy);
 *                   the range stays mapped and reads zero afterwards.
 *       STEAL_KEEP  as STEAL_LOSE, then the range gets a copy of its old
 *                   contents back (an eager copy): it never sees the GPU's
 *                   later writes.
 *       BACKED      a shared mapping (memfd, shm, shared anonymous) is
 *                   aliased: object and range share pages for the object's
 *                   lifetime. Counted against RLIMIT_MEMLOCK (-ENOMEM past
 *                   it), MADV_DONTFORK on the range. Private mappings:
 *                   -EINVAL (the CPU MMU cannot alias them).
 *     A range not (fully) mapped, or read-only for BACKED: -EFAULT.
 *     Host objects refuse PRIME export with -EPERM (amdgpu's rule for
 *     userptr objects); stolen objects cannot be CPU-mmapped (-EINVAL:
 *     their pages are anonymous, reached through their GPU mapping).
 *   - If the application munmaps or remaps a BACKED range while the object
 *     lives, the object is invalidated (the kernel's mmu notifier): the
 *     next job on a VM that maps it faults; new VM_BINDs of it get -EFAULT.
 *     HOST_BO_STATE reports it.
 */
#ifndef WSYS_DRM_UAPI_WSYS_SIM_EXT_H
#define WSYS_DRM_UAPI_WSYS_SIM_EXT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define WSYS_SIM_EXT_IOWR(nr, type) _IOWR('d', (nr), type)

#define DRM_WSYS_SIM_EXT_QUERY_NR	0x90
#define DRM_WSYS_USERQ_CREATE_NR	0x91
#define DRM_WSYS_USERQ_DESTROY_NR	0x92
#define DRM_WSYS_USERQ_SIGNAL_NR	0x93
#define DRM_WSYS_USERQ_RESUME_NR	0x94
#define DRM_WSYS_USERQ_GET_STATE_NR	0x95
/* 0x98..0x9b: host memory import. */
#define DRM_WSYS_HOST_IMPORT_NR		0x98
#define DRM_WSYS_HOST_BO_STATE_NR	0x99

/* The model's command that ends a submission on a user queue (the model's
 * command format, cmdstream.h: header {u32 opcode; u32 size} + u64 seqno). */
#define WSYS_SIM_CMD_NOP		1u
#define WSYS_SIM_CMD_SEQNO		12u

/* Limits. */
#define WSYS_USERQ_RING_MIN_SIZE	(4u * 1024u)
#define WSYS_USERQ_RING_MAX_SIZE	(1024u * 1024u)
#define WSYS_USERQ_MAX_PER_FILE		64u
#define WSYS_USERQ_DOORBELL_SIZE	4096u
/* Doorbell pages live here in the file's mmap offset space. */
#define WSYS_USERQ_DOORBELL_OFFSET_BASE	(1ull << 52)

/* EXT_QUERY: version 1; features bit 0: user queues. */
#define WSYS_SIM_EXT_FEATURE_USER_QUEUES	(1u << 0)
/* bit 1: host memory import (HOST_IMPORT, HOST_BO_STATE). */
#define WSYS_SIM_EXT_FEATURE_HOST_IMPORT	(1u << 1)
/* Bit 2: deferred allocation (issue 19, drm-uapi/wsys_sim_alloc.h): the
 * model's shared allocator exists, PRIME import of its buffers attaches
 * with this GPU's DMA constraints and the first bind (panthor) or the
 * import (panfrost) finalizes their placement. Offered by both model
 * drivers (EXT_QUERY is then answered on panfrost too) unless
 * WSYS_SIM_DEFERRED_ALLOC=0. No ioctl of its own on the GPU devices. */
#define WSYS_SIM_EXT_FEATURE_DEFERRED_ALLOC	(1u << 2)
struct drm_wsys_sim_ext_query {
	__u32 version;		/* out */
	__u32 features;		/* out */
};

struct drm_wsys_userq_create {
	__u32 group_handle;	/* in: a panthor group; the queue runs on its VM */
	__u32 flags;		/* in: MBZ */
	__u64 ring_va;		/* in: 64-byte aligned */
	__u32 ring_size;	/* in: power of two in [RING_MIN, RING_MAX] */
	__u32 pad;		/* MBZ */
	__u64 rptr_va;		/* in: u64, 8-byte aligned; written by the model */
	__u64 wptr_va;		/* in: u64, 8-byte aligned; written by user space */
	__u64 seqno_va;		/* in: u64, 8-byte aligned; written by the model */
	__u32 handle;		/* out: 1..WSYS_USERQ_MAX_PER_FILE */
	__u32 pad2;		/* MBZ */
	__u64 doorbell_offset;	/* out: mmap offset of the doorbell page */
};

struct drm_wsys_userq_destroy {
	__u32 handle;
	__u32 pad;		/* MBZ */
};

struct drm_wsys_userq_signal {
	__u32 handle;		/* the queue */
	__u32 syncobj;		/* a syncobj of this file */
	__u64 seqno;		/* work up to this seqno (must be pushed) */
	__u64 point;		/* timeline point; 0: binary replace */
};

struct drm_wsys_userq_resume {
	__u32 handle;
	__u32 pad;		/* MBZ */
};

#define WSYS_USERQ_STATE_SUSPENDED	(1u << 0)	/* evicted, not running */
#define WSYS_USERQ_STATE_TIMEDOUT	(1u << 1)	/* killed by the timeout */
#define WSYS_USERQ_STATE_FAULTED	(1u << 2)	/* killed by a fault / bad ring */
#define WSYS_USERQ_STATE_EVICTING	(1u << 3)	/* new fences refused */
struct drm_wsys_userq_get_state {
	__u32 handle;		/* in */
	__u32 state;		/* out: WSYS_USERQ_STATE_* */
	__u64 completed_seqno;	/* out: the model's own copy */
	__u64 rptr;		/* out: the model's own copy */
	__u64 suspensions;	/* out: times suspended for reclaim */
};

#define WSYS_HOST_IMPORT_STEAL_LOSE	1u
#define WSYS_HOST_IMPORT_STEAL_KEEP	2u
#define WSYS_HOST_IMPORT_BACKED		3u
struct drm_wsys_host_import {
	__u64 user_ptr;		/* in: page-aligned */
	__u64 size;		/* in: page multiple, > 0 */
	__u32 mode;		/* in: WSYS_HOST_IMPORT_* */
	__u32 flags;		/* in: MBZ */
	__u32 handle;		/* out */
	__u32 pad;		/* MBZ */
};

#define WSYS_HOST_BO_STATE_INVALIDATED	(1u << 0)	/* range unmapped/remapped */
struct drm_wsys_host_bo_state {
	__u32 handle;		/* in: an object of this file */
	__u32 mode;		/* out: its WSYS_HOST_IMPORT_* (0: not a host object) */
	__u32 state;		/* out: WSYS_HOST_BO_STATE_* */
	__u32 pad;		/* MBZ */
	__u64 pinned_bytes;	/* out: bytes the process has pinned (all BACKED objects) */
};

#define DRM_IOCTL_WSYS_SIM_EXT_QUERY \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_SIM_EXT_QUERY_NR, struct drm_wsys_sim_ext_query)
#define DRM_IOCTL_WSYS_USERQ_CREATE \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_USERQ_CREATE_NR, struct drm_wsys_userq_create)
#define DRM_IOCTL_WSYS_USERQ_DESTROY \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_USERQ_DESTROY_NR, struct drm_wsys_userq_destroy)
#define DRM_IOCTL_WSYS_USERQ_SIGNAL \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_USERQ_SIGNAL_NR, struct drm_wsys_userq_signal)
#define DRM_IOCTL_WSYS_USERQ_RESUME \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_USERQ_RESUME_NR, struct drm_wsys_userq_resume)
#define DRM_IOCTL_WSYS_USERQ_GET_STATE \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_USERQ_GET_STATE_NR, struct drm_wsys_userq_get_state)

#define DRM_IOCTL_WSYS_HOST_IMPORT \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_HOST_IMPORT_NR, struct drm_wsys_host_import)
#define DRM_IOCTL_WSYS_HOST_BO_STATE \
	WSYS_SIM_EXT_IOWR(DRM_WSYS_HOST_BO_STATE_NR, struct drm_wsys_host_bo_state)

#endif /* WSYS_DRM_UAPI_WSYS_SIM_EXT_H */
