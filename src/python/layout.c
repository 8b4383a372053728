/* Interpreter layouts: the generated 3.8-3.12 tables, and 3.13+ layouts read
 * from the target's own _Py_DebugOffsets.
 *
 * _Py_DebugOffsets (at the start of _PyRuntime on 3.13+) is a cookie, two
 * uint64 (version = PY_VERSION_HEX, free_threaded), then named sections of
 * uint64 values: each section starts with the size of the struct it describes
 * (except a few, such as llist_node and debugger_support) followed by offsets
 * into it. Sections and fields change between minors (3.15 inserted fields
 * into thread_state and a section after it), so each known minor's
 * _Py_DebugOffsets is described as data, generated from that version's own
 * headers by tools/gen-dbg-offsets.py (layout_dbg_tables.c: section and
 * field names in declaration order, checked with offsetof, plus the facts the
 * struct does not carry); a value is located by name.
 *
 * The bytes come from another process and are untrusted. Checks, in order:
 *  - buffer long enough for the version's description (else PP_EINVAL);
 *  - cookie "xdebugpy" (else PP_ELAYOUT);
 *  - version: major 3, minor >= 13; 3.13 before rc2 used an older layout and
 *    is refused (PP_EUNSUPPORTED). A minor newer than any described here is
 *    tried with the newest description and accepted only if every check
 *    below passes, including the fingerprints; rc 0 then comes with a warning
 *    in why (the caller then also checks it against live memory: thread
 *    states that point back at their interpreter, a frame chain that ends,
 *    code objects of the code type). A newer minor that inserted fields
 *    fails the size and fingerprint checks and is refused with
 *    PP_EUNSUPPORTED, naming the version;
 *  - free_threaded must be 0 or 1; a free-threaded build (1) takes the
 *    description's free-threaded facts (str state bits, _PyStackRef tag
 *    bits, thread-local bytecode) and has no GIL to follow;
 *  - every section size used is in (0, DBG_MAX_*] and every offset read lies
 *    with its full width inside its section's size (PP_ELAYOUT);
 *  - fingerprints that hold for every supported build: PyObject ends right
 *    after ob_type, PyBytesObject's ob_sval is its last member (at most 8
 *    bytes of padding), PyUnicodeObject = PyASCIIObject + 16 + data pointer
 *    (PP_ELAYOUT).
 * Non-final releases (alpha/beta/rc) that validate are accepted with a
 * warning in why, since their layout may differ from the final one.
 *
 * Facts not in _Py_DebugOffsets come from the per-minor constants in
 * struct dbg_desc (each documented there). */
#include "pyprof/python/layout.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "layout_dbg.h"

const struct py_layout *layout_builtin(int major, int minor) {
  for (size_t i = 0; i < py_layout_table_count; i++) {
    const struct py_layout *t = &py_layout_tables[i];
    if (t->major == major && t->minor == minor)
      return t;
  }
  return NULL;
}

/* ---- descriptions of _Py_DebugOffsets ---------------------------------- */

#define DBG_HEADER 24 /* cookie[8], version, free_threaded */
#define DBG_COOKIE "xdebugpy"
/* Bounds on struct sizes: _PyRuntimeState/PyInterpreterState are ~280 KB /
 * ~190 KB on 3.13; everything else we read is under 1 KB. */
#define DBG_MAX_BIG ((uint64_t)4 << 20)
#define DBG_MAX_SMALL ((uint64_t)64 << 10)

/* ---- reading and validating -------------------------------------------- */

struct dbg_ctx {
  const unsigned char *b;     /* borrowed: caller's bytes, len of them */
  size_t len;
  const struct dbg_desc *d;   /* borrowed: static description */
  const struct dbg_facts *f;  /* borrowed: d's facts for this build kind */
  char *why;                  /* borrowed: caller's reason buffer (may be NULL) */
  size_t whylen;
};

static void say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t whylen, const char *fmt, ...) {
  if (!why || whylen == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, whylen, fmt, ap);
  va_end(ap);
}

static size_t desc_bytes(const struct dbg_desc *d) {
  size_t n = 0;
  for (size_t i = 0; i < d->nsections; i++)
    n += d->sections[i].nfields;
  return DBG_HEADER + 8 * n;
}

/* The uint64 named sec.field. PP_ELAYOUT if the description lacks it (a
 * pyprof bug, reported rather than asserted). */
