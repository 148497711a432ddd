// wsys-shared-demo: camera -> GPU -> display with shared buffers placed on
// first use (issue 19; the central allocator and the display/camera devices
// are a kernel-model extension, docs/deferred-allocation.md).
//
// Three camera buffers and two display buffers are recycled over the
// frames. Each is created empty; the devices that use it attach before its
// first use, so it is placed once from their union: camera frames under
// 4 GiB in whole 1 MiB segments, display buffers in one extent (8 MiB: the
// contiguous pool). Per frame the camera captures,
// the "GPU" step reads the frame and writes the display buffer, and the
// display scans out and checks the bytes. The GPU step goes through the
// model's GPU view (the GPU MMU's mapping of the buffers' VAs), not a GPU
// job: this demo shows placement and cache hand-overs, not compute.
//
// Prints each buffer's placement and the cache maintenance done versus what
// maintenance at every access would have done. Exit status 0 when every
// frame arrived intact.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "wsys/device.hpp"
#include "wsys/shared_buffer.hpp"

namespace {

// 1080p: the camera captures 8-bit luma (stride 1920, a multiple of its
// 128), the display scans out 32-bit pixels (pitch 7680, a multiple of 64).
constexpr uint32_t kWidth = 1920, kHeight = 1080;
constexpr uint32_t kCamPitch = kWidth, kDispPitch = kWidth * 4;
constexpr uint64_t kCamBytes = uint64_t{kCamPitch} * kHeight;
constexpr uint64_t kDispBytes = uint64_t{kDispPitch} * kHeight;
constexpr int kFrames = 30;

void print_placement(const char* name, int i, wsys::SharedBuffer& b) {
  auto p = b.placement();
  if (!p) return;
  std::printf("  %s[%d]: %s, %u extent(s), highest address 0x%" PRIx64 ", %s, %u attachment(s)\n",
              name, i, p->placed ? "placed" : "not placed", p->extents, p->highest_address,
              p->contiguous_pool ? "contiguous pool" : "page allocator", p->attachments);
}

}  // namespace

int main() {
  std::string why;
  auto dev = wsys::Device::open(wsys::DeviceOptions{}, &why);
  if (!dev) {
    std::fprintf(stderr, "wsys-shared-demo: no device: %s\n", why.c_str());
    return 1;
  }
  struct Slot {
    std::shared_ptr<wsys::SharedBuffer> buf;
    wsys::BoRef bo;
    uint32_t attachment = 0;
  };
  std::vector<Slot> cam(3), disp(2);
  for (auto* ring : {&cam, &disp}) {
    const bool is_cam = ring == &cam;
    for (Slot& s : *ring) {
      auto b = wsys::SharedBuffer::create(
          is_cam ? kCamBytes : kDispBytes, wsys::kSharedUseGpu | (is_cam ? wsys::kSharedUseCamera : wsys::kSharedUseDisplay));
      if (!b) {
        std::fprintf(stderr, "wsys-shared-demo: no central allocator (%d): a kernel-model extension\n",
                     b.error());
        return 1;
      }
      s.buf = *b;
      const auto d = is_cam ? wsys::SharedDevice::Camera : wsys::SharedDevice::Display;
      auto a = s.buf->attach(d, is_cam ? kCamPitch : kDispPitch, kHeight);  // before any first use
      if (!a) {
        std::fprintf(stderr, "attach refused: %s\n", wsys::shared_refusal_name(s.buf->refusal()));
        return 1;
      }
      s.attachment = *a;
      auto bo = s.buf->import_into(**dev);  // the GPU attaches; the Device binds it: first use
      if (!bo) {
        std::fprintf(stderr, "import refused (%d): %s\n", bo.error(),
                     wsys::shared_refusal_name(s.buf->refusal()));
        return 1;
      }
      s.bo = std::move(*bo);
      if (!s.buf->map(d, s.attachment)) return 1;
    }
  }
  std::printf("placements:\n");
  for (size_t i = 0; i < cam.size(); i++) print_placement("camera", static_cast<int>(i), *cam[i].buf);
  for (size_t i = 0; i < disp.size(); i++) print_placement("display", static_cast<int>(i), *disp[i].buf);

  int bad = 0;
  for (int f = 0; f < kFrames; f++) {
    Slot& c = cam[f % cam.size()];
    Slot& d = disp[f % disp.size()];
    const uint8_t value = static_cast<uint8_t>(1 + f % 200);
    if (!c.buf->use(wsys::SharedDevice::Camera, c.attachment, value)) bad++;
    // The GPU step: read the frame, write each luma + 1 as a grey pixel.
    (void)c.buf->begin_gpu_access(true, false);
    (void)d.buf->begin_gpu_access(false, true);
    auto* src = static_cast<const uint8_t*>((*dev)->gpu_view(c.bo->gpu_va()));
    auto* dst = static_cast<uint8_t*>((*dev)->gpu_view(d.bo->gpu_va()));
    if (!src || !dst) {
      std::fprintf(stderr, "wsys-shared-demo: no GPU view (not the kernel model)\n");
      return 1;
    }
    for (uint64_t i = 0; i < kCamBytes; i++) std::memset(dst + 4 * i, src[i] + 1, 4);
    auto sum = d.buf->use(wsys::SharedDevice::Display, d.attachment);
    if (!sum || *sum != kDispBytes * (value + 1u)) bad++;
  }
  auto st = wsys::SharedBuffer::allocator_stats();
  if (st) {
    const uint64_t done = st->cache_flushes + st->cache_invalidates;
    std::printf("%d frames, %d bad; cache maintenance: %" PRIu64 " done, %" PRIu64
                " avoided (maintenance at every access: %" PRIu64 "); contiguous pool %" PRIu64
                " of %" PRIu64 " bytes in use\n",
                kFrames, bad, done, st->cache_ops_avoided, done + st->cache_ops_avoided,
                st->contiguous_used, st->contiguous_pool_bytes);
  }
  return bad ? 1 : 0;
}
