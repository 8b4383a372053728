/* Finding the interpreter in a target process: which file holds _PyRuntime,
 * where it is loaded, which CPython version it is, and which layout applies. */
#ifndef PYPROF_PYTHON_TARGET_H
#define PYPROF_PYTHON_TARGET_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/layout.h"

struct py_target {
  pid_t pid;
  uint64_t runtime_addr;       /* address of _PyRuntime in the target */
  uint64_t code_type_addr;     /* address of PyCode_Type, 0 if not found */
  int major, minor, micro;     /* detected version */
  char version_source[32];     /* how the version was found: "_Py_DebugOffsets", "Py_Version", ... */
  struct py_layout layout;     /* the layout in force (a copy) */
  char runtime_path[PATH_MAX]; /* file holding _PyRuntime, as the target sees it */
  char warning[256];           /* non-empty: something the user should know */
};

/* Find and identify the interpreter of pid. On failure returns a PP_E* code
 * and explains in why (whylen bytes): PP_ENOPROC, PP_EPERM, PP_ENOTPYTHON (no
 * _PyRuntime in the executable or a libpython it maps), PP_EUNSUPPORTED
 * (version found but no layout for it: why names it and the supported ones). */
int py_target_locate(pid_t pid, const struct mem_reader *r, struct py_target *out, char *why,
                     size_t whylen);

/* Supported versions as text, e.g. "3.8-3.14". */
const char *py_target_supported(void);

#endif
