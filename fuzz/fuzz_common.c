#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/python/code_cache.h"
#include "pyprof/python/linetable.h"
#include "pyprof/python/pystr.h"
#include "pyprof/python/thread_names.h"
#include "pyprof/sampler/stack_plan.h"

/* ---- layouts ------------------------------------------------------------ */

#define FUZZ_LAYOUTS_MAX 16

static struct py_layout layouts[FUZZ_LAYOUTS_MAX];
static size_t nlayouts;
static int layouts_ready;

static void add_dbg_layout(const unsigned char *bytes, size_t len) {
  char why[256];
  FUZZ_FAIL_IF(nlayouts == FUZZ_LAYOUTS_MAX);
  /* Real interpreters' bytes must validate: anything else is a harness bug
   * (or a regression in layout_from_debug_offsets). */
  FUZZ_FAIL_IF(layout_from_debug_offsets(bytes, len, &layouts[nlayouts], why, sizeof why) != 0);
  nlayouts++;
}

static void layouts_init(void) {
  if (layouts_ready)
    return;
  for (size_t i = 0; i < py_layout_table_count && nlayouts < FUZZ_LAYOUTS_MAX; i++)
    layouts[nlayouts++] = py_layout_tables[i];
  add_dbg_layout(fuzz_dbg_313, fuzz_dbg_313_len);
  add_dbg_layout(fuzz_dbg_314, fuzz_dbg_314_len);
  layouts_ready = 1;
}

size_t fuzz_layout_count(void) {
  layouts_init();
  return nlayouts;
}

const struct py_layout *fuzz_layout(size_t i) {
  layouts_init();
  return i < nlayouts ? &layouts[i] : NULL;
}

int fuzz_layout_index(int minor) {
  layouts_init();
  for (size_t i = 0; i < nlayouts; i++) {
    if (layouts[i].major == 3 && layouts[i].minor == minor)
      return (int)i;
  }
  return -1;
}

/* ---- image input -------------------------------------------------------- */

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int fuzz_image_parse(const uint8_t *data, size_t size, struct fuzz_image_hdr *h,
                     struct mem_image *img) {
  if (size < FUZZ_IMAGE_HEADER)
    return PP_EINVAL;
  h->selector = data[0];
  h->flags = data[1];
  h->runtime = le64(data + 2);
  h->code_type = le64(data + 10);
  size_t pos = FUZZ_IMAGE_HEADER;
  for (int k = 0; k < FUZZ_REGIONS_MAX && size - pos >= FUZZ_REGION_HEADER; k++) {
    uint64_t addr = le64(data + pos);
    size_t len = le32(data + pos + 8);
    pos += FUZZ_REGION_HEADER;
    if (len > size - pos)
      len = size - pos;
    if (len > 0) {
      int rc = mem_image_add(img, addr, data + pos, len);
      if (rc == PP_ENOMEM)
        return rc;
    }
    pos += len;
  }
  return 0;
}

int fuzz_image_layout(const struct fuzz_image_hdr *h, const struct mem_reader *r,
                      struct py_layout *out) {
  size_t n = fuzz_layout_count();
  size_t sel = h->selector % (n + 1);
  if (sel < n) {
    *out = *fuzz_layout(sel);
    return 0;
  }
  /* What target.c does for 3.13+: the layout comes from the target. */
  unsigned char dbg[PY_DEBUG_OFFSETS_READ];
  int rc = mem_read(r, h->runtime, dbg, sizeof dbg);
  if (rc < 0)
    return rc;
  char why[256];
  rc = layout_from_debug_offsets(dbg, sizeof dbg, out, why, sizeof why);
  FUZZ_FAIL_IF(memchr(why, 0, sizeof why) == NULL);
  return rc;
}

/* ---- checks ------------------------------------------------------------- */

void fuzz_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "\n%s:%d: fuzz invariant violated: %s\n", file, line, what);
  abort();
}

