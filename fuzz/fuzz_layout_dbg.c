/* fuzz_layout_dbg: layout_from_debug_offsets on arbitrary bytes.
 *
 * The input is the start of a _PyRuntime (seeds: real 3.13 / 3.14 / 3.15
 * _Py_DebugOffsets and edited copies). It is validated four ways: as is; with
 * a reason buffer of a size picked from the input (0..16 bytes, or none);
 * with the length cut to each known description's size; and with a valid
 * header (cookie, a 3.13 / 3.14 / 3.15 / 3.16 version, free-threaded or not) written over
 * its first 24 bytes, so that mutations of the sections are not all stopped
 * by the header checks. Every result must be a known code; the reason must be
 * NUL-terminated inside its buffer; and whenever 0 is returned the layout must
 * satisfy what the frame walker and decoders rely on (check_layout). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pyprof/common/error.h"
#include "pyprof/python/layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BIG ((int64_t)4 << 20)
#define MAX_SMALL ((int64_t)64 << 10)

/* Field [off, off + width) inside a struct of size bytes. */
static void in(int32_t off, int width, int32_t size) {
  FUZZ_FAIL_IF(off < 0 || (int64_t)off + width > size);
}

static void check_layout(const struct py_layout *L) {
  FUZZ_FAIL_IF(L->major != 3 || L->minor < 13 || L->free_threaded > 1 || !L->source);
  FUZZ_FAIL_IF(L->frame_kind != PY_FRAME_INTERP || L->linetable_kind != PY_LINETABLE_LOCATIONS ||
               L->instr_kind != PY_INSTR_PTR);
  /* runtime */
  FUZZ_FAIL_IF(L->runtime_size <= 0 || L->runtime_size > MAX_BIG);
  in(L->runtime_interpreters_head, 8, L->runtime_size);
  in(L->runtime_finalizing, 8, L->runtime_size);
  FUZZ_FAIL_IF(L->runtime_gil_locked != PYL_NONE || L->runtime_gil_holder != PYL_NONE);
  /* interpreter: the walker reads head and next with one batch */
  FUZZ_FAIL_IF(L->interp_size <= 0 || L->interp_size > MAX_BIG);
  in(L->interp_next, 8, L->interp_size);
  in(L->interp_threads_head, 8, L->interp_size);
  if (L->free_threaded) {
    /* no GIL to follow */
    FUZZ_FAIL_IF(L->interp_gil_ptr != PYL_NONE || L->gil_locked != PYL_NONE ||
                 L->gil_holder != PYL_NONE);
  } else {
    in(L->interp_gil_ptr, 8, L->interp_size);
    FUZZ_FAIL_IF(L->gil_locked < 0 || L->gil_locked > 1024 || L->gil_holder < 0 ||
                 L->gil_holder > 1024);
  }
  FUZZ_FAIL_IF(L->interp_modules < 0 || L->interp_modules > MAX_BIG - 8); /* read on its own */
  /* thread state: one read of tstate_size bytes covers every field */
  FUZZ_FAIL_IF(L->tstate_size <= 0 || L->tstate_size > MAX_SMALL);
  in(L->tstate_next, 8, L->tstate_size);
  in(L->tstate_interp, 8, L->tstate_size);
  in(L->tstate_thread_id, 8, L->tstate_size);
  in(L->tstate_native_thread_id, 8, L->tstate_size);
  in(L->tstate_frame, 8, L->tstate_size);
  in(L->tstate_datastack_chunk, 8, L->tstate_size);
  if (L->tstate_datastack_top != PYL_NONE)
    in(L->tstate_datastack_top, 8, L->tstate_size);
  FUZZ_FAIL_IF(L->cframe_current_frame != PYL_NONE);
  /* frame */
  FUZZ_FAIL_IF(L->frame_size <= 0 || L->frame_size > MAX_SMALL);
  in(L->frame_previous, 8, L->frame_size);
  /* thread-local bytecode (free-threaded 3.14+): all three or none */
  if (L->frame_tlbc_index || L->code_tlbc || L->codearray_entries) {
    FUZZ_FAIL_IF(!L->free_threaded);
    in(L->frame_tlbc_index, 4, L->frame_size);
    FUZZ_FAIL_IF(L->frame_tlbc_index <= 0 || L->code_tlbc <= 0 || L->code_tlbc > MAX_SMALL);
    FUZZ_FAIL_IF(L->codearray_entries < 8 || L->codearray_entries > 64);
  }
  in(L->frame_code, 8, L->frame_size);
  in(L->frame_instr, 8, L->frame_size);
  in(L->frame_owner, 1, L->frame_size);
  /* code */
  FUZZ_FAIL_IF(L->code_size <= 0 || L->code_size > MAX_SMALL);
  in(L->code_filename, 8, L->code_size);
  in(L->code_name, 8, L->code_size);
  in(L->code_qualname, 8, L->code_size);
  in(L->code_firstlineno, 4, L->code_size);
  in(L->code_linetable, 8, L->code_size);
  FUZZ_FAIL_IF(L->code_adaptive < 0 || L->code_adaptive >= MAX_SMALL);
  /* objects: pybytes_read reads bytes_ob_sval bytes of header holding ob_size */
  FUZZ_FAIL_IF(L->ob_type < 0 || L->bytes_ob_sval <= 0 || L->var_ob_size < 0 ||
               L->var_ob_size + 8 > L->bytes_ob_sval);
  /* str: pystr_read reads unicode_ascii_size bytes holding state and length */
  FUZZ_FAIL_IF(L->unicode_ascii_size <= 0 || L->unicode_compact_size < L->unicode_ascii_size);
  in(L->unicode_state, 4, L->unicode_ascii_size);
  in(L->unicode_length, 8, L->unicode_ascii_size);
  FUZZ_FAIL_IF(L->state_kind_shift > 29 || L->state_compact_shift > 31 ||
               L->state_ascii_shift > 31);
}

