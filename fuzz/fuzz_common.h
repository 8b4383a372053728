/* Shared support for the libFuzzer harnesses (fuzz/fuzz_*.c) and the seed
 * generator (fuzz/seedgen.c): the layouts a fuzz input can choose, the memory
 * image input format, the sampling path run over an image, and a UTF-8
 * validity check. See docs/robustness.md, "Fuzzing".
 *
 * Memory image input ("image" format, fuzz_frame_walk and seedgen):
 *
 *   u8  layout selector: index into fuzz_layout() modulo fuzz_layout_count()
 *       + 1; the extra value means "take the layout from the _Py_DebugOffsets
 *       found at the runtime address in the image" (the real 3.13+ path)
 *   u8  flags (FUZZ_F_*)
 *   u64 runtime address (_PyRuntime), little-endian
 *   u64 PyCode_Type address (0: code objects' types are not checked)
 *   then regions until the input ends: u64 address, u32 length, bytes
 *       (the length is cut to what is left; a region that overlaps an earlier
 *       one or is empty is skipped)
 */
#ifndef PYPROF_FUZZ_COMMON_H
#define PYPROF_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/mem_image.h"
#include "pyprof/proc/reader.h"
#include "pyprof/python/frame_walk.h"
#include "pyprof/python/layout.h"

/* Image header size and per-region header size. */
#define FUZZ_IMAGE_HEADER 18
#define FUZZ_REGION_HEADER 12
/* Regions an input may define (more are ignored). */
#define FUZZ_REGIONS_MAX 256

/* Flags byte. */
enum {
  FUZZ_F_NO_WINDOWS = 1u << 0,   /* frame_walk without data-stack windows */
  FUZZ_F_NO_CODE_TYPE = 1u << 1, /* ignore the PyCode_Type address */
  FUZZ_F_BLOCKING = 1u << 2,     /* skip the torn-read check, as --blocking does */
  FUZZ_F_STALE = 1u << 3,        /* code fingerprints compare as changed: entries
                                    are dropped from the cache and reloaded */
  /* bits 4-7: code cache size is 1 + (flags >> 4) * 4 entries */
};

/* Threads whose stacks the harness walks per input (py_threads_read itself
 * reads up to PY_THREADS_MAX): keeps one input well under a second even when
 * thousands of thread states share one deep frame chain. */
#define FUZZ_WALK_THREADS 64

/* The fixed layouts an input can select: the built-in 3.8-3.12 tables, then
 * 3.13 and 3.14 layouts made by layout_from_debug_offsets() from real
 * interpreters' _Py_DebugOffsets (fuzz/fuzz_dbg_data.c). */
size_t fuzz_layout_count(void);
const struct py_layout *fuzz_layout(size_t i);
/* Index of the layout for 3.minor, or -1. */
int fuzz_layout_index(int minor);

/* Real _Py_DebugOffsets bytes (generated into fuzz/fuzz_dbg_data.c). */
extern const unsigned char fuzz_dbg_313[];
extern const size_t fuzz_dbg_313_len;
extern const unsigned char fuzz_dbg_314[];
extern const size_t fuzz_dbg_314_len;

struct fuzz_image_hdr {
  uint8_t selector, flags;
  uint64_t runtime, code_type;
};

/* Parse an image input: header into *h, regions into img (which the caller
 * created). PP_EINVAL when the input is shorter than the header. */
int fuzz_image_parse(const uint8_t *data, size_t size, struct fuzz_image_hdr *h,
                     struct mem_image *img);

/* The layout an image selects into *out (copied: the debug-offsets path
 * builds it from image bytes). Negative when none can be had. */
int fuzz_image_layout(const struct fuzz_image_hdr *h, const struct mem_reader *r,
                      struct py_layout *out);

/* What the sampling path produced (for the seed generator's report). */
struct fuzz_sample_stats {
  int threads_rc;
  size_t threads, walked_threads;
  size_t frames, codes_ok, codes_failed;
  int gil_rc;
  uint64_t gil_holder;
};

/* Run the sampler's per-tick path over r (as src/sampler/sampler.c does):
 * py_threads_read, py_gil_holder, then per thread (at most
 * FUZZ_WALK_THREADS) frame_windows_init + frame_walk, the torn-read check
 * batched with the stale-code checks (py_thread_check_prepare/_result,
 * code_fp_span, code_cache_peek, code_cache_check), py_thread_check_unchanged
 * and py_thread_current_frame, and for every frame walked code_cache_get +
 * line_map_lookup. Checks the results' invariants
 * (FUZZ_FAIL_IF on a violation). st may be NULL. */
void fuzz_sample(const struct mem_reader *r, const struct py_layout *L,
                 const struct fuzz_image_hdr *h, struct fuzz_sample_stats *st);

/* 1 when s[0..len) is valid UTF-8 (shortest forms, no surrogates, at most
 * U+10FFFF), else 0. */
int fuzz_utf8_valid(const char *s, size_t len);

/* A violated invariant: print where (so a crash report names the check even
 * in an optimised build) and abort, which libFuzzer reports as a crash. */
#define FUZZ_FAIL_IF(cond)                                                                         \
  do {                                                                                             \
    if (cond)                                                                                      \
      fuzz_fail(__FILE__, __LINE__, #cond);                                                        \
  } while (0)
__attribute__((noreturn)) void fuzz_fail(const char *file, int line, const char *what);

/* Fail unless rc is 0 or one of the n codes listed. */
void fuzz_expect_rc(int rc, const int *allowed, size_t n);

#endif
