/* Module-private to src/python/layout.c and its generated data: the shape of
 * a CPython minor's _Py_DebugOffsets as data (see layout.c's banner). The
 * descriptions themselves are generated (tools/gen-dbg-offsets.py ->
 * layout_dbg_tables.c). */
#ifndef PYPROF_PYTHON_LAYOUT_DBG_H
#define PYPROF_PYTHON_LAYOUT_DBG_H

#include <stddef.h>
#include <stdint.h>

/* One sub-struct of _Py_DebugOffsets: its member name and its uint64 fields
 * in declaration order. */
struct dbg_section {
  const char *name;
  const char *const *fields; /* borrowed: static list */
  size_t nfields;
};

/* Facts _Py_DebugOffsets does not carry (printed by the generator's probe
 * from the same headers), per build kind. */
struct dbg_facts {
  uint8_t kind_shift, compact_shift, ascii_shift; /* PyASCIIObject.state bits */
  int32_t compact_extra;       /* sizeof(PyCompactUnicodeObject) - sizeof(PyASCIIObject) */
  int32_t datastack_top_delta; /* PyThreadState: datastack_top - datastack_chunk */
  uint32_t owner_skip_mask;    /* 1 << FRAME_OWNED_BY_CSTACK / _INTERPRETER: not Python code */
  uint32_t owner_gen_mask;     /* 1 << FRAME_OWNED_BY_GENERATOR */
  uint32_t owner_end_mask;     /* 1 << the owner of the frame a thread's chain ends at (the
                                  C-to-Python entry shim: _INTERPRETER 3.14+, _CSTACK 3.13) */
  uint64_t code_tag_mask;      /* _PyStackRef Py_TAG_BITS of f_executable (3.14+), else 0 */
  int32_t codearray_entries;   /* free-threaded 3.14+: offsetof(_PyCodeArray, entries); 0
                                  when the build has no thread-local bytecode */
};

struct dbg_desc {
  int minor;
  const char *source;                 /* borrowed static text, shown to the user */
  const struct dbg_section *sections; /* borrowed: static list, in order */
  size_t nsections;
  /* [0] the default build, [1] the free-threaded (Py_GIL_DISABLED) one: the
   * struct is the same, objects and str state bits are not. */
  struct dbg_facts facts[2];
};

/* Oldest minor first. */
extern const struct dbg_desc py_dbg_descs[];
extern const size_t py_dbg_desc_count;

#endif
