/* Interpreter layout as data.
 *
 * Everything the frame walker and the decoders need to know about one CPython
 * version's memory layout is in a struct py_layout: byte offsets of fields in
 * the runtime, interpreter, thread state, frame, code and str objects, plus a
 * few discriminators (which kind of frame, which line-table encoding). The
 * walker never tests a version number; it reads the table it is given.
 *
 * Tables come from two places:
 *  - 3.8-3.12: generated at development time by tools/gen-layout (compiles
 *    offsetof() against each version's own internal headers) and committed in
 *    src/python/layout_tables.c;
 *  - 3.13+: filled at attach time from the target's _Py_DebugOffsets
 *    (layout_from_debug_offsets), which is validated as untrusted input.
 *
 * An offset of PYL_NONE (-1) means "this version has no such field". */
#ifndef PYPROF_PYTHON_LAYOUT_H
#define PYPROF_PYTHON_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"

#define PYL_NONE (-1)

enum py_frame_kind {
  PY_FRAME_OBJECT = 1, /* 3.8-3.10: PyFrameObject chain via f_back, f_lasti */
  PY_FRAME_INTERP = 2, /* 3.11+: _PyInterpreterFrame chain via previous, instr ptr */
};

enum py_linetable_kind {
  PY_LINETABLE_LNOTAB = 1,    /* 3.8-3.9 co_lnotab: (byte incr, line incr) pairs */
  PY_LINETABLE_310 = 2,       /* 3.10 co_linetable: (byte delta, signed line delta) */
  PY_LINETABLE_LOCATIONS = 3, /* 3.11+ co_linetable: location table (PEP 657) */
};

enum py_instr_kind {
  PY_INSTR_LASTI_BYTES = 1, /* frame holds int f_lasti in bytes (3.8-3.9) */
  PY_INSTR_LASTI_UNITS = 2, /* frame holds int f_lasti in code units (3.10) */
  PY_INSTR_PREV_PTR = 3,    /* frame holds prev_instr pointer (3.11-3.12) */
  PY_INSTR_PTR = 4,         /* frame holds instr_ptr pointer (3.13+) */
};

struct py_layout {
  /* Version the table describes: major, minor (micro 0 when from a generic table). */
  uint8_t major, minor, micro;
  uint8_t free_threaded; /* 1: Py_GIL_DISABLED build (3.13+, from _Py_DebugOffsets) */
  const char *source;    /* borrowed static text: where the table came from */

  enum py_frame_kind frame_kind;
  enum py_linetable_kind linetable_kind;
  enum py_instr_kind instr_kind;

  /* _PyRuntimeState */
  int32_t runtime_size;              /* bytes to read for the fields below */
  int32_t runtime_interpreters_head; /* PyInterpreterState *interpreters.head */
  int32_t runtime_finalizing;        /* tstate/flag, non-zero while finalizing; PYL_NONE if absent */
  int32_t runtime_gil_locked;        /* 3.8-3.11: ceval.gil.locked (int) inside runtime */
  int32_t runtime_gil_holder;        /* 3.8-3.11: ceval.gil.last_holder (tstate*) inside runtime */

  /* PyInterpreterState */
  int32_t interp_size;
  int32_t interp_next;
  int32_t interp_threads_head;
  int32_t interp_gil_ptr;    /* 3.12+: struct _gil_runtime_state *ceval.gil; else PYL_NONE */
  int32_t gil_locked;        /* 3.12+: offset of locked in _gil_runtime_state */
  int32_t gil_holder;        /* 3.12+: offset of last_holder in _gil_runtime_state */
  int32_t interp_modules;    /* 3.13+: sys.modules (imports.modules), from _Py_DebugOffsets;
                                0 in the built-in tables (thread_names has its own data) */

  /* PyThreadState */
  int32_t tstate_size;
  int32_t tstate_next;
  int32_t tstate_interp;
  int32_t tstate_thread_id;        /* unsigned long thread_id (pthread_t) */
  int32_t tstate_native_thread_id; /* unsigned long, 3.11+; PYL_NONE before */
  int32_t tstate_frame;            /* 3.8-3.10 frame, 3.11-3.12 cframe, 3.13+ current_frame */
  int32_t cframe_current_frame;    /* 3.11-3.12: _PyCFrame.current_frame; PYL_NONE when
                                      tstate_frame already points at the frame */
  int32_t tstate_datastack_chunk;  /* 3.11+: _PyStackChunk *datastack_chunk; else PYL_NONE */
  int32_t tstate_datastack_top;    /* 3.11+: PyObject **datastack_top (first free slot of the
                                      current chunk): frames of the thread lie below it */

