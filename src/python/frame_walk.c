/* Walking a CPython interpreter's thread list and each thread's frame chain
 * in remote memory (frame_walk.h), the torn-read checks of a walk made while
 * the thread ran (py_thread_check_*, py_stack_plausible), the GIL holder and
 * the frame windows that let a walk decode frames from local copies (and, on
 * free-threaded 3.14+, the thread's own bytecode copy via tlbc_cache). Knows
 * CPython only through struct py_layout. Must never read unbounded (every
 * walk bounded, cycles detected) and never trust what it reads. */
#include "pyprof/python/frame_walk.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"

/* Local buffers for one remote struct; tables never ask for more. */
#define STRUCT_BUF_MAX 4096

static int struct_len_ok(int32_t size) { return size > 0 && size <= STRUCT_BUF_MAX; }

/* Decode one thread state copied into buf. For 3.11-3.12 t->frame is left 0
 * and t->cframe set: the frame pointer is one more read away. */
static int thread_from_buf(const struct py_layout *L, uint64_t interp, uint64_t tstate,
                           const unsigned char *buf, size_t len, struct py_thread *t,
                           uint64_t *next) {
  memset(t, 0, sizeof *t);
  t->tstate = tstate;
  t->interp = interp;
  /* Sanity: a thread state points back at the interpreter that lists it.
   * A table that does not fit this interpreter fails here, not later as a
   * plausible-looking but wrong profile. */
  uint64_t back, fp;
  buf_u64(buf, len, L->tstate_interp, &back);
  if (back != interp)
    return PP_ELAYOUT;
  buf_u64(buf, len, L->tstate_thread_id, &t->thread_id);
  if (L->tstate_native_thread_id >= 0)
    buf_u64(buf, len, L->tstate_native_thread_id, &t->native_tid);
  buf_u64(buf, len, L->tstate_frame, &fp);
  if (L->cframe_current_frame >= 0)
    t->cframe = fp;
  else
    t->frame = fp;
  if (L->tstate_datastack_chunk >= 0 && L->tstate_datastack_top >= 0) {
    buf_u64(buf, len, L->tstate_datastack_chunk, &t->stack_lo);
    buf_u64(buf, len, L->tstate_datastack_top, &t->stack_hi);
    if (t->stack_hi <= t->stack_lo)
      t->stack_lo = t->stack_hi = 0;
  }
  buf_u64(buf, len, L->tstate_next, next);
  return 0;
}


int py_thread_current_frame(const struct mem_reader *r, const struct py_layout *L, uint64_t tstate,
                            uint64_t *frame) {
  uint64_t p;
  *frame = 0;
  if (L->tstate_frame < 0)
    return PP_ELAYOUT;
  int rc = mem_read_u64(r, tstate + (uint64_t)L->tstate_frame, &p);
  if (rc < 0)
    return rc;
  if (L->cframe_current_frame >= 0 && p != 0) {
    /* 3.11-3.12: tstate->cframe->current_frame */
    rc = mem_read_u64(r, p + (uint64_t)L->cframe_current_frame, &p);
    if (rc < 0)
      return rc;
  }
  *frame = p;
  return 0;
}

int py_gil_locate(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                  uint64_t interp, uint64_t *gil_state, struct py_gil_loc *loc) {
  memset(loc, 0, sizeof *loc);
  if (L->runtime_gil_locked >= 0 && L->runtime_gil_holder >= 0) {
    loc->locked = runtime_addr + (uint64_t)L->runtime_gil_locked;
    loc->holder = runtime_addr + (uint64_t)L->runtime_gil_holder;
    return 0;
  }
  if (L->interp_gil_ptr < 0 || L->gil_locked < 0 || L->gil_holder < 0)
    return PP_ENOTFOUND;
  if (*gil_state == 0) {
    int rc = mem_read_u64(r, interp + (uint64_t)L->interp_gil_ptr, gil_state);
    if (rc < 0)
      return rc;
    if (*gil_state == 0)
      return PP_ENOTFOUND;
  }
  loc->locked = *gil_state + (uint64_t)L->gil_locked;
  loc->holder = *gil_state + (uint64_t)L->gil_holder;
  return 0;
}

static uint64_t gil_decode(const unsigned char lb[4], const unsigned char hb[8]) {
  int32_t locked;
  uint64_t holder = 0;
  memcpy(&locked, lb, sizeof locked);
  if (locked)
    memcpy(&holder, hb, sizeof holder);
  return holder;
}