static int dbg_u64(const struct dbg_ctx *c, const char *sec, const char *field, uint64_t *out) {
  size_t slot = 0;
  for (size_t i = 0; i < c->d->nsections; i++) {
    const struct dbg_section *s = &c->d->sections[i];
    if (strcmp(s->name, sec) != 0) {
      slot += s->nfields;
      continue;
    }
    for (size_t j = 0; j < s->nfields; j++) {
      if (strcmp(s->fields[j], field) == 0) {
        size_t at = DBG_HEADER + 8 * (slot + j);
        if (at + 8 > c->len) {
          say(c->why, c->whylen, "_Py_DebugOffsets truncated at %s.%s", sec, field);
          return PP_EINVAL;
        }
        memcpy(out, c->b + at, sizeof *out);
        return 0;
      }
    }
    break;
  }
  say(c->why, c->whylen, "no %s.%s in the 3.%d _Py_DebugOffsets description", sec, field,
      c->d->minor);
  return PP_ELAYOUT;
}

/* The size of section sec, which must be in [1, max]. */
static int dbg_size(const struct dbg_ctx *c, const char *sec, uint64_t max, uint64_t *out) {
  int rc = dbg_u64(c, sec, "size", out);
  if (rc < 0)
    return rc;
  if (*out == 0 || *out > max) {
    say(c->why, c->whylen, "_Py_DebugOffsets: implausible %s.size %" PRIu64 " (limit %" PRIu64 ")",
        sec, *out, max);
    return PP_ELAYOUT;
  }
  return 0;
}

/* Offset sec.field, which must lie with width bytes inside size; grows *cover
 * (bytes needed to read every field used) when cover is not NULL. */
static int dbg_off(const struct dbg_ctx *c, const char *sec, const char *field, uint64_t size,
                   unsigned width, int32_t *out, int32_t *cover) {
  uint64_t v;
  int rc = dbg_u64(c, sec, field, &v);
  if (rc < 0)
    return rc;
  if (v >= size || size - v < width) {
    say(c->why, c->whylen,
        "_Py_DebugOffsets: %s.%s = %" PRIu64 " does not fit in %s.size %" PRIu64, sec, field, v,
        sec, size);
    return PP_ELAYOUT;
  }
  *out = (int32_t)v; /* size <= DBG_MAX_BIG, so v fits */
  if (cover && (int32_t)(v + width) > *cover)
    *cover = (int32_t)(v + width);
  return 0;
}

static const struct dbg_desc *desc_for_minor(int minor) {
  for (size_t i = 0; i < py_dbg_desc_count; i++)
    if (py_dbg_descs[i].minor == minor)
      return &py_dbg_descs[i];
  return NULL;
}

static int fill_runtime(const struct dbg_ctx *c, struct py_layout *L) {
  uint64_t sz;
  int rc = dbg_size(c, "runtime_state", DBG_MAX_BIG, &sz);
  if (rc == 0)
    rc = dbg_off(c, "runtime_state", "interpreters_head", sz, 8, &L->runtime_interpreters_head,
                 &L->runtime_size);
  if (rc == 0)
    rc = dbg_off(c, "runtime_state", "finalizing", sz, 8, &L->runtime_finalizing,
                 &L->runtime_size);
  L->runtime_gil_locked = PYL_NONE;
  L->runtime_gil_holder = PYL_NONE;
  return rc;
}

static int fill_interp(const struct dbg_ctx *c, struct py_layout *L) {
  const char *S = "interpreter_state";
  uint64_t sz;
  int32_t gil = 0, locked = 0, holder = 0;
  int rc = dbg_size(c, S, DBG_MAX_BIG, &sz);
  if (rc == 0)
    rc = dbg_off(c, S, "next", sz, 8, &L->interp_next, &L->interp_size);
  if (rc == 0)
    rc = dbg_off(c, S, "threads_head", sz, 8, &L->interp_threads_head, &L->interp_size);
  if (rc == 0)
    rc = dbg_off(c, S, "ceval_gil", sz, 8, &L->interp_gil_ptr, &L->interp_size);
  /* Read on its own (thread names), not with the interpreter's fields. */
  if (rc == 0)
    rc = dbg_off(c, S, "imports_modules", sz, 8, &L->interp_modules, NULL);
  /* The embedded _gil (interp->_gil) gives the offsets inside struct
   * _gil_runtime_state; interp->ceval.gil points at the one in use. */
  if (rc == 0)
    rc = dbg_off(c, S, "gil_runtime_state", sz, 1, &gil, NULL);
  if (rc == 0)
    rc = dbg_off(c, S, "gil_runtime_state_locked", sz, 4, &locked, NULL);
  if (rc == 0)
    rc = dbg_off(c, S, "gil_runtime_state_holder", sz, 8, &holder, NULL);
  if (rc < 0)
    return rc;
  if (locked < gil || holder < gil || locked - gil > 1024 || holder - gil > 1024) {
    say(c->why, c->whylen,
        "_Py_DebugOffsets: GIL fields (locked %d, last_holder %d) not inside the GIL state at %d",
        (int)locked, (int)holder, (int)gil);
    return PP_ELAYOUT;
  }
  L->gil_locked = locked - gil;
  L->gil_holder = holder - gil;
  return 0;
}

