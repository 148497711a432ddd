// A Device's live statistics segment (include/wsys/stats_segment.hpp,
// docs/stats-segment.md): a file mapped shared, or private memory when
// publishing is off (WSYS_STATS=0) or the file cannot be made. Device::Impl's
// counters are the segment's words, so publishing costs nothing extra.
#pragma once

#include <string>
#include <string_view>

#include "wsys/stats_segment.hpp"

namespace wsys::core {

class StatsPublisher {
 public:
  StatsPublisher();
  ~StatsPublisher();  // unmaps, removes the file
  StatsPublisher(const StatsPublisher&) = delete;
  StatsPublisher& operator=(const StatsPublisher&) = delete;

  stats::Segment& seg() { return *seg_; }
  // Names the device and makes the segment visible (stores the magic).
  void publish(std::string_view node, std::string_view driver);
  // The slot counting buffers labelled `label` (found or claimed); -1 when
  // every slot is taken by other labels.
  int label_slot(std::string_view label);
  const std::string& path() const { return path_; }

  // The directory segments live in (created if missing); "" if none.
  static std::string directory(bool create);

 private:
  stats::Segment* seg_ = nullptr;
  bool mapped_ = false;
  std::string path_;
};

// Whether `name` is a segment file (`PID-INDEX.stats`) of a process that no
// longer exists: such a file is stale whatever it holds (its owner may have
// died before publishing it). Shared by the sweep here and wsys-top.
bool stats_file_is_stale(const char* name);

}  // namespace wsys::core