void fuzz_expect_rc(int rc, const int *allowed, size_t n) {
  if (rc == 0)
    return;
  for (size_t i = 0; i < n; i++) {
    if (rc == allowed[i])
      return;
  }
  fprintf(stderr, "\nunexpected result %d (%s)\n", rc, pp_errname(rc));
  abort();
}

int fuzz_utf8_valid(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < len) {
    unsigned c = s[i];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (len - i < n)
      return 0;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += n;
  }
  return 1;
}

/* A name or file name from the code cache: NUL-terminated valid UTF-8 no
 * longer than pystr_read can make it. */
static void check_name(const char *s) {
  FUZZ_FAIL_IF(!s);
  size_t len = strnlen(s, PYSTR_MAX_CHARS * 4 + 4);
  FUZZ_FAIL_IF(len > PYSTR_MAX_CHARS * 4 + 3 || !fuzz_utf8_valid(s, len));
}

static void check_line_map(const struct line_map *m) {
  FUZZ_FAIL_IF(m->n > 0 && !m->ranges);
  for (uint32_t i = 0; i < m->n; i++) {
    FUZZ_FAIL_IF(m->ranges[i].start >= m->ranges[i].end || m->ranges[i].line < -1);
    FUZZ_FAIL_IF(i > 0 && m->ranges[i - 1].end > m->ranges[i].start);
  }
}

/* ---- the sampling path -------------------------------------------------- */

/* Scratch too large for the stack, shared by every input (one thread). */
static struct py_thread threads[PY_THREADS_MAX];
static struct py_raw_frame raw[PY_STACK_MAX];
static unsigned char *window; /* owned: FRAME_WINDOWS_BUF bytes, kept for the process */

static const int walk_errors[] = {PP_EFAULT,    PP_ELAYOUT, PP_EBOUNDS, PP_ECYCLE, PP_ENOTREADY,
                                  PP_ENOTFOUND, PP_ETORN,   PP_ENOMEM,  PP_EINVAL};
#define NWALK_ERRORS (sizeof walk_errors / sizeof walk_errors[0])

/* Most code objects re-checked per walk, as the sampler's FP_CHECK_MAX. */
#define FP_CHECK_MAX 128

/* The sampler's one batched read after a walk: the torn-read check and the
 * fingerprints of the cached code objects on the stack, then
 * code_cache_check on each. With FUZZ_F_STALE every other fingerprint is
 * altered, so entries are dropped (backward-shift deletion in the cache):
 * each dropped entry must be gone and every other entry still found. */
