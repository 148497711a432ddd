// User queues: a MODEL EXTENSION (drm-uapi/wsys_sim_ext.h), not panthor
// behaviour; no released kernel has it. User-mode submission with an
// eviction fence per VM, so wsys can build and test it (issue 17).
//
// A user queue runs on a panthor group's VM. Its ring, read pointer, write
// pointer and seqno are GPU VAs of that VM (user memory); its executor is a
// model thread that plays the CSF firmware:
//
//   Running:   reads *wptr (through the VM, outside any section), runs the
//              commands in [rptr, wptr) through execute_stream() inside a
//              fence signalling section (one call per contiguous part of the
//              ring), at each SEQNO writes *seqno and signals the submission
//              fences up to it, then writes *rptr. With nothing to do it arms
//              the doorbell and sleeps.
//   Suspended: preempted for reclaim; the doorbell is armed; the next ring
//              (or USERQ_RESUME, or work left in the ring when it was
//              suspended) resumes it: the VM's memory is brought back
//              (PanthorReclaim::before_submit, the same revalidation as a
//              GROUP_SUBMIT) and it continues at the command it stopped at.
//   Dead:      killed (timeout, fault, its group dead) or destroyed; every
//              pending submission fence was signalled with the error.
//
// Doorbell: a 4 KiB page per queue, mmap of its offset (a memfd). Armed,
// the memfd is truncated to 0, so the producer's store faults (SIGBUS); the
// model's chained handler (gpu_fault.cpp) finds the page in a fixed table of
// doorbell mappings, grows the memfd back, counts the ring and wakes the
// executor with a futex: async-signal-safe, no allocation, no lock. The
// store then retries and lands. While the executor runs, the page is not
// armed and a ring is a plain store (the executor re-reads *wptr before it
// sleeps). Mappings are known by address: unmap a doorbell through the
// DrmFile (kmod does), not with a raw munmap.
//
// Busy and preemption: a Running queue holds an in-flight mark on its VM
// (ReclaimBusy), so the shrinker never takes the VM's memory under a
// running queue: the pinning is coarse, per VM. When idle VMs do not free
// enough, reclaim calls the VM's ReclaimPreempt hook (UserqVm): new
// submission fences are refused (-EAGAIN), the fences already created are
// waited for (the eviction waits, recorded in the dependency checker,
// dep_check.h), the queues are asked to stop at the next command boundary,
// and when all are suspended the eviction fence signals and reclaim takes
// the memory.
//
// Timeout: a queue with work that reaches no SEQNO for the job timeout
// (WSYS_SIM_JOB_TIMEOUT_MS; a HANG does that) is killed: the group is
// marked TIMEDOUT, its fences signalled -ETIMEDOUT. A fault (GPU fault,
// malformed command, a bad wptr) marks the group FATAL_FAULT, fences get
// the error. Other user queues of the group see the group dead and stop
// (-ECANCELED); other groups and files are unaffected.
//
// Rules kept: a submission fence exists only for work in the ring or done
// (never a future fence; a test-only switch allows one to show the cycle it
// makes); the executor allocates nothing inside its section (the pending
// fences are a fixed array per queue); ioctls allocate before they take a
// queue's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace wsys::sim {

class PanthorGroup;
class SimDevice;
class SimFile;
class UserqFile;

inline constexpr unsigned kUserqMaxPendingFences = 256;  // per queue
inline constexpr unsigned kUserqMaxDoorbells = 1024;     // process-wide

// The extension is offered on panthor from 1.5 unless WSYS_SIM_USERQ=0.
bool userq_supported(const SimDevice& dev);

// The ioctls (ioctl_table.cpp dispatches numbers 0x90.. to them when
// userq_supported()).
int ioctl_wsys_sim_ext_query(SimFile& f, void* data);
int ioctl_wsys_userq_create(SimFile& f, void* data);
int ioctl_wsys_userq_destroy(SimFile& f, void* data);
int ioctl_wsys_userq_signal(SimFile& f, void* data);
int ioctl_wsys_userq_resume(SimFile& f, void* data);
int ioctl_wsys_userq_get_state(SimFile& f, void* data);

// Per-file state (PanthorFilePriv holds it).
std::shared_ptr<UserqFile> make_userq_file();
void userq_file_close(UserqFile& uf);
void userq_group_destroyed(UserqFile& uf, const PanthorGroup* group);

// Doorbell pages in the mmap offset space (sim_mmap, SimDrmFile::munmap).
bool userq_is_doorbell_offset(uint64_t offset);
// 0 with *out, or a negative errno.
int userq_doorbell_mmap(SimFile& f, void* addr, size_t length, int prot, int flags,
                        uint64_t offset, void** out);
void userq_doorbell_munmap(void* addr, size_t length);
// The chained SIGBUS handler's hook: true if `addr` is in an armed doorbell
// mapping (the ring is counted, the store retries). Async-signal-safe.
bool userq_doorbell_fault(const void* addr);

// --- for tests and benches ---
// Test only: let USERQ_SIGNAL create a fence for a seqno not pushed yet (a
// future fence), recorded as signalled by the file's user space, so a test
// can show the dependency checker the forbidden cycle.
void userq_set_allow_future_fences(bool allow);

struct UserqStats {
  uint64_t doorbell_faults = 0;  // rings that woke an armed queue
  uint64_t batches = 0;          // execute_stream calls
  uint64_t suspensions = 0;      // queues suspended for reclaim
  uint64_t resumes = 0;
  uint64_t kills = 0;
  uint64_t eviction_fences = 0;  // eviction fences signalled (VMs preempted)
  uint64_t eviction_refusals = 0;  // preemptions given up (timeout or cycle)
};
UserqStats userq_stats();

}  // namespace wsys::sim