static void check_why(const char *why, size_t whylen) {
  FUZZ_FAIL_IF(whylen && !memchr(why, 0, whylen));
}

static void run(const uint8_t *b, size_t len, char *why, size_t whylen) {
  struct py_layout L;
  memset(&L, 0x5A, sizeof L);
  int rc = layout_from_debug_offsets(b, len, &L, why, whylen);
  FUZZ_FAIL_IF(rc != 0 && rc != PP_EINVAL && rc != PP_ELAYOUT && rc != PP_EUNSUPPORTED);
  check_why(why, whylen);
  if (rc == 0)
    check_layout(&L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Exact-size heap copy: ASan sees any read past the end. */
  uint8_t *b = malloc(size ? size : 1); /* owned: freed below */
  FUZZ_FAIL_IF(!b);
  memcpy(b, data, size);
  char why[256];

  run(b, size, why, sizeof why);
  run(b, size, NULL, 0);
  size_t small = size ? data[size - 1] % 17 : 0;
  char *w = malloc(small ? small : 1); /* owned: freed below */
  FUZZ_FAIL_IF(!w);
  run(b, size, small ? w : NULL, small);
  free(w);
  /* Cut at the sizes of the known descriptions (3.13: 584, 3.14: 760, 3.15:
   * 888 bytes) and just below. */
  static const size_t cuts[] = {24, 583, 584, 759, 760, 887, 888};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    if (cuts[i] < size)
      run(b, cuts[i], why, sizeof why);
  }
  /* A valid header over the input's first 24 bytes. */
  if (size >= 24) {
    static const uint64_t versions[] = {0x030d00f0u, 0x030e07f0u, 0x030f00a1u, 0x030d00c2u,
                                        0x030f02f0u, 0x031000a4u, 0x030e0af0u, 0x030d12f0u};
    uint64_t v = versions[data[8] & 7];
    memcpy(b, "xdebugpy", 8);
    memcpy(b + 8, &v, 8);
    uint64_t ft = (data[9] & 1); /* default or free-threaded build */
    memcpy(b + 16, &ft, 8);
    run(b, size, why, sizeof why);
  }
  free(b);
  return 0;
}
