// wsys-top's DRM fdinfo reader (tools/top/drm_fdinfo.h): the kernel's key
// format parsed, one client per drm-client-id, and the kernel model's own
// fdinfo text read back to the numbers the model accounts; then wsys-top
// itself (--proc over a fake /proc tree) shows them in text and JSON.
// argv[1] (after gtest's): the wsys-top program.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "drm-uapi/drm_core.h"
#include "drm-uapi/panthor_drm.h"
#include "drm_fdinfo.h"
#include "winsys/sim/accounting.h"
#include "winsys/sim/sim_drm_file.h"

namespace {

std::string g_top;

using wsys::top::DrmClient;

TEST(DrmFdinfo, ParsesTheKernelsKeys) {
  const std::string text =
      "pos:\t0\nflags:\t02100002\nmnt_id:\t26\nino:\t1031\n"
      "drm-driver:\tpanthor\n"
      "drm-pdev:\tfb000000.gpu\n"
      "drm-client-id:\t42\n"
      "drm-engine-panthor:\t9288864723 ns\n"
      "drm-cycles-panthor:\t123456\n"
      "drm-maxfreq-panthor:\t1000000000 Hz\n"
      "drm-curfreq-panthor:\t800000000 Hz\n"
      "drm-total-memory:\t2048 KiB\n"
      "drm-shared-memory:\t0\n"
      "drm-active-memory:\t1 MiB\n"
      "drm-resident-memory:\t1536 KiB\n"
      "drm-purgeable-memory:\t4096\n";
  DrmClient c;
  ASSERT_TRUE(wsys::top::parse_drm_fdinfo(text, &c));
  EXPECT_EQ(c.driver, "panthor");
  EXPECT_EQ(c.pdev, "fb000000.gpu");
  EXPECT_EQ(c.client_id, 42u);
  EXPECT_EQ(c.engine_ns.at("panthor"), 9288864723ull);
  EXPECT_EQ(c.memory.at("total-memory"), 2048u * 1024);
  EXPECT_EQ(c.memory.at("active-memory"), 1u << 20);
  EXPECT_EQ(c.memory.at("resident-memory"), 1536u * 1024);
  EXPECT_EQ(c.memory.at("purgeable-memory"), 4096u);
  EXPECT_EQ(c.memory.count("cycles-panthor"), 0u);  // not a size
  EXPECT_EQ(c.memory.count("maxfreq-panthor"), 0u);
  EXPECT_EQ(c.sum("total"), 2048u * 1024);
  // Regions add up (amdgpu-style vram + gtt).
  DrmClient r;
  ASSERT_TRUE(wsys::top::parse_drm_fdinfo(
      "drm-driver:\tamdgpu\ndrm-client-id:\t3\ndrm-total-vram:\t10 MiB\ndrm-total-gtt:\t2 MiB\n", &r));
  EXPECT_EQ(r.sum("total"), 12u << 20);
  // Not a DRM file.
  DrmClient n;
  EXPECT_FALSE(wsys::top::parse_drm_fdinfo("pos:\t0\nflags:\t02\n", &n));
}

struct FakeProc {
  std::string root;
  FakeProc() {
    char t[] = "/tmp/wsys-fdinfo-test-XXXXXX";
    root = mkdtemp(t);
  }
  ~FakeProc() { std::system(("rm -rf '" + root + "'").c_str()); }
  void add(int pid, const std::string& comm, int fd, const std::string& fdinfo) {
    const std::string d = root + "/" + std::to_string(pid);
    mkdir(d.c_str(), 0755);
    mkdir((d + "/fdinfo").c_str(), 0755);
    std::ofstream(d + "/comm") << comm << "\n";
    std::ofstream(d + "/fdinfo/" + std::to_string(fd)) << fdinfo;
  }
};

uint32_t bo_create(wsys::sim::SimDrmFile& f, uint64_t size) {
  drm_panthor_bo_create c{};
  c.size = size;
  EXPECT_EQ(f.ioctl(DRM_IOCTL_PANTHOR_BO_CREATE, &c), 0);
  return c.handle;
}

std::string run(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char b[4096];
    size_t n;
    while ((n = fread(b, 1, sizeof b, p)) > 0) out.append(b, n);
    EXPECT_EQ(pclose(p), 0) << cmd;
  }
  return out;
}

TEST(DrmFdinfo, TheModelsFdinfoReadsBackAsItsAccounting) {
  auto a = wsys::sim::SimDrmFile::open("panthor");
  auto b = wsys::sim::SimDrmFile::open("panthor");
  ASSERT_TRUE(a.ok() && b.ok());
  bo_create(**a, 3 << 20);
  bo_create(**a, 64 << 10);
  bo_create(**b, 1 << 20);
  const wsys::sim::SimUsage ua = wsys::sim::sim_file_usage((*a)->file());
  const wsys::sim::SimUsage ub = wsys::sim::sim_file_usage((*b)->file());
  ASSERT_EQ(ua.total, (3u << 20) + (64u << 10));

  FakeProc proc;
  const std::string fa = wsys::sim::sim_file_fdinfo((*a)->file());
  const std::string fb = wsys::sim::sim_file_fdinfo((*b)->file());
  proc.add(100, "game", 3, fa);
  proc.add(100, "game", 7, fa);  // a dup of the same drm_file: counted once
  proc.add(100, "game", 1, "pos:\t0\nflags:\t02\n");  // not DRM
  proc.add(200, "compositor", 5, fb);
  auto clients = wsys::top::scan_drm_clients(proc.root);
  ASSERT_EQ(clients.size(), 2u);
  EXPECT_EQ(clients[0].pid, 100);
  EXPECT_EQ(clients[0].process, "game");
  EXPECT_EQ(clients[0].driver, "panthor");
  EXPECT_EQ(clients[0].client_id, (*a)->file().client_id());
  EXPECT_EQ(clients[0].sum("total"), ua.total);
  EXPECT_EQ(clients[0].sum("resident"), ua.resident);
  EXPECT_EQ(clients[1].pid, 200);
  EXPECT_EQ(clients[1].sum("total"), ub.total);
  EXPECT_NE(clients[0].client_id, clients[1].client_id);

  // wsys-top over the same tree.
  ASSERT_FALSE(g_top.empty());
  const std::string json = run("'" + g_top + "' --once --json --dir '" + proc.root +
                               "/none' --proc '" + proc.root + "'");
  EXPECT_NE(json.find("\"drm_clients\":[{\"pid\":100,\"client_id\":" +
                      std::to_string((*a)->file().client_id())),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"total-memory\":" + std::to_string(ua.total)), std::string::npos) << json;
  EXPECT_NE(json.find("\"process\":\"compositor\""), std::string::npos) << json;
  const std::string text = run("'" + g_top + "' --once --dir '" + proc.root + "/none' --proc '" +
                               proc.root + "'");
  EXPECT_NE(text.find("DRM clients"), std::string::npos) << text;
  EXPECT_NE(text.find("compositor"), std::string::npos) << text;
  EXPECT_NE(text.find("3.1 MiB"), std::string::npos) << text;  // game's total
  const std::string off = run("'" + g_top + "' --once --no-fdinfo --dir '" + proc.root +
                              "/none' --proc '" + proc.root + "'");
  EXPECT_EQ(off.find("DRM clients"), std::string::npos) << off;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) g_top = argv[1];
  return RUN_ALL_TESTS();
}
