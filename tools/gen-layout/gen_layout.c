/* gen_layout: print the struct py_layout initializer for the CPython version
 * whose internal headers this file is compiled against.
 *
 * Development tool only (run by tools/gen-layout.sh, never linked into
 * pyprof). Build, e.g. for 3.11:
 *   cc -DPy_BUILD_CORE -I$P/include/python3.11 -I$P/include/python3.11/internal \
 *      tools/gen-layout/gen_layout.c -o gen_layout
 * Every number printed comes from offsetof()/sizeof or from probing a local
 * object, so the table is exactly what this version's compiler sees. Version
 * #ifs are fine here: they pick field names, the output is plain data. */
#include <Python.h>

#if PY_VERSION_HEX < 0x03080000 || PY_VERSION_HEX >= 0x030F0000
#error "gen_layout supports CPython 3.8-3.14"
#endif

#if PY_VERSION_HEX < 0x03090000
#include "pycore_pystate.h" /* _PyRuntimeState, PyInterpreterState (3.8) */
#else
#include "pycore_interp.h"
#include "pycore_runtime.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "pycore_code.h"
#include "pycore_frame.h"
#else
#include <frameobject.h>
#endif
#if PY_VERSION_HEX >= 0x030C0000
#include "pycore_gil.h"
#endif
#if PY_VERSION_HEX >= 0x030E0000
#include "pycore_stackref.h" /* Py_TAG_BITS: tag bits of _PyStackRef f_executable */
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FSIZE(T, f) sizeof(((T *)0)->f)
#define FEND(T, f) ((long)(offsetof(T, f) + FSIZE(T, f)))

static long max_end;
static void cover(long end) {
  if (end > max_end)
    max_end = end;
}

static void field(const char *name, long off) { printf("    .%s = %ld,\n", name, off); }
static void none(const char *name) { printf("    .%s = PYL_NONE,\n", name); }

/* Position of the lowest set bit of the state word after setting one
 * bitfield, plus a check that the field has the expected width. */
static unsigned state_word(const PyASCIIObject *o) {
  uint32_t w;
  memcpy(&w, (const char *)o + offsetof(PyASCIIObject, state), sizeof w);
  return w;
}

static int lowest_bit(uint32_t w) {
  for (int i = 0; i < 32; i++)
    if (w & (1u << i))
      return i;
  return -1;
}

