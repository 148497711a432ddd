// Which Bo each 64 KiB block of a SparseBuffer is bound to, and which
// blocks are resident.
//
// A Vulkan sparse buffer is usually far larger than what is bound in it (a
// 64 GiB address range with a few MiB resident), so the table is kept in
// chunks of kChunkBlocks blocks, each allocated when a bind first reaches
// it and freed when nothing in it is bound: an unbound buffer costs one
// pointer per chunk (8 bytes per 32 MiB), a bound block about 8 bytes, as
// a dense table would. (Dense, a 64 GiB buffer cost 8 MiB of zeroed host
// memory at creation.)
//
// Binds must not allocate once the kernel has done them (the tracking
// follows the ioctl and cannot fail), so a bind's chunks are made first
// (reserve()), set() never allocates, and empty chunks are only dropped by
// release_empty() after every change of a submission is applied.
// Not thread-safe: SparseBuffer's state_lock_ guards it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "wsys/bo.hpp"

namespace wsys::core {

class SparseBlocks {
 public:
  static constexpr uint64_t kChunkBlocks = 512;

  SparseBlocks() = default;
  // Sizes the chunk index for `blocks` blocks, all unbound. Throws
  // std::bad_alloc.
  void init(uint64_t blocks);

  uint64_t blocks() const { return blocks_; }
  uint64_t resident_count() const { return resident_; }
  bool resident(uint64_t block) const;
  // Chunks allocated (for tests and the footprint bench).
  uint64_t chunks_allocated() const { return chunks_live_; }

  // Makes every chunk of [first, first + count) exist. False when memory
  // ran out (the chunks made before stay; release_empty() drops them).
  bool reserve(uint64_t first, uint64_t count) noexcept;
  // Binds [first, first + count) to `bo`, or unbinds it when `bo` is null;
  // a reference a block held is moved to `dropped`, which must have room
  // (reserved by the caller: at most count, at most resident_count()).
  // A bind's chunks must have been reserved; nothing here allocates.
  void set(uint64_t first, uint64_t count, const BoRef& bo, std::vector<BoRef>& dropped);
  // Frees the chunks of [first, first + count) with nothing bound.
  void release_empty(uint64_t first, uint64_t count) noexcept;
  // The whole table, moved out (the references with it); this one is left
  // empty (no blocks). Never allocates.
  SparseBlocks take() noexcept;
  // Calls f(Bo&) for every bound block, in block order.
  template <typename F>
  void for_each_bound(F&& f) const {
    for (const std::unique_ptr<Chunk>& c : chunks_)
      if (c)
        for (const BoRef& b : c->bo)
          if (b) f(*b);
  }

 private:
  struct Chunk {
    uint64_t bits[kChunkBlocks / 64] = {};
    BoRef bo[kChunkBlocks];
    uint32_t bound = 0;
  };
  std::vector<std::unique_ptr<Chunk>> chunks_;
  uint64_t blocks_ = 0;
  uint64_t resident_ = 0;
  uint64_t chunks_live_ = 0;
};

}  // namespace wsys::core