static void stale_checks(const struct mem_reader *r, const struct py_layout *L,
                         const struct fuzz_image_hdr *h, const struct py_thread *th, size_t nf,
                         struct code_cache *cache) {
  static unsigned char fp_bufs[FP_CHECK_MAX][CODE_FP_MAX];
  struct mem_read_req reqs[2 + FP_CHECK_MAX];
  uint64_t fp_addr[FP_CHECK_MAX];
  struct py_check chk;
  int32_t fp_off;
  size_t fp_len, nreq = 0, nfp = 0;
  int blocking = (h->flags & FUZZ_F_BLOCKING) != 0;
  if (!blocking) {
    nreq = py_thread_check_prepare(L, th, th->frame, nf ? &raw[0] : NULL, &chk, reqs);
    FUZZ_FAIL_IF(nreq > 2);
  }
  code_fp_span(L, &fp_off, &fp_len);
  FUZZ_FAIL_IF(fp_len > CODE_FP_MAX);
  for (size_t i = 0; i < nf && nfp < FP_CHECK_MAX; i++) {
    uint64_t code = raw[i].code;
    size_t j;
    for (j = 0; j < nfp && fp_addr[j] != code; j++)
      ;
    if (j < nfp || !code_cache_peek(cache, code))
      continue;
    fp_addr[nfp] = code;
    reqs[nreq++] = (struct mem_read_req){code + (uint64_t)fp_off, fp_bufs[nfp], fp_len};
    nfp++;
  }
  if (nreq == 0)
    return;
  int rc = mem_readv(r, reqs, nreq);
  fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
  if (rc < 0)
    return;
  if (!blocking) {
    rc = py_thread_check_result(L, &chk);
    if (rc == PY_CHECK_DEEPER)
      rc = py_thread_check_deeper(r, L, &chk);
    fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
    FUZZ_FAIL_IF(rc == PP_ETORN); /* nothing changes in an image */
  }
  for (size_t j = 0; j < nfp; j++) {
    int alter = (h->flags & FUZZ_F_STALE) && j % 2 == 0 && fp_len > 0;
    if (alter)
      fp_bufs[j][0] ^= 0xff;
    size_t before = code_cache_size(cache);
    int kept = code_cache_check(cache, L, fp_addr[j], fp_bufs[j]);
    /* The bytes were read from the same image the entry was loaded from. */
    FUZZ_FAIL_IF(kept != !alter);
    if (!kept) {
      FUZZ_FAIL_IF(code_cache_peek(cache, fp_addr[j]) != NULL);
      FUZZ_FAIL_IF(code_cache_size(cache) != before - 1);
    }
    for (size_t k = j + 1; k < nfp; k++)
      FUZZ_FAIL_IF(code_cache_peek(cache, fp_addr[k]) == NULL);
  }
}

/* The sampler's stack plan over the image (src/sampler/stack_plan.c): the
 * copies it asks for, read as the sampler's batch would, must serve a second
 * walk giving the same frames; when that walk read nothing of its own,
 * nothing has changed (an image), so the plan's torn-read check must pass. */
static void plan_check(const struct mem_reader *r, const struct py_layout *L,
                       const struct py_thread *th, const struct frame_windows *fw, size_t nf) {
  static struct stack_plan p;
  static struct py_raw_frame raw2[PY_STACK_MAX];
  static unsigned char *arena, *win2; /* owned: kept for the process */
  static struct mem_read_req reqs[STACK_PLAN_REQS];
  const size_t arena_len = 2 * STACK_PLAN_BYTES + STACK_PLAN_CODES * CODE_FP_MAX;
  if (!arena) {
    arena = malloc(arena_len);
    win2 = malloc(FRAME_WINDOWS_BUF);
    FUZZ_FAIL_IF(!arena || !win2);
  }
  memset(&p, 0, sizeof p);
  stack_plan_make(&p, L, th, fw, raw, nf);
  if (!p.valid)
    return;
  FUZZ_FAIL_IF(p.nr == 0 || p.nr > STACK_PLAN_RANGES || p.bytes > STACK_PLAN_BYTES ||
               p.ncode > STACK_PLAN_CODES);
  unsigned char *ap = arena;
  size_t left = arena_len;
  size_t k = stack_plan_requests(&p, &ap, &left, reqs, STACK_PLAN_REQS);
  FUZZ_FAIL_IF(k == 0 || k > STACK_PLAN_REQS || !p.armed || ap > arena + arena_len);
  int rc = mem_readv(r, reqs, k);
  fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
  if (rc < 0)
    return; /* a range past the image's bytes (the sampler then drops plans) */
  struct frame_windows fw2;
  size_t n2 = 0;
  stack_plan_windows(&p, th, &fw2, win2, FRAME_WINDOWS_BUF);
  rc = frame_walk(r, L, th->frame, &fw2, raw2, PY_STACK_MAX, &n2);
  FUZZ_FAIL_IF(rc != 0 || n2 != nf);
  for (size_t i = 0; i < nf; i++)
    FUZZ_FAIL_IF(raw2[i].addr != raw[i].addr || raw2[i].code != raw[i].code ||
                 raw2[i].prev != raw[i].prev || raw2[i].offset != raw[i].offset);
  if (fw2.reads == 0 && nf > 0 && raw[0].addr == th->frame)
    FUZZ_FAIL_IF(!stack_plan_untorn(&p, L, th, th->frame, &fw2, raw2, n2));
  for (size_t i = 0; i < p.ncode; i++)
    FUZZ_FAIL_IF(stack_plan_fingerprint(&p, p.code[i]) == NULL);
}