static int fill_tstate(const struct dbg_ctx *c, struct py_layout *L) {
  const char *S = "thread_state";
  uint64_t sz;
  int rc = dbg_size(c, S, DBG_MAX_SMALL, &sz);
  if (rc == 0)
    rc = dbg_off(c, S, "next", sz, 8, &L->tstate_next, &L->tstate_size);
  if (rc == 0)
    rc = dbg_off(c, S, "interp", sz, 8, &L->tstate_interp, &L->tstate_size);
  if (rc == 0)
    rc = dbg_off(c, S, "thread_id", sz, 8, &L->tstate_thread_id, &L->tstate_size);
  if (rc == 0)
    rc = dbg_off(c, S, "native_thread_id", sz, 8, &L->tstate_native_thread_id,
                 &L->tstate_size);
  if (rc == 0)
    rc = dbg_off(c, S, "current_frame", sz, 8, &L->tstate_frame, &L->tstate_size);
  if (rc == 0)
    rc = dbg_off(c, S, "datastack_chunk", sz, 8, &L->tstate_datastack_chunk, &L->tstate_size);
  /* Not in _Py_DebugOffsets: where datastack_top lies from datastack_chunk
   * (the description's fact, from Include/cpython/pystate.h). Only a hint
   * for reading frames in bulk: a wrong value costs speed, not correctness,
   * since frames outside the window are read one by one. */
  int32_t delta = c->f->datastack_top_delta;
  if (rc == 0 && delta >= 8 && L->tstate_datastack_chunk + delta + 8 <= (int64_t)sz) {
    L->tstate_datastack_top = L->tstate_datastack_chunk + delta;
    if (L->tstate_size < L->tstate_datastack_top + 8)
      L->tstate_size = L->tstate_datastack_top + 8;
  } else {
    L->tstate_datastack_top = PYL_NONE;
  }
  L->cframe_current_frame = PYL_NONE;
  return rc;
}

static int fill_frame_code(const struct dbg_ctx *c, struct py_layout *L) {
  uint64_t sz;
  int rc = dbg_size(c, "interpreter_frame", DBG_MAX_SMALL, &sz);
  if (rc == 0)
    rc = dbg_off(c, "interpreter_frame", "previous", sz, 8, &L->frame_previous, &L->frame_size);
  if (rc == 0)
    rc = dbg_off(c, "interpreter_frame", "executable", sz, 8, &L->frame_code, &L->frame_size);
  if (rc == 0)
    rc = dbg_off(c, "interpreter_frame", "instr_ptr", sz, 8, &L->frame_instr, &L->frame_size);
  if (rc == 0)
    rc = dbg_off(c, "interpreter_frame", "owner", sz, 1, &L->frame_owner, &L->frame_size);
  if (rc < 0)
    return rc;

  const char *S = "code_object";
  rc = dbg_size(c, S, DBG_MAX_SMALL, &sz);
  if (rc == 0)
    rc = dbg_off(c, S, "filename", sz, 8, &L->code_filename, &L->code_size);
  if (rc == 0)
    rc = dbg_off(c, S, "name", sz, 8, &L->code_name, &L->code_size);
  if (rc == 0)
    rc = dbg_off(c, S, "qualname", sz, 8, &L->code_qualname, &L->code_size);
  if (rc == 0)
    rc = dbg_off(c, S, "firstlineno", sz, 4, &L->code_firstlineno, &L->code_size);
  if (rc == 0)
    rc = dbg_off(c, S, "linetable", sz, 8, &L->code_linetable, &L->code_size);
  /* co_code_adaptive is an address base, not read: it only has to exist. */
  if (rc == 0)
    rc = dbg_off(c, S, "co_code_adaptive", sz, 1, &L->code_adaptive, NULL);
  if (rc < 0 || c->f->codearray_entries == 0)
    return rc;
  /* Free-threaded 3.14+: a thread may run its own copy of the bytecode
   * (frame->tlbc_index selects code->co_tlbc->entries[i]). Both offsets are
   * non-zero in every such build (a frame starts with previous/executable, a
   * code object with its PyObject header), which py_layout relies on. */
  if (c->f->codearray_entries < 8 || c->f->codearray_entries > 64) {
    say(c->why, c->whylen, "3.%d description: implausible _PyCodeArray entries offset %d",
        c->d->minor, (int)c->f->codearray_entries);
    return PP_ELAYOUT;
  }
  rc = dbg_off(c, S, "co_tlbc", sz, 8, &L->code_tlbc, NULL);
  if (rc == 0) {
    uint64_t fsz;
    rc = dbg_size(c, "interpreter_frame", DBG_MAX_SMALL, &fsz);
    if (rc == 0)
      rc = dbg_off(c, "interpreter_frame", "tlbc_index", fsz, 4, &L->frame_tlbc_index,
                   &L->frame_size);
  }
  if (rc == 0 && (L->code_tlbc == 0 || L->frame_tlbc_index == 0)) {
    say(c->why, c->whylen, "_Py_DebugOffsets: free-threaded build without thread-local "
        "bytecode offsets (co_tlbc %d, tlbc_index %d)", (int)L->code_tlbc,
        (int)L->frame_tlbc_index);
    rc = PP_ELAYOUT;
  }
  L->codearray_entries = c->f->codearray_entries;
  return rc;
}