int py_gil_holder(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                  uint64_t interp, uint64_t *gil_state, uint64_t *holder) {
  unsigned char lb[4], hb[8];
  struct py_gil_loc loc;
  *holder = 0;
  int rc = py_gil_locate(r, L, runtime_addr, interp, gil_state, &loc);
  if (rc < 0)
    return rc;
  struct mem_read_req reqs[2] = {{loc.locked, lb, sizeof lb}, {loc.holder, hb, sizeof hb}};
  rc = mem_readv(r, reqs, 2);
  if (rc < 0)
    return rc;
  *holder = gil_decode(lb, hb);
  return 0;
}

int py_threads_reread(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                      struct py_thread *th, size_t n, const struct py_gil_loc *gil,
                      uint64_t *gil_holder, const struct mem_read_req *extra, size_t nextra) {
  enum { FIXED = 3 };
  struct mem_read_req reqs[FIXED + 2 * PY_REREAD_MAX + 2 + PY_REREAD_EXTRA_MAX];
  unsigned char fixed[FIXED][8], cf[PY_REREAD_MAX][8], lb[4], hb[8];
  unsigned char local[8192];
  unsigned char *heap = NULL; /* owned: thread-state copies when local is too small */
  unsigned char *bufs = local;
  size_t len = (size_t)L->tstate_size, k = 0;
  int rc = 0;
  if (n == 0 || n > PY_REREAD_MAX || !struct_len_ok(L->tstate_size) || L->interp_threads_head < 0 ||
      L->interp_next < 0 || nextra > PY_REREAD_EXTRA_MAX)
    return PP_ENOTFOUND;
  uint64_t interp = th[0].interp;
  if (n * len > sizeof local) {
    heap = malloc(n * len);
    if (!heap)
      return PP_ENOMEM;
    bufs = heap;
  }
  reqs[k++] = (struct mem_read_req){runtime_addr + (uint64_t)L->runtime_interpreters_head, fixed[0], 8};
  reqs[k++] = (struct mem_read_req){interp + (uint64_t)L->interp_threads_head, fixed[1], 8};
  reqs[k++] = (struct mem_read_req){interp + (uint64_t)L->interp_next, fixed[2], 8};
  for (size_t i = 0; i < n; i++) {
    if (th[i].interp != interp) {
      rc = PP_ENOTFOUND; /* several interpreters: the slow path handles them */
      goto out;
    }
    reqs[k++] = (struct mem_read_req){th[i].tstate, bufs + i * len, len};
    /* 3.11-3.12: the frame pointer sits behind the previous tick's cframe; if
     * the cframe changed, that thread is re-read below. */
    if (th[i].cframe)
      reqs[k++] = (struct mem_read_req){th[i].cframe + (uint64_t)L->cframe_current_frame, cf[i], 8};
  }
  if (gil) {
    reqs[k++] = (struct mem_read_req){gil->locked, lb, sizeof lb};
    reqs[k++] = (struct mem_read_req){gil->holder, hb, sizeof hb};
  }
  /* Last: the caller's own requests, read after every thread state. */
  if (nextra) {
    memcpy(reqs + k, extra, nextra * sizeof *extra);
    k += nextra;
  }
  rc = mem_readv(r, reqs, k);
  if (rc < 0) {
    rc = rc == PP_EEXITED || rc == PP_ENOPROC ? rc : PP_EFAULT;
    goto out;
  }
  uint64_t head, thead, inext;
  memcpy(&head, fixed[0], 8);
  memcpy(&thead, fixed[1], 8);
  memcpy(&inext, fixed[2], 8);
  if (head != interp || inext != 0 || thead != th[0].tstate) {
    rc = PP_ENOTFOUND;
    goto out;
  }
  struct py_thread fresh[PY_REREAD_MAX];
  for (size_t i = 0; i < n; i++) {
    struct py_thread t;
    uint64_t next, old_cframe = th[i].cframe;
    rc = thread_from_buf(L, interp, th[i].tstate, bufs + i * len, len, &t, &next);
    if (rc < 0 || next != (i + 1 < n ? th[i + 1].tstate : 0)) {
      rc = PP_ENOTFOUND; /* the list changed: walk it afresh */
      goto out;
    }
    if (t.cframe) {
      if (t.cframe == old_cframe)
        memcpy(&t.frame, cf[i], 8);
      else if ((rc = mem_read_u64(r, t.cframe + (uint64_t)L->cframe_current_frame, &t.frame)) < 0)
        goto out;
    }
    fresh[i] = t; /* 3.8-3.10: native_tid 0, the caller resolves it */
  }
  memcpy(th, fresh, n * sizeof *th);
  if (gil)
    *gil_holder = gil_decode(lb, hb);
  rc = 0;
out:
  free(heap);
  return rc;
}