int main(void) {
  int minor = PY_MINOR_VERSION;
  printf("  {\n");
  printf("    .major = %d, .minor = %d, .micro = %d,\n", PY_MAJOR_VERSION, PY_MINOR_VERSION,
         PY_MICRO_VERSION);
#ifdef Py_GIL_DISABLED
  printf("    .free_threaded = 1,\n");
#else
  printf("    .free_threaded = 0,\n");
#endif
  printf("    .source = \"built-in table generated from CPython %s headers\",\n", PY_VERSION);
  printf("    .frame_kind = %s,\n", minor <= 10 ? "PY_FRAME_OBJECT" : "PY_FRAME_INTERP");
  printf("    .linetable_kind = %s,\n",
         minor <= 9 ? "PY_LINETABLE_LNOTAB" : minor == 10 ? "PY_LINETABLE_310" : "PY_LINETABLE_LOCATIONS");
  printf("    .instr_kind = %s,\n",
         minor <= 9    ? "PY_INSTR_LASTI_BYTES"
         : minor == 10 ? "PY_INSTR_LASTI_UNITS"
         : minor <= 12 ? "PY_INSTR_PREV_PTR"
                       : "PY_INSTR_PTR");

  /* _PyRuntimeState: only the fields pyprof reads are covered. */
  printf("\n    /* _PyRuntimeState */\n");
  max_end = 0;
  cover(FEND(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX < 0x03090000
  cover(FEND(_PyRuntimeState, finalizing));
#else
  cover(FEND(_PyRuntimeState, _finalizing));
#endif
#if PY_VERSION_HEX < 0x030C0000
  cover(FEND(_PyRuntimeState, ceval.gil.locked));
  cover(FEND(_PyRuntimeState, ceval.gil.last_holder));
#endif
  field("runtime_size", max_end);
  field("runtime_interpreters_head", (long)offsetof(_PyRuntimeState, interpreters.head));
#if PY_VERSION_HEX < 0x03090000
  field("runtime_finalizing", (long)offsetof(_PyRuntimeState, finalizing));
#else
  field("runtime_finalizing", (long)offsetof(_PyRuntimeState, _finalizing));
#endif
#if PY_VERSION_HEX < 0x030C0000
  field("runtime_gil_locked", (long)offsetof(_PyRuntimeState, ceval.gil.locked));
  field("runtime_gil_holder", (long)offsetof(_PyRuntimeState, ceval.gil.last_holder));
#else
  none("runtime_gil_locked");
  none("runtime_gil_holder");
#endif

  printf("\n    /* PyInterpreterState */\n");
  max_end = 0;
  cover(FEND(PyInterpreterState, next));
#if PY_VERSION_HEX < 0x030B0000
  cover(FEND(PyInterpreterState, tstate_head));
#else
  cover(FEND(PyInterpreterState, threads.head));
#endif
#if PY_VERSION_HEX >= 0x030C0000
  cover(FEND(PyInterpreterState, ceval.gil));
#endif
  field("interp_size", max_end);
  field("interp_next", (long)offsetof(PyInterpreterState, next));
#if PY_VERSION_HEX < 0x030B0000
  field("interp_threads_head", (long)offsetof(PyInterpreterState, tstate_head));
#else
  field("interp_threads_head", (long)offsetof(PyInterpreterState, threads.head));
#endif
#if PY_VERSION_HEX >= 0x030C0000
  field("interp_gil_ptr", (long)offsetof(PyInterpreterState, ceval.gil));
  field("gil_locked", (long)offsetof(struct _gil_runtime_state, locked));
  field("gil_holder", (long)offsetof(struct _gil_runtime_state, last_holder));
#else
  none("interp_gil_ptr");
  none("gil_locked");
  none("gil_holder");
#endif

  printf("\n    /* PyThreadState */\n");
  max_end = 0;
  cover(FEND(PyThreadState, next));
  cover(FEND(PyThreadState, interp));
  cover(FEND(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
  cover(FEND(PyThreadState, native_thread_id));
  cover(FEND(PyThreadState, datastack_chunk));
  cover(FEND(PyThreadState, datastack_top));
#endif
#if PY_VERSION_HEX >= 0x030D0000
  cover(FEND(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030B0000
  cover(FEND(PyThreadState, cframe));
#else
  cover(FEND(PyThreadState, frame));
#endif
  field("tstate_size", max_end);
  field("tstate_next", (long)offsetof(PyThreadState, next));
  field("tstate_interp", (long)offsetof(PyThreadState, interp));
  field("tstate_thread_id", (long)offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
  field("tstate_native_thread_id", (long)offsetof(PyThreadState, native_thread_id));
#else
  none("tstate_native_thread_id");
#endif
#if PY_VERSION_HEX >= 0x030D0000
  field("tstate_frame", (long)offsetof(PyThreadState, current_frame));
  none("cframe_current_frame");
#elif PY_VERSION_HEX >= 0x030B0000
  field("tstate_frame", (long)offsetof(PyThreadState, cframe));
  field("cframe_current_frame", (long)offsetof(_PyCFrame, current_frame));
#else
  field("tstate_frame", (long)offsetof(PyThreadState, frame));
  none("cframe_current_frame");
#endif
#if PY_VERSION_HEX >= 0x030B0000
  field("tstate_datastack_chunk", (long)offsetof(PyThreadState, datastack_chunk));
  field("tstate_datastack_top", (long)offsetof(PyThreadState, datastack_top));
#else
  none("tstate_datastack_chunk");
  none("tstate_datastack_top");
#endif

  printf("\n    /* frame */\n");
  max_end = 0;
#if PY_VERSION_HEX < 0x030B0000
  cover(FEND(PyFrameObject, f_back));
  cover(FEND(PyFrameObject, f_code));
  cover(FEND(PyFrameObject, f_lasti));
  field("frame_size", max_end);
  field("frame_previous", (long)offsetof(PyFrameObject, f_back));
  field("frame_code", (long)offsetof(PyFrameObject, f_code));
  field("frame_instr", (long)offsetof(PyFrameObject, f_lasti));
  none("frame_owner");
  printf("    .owner_skip_mask = 0,\n");
  printf("    .owner_gen_mask = 0,\n");
  printf("    .code_tag_mask = 0,\n");
#else
  cover(FEND(_PyInterpreterFrame, previous));
  cover(FEND(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX >= 0x030D0000
  cover(FEND(_PyInterpreterFrame, f_executable));
  cover(FEND(_PyInterpreterFrame, instr_ptr));
#else
  cover(FEND(_PyInterpreterFrame, f_code));
  cover(FEND(_PyInterpreterFrame, prev_instr));
#endif
  field("frame_size", max_end);
  field("frame_previous", (long)offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
  field("frame_code", (long)offsetof(_PyInterpreterFrame, f_executable));
  field("frame_instr", (long)offsetof(_PyInterpreterFrame, instr_ptr));
#else
  field("frame_code", (long)offsetof(_PyInterpreterFrame, f_code));
  field("frame_instr", (long)offsetof(_PyInterpreterFrame, prev_instr));
#endif
  field("frame_owner", (long)offsetof(_PyInterpreterFrame, owner));
  {
    unsigned mask = 0;
    const char *names = "none";
#if PY_VERSION_HEX >= 0x030E0000
    mask = (1u << FRAME_OWNED_BY_CSTACK) | (1u << FRAME_OWNED_BY_INTERPRETER);
    names = "FRAME_OWNED_BY_CSTACK | FRAME_OWNED_BY_INTERPRETER";
#elif PY_VERSION_HEX >= 0x030C0000
    mask = 1u << FRAME_OWNED_BY_CSTACK;
    names = "FRAME_OWNED_BY_CSTACK";
#endif
    printf("    .owner_skip_mask = 0x%xu, /* %s */\n", mask, names);
    printf("    .owner_gen_mask = 0x%xu, /* FRAME_OWNED_BY_GENERATOR */\n",
           1u << FRAME_OWNED_BY_GENERATOR);
  }
#if PY_VERSION_HEX >= 0x030E0000
  printf("    .code_tag_mask = 0x%llx, /* _PyStackRef Py_TAG_BITS */\n",
         (unsigned long long)Py_TAG_BITS);
#else
  printf("    .code_tag_mask = 0,\n");
#endif
#endif

  printf("\n    /* PyCodeObject */\n");
  max_end = 0;
  cover(FEND(PyCodeObject, co_filename));
  cover(FEND(PyCodeObject, co_name));
  cover(FEND(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030B0000
  cover(FEND(PyCodeObject, co_qualname));
#endif
#if PY_VERSION_HEX >= 0x030A0000
  cover(FEND(PyCodeObject, co_linetable));
#else
  cover(FEND(PyCodeObject, co_lnotab));
#endif
  field("code_size", max_end);
  field("code_filename", (long)offsetof(PyCodeObject, co_filename));
  field("code_name", (long)offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030B0000
  field("code_qualname", (long)offsetof(PyCodeObject, co_qualname));
#else
  none("code_qualname");
#endif
  field("code_firstlineno", (long)offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030A0000
  field("code_linetable", (long)offsetof(PyCodeObject, co_linetable));
#else
  field("code_linetable", (long)offsetof(PyCodeObject, co_lnotab));
#endif
#if PY_VERSION_HEX >= 0x030B0000
  field("code_adaptive", (long)offsetof(PyCodeObject, co_code_adaptive));
#else
  none("code_adaptive");
#endif

  printf("\n    /* PyObject, PyVarObject, PyBytesObject */\n");
  field("ob_type", (long)offsetof(PyObject, ob_type));
  field("var_ob_size", (long)offsetof(PyVarObject, ob_size));
  field("bytes_ob_sval", (long)offsetof(PyBytesObject, ob_sval));

  printf("\n    /* PyUnicodeObject */\n");
  field("unicode_state", (long)offsetof(PyASCIIObject, state));
  field("unicode_length", (long)offsetof(PyASCIIObject, length));
  field("unicode_ascii_size", (long)sizeof(PyASCIIObject));
  field("unicode_compact_size", (long)sizeof(PyCompactUnicodeObject));
  {
    PyASCIIObject o;
    int kind, compact, ascii;
    if (FSIZE(PyASCIIObject, state) < 4) {
      fprintf(stderr, "gen_layout: state word smaller than 4 bytes\n");
      return 1;
    }
    memset(&o, 0, sizeof o);
    o.state.kind = 7;
    kind = lowest_bit(state_word(&o));
    if (kind < 0 || state_word(&o) != (7u << kind)) {
      fprintf(stderr, "gen_layout: kind is not a 3-bit field of the state word\n");
      return 1;
    }
    memset(&o, 0, sizeof o);
    o.state.compact = 1;
    compact = lowest_bit(state_word(&o));
    memset(&o, 0, sizeof o);
    o.state.ascii = 1;
    ascii = lowest_bit(state_word(&o));
    if (compact < 0 || ascii < 0) {
      fprintf(stderr, "gen_layout: compact/ascii bits not found in the state word\n");
      return 1;
    }
    printf("    .state_kind_shift = %d,\n", kind);
    printf("    .state_compact_shift = %d,\n", compact);
    printf("    .state_ascii_shift = %d,\n", ascii);
  }
  printf("  }");
  return 0;
}
