// PendingUses (include/wsys/sync.hpp): the one "uses not yet signalled"
// type of Bo, ScratchPool and Heap.
#include <gtest/gtest.h>

#include <vector>

#include "winsys/core/stuck_points.h"
#include "wsys/sync.hpp"

namespace wsys {
namespace {

TEST(PendingUses, OneEntryPerSyncobjTheLatestPoint) {
  PendingUses u;
  u.add({7, 3});
  u.add({7, 5});
  u.add({7, 4});  // an earlier point of the same timeline: covered by 5
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u.entries()[0].point, 5u);
  u.add({9, 0});  // a binary syncobj
  u.add({9, 0});  // its next submission replaces the fence
  EXPECT_EQ(u.size(), 2u);
  u.add({0, 1});  // syncobj 0: nothing
  EXPECT_EQ(u.size(), 2u);
}

TEST(PendingUses, ForgetDropsOnlyWhatWasNotRecordedAgain) {
  PendingUses u;
  u.add({1, 1});
  u.add({2, 1});
  const std::vector<PendingUses::Use> seen = u.entries();  // a poll's snapshot
  u.add({2, 2});                                           // recorded again after the snapshot
  u.forget(seen);
  ASSERT_EQ(u.size(), 1u) << "syncobj 1 went; syncobj 2's newer point stays";
  EXPECT_EQ(u.entries()[0].syncobj, 2u);
  EXPECT_EQ(u.entries()[0].point, 2u);
  u.clear();
  EXPECT_TRUE(u.empty());
}

// StuckPoints (src/winsys/core/stuck_points.h): which later bounded waits
// only poll after one timed out.
TEST(StuckPoints, CoverTheNotedPointAndEarlierOnesOfItsTimelineOnly) {
  core::StuckPoints s;
  EXPECT_FALSE(s.covers({5, 10}));
  s.note({5, 10});
  EXPECT_TRUE(s.covers({5, 10}));
  EXPECT_TRUE(s.covers({5, 3}));
  EXPECT_FALSE(s.covers({5, 11})) << "a later point may still come";
  EXPECT_FALSE(s.covers({6, 10})) << "another syncobj";
  EXPECT_FALSE(s.covers({0, 0})) << "no syncobj";
  s.note({5, 20});  // the same timeline moves forward, no second entry
  EXPECT_TRUE(s.covers({5, 15}));
  EXPECT_EQ(s.noted(), 2u);
  s.note({0, 4});  // ignored
  EXPECT_EQ(s.noted(), 2u);
}

TEST(StuckPoints, TheOldestEntryMakesRoom) {
  core::StuckPoints s;
  for (uint32_t i = 1; i <= 5; ++i) s.note({i, 1});
  EXPECT_FALSE(s.covers({1, 1})) << "four entries: the first was replaced";
  for (uint32_t i = 2; i <= 5; ++i) EXPECT_TRUE(s.covers({i, 1})) << i;
}

}  // namespace
}  // namespace wsys
