// Fault injection: named sites in the model that can be made to fail.
//
// Sites (the names tests and WSYS_SIM_FAULTS use):
//   bo_alloc      creating a GEM object's memory (BO_CREATE, CREATE_BO)
//   page_commit   committing pages (heap BO growth on GPU fault)
//   pt_reserve    reserving page-table pages for a VM_BIND op
//   chunk_grow    growing a tiler heap by a chunk
//   reclaim       the panthor shrinker swapping one object out (it is
//                 skipped, nothing changes)
//   restore       a GROUP_SUBMIT bringing its VM's swapped objects back
//                 (the submit fails with -ENOMEM, contents stay in swap)
//   host_steal    HOST_IMPORT's page move (model extension, host_import.h;
//                 nothing moved)
//   host_pin      HOST_IMPORT BACKED's pin (nothing pinned)
//   ioctl:<NAME>  entry of an ioctl, e.g. ioctl:VM_BIND, ioctl:SYNCOBJ_WAIT,
//                 ioctl:CREATE_BO: the uapi name without DRM_IOCTL_ and the
//                 driver prefix (ioctl_table.cpp). The ioctl fails before
//                 its handler runs, so nothing changes.
// A site fails with -ENOMEM (allocation sites) or the configured errno.
//
// WSYS_SIM_FAULTS = rule[;rule...], rule = site:nth=N | site:every=N |
//                   site:prob=P[:seed=S] [ :errno=E ]
// Test API: fault_inject_set(), fault_inject_clear(), fault_inject_record_*().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsys::sim {

// Returns 0, or the negative errno the site must fail with now. Cheap (one
// relaxed atomic load) when no rule is configured.
int fault_inject_check(const char* site);

struct FaultRule {
  std::string site;
  uint64_t nth = 0;     // fail the Nth call (1-based), once
  uint64_t every = 0;   // fail every Nth call
  double probability = 0;
  uint64_t seed = 1;
  int error = 0;        // 0: the site's default
};

// Replaces the rules (test API; the rules set replace WSYS_SIM_FAULTS's for
// the rest of the process). Returns false with *why (naming
// WSYS_SIM_FAULTS) on a bad rule, leaving the rules unchanged. Sites must
// be known (see above).
bool fault_inject_set(const std::string& spec, std::string* why = nullptr);
// Internal: `from_env` marks rules that came from WSYS_SIM_FAULTS.
bool fault_inject_set(const std::string& spec, std::string* why, bool from_env);
// Applies WSYS_SIM_FAULTS (once per process) and reports whether it parsed;
// false with *why naming the variable. Device creation calls it, so a bad
// value makes the model refuse to open (like WSYS_SIM_GPU).
bool fault_inject_env_check(std::string* why);
void fault_inject_clear();
// How many times `site` has failed so far.
uint64_t fault_inject_failures(const char* site);

// Recording (test API, for fault sweeps): while on, every site the model
// checks is counted, rules or not, so a test can learn which sites an
// operation reaches and how often, then fail each of those calls in turn.
// Starting clears the counts. Recording allocates nothing per check (a
// fixed table of kMaxRecordedSites site names), so it is safe inside
// signalling sections; sites beyond the table are counted as overflow.
constexpr size_t kMaxRecordedSites = 128;
struct SiteCount {
  std::string site;
  uint64_t calls = 0;
};
void fault_inject_record_start();
// Stops recording and returns the counts in the order sites were first hit.
// *overflowed is set when more than kMaxRecordedSites distinct sites were hit.
std::vector<SiteCount> fault_inject_record_stop(bool* overflowed = nullptr);

}  // namespace wsys::sim
