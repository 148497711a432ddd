// The model's command-stream format (NOT Mali's: a small format of the
// model's own, enough to drive every memory feature of the winsys).
//
// A stream is a sequence of commands in GPU memory, read by the executor
// through the VM window (so a stream in unmapped memory faults like any
// other GPU access). panthor: GROUP_SUBMIT's stream_addr/stream_size give
// the stream; panfrost: SUBMIT's jc points at a stream that ends with END.
//
// Every command starts with an 8-byte header and is 8-byte aligned:
//   u32 opcode;     one of SimCmdOp
//   u32 size;       total size in bytes including the header, multiple of 8
// followed by its payload (all little-endian, laid out as the structs
// below). An unknown opcode, a size that is too small for its payload or
// runs past the stream, or a misaligned size fails the job (-EINVAL on its
// fence, as a GPU would raise an instruction fault).
#pragma once

#include <cstdint>

namespace wsys::sim {

enum SimCmdOp : uint32_t {
  kCmdEnd = 0,         // stop (required at the end of a panfrost job chain)
  kCmdNop = 1,
  kCmdWrite32 = 2,     // {u64 va; u32 value; u32 pad}: store one word
  kCmdWrite64 = 3,     // {u64 va; u64 value}
  kCmdFill = 4,        // {u64 va; u64 size; u32 value; u32 pad}: fill with a 32-bit pattern
  kCmdCopy = 5,        // {u64 dst_va; u64 src_va; u64 size}
  kCmdChecksum = 6,    // {u64 va; u64 size; u64 dst_va}: FNV-1a 64 of [va, va+size) -> dst
  kCmdTiler = 7,       // see SimCmdTiler
  kCmdFragment = 8,    // see SimCmdFragment
  kCmdScratch = 9,     // see SimCmdScratch
  kCmdSleep = 10,      // {u64 ns}: busy the queue for ns
  kCmdHang = 11,       // {}: never finishes; only the job timeout ends it
  // User queues only (a model extension, drm-uapi/wsys_sim_ext.h): ends a
  // submission; the queue writes seqno to its seqno address and signals
  // submission fences up to it. A kernel queue (GROUP_SUBMIT) fails it
  // with -EINVAL like any unknown opcode.
  kCmdSeqno = 12,      // {u64 seqno}
  // Waits until the u64 at va is >= value (CSF's SYNC_WAIT64 with the
  // greater-or-equal condition): a queue's work gated on memory another
  // queue, the CPU or another device writes. Polls; the job timeout ends a
  // wait that is never satisfied.
  kCmdWait64 = 13,     // {u64 va; u64 value}
};

struct SimCmdHeader {
  uint32_t opcode;
  uint32_t size;
};

struct SimCmdWrite32 {
  SimCmdHeader hdr;
  uint64_t va;
  uint32_t value;
  uint32_t pad;
};

struct SimCmdWrite64 {
  SimCmdHeader hdr;
  uint64_t va;
  uint64_t value;
};

struct SimCmdFill {
  SimCmdHeader hdr;
  uint64_t va;
  uint64_t size;
  uint32_t value;
  uint32_t pad;
};

struct SimCmdCopy {
  SimCmdHeader hdr;
  uint64_t dst_va;
  uint64_t src_va;
  uint64_t size;
};

struct SimCmdChecksum {
  SimCmdHeader hdr;
  uint64_t va;
  uint64_t size;
  uint64_t dst_va;
};

// Tiler: append `count` primitives of `prim_size` bytes (each filled with a
// pattern derived from `seed` and its index) to a tiler heap.
//   panthor: heap_va is the heap context's GPU VA (TILER_HEAP_CREATE's
//            tiler_heap_ctx_gpu_va); the tiler walks the chunk list, and on
//            running out raises the heap's out-of-memory event (the model
//            grows it or answers "no chunk").
//   panfrost: heap_va/heap_size name a growable HEAP BO range; primitives are
//            written linearly from heap_va, faulting pages in 2 MiB steps.
// Writes the number of primitives actually stored to result_va (u32) and,
// for panthor, stops early with no error when no chunk is available, so the
// stream can run a FRAGMENT (incremental rendering) and a TILER again.
struct SimCmdTiler {
  SimCmdHeader hdr;
  uint64_t heap_va;
  uint64_t heap_size;  // panfrost only
  uint64_t result_va;  // 0: none
  uint32_t count;
  uint32_t prim_size;
  uint32_t seed;
  uint32_t pad;
};

// Fragment: consume what the tiler wrote to a panthor heap (checksum it into
// result_va if non-zero) and release the heap's chunks but the first, as a
// finished render pass does.
struct SimCmdFragment {
  SimCmdHeader hdr;
  uint64_t heap_va;
  uint64_t result_va;
};

// Scratch: `threads` threads each write their slice of a TLS buffer:
// thread t writes the 32-bit value (seed + t) over
// [tls_va + t * per_thread_bytes, + per_thread_bytes).
struct SimCmdScratch {
  SimCmdHeader hdr;
  uint64_t tls_va;
  uint32_t threads;
  uint32_t per_thread_bytes;
  uint32_t seed;
  uint32_t pad;
};

struct SimCmdSeqno {
  SimCmdHeader hdr;
  uint64_t seqno;
};

struct SimCmdWait64 {
  SimCmdHeader hdr;
  uint64_t va;
  uint64_t value;
};

struct SimCmdSleep {
  SimCmdHeader hdr;
  uint64_t ns;
};

}  // namespace wsys::sim