size_t py_thread_check_prepare(const struct py_layout *L, const struct py_thread *th,
                               uint64_t frame, const struct py_raw_frame *leaf,
                               struct py_check *chk, struct mem_read_req reqs[2]) {
  uint64_t fp_addr = L->cframe_current_frame >= 0 && th->cframe
                         ? th->cframe + (uint64_t)L->cframe_current_frame
                         : th->tstate + (uint64_t)L->tstate_frame;
  memset(chk, 0, sizeof *chk);
  chk->frame = frame;
  reqs[0] = (struct mem_read_req){fp_addr, chk->fp_buf, 8};
  if (!leaf || !leaf->addr)
    return 1;
  chk->has_leaf = 1;
  chk->leaf_code = leaf->code;
  chk->leaf_prev = leaf->prev;
  reqs[1] = (struct mem_read_req){leaf->addr + (uint64_t)L->frame_code, chk->code_buf, 8};
  return 2;
}

int py_thread_check_result(const struct py_layout *L, struct py_check *chk) {
  uint64_t fp, code;
  memcpy(&fp, chk->fp_buf, 8);
  chk->current = fp;
  if (fp == chk->frame) {
    if (chk->has_leaf) {
      memcpy(&code, chk->code_buf, 8);
      if ((code & ~L->code_tag_mask) != chk->leaf_code)
        return PP_ETORN;
    }
    return 0;
  }
  if (chk->has_leaf && fp != 0 && fp == chk->leaf_prev)
    return 0; /* returned from the leaf: the walk shows the moment before */
  return fp != 0 && chk->has_leaf ? PY_CHECK_DEEPER : PP_ETORN;
}

int py_thread_check_deeper(const struct mem_reader *r, const struct py_layout *L,
                           const struct py_check *chk) {
  uint64_t prev;
  if (mem_read_u64(r, chk->current + (uint64_t)L->frame_previous, &prev) < 0)
    return PP_ETORN;
  return prev == chk->frame ? 0 : PP_ETORN;
}

int py_thread_check_unchanged(const struct mem_reader *r, const struct py_layout *L,
                              const struct py_thread *th, uint64_t frame,
                              const struct py_raw_frame *leaf) {
  struct py_check chk;
  struct mem_read_req reqs[2];
  size_t n = py_thread_check_prepare(L, th, frame, leaf, &chk, reqs);
  int rc = mem_readv(r, reqs, n);
  if (rc < 0)
    return rc;
  rc = py_thread_check_result(L, &chk);
  return rc == PY_CHECK_DEEPER ? py_thread_check_deeper(r, L, &chk) : rc;
}

static int read_threads_of(const struct mem_reader *r, const struct py_layout *L, uint64_t interp,
                           uint64_t tstate, struct py_thread *out, size_t cap, size_t *n) {
  unsigned char buf[STRUCT_BUF_MAX];
  size_t len = (size_t)L->tstate_size;
  size_t walked = 0;
  while (tstate != 0) {
    if (walked++ >= PY_THREADS_MAX || *n >= cap)
      return PP_EBOUNDS;
    int rc = mem_read(r, tstate, buf, len);
    if (rc < 0)
      return rc;
    struct py_thread *t = &out[*n];
    uint64_t next;
    rc = thread_from_buf(L, interp, tstate, buf, len, t, &next);
    if (rc < 0)
      return rc;
    if (t->cframe) {
      rc = mem_read_u64(r, t->cframe + (uint64_t)L->cframe_current_frame, &t->frame);
      if (rc < 0)
        return rc;
    }
    (*n)++;
    /* A thread list is a chain of distinct heap objects: a link back to an
     * entry already seen is a cycle (bounded scan of what we hold). */
    for (size_t i = 0; i < *n; i++) {
      if (out[i].tstate == next)
        return PP_ECYCLE;
    }
    tstate = next;
  }
  return 0;
}

