/*
 * The C API's trace spans (wsys_trace_begin/end/flow, docs/trace.md), from
 * C. Without WSYS_TRACE: no spans, nothing to end. Then the program runs
 * itself again with WSYS_TRACE set (the trace is chosen when the library
 * loads): nested spans, a wrong-order end refused, a buffer allocated
 * inside a span; the parent checks the file has the spans, the allocation
 * and a flow arrow between them, and was closed properly at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wsys/wsys.h"

static int failures;
#define CHECK(c)                                                   \
  do {                                                             \
    if (!(c)) {                                                    \
      failures++;                                                  \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
    }                                                              \
  } while (0)

static int traced_child(void) {
  CHECK(wsys_trace_enabled() == 1);
  wsys_device *dev = NULL;
  CHECK(wsys_device_open("sim:panthor", &dev) == 0);
  wsys_trace_span *outer = wsys_trace_begin("capi_outer", 0);
  CHECK(outer != NULL);
  CHECK(wsys_trace_begin(NULL, 0) == NULL);
  wsys_trace_span *inner = wsys_trace_begin("capi_inner", 0);
  CHECK(inner != NULL);
  CHECK(wsys_trace_end(outer) == -EINVAL); /* inner is still open */
  CHECK(strstr(wsys_last_error(), "innermost") != NULL);
  wsys_bo *bo = NULL;
  if (dev) CHECK(wsys_bo_alloc(dev, 64 * 1024, 0, "capi:traced", &bo) == 0);
  CHECK(wsys_trace_flow(inner) != 0);
  CHECK(wsys_trace_end(inner) == 0);
  CHECK(wsys_trace_end(outer) == 0);
  if (bo) wsys_bo_unref(bo);
  if (dev) wsys_device_unref(dev);
  return failures ? 1 : 0;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--traced-child") == 0) return traced_child();

  /* Not tracing: no spans. */
  CHECK(wsys_trace_enabled() == 0);
  CHECK(wsys_trace_begin("x", 0) == NULL);
  CHECK(wsys_trace_end(NULL) == 0);
  CHECK(wsys_trace_flow(NULL) == 0);

  char path[] = "/tmp/wsys-capi-trace-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return 1;
  close(fd);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("WSYS_TRACE", path, 1);
    execl("/proc/self/exe", argv[0], "--traced-child", (char *)NULL);
    _exit(127);
  }
  int status = 0;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  const char *t = slurp(path);
  CHECK(t != NULL);
  if (t) {
    CHECK(strstr(t, "\"name\":\"capi_outer\"") != NULL);
    CHECK(strstr(t, "\"name\":\"capi_inner\"") != NULL);
    CHECK(strstr(t, "\"name\":\"bo_alloc\"") != NULL);
    CHECK(strstr(t, "\"name\":\"flow\",\"cat\":\"wsys\",\"ph\":\"s\"") != NULL);
    CHECK(strstr(t, "\"name\":\"flow\",\"cat\":\"wsys\",\"ph\":\"f\"") != NULL);
    size_t n = strlen(t);
    CHECK(n > 3 && strcmp(t + n - 3, "\n]\n") == 0); /* closed at exit */
  }
  unlink(path);
  if (failures) fprintf(stderr, "capi_trace: %d failure(s)\n", failures);
  return failures ? 1 : 0;
}
