/* wsys-gl-demo: a small GL workload with its results checked, the GL half
 * of the main job (scripts/run-main.sh). Run it through the wsys-gl
 * launcher so that it draws on zink over the wsys Vulkan ICD:
 *
 *   wsys-gl --report wsys-gl-demo [--frames N] [--quiet]
 *
 * Each frame makes what a GL application's frame makes in device memory:
 * a vertex buffer and a texture of a size that changes from frame to frame
 * (zink backs both with Vulkan memory, so on the ICD they are wsys BOs),
 * draws a textured quad into an offscreen framebuffer, reads it back and
 * checks every pixel, then deletes both.
 *
 * Exit status: 0 when every pixel of every frame was right, 1 on a wrong
 * pixel or a GL error, 2 on bad arguments, 77 when there is no display or
 * no GLX visual.
 */
#define GL_GLEXT_PROTOTYPES 1
#include <GL/gl.h>
#include <GL/glext.h>
#include <GL/glx.h>
#include <X11/Xlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kWidth = 256, kHeight = 256 };

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int check_gl(const char* where) {
  GLenum e = glGetError();
  if (e == GL_NO_ERROR) return 1;
  fprintf(stderr, "wsys-gl-demo: GL error 0x%04x after %s\n", e, where);
  return 0;
}

/* The texel of a frame's texture at (x, y): depends on both and on the
 * frame, so a wrong, stale or shifted texel shows. */
static uint32_t texel(unsigned frame, unsigned x, unsigned y) {
  uint32_t r = (x * 7 + frame * 13) & 0xff;
  uint32_t g = (y * 5 + frame * 3) & 0xff;
  uint32_t b = ((x ^ y) + frame) & 0xff;
  return r | g << 8 | b << 16 | 0xffu << 24;
}

/* One frame: the texture is tex_size x tex_size, drawn 1:1 into the
 * top-left corner of the framebuffer with nearest filtering, so every
 * covered pixel must equal its texel; the rest must keep the clear
 * colour. */
static int frame(unsigned index, unsigned tex_size, GLuint fbo_tex) {
  (void)fbo_tex;
  uint32_t* texels = malloc((size_t)tex_size * tex_size * 4);
  uint32_t* pixels = malloc((size_t)kWidth * kHeight * 4);
  if (!texels || !pixels) {
    fprintf(stderr, "wsys-gl-demo: out of memory\n");
    free(texels);
    free(pixels);
    return 0;
  }
  for (unsigned y = 0; y < tex_size; y++)
    for (unsigned x = 0; x < tex_size; x++) texels[y * tex_size + x] = texel(index, x, y);

  GLuint tex, vbo;
  glGenTextures(1, &tex);
  glBindTexture(GL_TEXTURE_2D, tex);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)tex_size, (GLsizei)tex_size, 0, GL_RGBA,
               GL_UNSIGNED_BYTE, texels);

  /* A quad covering pixels [0, tex_size) in both directions, in clip
   * space, with texture coordinates; plus padding so the buffer's size
   * changes with the frame too. */
  float edge = -1.0f + 2.0f * (float)tex_size / kWidth;
  float quad[16] = {-1, -1, 0, 0, edge, -1, 1, 0, edge, edge, 1, 1, -1, edge, 0, 1};
  size_t vbo_bytes = sizeof quad + (size_t)tex_size * 1024;
  glGenBuffers(1, &vbo);
  glBindBuffer(GL_ARRAY_BUFFER, vbo);
  glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)vbo_bytes, NULL, GL_STATIC_DRAW);
  glBufferSubData(GL_ARRAY_BUFFER, 0, sizeof quad, quad);

  glClearColor(0.0f, 0.0f, 1.0f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  glEnable(GL_TEXTURE_2D);
  glEnableClientState(GL_VERTEX_ARRAY);
  glEnableClientState(GL_TEXTURE_COORD_ARRAY);
  glVertexPointer(2, GL_FLOAT, 4 * sizeof(float), (const void*)0);
  glTexCoordPointer(2, GL_FLOAT, 4 * sizeof(float), (const void*)(2 * sizeof(float)));
  glDrawArrays(GL_TRIANGLE_FAN, 0, 4);
  glDisableClientState(GL_VERTEX_ARRAY);
  glDisableClientState(GL_TEXTURE_COORD_ARRAY);
  glDisable(GL_TEXTURE_2D);
  glReadPixels(0, 0, kWidth, kHeight, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
  int ok = check_gl("drawing");

  for (unsigned y = 0; y < kHeight && ok; y++) {
    for (unsigned x = 0; x < kWidth && ok; x++) {
      uint32_t want = x < tex_size && y < tex_size ? texel(index, x, y) : 0xffff0000u;
      uint32_t got = pixels[y * kWidth + x];
      if (got != want) {
        fprintf(stderr, "wsys-gl-demo: frame %u pixel (%u, %u) is 0x%08x, expected 0x%08x\n",
                index, x, y, got, want);
        ok = 0;
      }
    }
  }
  glDeleteBuffers(1, &vbo);
  glDeleteTextures(1, &tex);
  free(texels);
  free(pixels);
  return ok;
}

static int parse_args(int argc, char** argv, unsigned* frames, int* quiet) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quiet") == 0) {
      *quiet = 1;
    } else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
      char* end = NULL;
      unsigned long v = strtoul(argv[++i], &end, 10);
      if (!*argv[i] || *end || v < 1 || v > 100000) {
        fprintf(stderr, "wsys-gl-demo: bad value '%s' for --frames\n", argv[i]);
        return 0;
      }
      *frames = (unsigned)v;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: wsys-gl-demo [--frames N] [--quiet]\n");
      exit(0);
    } else {
      fprintf(stderr, "wsys-gl-demo: unknown argument '%s' (try --help)\n", argv[i]);
      return 0;
    }
  }
  return 1;
}