int py_threads_read(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                    struct py_thread *out, size_t cap, size_t *n) {
  uint64_t interps[PY_INTERPRETERS_MAX];
  size_t ninterp = 0;
  *n = 0;
  if (!struct_len_ok(L->tstate_size))
    return PP_ELAYOUT;
  uint64_t interp;
  int rc = mem_read_u64(r, runtime_addr + (uint64_t)L->runtime_interpreters_head, &interp);
  if (rc < 0)
    return rc;
  if (interp == 0)
    return PP_ENOTREADY;
  while (interp != 0) {
    for (size_t i = 0; i < ninterp; i++) {
      if (interps[i] == interp)
        return PP_ECYCLE;
    }
    if (ninterp == PY_INTERPRETERS_MAX)
      return PP_EBOUNDS;
    interps[ninterp++] = interp;
    /* The interpreter state is large (7 KiB on 3.13) and its thread list
     * head sits near the end: fetch just the two fields, in one call. */
    if (L->interp_threads_head < 0 || L->interp_next < 0 ||
        L->interp_threads_head + 8 > L->interp_size || L->interp_next + 8 > L->interp_size)
      return PP_ELAYOUT;
    uint64_t head, next;
    unsigned char hb[8], nb[8];
    struct mem_read_req reqs[2] = {
        {interp + (uint64_t)L->interp_threads_head, hb, sizeof hb},
        {interp + (uint64_t)L->interp_next, nb, sizeof nb},
    };
    rc = mem_readv(r, reqs, 2);
    if (rc < 0)
      return rc;
    memcpy(&head, hb, sizeof head);
    memcpy(&next, nb, sizeof next);
    rc = read_threads_of(r, L, interp, head, out, cap, n);
    if (rc < 0)
      return rc;
    interp = next;
  }
  return *n ? 0 : PP_ENOTREADY;
}

/* Copy up to want bytes ending at hi into a new window. */
static int windows_add(struct frame_windows *fw, const struct mem_reader *r, uint64_t hi,
                       size_t want) {
  if (fw->n == FRAME_WINDOWS_MAX || fw->cap - fw->used < want || want == 0 || hi < want)
    return PP_EBOUNDS;
  size_t got = 0;
  fw->reads++;
  int rc = mem_read_down(r, hi, fw->buf + fw->used, want, &got);
  if (rc < 0)
    return rc;
  /* The valid bytes are the last got of the want reserved. */
  fw->w[fw->n].addr = hi - got;
  fw->w[fw->n].p = fw->buf + fw->used + (want - got);
  fw->w[fw->n].len = got;
  fw->n++;
  fw->used += want;
  return 0;
}

void frame_windows_empty(struct frame_windows *fw, const struct py_thread *th, unsigned char *buf,
                         size_t cap) {
  memset(fw, 0, offsetof(struct frame_windows, extra));
  fw->buf = buf;
  fw->cap = cap;
  if (th->stack_hi > th->stack_lo) {
    fw->stack_lo = th->stack_lo;
    fw->stack_hi = th->stack_hi;
  }
}

int frame_windows_adopt(struct frame_windows *fw, uint64_t addr, const unsigned char *data,
                        size_t len) {
  if (fw->n == FRAME_WINDOWS_MAX || len == 0)
    return PP_EBOUNDS;
  fw->w[fw->n].addr = addr;
  fw->w[fw->n].p = data;
  fw->w[fw->n].len = len;
  fw->n++;
  return 0;
}

void frame_windows_init(struct frame_windows *fw, const struct mem_reader *r,
                        const struct py_thread *th, unsigned char *buf, size_t cap) {
  frame_windows_empty(fw, th, buf, cap);
  if (fw->stack_hi == 0)
    return;
  size_t len = (size_t)(th->stack_hi - th->stack_lo);
  if (len > FRAME_WINDOW_TOP)
    len = FRAME_WINDOW_TOP;
  windows_add(fw, r, th->stack_hi, len);
}

/* The window holding [addr, addr + len), or -1. */
static long window_find(struct frame_windows *fw, uint64_t addr, size_t len,
                        const unsigned char **p) {
  for (size_t k = 0; k < fw->n; k++) {
    size_t i = k == 0 ? fw->hint : (k <= fw->hint ? k - 1 : k); /* the last hit first */
    uint64_t a = fw->w[i].addr;
    if (addr >= a && addr - a <= fw->w[i].len && fw->w[i].len - (addr - a) >= len) {
      *p = fw->w[i].p + (addr - a);
      fw->hint = i;
      return (long)i;
    }
  }
  return -1;
}

/* Frames closer than this are one range: less than a page between them, so
 * no unmapped page can lie in between. */
