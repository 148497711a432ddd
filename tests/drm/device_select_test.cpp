// WSYS_DEVICE parsing and device opening errors.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>

#include "winsys/drm/device_select.h"

using namespace wsys::drm;

TEST(DeviceSpec, EmptyAndAutoMeanAuto) {
  for (const char* v : {"", "auto"}) {
    auto s = parse_device_spec(v);
    ASSERT_TRUE(s.ok()) << v;
    EXPECT_EQ(s->kind, DeviceSpec::Kind::Auto);
  }
}

TEST(DeviceSpec, SimFlavours) {
  auto plain = parse_device_spec("sim");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->kind, DeviceSpec::Kind::Model);
  EXPECT_EQ(plain->model_driver, "panthor");

  auto pf = parse_device_spec("sim:panfrost");
  ASSERT_TRUE(pf.ok());
  EXPECT_EQ(pf->kind, DeviceSpec::Kind::Model);
  EXPECT_EQ(pf->model_driver, "panfrost");

  auto pt = parse_device_spec("sim:panthor");
  ASSERT_TRUE(pt.ok());
  EXPECT_EQ(pt->model_driver, "panthor");
}

TEST(DeviceSpec, PathIsKept) {
  auto s = parse_device_spec("/dev/dri/renderD129");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->kind, DeviceSpec::Kind::Path);
  EXPECT_EQ(s->path, "/dev/dri/renderD129");
}

TEST(DeviceSpec, BadValuesNameTheVariable) {
  for (const char* v : {"gpu0", "sim:", "sim:msm", "simulator", "renderD128", "Auto"}) {
    std::string why;
    auto s = parse_device_spec(v, &why);
    EXPECT_FALSE(s.ok()) << v;
    EXPECT_EQ(s.error(), -EINVAL) << v;
    EXPECT_NE(why.find("WSYS_DEVICE"), std::string::npos) << why;
    EXPECT_NE(why.find(v), std::string::npos) << why;
  }
}

TEST(DeviceSpec, FromEnvironment) {
  ::setenv("WSYS_DEVICE", "sim:panfrost", 1);
  auto s = device_spec_from_env();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->model_driver, "panfrost");
  ::setenv("WSYS_DEVICE", "nonsense", 1);
  std::string why;
  EXPECT_EQ(device_spec_from_env(&why).error(), -EINVAL);
  EXPECT_NE(why.find("WSYS_DEVICE"), std::string::npos);
  ::unsetenv("WSYS_DEVICE");
  auto d = device_spec_from_env();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, DeviceSpec::Kind::Auto);
}

TEST(DeviceOpen, MissingPathIsAClearError) {
  DeviceSpec spec;
  spec.kind = DeviceSpec::Kind::Path;
  spec.path = "/nonexistent/renderD999";
  std::string why;
  auto f = open_device(spec, &why);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), -ENOENT);
  EXPECT_NE(why.find("/nonexistent/renderD999"), std::string::npos) << why;
}

TEST(DeviceOpen, NonDrmFileIsRefused) {
  // /dev/null opens but is not a DRM device: drmGetVersion fails.
  DeviceSpec spec;
  spec.kind = DeviceSpec::Kind::Path;
  spec.path = "/dev/null";
  std::string why;
  auto f = open_device(spec, &why);
  EXPECT_FALSE(f.ok());
  EXPECT_NE(why.find("/dev/null"), std::string::npos) << why;
}

TEST(DriverNames, OnlyMaliKernelDrivers) {
  EXPECT_TRUE(is_supported_driver("panthor"));
  EXPECT_TRUE(is_supported_driver("panfrost"));
  EXPECT_FALSE(is_supported_driver("msm"));
  EXPECT_FALSE(is_supported_driver(""));
}
