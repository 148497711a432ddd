// SmallArray<T, N>: a zero-initialised array of n T's that lives inside the
// object (on the caller's stack) when n <= N and on the heap beyond. Used
// for the ioctl argument arrays (bind ops, sync ops, handle lists) so the
// common small batches cost no allocation.
#pragma once

#include <cstddef>
#include <memory>

namespace wsys::kmod::detail {

template <typename T, size_t N>
class SmallArray {
 public:
  explicit SmallArray(size_t n) : n_(n) {
    if (n > N) heap_.reset(new T[n]());  // value-initialised: zeroed structs
  }
  SmallArray(const SmallArray&) = delete;
  SmallArray& operator=(const SmallArray&) = delete;

  T* data() { return heap_ ? heap_.get() : inline_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return data()[i]; }
  bool on_heap() const { return heap_ != nullptr; }

 private:
  T inline_[N] = {};
  std::unique_ptr<T[]> heap_;
  size_t n_;
};

}  // namespace wsys::kmod::detail