#define EXTRA_GAP 2048

/* Note the frame [a, a + len) found outside the current chunk, merged with
 * the last range when close (frames of one chunk are walked downwards). */
static void note_extra(struct frame_windows *fw, uint64_t a, size_t len) {
  uint64_t e = a + len;
  if (e < a)
    return;
  if (fw->nextra > 0) {
    struct frame_range *x = &fw->extra[fw->nextra - 1];
    uint64_t lo = x->addr, hi = lo + x->len;
    if (a >= lo && e <= hi)
      return;
    uint64_t nlo = a < lo ? a : lo, nhi = e > hi ? e : hi;
    if (e + EXTRA_GAP >= lo && a <= hi + EXTRA_GAP && nhi - nlo <= FRAME_WINDOW_MISS) {
      *x = (struct frame_range){nlo, (size_t)(nhi - nlo)};
      return;
    }
  }
  if (fw->nextra < FRAME_EXTRA_MAX)
    fw->extra[fw->nextra++] = (struct frame_range){a, len};
  else
    fw->extra_lost = 1;
}

/* The frame at addr: a pointer into a window (or a new window copied down
 * from it), else a plain read into buf. Frames outside the thread's current
 * data-stack chunk are noted in fw->extra. */
static int frame_fetch(const struct mem_reader *r, struct frame_windows *fw, uint64_t addr,
                       unsigned char *buf, size_t len, const unsigned char **p) {
  if (fw) {
    if (addr < fw->stack_lo || addr >= fw->stack_hi)
      note_extra(fw, addr, len);
    if (window_find(fw, addr, len, p) >= 0 ||
        (windows_add(fw, r, addr + len, FRAME_WINDOW_MISS) == 0 &&
         window_find(fw, addr, len, p) >= 0))
      return 0;
    fw->reads++;
  }
  *p = buf;
  return mem_read(r, addr, buf, len);
}

size_t frame_walk_ranges(const struct py_layout *L, const struct py_thread *th,
                         const struct frame_windows *fw, struct frame_range *out, size_t cap,
                         size_t max_bytes, int *complete) {
  const uint64_t page = 4096;
  size_t n = 0, bytes = 0;
  *complete = !fw->extra_lost;
  if (cap == 0 || !struct_len_ok(L->frame_size)) {
    *complete = 0;
    return 0;
  }
  if (th->stack_hi > th->stack_lo) {
    /* To the end of the page: room for a call or two, and a page is mapped whole. */
    uint64_t hi = (th->stack_hi + page - 1) & ~(page - 1);
    if (hi < th->stack_hi) /* wrapped */
      hi = th->stack_hi;
    uint64_t len = hi - th->stack_lo;
    if (len > FRAME_WINDOW_TOP)
      len = FRAME_WINDOW_TOP;
    if (len > max_bytes)
      len = max_bytes;
    out[n++] = (struct frame_range){hi - len, (size_t)len};
    bytes += (size_t)len;
  }
  for (size_t i = 0; i < fw->nextra; i++) {
    if (n == cap || bytes + fw->extra[i].len > max_bytes) {
      *complete = 0;
      break;
    }
    out[n++] = fw->extra[i];
    bytes += fw->extra[i].len;
  }
  return n;
}

/* Field loads for the hot loop (the layout's offsets are validated against
 * len once per walk, so these need no checks of their own). */
static inline uint64_t ld64(const unsigned char *p, int32_t off) {
  uint64_t v;
  memcpy(&v, p + off, sizeof v);
  return v;
}

static inline int32_t ld32(const unsigned char *p, int32_t off) {
  int32_t v;
  memcpy(&v, p + off, sizeof v);
  return v;
}

static int field_ok(int32_t off, size_t width, size_t len) {
  return off >= 0 && (size_t)off + width <= len;
}

int64_t frame_instr_offset(const struct py_layout *L, const unsigned char *p, uint64_t code) {
  if (L->instr_kind == PY_INSTR_LASTI_BYTES || L->instr_kind == PY_INSTR_LASTI_UNITS) {
    int32_t v = ld32(p, L->frame_instr);
    return L->instr_kind == PY_INSTR_LASTI_UNITS ? (int64_t)v * 2 : v;
  }
  int64_t off = (int64_t)(ld64(p, L->frame_instr) - (code + (uint64_t)L->code_adaptive));
  /* A pointer outside the code gives a nonsense offset; the line lookup
   * clamps, the torn-read checks catch a changed stack. */
  if (off < -2 || off > (int64_t)1 << 30)
    off = -1;
  return off;
}

