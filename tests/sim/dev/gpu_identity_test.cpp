// WSYS_SIM_GPU: presets, overrides, clamping and errors that name the
// variable, through gpu_identity_from_spec / gpu_identity_for directly.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "dev_test_util.h"
#include "winsys/sim/gpu_identity.h"

using namespace wsys::sim;
using devtest::EnvGuard;

namespace {

struct PresetCase {
  const char* spec;
  const char* driver;
  const char* name;
  uint32_t product_id;
  uint32_t arch_major;
  bool csf;
};

const PresetCase kPresetCases[] = {
    {"", "panthor", "Mali-G610", 0xa867, 10, true},
    {"", "panfrost", "Mali-G52", 0x7212, 7, false},
    {"g610", "panthor", "Mali-G610", 0xa867, 10, true},
    {"g310", "panthor", "Mali-G310", 0xac74, 10, true},
    {"g52", "panfrost", "Mali-G52", 0x7212, 7, false},
    {"g57", "panfrost", "Mali-G57", 0x9093, 9, false},
    {"t860", "panfrost", "Mali-T860", 0x0860, 0, false},
    {"Mali-G610", "panthor", "Mali-G610", 0xa867, 10, true},  // marketing name, any case
    {"G57", "panfrost", "Mali-G57", 0x9093, 9, false},
};

class GpuPreset : public ::testing::TestWithParam<PresetCase> {};

TEST_P(GpuPreset, HasTheProductItClaims) {
  const PresetCase& c = GetParam();
  GpuIdentity g;
  std::string why;
  ASSERT_TRUE(gpu_identity_from_spec(c.driver, c.spec, &g, &why)) << why;
  EXPECT_EQ(g.name, c.name);
  EXPECT_EQ(g.product_id(), c.product_id);
  EXPECT_EQ(g.gpu_id >> 16, c.product_id);
  EXPECT_EQ(g.arch_major(), c.arch_major);
  EXPECT_EQ(g.is_csf(), c.csf);
  EXPECT_NE(g.shader_present, 0u);
  EXPECT_GT(g.core_count(), 0u);
  EXPECT_NE(g.max_threads, 0u);
  EXPECT_GE(g.va_bits(), kSimMinVaBits);
  EXPECT_LE(g.va_bits(), kSimMaxVaBits);
  EXPECT_EQ(g.timestamp_frequency, 24000000u);
  if (c.csf) {
    EXPECT_GE(g.csg_slot_count, 3u);
    EXPECT_LE(g.csg_slot_count, 16u);
    EXPECT_GE(g.cs_slot_count, 1u);
    EXPECT_EQ(g.js_present, 0u);
  } else {
    EXPECT_NE(g.js_present, 0u);
    EXPECT_EQ(g.csg_slot_count, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(All, GpuPreset, ::testing::ValuesIn(kPresetCases));

TEST(GpuIdentity, G610DecodesAsArch10Product7) {
  GpuIdentity g;
  ASSERT_TRUE(gpu_identity_from_spec("panthor", "g610", &g, nullptr));
  EXPECT_EQ(g.arch_major(), 10u);
  EXPECT_EQ(g.arch_minor(), 8u);
  EXPECT_EQ((g.gpu_id >> 16) & 0xf, 7u);  // product major
}

TEST(GpuIdentity, PresetListsFollowTheDriver) {
  auto pt = gpu_preset_names("panthor");
  auto pf = gpu_preset_names("panfrost");
  EXPECT_EQ(pt, (std::vector<std::string>{"g610", "g310"}));
  EXPECT_EQ(pf, (std::vector<std::string>{"g52", "g57", "t860"}));
  EXPECT_EQ(gpu_preset_names().size(), 5u);
}

TEST(GpuIdentity, OverridesApplyOnThePreset) {
  GpuIdentity g;
  std::string why;
  ASSERT_TRUE(gpu_identity_from_spec(
      "panthor", "g610,shader_present=0x50005,va_bits=34,max_threads=1024,thread_tls_alloc=0", &g,
      &why))
      << why;
  EXPECT_EQ(g.name, "Mali-G610");
  EXPECT_EQ(g.shader_present, 0x50005u);
  EXPECT_EQ(g.core_count(), 4u);
  EXPECT_EQ(g.va_bits(), 34u);
  EXPECT_EQ(g.mmu_features & ~0xffu, 0x2800u);  // the other MMU bits are kept
  EXPECT_EQ(g.max_threads, 1024u);
  EXPECT_EQ(g.thread_tls_alloc, 0u);

  ASSERT_TRUE(gpu_identity_from_spec(
      "panthor", "g310, l2_present=3 ,tiler_present=1,csg_slot_count=16,cs_slot_count=32", &g,
      &why))
      << why;
  EXPECT_EQ(g.name, "Mali-G310");
  EXPECT_EQ(g.l2_present, 3u);
  EXPECT_EQ(g.csg_slot_count, 16u);
  EXPECT_EQ(g.cs_slot_count, 32u);

  // Octal and decimal values; later items win.
  ASSERT_TRUE(gpu_identity_from_spec("panfrost",
                                     "t860,max_threads=010,max_threads=300,js_present=3", &g, &why))
      << why;
  EXPECT_EQ(g.max_threads, 300u);
  EXPECT_EQ(g.js_present, 3u);
}

TEST(GpuIdentity, OverridesWithoutPresetUseTheDriverDefault) {
  GpuIdentity g;
  std::string why;
  ASSERT_TRUE(gpu_identity_from_spec("panfrost", "thread_tls_alloc=256", &g, &why)) << why;
  EXPECT_EQ(g.name, "Mali-G52");
  EXPECT_EQ(g.thread_tls_alloc, 256u);
  ASSERT_TRUE(gpu_identity_from_spec("panthor", "csg_slot_count=4", &g, &why)) << why;
  EXPECT_EQ(g.name, "Mali-G610");
  EXPECT_EQ(g.csg_slot_count, 4u);
}

TEST(GpuIdentity, VaBitsAreClampedToWhatTheModelCanReserve) {
  GpuIdentity g;
  ASSERT_TRUE(gpu_identity_from_spec("panthor", "va_bits=20", &g, nullptr));
  EXPECT_EQ(g.va_bits(), 32u);
  ASSERT_TRUE(gpu_identity_from_spec("panthor", "va_bits=48", &g, nullptr));
  EXPECT_EQ(g.va_bits(), kSimMaxVaBits);
#ifdef WSYS_SANITIZE_THREAD
  EXPECT_EQ(kSimMaxVaBits, 35u);
#else
  EXPECT_EQ(kSimMaxVaBits, 40u);
#endif
  ASSERT_TRUE(gpu_identity_from_spec("panfrost", "va_bits=32", &g, nullptr));
  EXPECT_EQ(g.va_bits(), 32u);
}

TEST(GpuIdentity, GpuIdOverrideRenamesTheGpu) {
  GpuIdentity g;
  std::string why;
  ASSERT_TRUE(gpu_identity_from_spec("panthor", "g610,gpu_id=0xac740000", &g, &why)) << why;
  EXPECT_EQ(g.name, "Mali-G310");
  ASSERT_TRUE(gpu_identity_from_spec("panthor", "gpu_id=0xb8670000", &g, &why)) << why;
  EXPECT_EQ(g.name, "Mali (product 0xb867)");
  ASSERT_TRUE(gpu_identity_from_spec("panfrost", "gpu_id=0x08602000", &g, &why)) << why;
  EXPECT_EQ(g.name, "Mali-T860");
}

struct ErrorCase {
  const char* driver;
  const char* spec;
  const char* mentions;  // a word the message must contain besides the variable
};

const ErrorCase kErrorCases[] = {
    {"panthor", "g52", "Job Manager"},  // JM preset for panthor
    {"panthor", "t860", "Job Manager"},
    {"panthor", "g57", "Job Manager"},
    {"panfrost", "g610", "CSF"},  // CSF preset for panfrost
    {"panfrost", "g310", "CSF"},
    {"panthor", "g999", "unknown GPU preset"},
    {"panthor", "g610,frobs=1", "unknown key"},
    {"panthor", "g610,max_threads=lots", "not a non-negative integer"},
    {"panthor", "g610,max_threads=-1", "not a non-negative integer"},
    {"panthor", "g610,max_threads=12x", "not a non-negative integer"},
    {"panthor", "g610,max_threads=", "not a non-negative integer"},
    {"panthor", "g610,max_threads=0x100000000", "32 bits"},
    {"panthor", "g610,shader_present=0x1ffffffffffffffff", "not a non-negative integer"},
    {"panthor", "g610,,max_threads=1", "empty item"},
    {"panthor", "g610,", "empty item"},
    {"panthor", "max_threads=1,g610", "preset"},
    {"panthor", "g610,g310", "preset"},
    {"panfrost", "csg_slot_count=8", "CSF"},               // CSF-only key on panfrost
    {"panthor", "js_present=7", "Job Manager"},            // JM-only key on panthor
    {"panthor", "g610,gpu_id=0x72120000", "Job Manager"},  // id of another flavour
    {"panfrost", "g52,gpu_id=0xa8670000", "CSF"},
    {"panthor", "shader_present=0", "shader_present"},
    {"panthor", "l2_present=0", "l2_present"},
    {"panthor", "tiler_present=0", "tiler_present"},
    {"panthor", "max_threads=0", "max_threads"},
    {"panthor", "csg_slot_count=2", "csg_slot_count"},
    {"panthor", "csg_slot_count=17", "csg_slot_count"},
    {"panthor", "cs_slot_count=0", "cs_slot_count"},
    {"panthor", "cs_slot_count=33", "cs_slot_count"},
    {"panfrost", "js_present=0", "js_present"},
    {"panthor", "va_bits=65", "va_bits"},
};

class GpuSpecError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(GpuSpecError, IsRefusedNamingTheVariable) {
  const ErrorCase& c = GetParam();
  GpuIdentity g;
  g.name = "untouched";
  std::string why;
  EXPECT_FALSE(gpu_identity_from_spec(c.driver, c.spec, &g, &why)) << c.spec;
  EXPECT_NE(why.find("WSYS_SIM_GPU"), std::string::npos) << why;
  EXPECT_NE(why.find(c.mentions), std::string::npos) << why;
  EXPECT_EQ(g.name, "untouched");  // nothing half-applied
}

INSTANTIATE_TEST_SUITE_P(All, GpuSpecError, ::testing::ValuesIn(kErrorCases));

TEST(GpuIdentity, UnknownDriverIsRefused) {
  GpuIdentity g;
  std::string why;
  EXPECT_FALSE(gpu_identity_from_spec("lima", "", &g, &why));
  EXPECT_NE(why.find("lima"), std::string::npos);
}

TEST(GpuIdentity, ReadsTheEnvironment) {
  GpuIdentity g;
  std::string why;
  {
    EnvGuard e(kSimGpuEnv, "g310,max_threads=512");
    ASSERT_TRUE(gpu_identity_for("panthor", &g, &why)) << why;
    EXPECT_EQ(g.name, "Mali-G310");
    EXPECT_EQ(g.max_threads, 512u);
    EXPECT_FALSE(gpu_identity_for("panfrost", &g, &why));
    EXPECT_NE(why.find("WSYS_SIM_GPU='g310,max_threads=512'"), std::string::npos) << why;
  }
  {
    EnvGuard e(kSimGpuEnv, nullptr);
    ASSERT_TRUE(gpu_identity_for("panfrost", &g, &why)) << why;
    EXPECT_EQ(g.name, "Mali-G52");
  }
}

// A bad WSYS_SIM_GPU makes opening the model fail with a message naming the
// variable. Runs in a fresh process (the threadsafe death-test style
// re-executes the binary), since the model device of a flavour is created
// once per process.
TEST(GpuIdentityDeathTest, BadValueFailsTheOpenWithTheReason) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("WSYS_SIM_GPU", "g57", 1);
        std::string why;
        auto f = SimDrmFile::open("panthor", &why);
        std::fprintf(stderr, "why: %s\n", why.c_str());
        _exit(!f.ok() && f.error() == -ENODEV ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "why: WSYS_SIM_GPU='g57': Mali-G57 is a Job Manager GPU");
}

TEST(GpuIdentityDeathTest, GoodValueShapesTheDevice) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("WSYS_SIM_GPU", "t860,max_threads=128", 1);
        std::string why;
        auto f = SimDrmFile::open("panfrost", &why);
        if (!f.ok()) _exit(2);
        drm_panfrost_get_param p{};
        p.param = DRM_PANFROST_PARAM_GPU_PROD_ID;
        if ((*f)->ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &p) || p.value != 0x0860) _exit(3);
        p.param = DRM_PANFROST_PARAM_MAX_THREADS;
        if ((*f)->ioctl(DRM_IOCTL_PANFROST_GET_PARAM, &p) || p.value != 128) _exit(4);
        _exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