/* The sampler's per-tick fast path: locate the GIL, then re-read the list
 * just read (py_threads_reread) in one batch. Nothing changes in an image,
 * so a successful re-read must give back exactly the same threads, and the
 * same GIL holder as py_gil_holder. */
static void reread(const struct mem_reader *r, const struct py_layout *L,
                   const struct fuzz_image_hdr *h, size_t n, uint64_t holder, int holder_ok) {
  static struct py_thread copy[PY_REREAD_MAX];
  uint64_t gil_state = 0, holder2 = 0;
  struct py_gil_loc loc;
  int rc = py_gil_locate(r, L, h->runtime, threads[n - 1].interp, &gil_state, &loc);
  fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
  int loc_ok = rc == 0;
  size_t m = n < PY_REREAD_MAX ? n : PY_REREAD_MAX;
  memcpy(copy, threads, m * sizeof *copy);
  rc = py_threads_reread(r, L, h->runtime, copy, m, loc_ok ? &loc : NULL, &holder2, NULL, 0);
  fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
  if (rc < 0) {
    FUZZ_FAIL_IF(memcmp(copy, threads, m * sizeof *copy) != 0); /* unchanged on failure */
    return;
  }
  FUZZ_FAIL_IF(m != n); /* a longer list than PY_REREAD_MAX is refused */
  for (size_t i = 0; i < m; i++) {
    FUZZ_FAIL_IF(copy[i].tstate != threads[i].tstate || copy[i].interp != threads[i].interp ||
                 copy[i].thread_id != threads[i].thread_id ||
                 copy[i].native_tid != threads[i].native_tid || copy[i].frame != threads[i].frame ||
                 copy[i].cframe != threads[i].cframe || copy[i].stack_lo != threads[i].stack_lo ||
                 copy[i].stack_hi != threads[i].stack_hi);
  }
  FUZZ_FAIL_IF(loc_ok && holder_ok && holder2 != holder);
}