static int fill_objects(const struct dbg_ctx *c, struct py_layout *L) {
  uint64_t osz, bsz, usz, ascii;
  int rc = dbg_size(c, "pyobject", DBG_MAX_SMALL, &osz);
  if (rc == 0)
    rc = dbg_off(c, "pyobject", "ob_type", osz, 8, &L->ob_type, NULL);
  if (rc == 0)
    rc = dbg_size(c, "bytes_object", DBG_MAX_SMALL, &bsz);
  if (rc == 0)
    rc = dbg_off(c, "bytes_object", "ob_size", bsz, 8, &L->var_ob_size, NULL);
  if (rc == 0)
    rc = dbg_off(c, "bytes_object", "ob_sval", bsz, 1, &L->bytes_ob_sval, NULL);
  if (rc == 0)
    rc = dbg_size(c, "unicode_object", DBG_MAX_SMALL, &usz);
  if (rc == 0)
    rc = dbg_off(c, "unicode_object", "state", usz, 4, &L->unicode_state, NULL);
  if (rc == 0)
    rc = dbg_off(c, "unicode_object", "length", usz, 8, &L->unicode_length, NULL);
  if (rc == 0)
    rc = dbg_u64(c, "unicode_object", "asciiobject_size", &ascii);
  if (rc < 0)
    return rc;

  /* Fingerprints (see the top of the file). */
  if ((uint64_t)L->ob_type + 8 != osz) {
    say(c->why, c->whylen, "_Py_DebugOffsets: PyObject size %" PRIu64 " with ob_type at %d",
        osz, (int)L->ob_type);
    return PP_ELAYOUT;
  }
  /* ob_size (8 bytes) must end by ob_sval: pybytes_read reads the header up
   * to ob_sval and ob_size from it. Only ob_size < ob_sval was checked before,
   * which let an overlapping ob_size through (found by fuzz_layout_dbg,
   * corpus regress-bytes-ob-size-overlap): every line table then failed to
   * read instead of the layout being refused. */
  if (bsz - (uint64_t)L->bytes_ob_sval > 8 || (int64_t)L->var_ob_size + 8 > L->bytes_ob_sval) {
    say(c->why, c->whylen,
        "_Py_DebugOffsets: PyBytesObject size %" PRIu64 ", ob_size at %d, ob_sval at %d", bsz,
        (int)L->var_ob_size, (int)L->bytes_ob_sval);
    return PP_ELAYOUT;
  }
  if (ascii < (uint64_t)L->unicode_length + 8 || ascii < (uint64_t)L->unicode_state + 4 ||
      ascii + (uint64_t)c->f->compact_extra + 8 != usz) {
    say(c->why, c->whylen,
        "_Py_DebugOffsets: PyASCIIObject size %" PRIu64 " inconsistent with PyUnicodeObject "
        "size %" PRIu64,
        ascii, usz);
    return PP_ELAYOUT;
  }
  L->unicode_ascii_size = (int32_t)ascii;
  L->unicode_compact_size = (int32_t)ascii + c->f->compact_extra;
  L->state_kind_shift = c->f->kind_shift;
  L->state_compact_shift = c->f->compact_shift;
  L->state_ascii_shift = c->f->ascii_shift;
  return 0;
}