uint64_t frame_instr_raw(const struct py_layout *L, const unsigned char *p) {
  if (L->instr_kind == PY_INSTR_LASTI_BYTES || L->instr_kind == PY_INSTR_LASTI_UNITS)
    return (uint32_t)ld32(p, L->frame_instr);
  return ld64(p, L->frame_instr);
}

int py_stack_plausible(const struct py_layout *L, const struct py_raw_frame *raw, size_t n) {
  for (size_t k = 0; k < n; k++) {
    if (k > 0 && raw[k].offset < 0)
      return 0; /* a caller that has not started: a frame pushed after the walk began */
    if (raw[k].owner < 32 && ((L->owner_gen_mask >> raw[k].owner) & 1u) && raw[k].prev == 0)
      return 0; /* a suspended generator's frame, reached through a link now gone */
  }
  return 1;
}

int py_chain_end_plausible(const struct py_layout *L, uint8_t end_owner) {
  if (L->owner_end_mask == 0)
    return 1;
  return end_owner < 32 && ((L->owner_end_mask >> end_owner) & 1u);
}

int frame_walk(const struct mem_reader *r, const struct py_layout *L, uint64_t frame,
               struct frame_windows *fw, struct py_raw_frame *out, size_t cap, size_t *n) {
  unsigned char buf[STRUCT_BUF_MAX];
  size_t len = (size_t)L->frame_size;
  uint64_t brent_mark = 0; /* Brent's cycle check: remembered address */
  size_t brent_power = 1, brent_steps = 0;
  size_t walked = 0;
  int lasti = L->instr_kind == PY_INSTR_LASTI_BYTES || L->instr_kind == PY_INSTR_LASTI_UNITS;
  *n = 0;
  uint8_t last_owner = PY_OWNER_NONE;
  if (fw) {
    fw->nextra = 0;
    fw->extra_lost = 0;
    fw->end_owner = PY_OWNER_NONE;
  }
  if (!struct_len_ok(L->frame_size) || !field_ok(L->frame_code, 8, len) ||
      !field_ok(L->frame_previous, 8, len) || !field_ok(L->frame_instr, lasti ? 4 : 8, len) ||
      (L->frame_owner >= 0 && !field_ok(L->frame_owner, 1, len)) ||
      (L->frame_tlbc_index > 0 && !field_ok(L->frame_tlbc_index, 4, len)))
    return PP_ELAYOUT;
  while (frame != 0) {
    const unsigned char *p;
    if (walked++ >= PY_STACK_MAX || *n >= cap)
      return PP_EBOUNDS;
    int rc = frame_fetch(r, fw, frame, buf, len, &p);
    if (rc < 0)
      return rc;
    uint64_t code = ld64(p, L->frame_code) & ~L->code_tag_mask;
    uint64_t prev = ld64(p, L->frame_previous);
    int skip = 0;
    if (L->frame_owner >= 0) {
      uint8_t owner = p[L->frame_owner];
      if (owner >= 32)
        return PP_ELAYOUT;
      skip = (L->owner_skip_mask >> owner) & 1u;
      last_owner = owner;
    }
    if (!skip) {
      if (code == 0)
        return PP_ELAYOUT;
      out[*n].addr = frame;
      out[*n].prev = prev;
      out[*n].code = code;
      out[*n].offset = frame_instr_offset(L, p, code);
      out[*n].instr = frame_instr_raw(L, p);
      if (L->frame_tlbc_index > 0 && ld32(p, L->frame_tlbc_index) != 0) {
        /* Free-threaded: this thread runs its own copy of the bytecode. */
        uint64_t base;
        rc = tlbc_base(fw ? fw->tlbc : NULL, r, L, code, ld32(p, L->frame_tlbc_index),
                       out[*n].instr, &base);
        if (rc < 0)
          return rc;
        out[*n].offset = (int64_t)(out[*n].instr - base);
      }
      out[*n].owner = L->frame_owner >= 0 ? p[L->frame_owner] : PY_OWNER_NONE;
      (*n)++;
    }
    if (prev != 0 && prev == brent_mark)
      return PP_ECYCLE;
    if (++brent_steps == brent_power) {
      brent_mark = frame;
      brent_power *= 2;
      brent_steps = 0;
    }
    frame = prev;
  }
  if (fw)
    fw->end_owner = last_owner;
  return 0;
}
