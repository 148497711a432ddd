/*
 * The check macro of the C programs run under the drm-shim. They cannot use
 * gtest (they are plain C, built against libdrm only, so that nothing of
 * wsys is linked into them), so each counts its failed checks in `failures`
 * and exits non-zero if any failed. Every failure is printed with its
 * location, the condition and a message, and the program carries on, so one
 * run reports all that is wrong.
 */
#ifndef WSYS_TESTS_SHIM_CHECK_H
#define WSYS_TESTS_SHIM_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    if (!(cond)) {                                                    \
      failures++;                                                     \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                   \
      fprintf(stderr, "\n");                                          \
    }                                                                 \
  } while (0)

#endif
