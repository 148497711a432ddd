// Per-file handle tables, allocating the lowest free handle >= 1 as the
// kernel's idr does (GEM handles, syncobj handles).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

namespace wsys::sim {

template <typename T>
class HandleTable {
 public:
  // Returns the new handle (>= 1), or 0 if the table is full.
  uint32_t insert(std::shared_ptr<T> obj) {
    uint32_t h;
    if (!free_.empty()) {
      h = *free_.begin();
      free_.erase(free_.begin());
    } else {
      if (slots_.size() >= kMaxHandles) return 0;
      slots_.emplace_back();
      h = static_cast<uint32_t>(slots_.size());
    }
    slots_[h - 1] = std::move(obj);
    count_++;
    return h;
  }

  std::shared_ptr<T> get(uint32_t h) const {
    if (h == 0 || h > slots_.size()) return nullptr;
    return slots_[h - 1];
  }

  // Removes and returns the object, or null if `h` is not a handle.
  std::shared_ptr<T> remove(uint32_t h) {
    if (h == 0 || h > slots_.size() || !slots_[h - 1]) return nullptr;
    std::shared_ptr<T> out = std::move(slots_[h - 1]);
    slots_[h - 1].reset();
    free_.insert(h);
    count_--;
    return out;
  }

  size_t size() const { return count_; }

  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < slots_.size(); i++)
      if (slots_[i]) f(static_cast<uint32_t>(i + 1), slots_[i]);
  }

 private:
  static constexpr size_t kMaxHandles = 1u << 24;
  std::vector<std::shared_ptr<T>> slots_;
  std::set<uint32_t> free_;
  size_t count_ = 0;
};

}  // namespace wsys::sim
