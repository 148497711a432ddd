// Selectable driver versions of the model (WSYS_SIM_DRIVER_VERSION) and the
// one table of version gates.
//
// WSYS_SIM_DRIVER_VERSION = item[,item], item = panthor=1.N | panfrost=1.N,
// e.g. "panthor=1.2", "panfrost=1.1", "panthor=1.0,panfrost=1.0". The model
// device of that driver then behaves as that kernel: DRM_IOCTL_VERSION
// reports it, ioctls newer than it are -EINVAL (an unknown driver ioctl),
// and newer flags, query types, GET_PARAMs and struct sizes are refused as
// that kernel refused them. Default: the newest the model implements
// (panthor 1.9, panfrost 1.6). A bad value (another driver, a version out
// of 1.0..1.9 / 1.0..1.6, junk) makes opening the model fail with a message
// naming the variable.
//
// Every gate in the model reads `dev.at_least(kSomething)` with a constant
// from the table below, so what each version added is listed here once.
#pragma once

#include <string>

namespace wsys::sim {

struct DriverVersion {
  int major = 1;
  int minor = 0;
};

// --- panthor (major 1) ---
inline constexpr DriverVersion kPanthorNewest{1, 9};
inline constexpr DriverVersion kPanthorTimestampInfo{1, 1};     // DEV_QUERY TIMESTAMP_INFO
inline constexpr DriverVersion kPanthorGroupPriorities{1, 2};   // GROUP_PRIORITIES_INFO, REALTIME
inline constexpr DriverVersion kPanthorGroupInnocent{1, 3};     // GROUP_STATE_INNOCENT
inline constexpr DriverVersion kPanthorBoSetLabel{1, 4};        // BO_SET_LABEL
inline constexpr DriverVersion kPanthorUserMmioOffset{1, 5};    // SET_USER_MMIO_OFFSET
inline constexpr DriverVersion kPanthorCycleCounter{1, 6};      // no ABI change
inline constexpr DriverVersion kPanthorBoWbMmap{1, 7};          // BO_CREATE WB_MMAP
inline constexpr DriverVersion kPanthorBoSync{1, 7};            // BO_SYNC
inline constexpr DriverVersion kPanthorBoQueryInfo{1, 7};       // BO_QUERY_INFO
inline constexpr DriverVersion kPanthorSelectedCoherency{1, 7}; // gpu_info.selected_coherency
inline constexpr DriverVersion kPanthorTimestampFlags{1, 8};    // 56-byte timestamp_info
inline constexpr DriverVersion kPanthorMmuInfo{1, 9};           // DEV_QUERY MMU_INFO
inline constexpr DriverVersion kPanthorMapSparse{1, 9};         // VM_BIND MAP_SPARSE

// --- panfrost (major 1) ---
inline constexpr DriverVersion kPanfrostNewest{1, 6};
inline constexpr DriverVersion kPanfrostHeapNoexec{1, 1};       // CREATE_BO HEAP, NOEXEC
inline constexpr DriverVersion kPanfrostAfbcFeatures{1, 2};     // PARAM_AFBC_FEATURES
inline constexpr DriverVersion kPanfrostCycleCount{1, 3};       // JD_REQ_CYCLE_COUNT
inline constexpr DriverVersion kPanfrostSystemTimestamp{1, 3};  // PARAM_SYSTEM_TIMESTAMP(_FREQUENCY)
inline constexpr DriverVersion kPanfrostSetLabelBo{1, 4};       // SET_LABEL_BO
inline constexpr DriverVersion kPanfrostJmContexts{1, 5};       // JM_CTX_*, 48-byte SUBMIT, param 43
inline constexpr DriverVersion kPanfrostWbMmap{1, 6};           // CREATE_BO WB_MMAP
inline constexpr DriverVersion kPanfrostSyncBo{1, 6};           // SYNC_BO
inline constexpr DriverVersion kPanfrostQueryBoInfo{1, 6};      // QUERY_BO_INFO
inline constexpr DriverVersion kPanfrostSelectedCoherency{1, 6};// PARAM_SELECTED_COHERENCY

inline constexpr bool version_at_least(DriverVersion have, DriverVersion want) {
  return have.major > want.major || (have.major == want.major && have.minor >= want.minor);
}

// The version `driver` ("panthor" or "panfrost") runs as, from
// WSYS_SIM_DRIVER_VERSION (the newest when unset or not naming it). False
// with *why naming the variable on a bad value (any item, not only the one
// for `driver`: a typo must not go unnoticed).
bool driver_version_from_env(const std::string& driver, DriverVersion* out, std::string* why);
// The same for an explicit spec (tests).
bool parse_driver_versions(const std::string& spec, const std::string& driver,
                           DriverVersion* out, std::string* why);

}  // namespace wsys::sim
