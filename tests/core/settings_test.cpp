// The strict parsers of wsys's environment settings (core/settings.h).
#include "winsys/core/settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>

namespace {

using wsys::core::parse_count_setting;
using wsys::core::parse_size_setting;
using wsys::core::read_setting;

uint64_t size_or(const char* text, uint64_t fallback) {
  uint64_t v = fallback;
  return parse_size_setting(text, &v) ? v : fallback;
}

TEST(Settings, SizesInDecimalWithBinarySuffixes) {
  uint64_t v = 0;
  ASSERT_TRUE(parse_size_setting("4096", &v));
  EXPECT_EQ(v, 4096u);
  ASSERT_TRUE(parse_size_setting("64M", &v));
  EXPECT_EQ(v, 64ull << 20);
  ASSERT_TRUE(parse_size_setting("3k", &v));
  EXPECT_EQ(v, 3ull << 10);
  ASSERT_TRUE(parse_size_setting("2G", &v));
  EXPECT_EQ(v, 2ull << 30);
  ASSERT_TRUE(parse_size_setting("0", &v));
  EXPECT_EQ(v, 0u);
}

TEST(Settings, WhatStrtoullBaseZeroAcceptedIsRefused) {
  // "-1" used to wrap to the largest cap; "010" was octal 8; "0x10" hex.
  for (const char* bad : {"-1", "+5", "010", "0x10", " 5", "5 ", "", "M", "5MB", "5T", "1.5G",
                          "5\n"}) {
    EXPECT_EQ(size_or(bad, 77), 77u) << "'" << bad << "'";
  }
}

TEST(Settings, OverflowIsRefusedNotWrapped) {
  uint64_t v = 1;
  EXPECT_TRUE(parse_size_setting("18446744073709551615", &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(parse_size_setting("18446744073709551616", &v));
  EXPECT_FALSE(parse_size_setting("17179869184G", &v));  // 2^34 GiB = 2^64
  EXPECT_TRUE(parse_size_setting("17179869183G", &v));
  EXPECT_EQ(v, 17179869183ull << 30);
}

TEST(Settings, CountsTakeNoSuffix) {
  uint64_t v = 9;
  ASSERT_TRUE(parse_count_setting("250", &v));
  EXPECT_EQ(v, 250u);
  for (const char* bad : {"250M", "1k", "-3", "07", "", "2 "}) {
    uint64_t w = 9;
    EXPECT_FALSE(parse_count_setting(bad, &w)) << "'" << bad << "'";
    EXPECT_EQ(w, 9u);
  }
  EXPECT_FALSE(parse_count_setting(nullptr, &v));
  EXPECT_FALSE(parse_size_setting("1", nullptr));
}

TEST(Settings, ReadSettingReportsAndIgnoresABadValue) {
  const char* name = "WSYS_SETTINGS_TEST_VALUE";
  unsetenv(name);
  EXPECT_FALSE(read_setting(name, parse_size_setting, "a size").has_value());
  setenv(name, "12K", 1);
  auto v = read_setting(name, parse_size_setting, "a size");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, 12288u);
  setenv(name, "-1", 1);
  testing::internal::CaptureStderr();
  EXPECT_FALSE(read_setting(name, parse_size_setting, "a size").has_value());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find(name), std::string::npos) << err;
  EXPECT_NE(err.find("'-1'"), std::string::npos) << err;
  unsetenv(name);
}

}  // namespace
