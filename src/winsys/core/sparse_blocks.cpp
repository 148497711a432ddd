#include "winsys/core/sparse_blocks.h"

#include <algorithm>
#include <new>
#include <utility>

namespace wsys::core {

void SparseBlocks::init(uint64_t blocks) {
  chunks_.clear();
  chunks_.resize((blocks + kChunkBlocks - 1) / kChunkBlocks);
  blocks_ = blocks;
  resident_ = 0;
  chunks_live_ = 0;
}

bool SparseBlocks::resident(uint64_t block) const {
  if (block >= blocks_) return false;
  const Chunk* c = chunks_[block / kChunkBlocks].get();
  const uint64_t i = block % kChunkBlocks;
  return c && ((c->bits[i / 64] >> (i % 64)) & 1);
}

bool SparseBlocks::reserve(uint64_t first, uint64_t count) noexcept {
  if (count == 0) return true;
  for (uint64_t k = first / kChunkBlocks; k <= (first + count - 1) / kChunkBlocks; ++k) {
    if (chunks_[k]) continue;
    chunks_[k].reset(new (std::nothrow) Chunk());
    if (!chunks_[k]) return false;
    ++chunks_live_;
  }
  return true;
}

void SparseBlocks::set(uint64_t first, uint64_t count, const BoRef& bo,
                       std::vector<BoRef>& dropped) {
  const uint64_t end = first + count;
  for (uint64_t p = first; p < end;) {
    const uint64_t k = p / kChunkBlocks;
    const uint64_t chunk_end = std::min(end, (k + 1) * kChunkBlocks);
    Chunk* c = chunks_[k].get();
    // No chunk: nothing bound here, and an unbind leaves it so. (A bind
    // reserved its chunks first.)
    if (c) {
      // Counted in a local: the stores into `dropped` could alias a member.
      uint32_t bound = c->bound;
      const uint64_t i_end = chunk_end - k * kChunkBlocks;
      for (uint64_t i = p - k * kChunkBlocks; i < i_end; ++i) {
        BoRef& slot = c->bo[i];
        uint64_t& word = c->bits[i / 64];
        const uint64_t bit = 1ull << (i % 64);
        if (slot) dropped.push_back(std::move(slot));
        if (bo) {
          slot = bo;
          bound += (word & bit) ? 0 : 1;
          word |= bit;
        } else {
          bound -= (word & bit) ? 1 : 0;
          word &= ~bit;
        }
      }
      resident_ = resident_ + bound - c->bound;
      c->bound = bound;
    }
    p = chunk_end;
  }
}

void SparseBlocks::release_empty(uint64_t first, uint64_t count) noexcept {
  if (count == 0) return;
  for (uint64_t k = first / kChunkBlocks; k <= (first + count - 1) / kChunkBlocks; ++k) {
    if (chunks_[k] && chunks_[k]->bound == 0) {
      chunks_[k].reset();
      --chunks_live_;
    }
  }
}

SparseBlocks SparseBlocks::take() noexcept {
  SparseBlocks out;
  out.chunks_.swap(chunks_);
  out.blocks_ = blocks_;
  out.resident_ = std::exchange(resident_, 0);
  out.chunks_live_ = std::exchange(chunks_live_, 0);
  blocks_ = 0;  // empty: every question gets "nothing bound"
  return out;
}

}  // namespace wsys::core