int main(int argc, char** argv) {
  unsigned frames = 40;
  int quiet = 0;
  if (!parse_args(argc, argv, &frames, &quiet)) return 2;

  Display* dpy = XOpenDisplay(NULL);
  if (!dpy) {
    fprintf(stderr, "wsys-gl-demo: cannot open the X display (run it through wsys-gl)\n");
    return 77;
  }
  int attrs[] = {GLX_RGBA, GLX_RED_SIZE, 8, GLX_GREEN_SIZE, 8, GLX_BLUE_SIZE, 8, None};
  XVisualInfo* vi = glXChooseVisual(dpy, DefaultScreen(dpy), attrs);
  if (!vi) {
    fprintf(stderr, "wsys-gl-demo: no RGB8 GLX visual\n");
    XCloseDisplay(dpy);
    return 77;
  }
  Window root = RootWindow(dpy, vi->screen);
  XSetWindowAttributes swa;
  memset(&swa, 0, sizeof swa);
  swa.colormap = XCreateColormap(dpy, root, vi->visual, AllocNone);
  Window win = XCreateWindow(dpy, root, 0, 0, kWidth, kHeight, 0, vi->depth, InputOutput,
                             vi->visual, CWColormap, &swa);
  GLXContext ctx = glXCreateContext(dpy, vi, NULL, True);
  if (!ctx || !glXMakeCurrent(dpy, win, ctx)) {
    fprintf(stderr, "wsys-gl-demo: cannot create a GLX context\n");
    return 1;
  }

  /* Draw into a framebuffer object: what is read back does not depend on
   * the window being mapped or visible. */
  GLuint fbo, color;
  glGenTextures(1, &color);
  glBindTexture(GL_TEXTURE_2D, color);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, kWidth, kHeight, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
  glGenFramebuffers(1, &fbo);
  glBindFramebuffer(GL_FRAMEBUFFER, fbo);
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, color, 0);
  if (glCheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) {
    fprintf(stderr, "wsys-gl-demo: the offscreen framebuffer is incomplete\n");
    return 1;
  }
  glViewport(0, 0, kWidth, kHeight);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glPixelStorei(GL_PACK_ALIGNMENT, 1);

  const char* renderer = (const char*)glGetString(GL_RENDERER);
  double t0 = now_seconds();
  int ok = check_gl("setup");
  static const unsigned sizes[] = {256, 64, 128, 32, 256, 192, 16, 128};
  for (unsigned f = 0; f < frames && ok; f++) ok = frame(f, sizes[f % 8], color);
  double secs = now_seconds() - t0;
  if (ok && !quiet)
    printf("wsys-gl-demo on %s: %u frames, every pixel right (%.2f s)\n",
           renderer ? renderer : "?", frames, secs);
  fflush(stdout); /* before zink's VkDevice goes and the ICD prints its report */

  glBindFramebuffer(GL_FRAMEBUFFER, 0);
  glDeleteFramebuffers(1, &fbo);
  glDeleteTextures(1, &color);
  glXMakeCurrent(dpy, None, NULL);
  glXDestroyContext(dpy, ctx);
  XDestroyWindow(dpy, win);
  XFreeColormap(dpy, swa.colormap);
  XFree(vi);
  XCloseDisplay(dpy); /* zink's screen, and its VkDevice, go with the display */
  return ok ? 0 : 1;
}
