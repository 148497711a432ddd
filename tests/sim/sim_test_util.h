// Helpers for tests of the kernel model at the ioctl boundary.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "winsys/sim/sim_drm_file.h"

namespace wsys::sim::test {

// Opens a new file on the model ("panthor" or "panfrost"); fails the test
// if it cannot.
inline std::unique_ptr<SimDrmFile> open_model_file(const std::string& driver) {
  std::string why;
  auto f = SimDrmFile::open(driver, &why);
  EXPECT_TRUE(f.ok()) << why;
  if (!f.ok()) return nullptr;
  return std::move(*f);
}

}  // namespace wsys::sim::test