void fuzz_sample(const struct mem_reader *r, const struct py_layout *L,
                 const struct fuzz_image_hdr *h, struct fuzz_sample_stats *st) {
  struct fuzz_sample_stats local;
  if (!st)
    st = &local;
  memset(st, 0, sizeof *st);
  if (!window) {
    window = malloc(FRAME_WINDOWS_BUF);
    FUZZ_FAIL_IF(!window);
  }
  uint64_t code_type = (h->flags & FUZZ_F_NO_CODE_TYPE) ? 0 : h->code_type;

  size_t n = 0;
  int rc = py_threads_read(r, L, h->runtime, threads, PY_THREADS_MAX, &n);
  fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
  st->threads_rc = rc;
  st->threads = n;
  FUZZ_FAIL_IF(n > PY_THREADS_MAX || (rc == 0 && n == 0));
  if (rc < 0)
    return;

  /* As sampler_tick: the GIL of the last thread's interpreter. Twice, the
   * second time with the cached GIL-state address. */
  uint64_t gil_state = 0, holder = 0;
  rc = py_gil_holder(r, L, h->runtime, threads[n - 1].interp, &gil_state, &holder);
  fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
  st->gil_rc = rc;
  st->gil_holder = holder;
  if (rc == 0) {
    rc = py_gil_holder(r, L, h->runtime, threads[n - 1].interp, &gil_state, &holder);
    fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
  }
  reread(r, L, h, n, holder, st->gil_rc == 0);

  /* Thread names over the same memory: whatever the image holds, bounded
   * and only known error codes (sys.modules, dicts, instance attributes). */
  {
    static struct py_thread_name names[8];
    struct py_thread_names_cache nc = {0};
    size_t nn = 0;
    rc = py_thread_names_read(r, L, threads[0].interp, &nc, names, 8, &nn);
    if (rc != PP_EUNSUPPORTED)
      fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
    FUZZ_FAIL_IF(nn > 8);
    for (size_t i = 0; i < nn; i++)
      FUZZ_FAIL_IF(strnlen(names[i].name, PY_THREAD_NAME_MAX) >= PY_THREAD_NAME_MAX);
  }
  struct code_cache *cache = NULL; /* owned: freed below */
  FUZZ_FAIL_IF(code_cache_new(1 + (size_t)(h->flags >> 4) * 4, &cache) < 0);
  struct tlbc_cache *tlbc = NULL; /* owned: freed below (free-threaded bytecode copies) */
  FUZZ_FAIL_IF(tlbc_cache_new(&tlbc) < 0);
  for (size_t i = 0; i < n && i < FUZZ_WALK_THREADS; i++) {
    const struct py_thread *th = &threads[i];
    struct frame_windows fw;
    size_t nf = 0;
    st->walked_threads++;
    frame_windows_init(&fw, r, th, window, FRAME_WINDOWS_BUF);
    FUZZ_FAIL_IF(fw.n > FRAME_WINDOWS_MAX || fw.used > fw.cap);
    fw.tlbc = tlbc;
    rc = frame_walk(r, L, th->frame, (h->flags & FUZZ_F_NO_WINDOWS) ? NULL : &fw, raw, PY_STACK_MAX,
                    &nf);
    fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
    FUZZ_FAIL_IF(nf > PY_STACK_MAX || fw.n > FRAME_WINDOWS_MAX || fw.used > fw.cap);
    if (rc == 0) {
      if (!(h->flags & (FUZZ_F_NO_WINDOWS | FUZZ_F_BLOCKING)))
        plan_check(r, L, th, &fw, nf);
      stale_checks(r, L, h, th, nf, cache);
      /* The plausibility rules over whatever frames the input made (ASan
       * watches their reads; either answer is right for fuzzed memory). */
      (void)py_stack_plausible(L, raw, nf);
      if (!(h->flags & FUZZ_F_BLOCKING)) {
        int trc = py_thread_check_unchanged(r, L, th, th->frame, nf ? &raw[0] : NULL);
        fuzz_expect_rc(trc, walk_errors, NWALK_ERRORS);
        /* Nothing changes in an image: a clean walk is never torn. */
        FUZZ_FAIL_IF(trc == PP_ETORN);
      }
    }
    uint64_t cur = 0;
    rc = py_thread_current_frame(r, L, th->tstate, &cur);
    fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
    /* Frames of a failed walk too: more inputs reach the code cache. */
    for (size_t j = 0; j < nf; j++) {
      struct code_info *ci = NULL;
      st->frames++;
      rc = code_cache_get(cache, r, L, code_type, raw[j].code, &ci);
      fuzz_expect_rc(rc, walk_errors, NWALK_ERRORS);
      if (rc < 0) {
        st->codes_failed++;
        continue;
      }
      st->codes_ok++;
      FUZZ_FAIL_IF(!ci || ci->addr != raw[j].code);
      check_name(ci->name);
      check_name(ci->file);
      check_line_map(&ci->lines);
      int32_t line = line_map_lookup(&ci->lines, raw[j].offset);
      FUZZ_FAIL_IF(line < 0 && line != ci->lines.firstlineno);
      (void)line_map_find(&ci->lines, raw[j].offset);
    }
  }
  FUZZ_FAIL_IF(code_cache_size(cache) > 1 + (size_t)(h->flags >> 4) * 4);
  code_cache_free(cache);
  tlbc_cache_free(tlbc);
}
