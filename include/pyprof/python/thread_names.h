/* Python-level thread names: threading._active read from the target
 * (ident -> Thread, then the Thread's _name), so that a thread is shown as
 * `threading.Thread(name=...)` or "MainThread" names it, not only by its OS
 * name. Read while the target runs, rarely (when threads appear), every read
 * bounded; whatever does not validate is left out, never guessed. */
#ifndef PYPROF_PYTHON_THREAD_NAMES_H
#define PYPROF_PYTHON_THREAD_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/layout.h"

#define PY_THREAD_NAME_MAX 128 /* bytes of UTF-8 kept, NUL included */
#define PY_THREAD_NAMES_MAX 4096 /* entries of threading._active read */

struct py_thread_name {
  uint64_t ident; /* threading.get_ident() = PyThreadState.thread_id */
  char name[PY_THREAD_NAME_MAX];
};

/* Where the last read found threading._active (0: not yet): a later read
 * tries it first and looks it up again when it does not hold. */
struct py_thread_names_cache {
  uint64_t active; /* remote dict address */
};

/* 1 when pyprof can read thread names of this layout (its minor and build
 * kind have object-model data). */
int py_thread_names_supported(const struct py_layout *L);

/* Read (ident, name) pairs of every thread threading._active lists, for the
 * interpreter at interp: at most cap into out, the count in *n. PP_ENOTFOUND
 * when threading is not imported (yet), PP_EUNSUPPORTED for a version without
 * data, other codes when the memory does not validate (a dict changed while
 * read: try again later). cache may be NULL. */
int py_thread_names_read(const struct mem_reader *r, const struct py_layout *L, uint64_t interp,
                         struct py_thread_names_cache *cache, struct py_thread_name *out,
                         size_t cap, size_t *n);

#endif