int layout_from_debug_offsets(const void *bytes, size_t len, struct py_layout *out, char *why,
                              size_t whylen) {
  const unsigned char *b = bytes;
  uint64_t version, free_threaded;
  struct py_layout L;
  int rc = 0;

  say(why, whylen, "%s", "");
  if (!bytes || !out)
    return PP_EINVAL;
  if (len < DBG_HEADER) {
    say(why, whylen, "_Py_DebugOffsets truncated: %zu bytes", len);
    return PP_EINVAL;
  }
  if (memcmp(b, DBG_COOKIE, 8) != 0) {
    say(why, whylen, "no _Py_DebugOffsets cookie at the start of _PyRuntime");
    return PP_ELAYOUT;
  }
  memcpy(&version, b + 8, sizeof version);
  memcpy(&free_threaded, b + 16, sizeof free_threaded);
  unsigned major = (unsigned)(version >> 24) & 0xff, minor = (unsigned)(version >> 16) & 0xff;
  unsigned micro = (unsigned)(version >> 8) & 0xff, level = (unsigned)(version >> 4) & 0xf;
  if ((version >> 32) != 0 || major != 3) {
    say(why, whylen, "_Py_DebugOffsets version 0x%" PRIx64 " is not CPython 3", version);
    return PP_EUNSUPPORTED;
  }
  if (minor < 13) {
    say(why, whylen, "_Py_DebugOffsets claims Python 3.%u, which has none", minor);
    return PP_EUNSUPPORTED;
  }
  if (minor == 13 && (version & 0xffffu) < 0x00c2u) { /* micro 0, below rc2 */
    say(why, whylen, "Python 3.13.%u pre-release (0x%08" PRIx64 ") predates the 3.13rc2 "
        "_Py_DebugOffsets layout", micro, version);
    return PP_EUNSUPPORTED;
  }
  if (free_threaded > 1) {
    say(why, whylen, "_Py_DebugOffsets: free_threaded = %" PRIu64 " (0 or 1 expected)",
        free_threaded);
    return PP_ELAYOUT;
  }

  const struct dbg_desc *d = desc_for_minor((int)minor);
  int guessed = 0;
  if (!d) {
    d = &py_dbg_descs[py_dbg_desc_count - 1];
    guessed = 1;
  }
  if (len < desc_bytes(d)) {
    say(why, whylen, "_Py_DebugOffsets truncated: %zu bytes, the 3.%d layout has %zu", len,
        d->minor, desc_bytes(d));
    return PP_EINVAL;
  }

  memset(&L, 0, sizeof L);
  L.major = 3;
  L.minor = (uint8_t)minor;
  L.micro = (uint8_t)micro;
  L.free_threaded = (uint8_t)free_threaded;
  L.source = d->source;
  L.frame_kind = PY_FRAME_INTERP;
  L.linetable_kind = PY_LINETABLE_LOCATIONS;
  L.instr_kind = PY_INSTR_PTR;
  const struct dbg_facts *f = &d->facts[free_threaded];
  L.owner_skip_mask = f->owner_skip_mask;
  L.owner_gen_mask = f->owner_gen_mask;
  L.owner_end_mask = f->owner_end_mask;
  L.code_tag_mask = f->code_tag_mask;

  struct dbg_ctx c = {.b = b, .len = len, .d = d, .f = f, .why = why, .whylen = whylen};
  rc = fill_runtime(&c, &L);
  if (rc == 0)
    rc = fill_interp(&c, &L);
  if (rc == 0)
    rc = fill_tstate(&c, &L);
  if (rc == 0)
    rc = fill_frame_code(&c, &L);
  if (rc == 0)
    rc = fill_objects(&c, &L);
  if (rc == 0 && free_threaded) {
    /* No GIL to pick a thread by (the struct is there, but disabled unless
     * re-enabled at run time, which pyprof does not follow). */
    L.interp_gil_ptr = L.gil_locked = L.gil_holder = PYL_NONE;
  }
  if (rc < 0) {
    if (guessed && rc == PP_ELAYOUT) {
      char detail[160] = "";
      if (why)
        snprintf(detail, sizeof detail, "%s", why);
      say(why, whylen,
          "Python 3.%u: its _Py_DebugOffsets layout is unknown to this pyprof and does not "
          "match the 3.%d one (%s)",
          minor, d->minor, detail);
      return PP_EUNSUPPORTED;
    }
    return rc;
  }

  if (guessed)
    say(why, whylen,
        "Python 3.%u is newer than this pyprof knows; its _Py_DebugOffsets validated against "
        "the 3.%d layout, results may be wrong",
        minor, d->minor);
  else if (level != 0xf)
    say(why, whylen,
        "Python 3.%u.%u is a pre-release (0x%08" PRIx64 "); its layout may differ from the "
        "final release",
        minor, micro, version);
  *out = L;
  return 0;
}