  /* Frame (PyFrameObject for PY_FRAME_OBJECT, _PyInterpreterFrame otherwise) */
  int32_t frame_size;      /* bytes to read to cover every field below */
  int32_t frame_previous;  /* f_back / previous */
  int32_t frame_code;      /* f_code / f_executable */
  int32_t frame_instr;     /* f_lasti (int) or prev_instr / instr_ptr (pointer), per instr_kind */
  int32_t frame_owner;     /* char owner; PYL_NONE when frames have no owner */
  uint32_t owner_skip_mask;  /* bit (1u << owner) set: frame is not Python code (C stack shim) */
  uint32_t owner_gen_mask;   /* bit (1u << owner) set: frame of a generator/coroutine (3.11+) */
  uint32_t owner_end_mask;   /* bit (1u << owner) set: a frame a thread's chain may end at
                                (3.13+: the entry shim of the first C-to-Python call);
                                0: not checked (3.8-3.12 have no such frame) */
  uint64_t code_tag_mask;  /* bits to clear from frame_code (3.14 _PyStackRef tag); 0 if none */

  /* PyCodeObject */
  int32_t code_size;        /* bytes to read to cover every field below */
  int32_t code_filename;    /* PyObject *co_filename (str) */
  int32_t code_name;        /* PyObject *co_name (str) */
  int32_t code_qualname;    /* PyObject *co_qualname (str), 3.11+; PYL_NONE before */
  int32_t code_firstlineno; /* int co_firstlineno */
  int32_t code_linetable;   /* PyObject *co_lnotab (3.8-3.9) / co_linetable (bytes) */
  int32_t code_adaptive;    /* 3.11+: offset of co_code_adaptive (first code unit) */

  /* Free-threaded 3.14+: thread-local bytecode. A frame whose int32
   * tlbc_index is i > 0 runs the copy code->co_tlbc->entries[i] (a
   * _PyCodeArray: Py_ssize_t size, then char *entries[]), not
   * co_code_adaptive. All three are 0 when the build has none: none of them
   * can be 0 in a build that has them. */
  int32_t frame_tlbc_index;  /* int32 tlbc_index in the frame */
  int32_t code_tlbc;         /* _PyCodeArray *co_tlbc in the code object */
  int32_t codearray_entries; /* offset of entries[] in _PyCodeArray */

  /* PyObject / PyVarObject / PyBytesObject */
  int32_t ob_type;       /* PyTypeObject *ob_type */
  int32_t var_ob_size;   /* Py_ssize_t ob_size */
  int32_t bytes_ob_sval; /* char ob_sval[] */

  /* PyUnicodeObject (PEP 393) */
  int32_t unicode_state;        /* offset of the state bitfield word (uint32) */
  int32_t unicode_length;       /* Py_ssize_t length (code points) */
  int32_t unicode_ascii_size;   /* sizeof(PyASCIIObject): compact ASCII data starts here */
  int32_t unicode_compact_size; /* sizeof(PyCompactUnicodeObject): compact non-ASCII data */
  uint8_t state_kind_shift;     /* kind = (state >> shift) & 7 */
  uint8_t state_compact_shift;  /* compact = (state >> shift) & 1 */
  uint8_t state_ascii_shift;    /* ascii = (state >> shift) & 1 */
};

/* The compiled-in table for major.minor (3.8-3.12), or NULL. */
const struct py_layout *layout_builtin(int major, int minor);

/* The generated data behind layout_builtin() (src/python/layout_tables.c,
 * written by tools/gen-layout.sh). Callers use layout_builtin(); the
 * cross-check tables (3.13+, same generator) are for tests only: pyprof takes
 * 3.13+ layouts from _Py_DebugOffsets. */
extern const struct py_layout py_layout_tables[];
extern const size_t py_layout_table_count;
extern const struct py_layout py_layout_crosscheck_tables[];
extern const size_t py_layout_crosscheck_count;

/* Bytes the caller reads from the start of _PyRuntime and hands to
 * layout_from_debug_offsets (larger than any known _Py_DebugOffsets). */
#define PY_DEBUG_OFFSETS_READ 2048

/* Fill *out from the raw bytes of a target's _Py_DebugOffsets (found at the
 * start of _PyRuntime on 3.13+). The bytes are untrusted: cookie, version and
 * every offset/size are validated. PP_ELAYOUT with a reason in why (may be
 * NULL, whylen bytes) when they do not validate, PP_EUNSUPPORTED for a
 * version without a known _Py_DebugOffsets layout (not 3.x,
 * 3.x < 13, 3.13 before rc2, or a newer minor whose table does not match the
 * newest known layout), PP_EINVAL when len is shorter than the layout.
 * On 0, why is empty or holds a warning to show the user (a minor newer than
 * pyprof knows that still validated, or a pre-release). *out is written only
 * on success. Free-threaded builds (free_threaded = 1) are described too:
 * their layout has free_threaded set, no GIL, and thread-local bytecode
 * offsets on 3.14+. */
int layout_from_debug_offsets(const void *bytes, size_t len, struct py_layout *out,
                              char *why, size_t whylen);

#endif
