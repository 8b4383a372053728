/* Layout tables against real interpreters.
 *
 * For every CPython found (pyenv 3.8-3.13, Debian's /usr/bin/python3.11, a
 * 3.14 on PATH / in ~/.cache/pyprof-pythons* / /tmp/py314*), tests/layout_dump.py
 * snapshots the interpreter's writable memory while its stack is
 * <module> -> snapshot_mode -> f -> g -> h -> snap, and prints ground truth taken from id()
 * and the C API. The snapshot is loaded into a mem_image at the original
 * addresses and walked with the layout pyprof would use (the generated table
 * for 3.8-3.12, layout_from_debug_offsets() for 3.13+): runtime -> interpreter
 * -> thread states -> frames -> code objects must reach exactly the expected
 * addresses and values. The sampler's stack plan is checked over the same
 * memory: the copies it asks for serve a second walk with no read of its own
 * and pass its torn-read check, which a changed caller or frame pointer in
 * the copies must fail. A missing interpreter is skipped, a present one must
 * pass.
 *
 * The second half feeds layout_from_debug_offsets() synthetic and corrupted
 * _Py_DebugOffsets: every bad input gets its specific error, none crashes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/proc/mem_image.h"
#include "pyprof/python/layout.h"
#include "pyprof/python/frame_walk.h"
#include "pyprof/python/pystr.h"
#include "pyprof/python/thread_names.h"
#include "pyprof/python/tlbc_cache.h"
#include "pyprof/sampler/stack_plan.h"
#include "test_support.h"

/* ---- the dump ----------------------------------------------------------- */

#define MAXN 16

struct code_exp {
  char label[16];
  uint64_t addr, name, qualname, filename, linetable;
  int64_t firstlineno;
  uint8_t lt[4096];
  size_t ltlen;
};

struct dump {
  int major, minor, micro;
  uint64_t hexversion, runtime, interp, threads_head, tstate, ident, native;
  uint64_t threads[MAXN][2];
  char tnames[MAXN][128]; /* threading's name of threads[i] */
  size_t nthreads;
  uint64_t stack[MAXN];
  size_t nstack;
  struct code_exp codes[MAXN];
  size_t ncodes;
  unsigned char dbg[PY_DEBUG_OFFSETS_READ];
  int ended;
};

static void parse_line(struct dump *d, char *line) {
  char *a[10];
  char *kw = ts_split(line, a, 10);
  if (!kw)
    return;
#define U(i) strtoull(a[i] ? a[i] : "0", NULL, 10)
  if (!strcmp(kw, "version")) {
    d->major = (int)U(0);
    d->minor = (int)U(1);
    d->micro = (int)U(2);
    d->hexversion = U(3);
  } else if (!strcmp(kw, "runtime")) {
    d->runtime = U(0);
  } else if (!strcmp(kw, "debug_offsets")) {
    ts_unhex(a[0] ? a[0] : "-", d->dbg, sizeof d->dbg);
  } else if (!strcmp(kw, "interp")) {
    d->interp = U(0);
    d->threads_head = U(1);
  } else if (!strcmp(kw, "tstate")) {
    d->tstate = U(0);
    d->ident = U(1);
    d->native = U(2);
  } else if (!strcmp(kw, "thread") && d->nthreads < MAXN) {
    d->threads[d->nthreads][0] = U(0);
    d->threads[d->nthreads][1] = U(1);
    size_t nb = ts_unhex(a[2] ? a[2] : "-", (uint8_t *)d->tnames[d->nthreads],
                         sizeof d->tnames[0] - 1);
    d->tnames[d->nthreads][nb] = 0;
    d->nthreads++;
  } else if (!strcmp(kw, "stack")) {
    for (int i = 0; i < 10 && a[i] && d->nstack < MAXN; i++)
      d->stack[d->nstack++] = U(i);
  } else if (!strcmp(kw, "code") && d->ncodes < MAXN) {
    struct code_exp *c = &d->codes[d->ncodes++];
    snprintf(c->label, sizeof c->label, "%s", a[0] ? a[0] : "?");
    c->addr = U(1);
    c->firstlineno = (int64_t)U(2);
    c->name = U(3);
    c->qualname = U(4);
    c->filename = U(5);
    c->linetable = U(6);
    c->ltlen = ts_unhex(a[7] ? a[7] : "-", c->lt, sizeof c->lt);
  } else if (!strcmp(kw, "end")) {
    d->ended = 1;
  }
#undef U
}

/* Run layout_dump.py snapshot under python; fill *d and load the memory. */
static int run_snapshot(const char *python, struct dump *d, struct mem_image *img) {
  char bin[] = "/tmp/pyprof-layout-XXXXXX";
  int fd = mkstemp(bin);
  cr_assert(fd >= 0);
  close(fd);
  char cmd[1024], args[64];
  snprintf(args, sizeof args, "snapshot %s", bin);
  FILE *p = ts_layout_dump(python, args, cmd, sizeof cmd); /* owned: pclose below */
  char *line = NULL; /* owned: getline buffer */
  size_t cap = 0;
  while (getline(&line, &cap, p) > 0)
    parse_line(d, line);
  free(line);
  int st = pclose(p);
  cr_assert(st == 0 && d->ended, "%s failed (status %d)", cmd, st);

  FILE *f = fopen(bin, "rb"); /* owned: fclose below */
  cr_assert(f);
  char magic[8];
  cr_assert(fread(magic, 1, 8, f) == 8 && !memcmp(magic, "PPDUMP01", 8));
  size_t regions = 0;
  for (;;) {
    uint64_t hdr[2];
    cr_assert(fread(hdr, 8, 2, f) == 2, "truncated snapshot");
    if (hdr[0] == 0 && hdr[1] == 0)
      break;
    unsigned char *buf = malloc(hdr[1]); /* owned: copied by mem_image_add */
    cr_assert(buf);
    cr_assert(fread(buf, 1, hdr[1], f) == hdr[1]);
    cr_assert(mem_image_add(img, hdr[0], buf, hdr[1]) == 0);
    free(buf);
    regions++;
  }
  fclose(f);
  unlink(bin);
  return (int)regions;
}

/* ---- checks ------------------------------------------------------------- */

/* Fields both kinds of 3.13+ table must agree on (all but source/micro). */
static void cross_check(const struct py_layout *a, const struct py_layout *b) {
#define SAME(f) cr_expect_eq((long long)a->f, (long long)b->f, "3.%d: %s: debug offsets %lld, " \
                             "generated %lld", a->minor, #f, (long long)a->f, (long long)b->f)
  SAME(major); SAME(minor); SAME(free_threaded);
  SAME(frame_kind); SAME(linetable_kind); SAME(instr_kind);
  SAME(runtime_size); SAME(runtime_interpreters_head); SAME(runtime_finalizing);
  SAME(runtime_gil_locked); SAME(runtime_gil_holder);
  SAME(interp_size); SAME(interp_next); SAME(interp_threads_head); SAME(interp_gil_ptr);
  SAME(gil_locked); SAME(gil_holder);
  SAME(tstate_size); SAME(tstate_next); SAME(tstate_interp); SAME(tstate_thread_id);
  SAME(tstate_native_thread_id); SAME(tstate_frame); SAME(cframe_current_frame);
  SAME(tstate_datastack_chunk);
  SAME(frame_size); SAME(frame_previous); SAME(frame_code); SAME(frame_instr); SAME(frame_owner);
  SAME(owner_skip_mask); SAME(code_tag_mask);
  SAME(code_size); SAME(code_filename); SAME(code_name); SAME(code_qualname);
  SAME(code_firstlineno); SAME(code_linetable); SAME(code_adaptive);
  SAME(ob_type); SAME(var_ob_size); SAME(bytes_ob_sval);
  SAME(unicode_state); SAME(unicode_length); SAME(unicode_ascii_size);
  SAME(unicode_compact_size); SAME(state_kind_shift); SAME(state_compact_shift);
  SAME(state_ascii_shift);
#undef SAME
}

static void read_struct(const struct mem_reader *r, uint64_t addr, int32_t size,
                        unsigned char *buf, size_t cap, const char *what) {
  cr_assert(size > 0 && (size_t)size <= cap, "%s size %d", what, size);
  int rc = mem_read(r, addr, buf, (size_t)size);
  cr_assert_eq(rc, 0, "reading %s at 0x%llx: %s", what, (unsigned long long)addr,
               pp_errname(rc));
}

static void check_code(const struct mem_reader *r, const struct py_layout *L,
                       const struct code_exp *c, uint64_t *type_out) {
  unsigned char buf[4096];
  uint64_t v = 0;
  int32_t first = 0;
  read_struct(r, c->addr, L->code_size, buf, sizeof buf, "code object");
  size_t n = (size_t)L->code_size;
  cr_assert(buf_u64(buf, n, L->ob_type, type_out));
  cr_expect(buf_u64(buf, n, L->code_name, &v) && v == c->name, "%s: co_name", c->label);
  cr_expect(buf_u64(buf, n, L->code_filename, &v) && v == c->filename, "%s: co_filename",
            c->label);
  cr_expect(buf_u64(buf, n, L->code_linetable, &v) && v == c->linetable, "%s: line table",
            c->label);
  cr_expect(buf_i32(buf, n, L->code_firstlineno, &first) && first == c->firstlineno,
            "%s: co_firstlineno %d, expected %lld", c->label, first, (long long)c->firstlineno);
  if (L->code_qualname >= 0)
    cr_expect(buf_u64(buf, n, L->code_qualname, &v) && v == c->qualname, "%s: co_qualname",
              c->label);
  else
    cr_expect_eq(c->qualname, 0);

  /* The objects the fields point at decode to the expected values. */
  uint8_t *lt = NULL; /* owned */
  size_t ltlen = 0;
  int rc = pybytes_read(r, L, c->linetable, &lt, &ltlen);
  cr_expect_eq(rc, 0, "%s: line table read: %s", c->label, pp_errname(rc));
  cr_expect(rc != 0 || (ltlen == c->ltlen && !memcmp(lt, c->lt, ltlen)),
            "%s: line table bytes differ (%zu vs %zu)", c->label, ltlen, c->ltlen);
  free(lt);
  char *s = NULL; /* owned */
  rc = pystr_read(r, L, c->name, &s);
  const char *want = strcmp(c->label, "module") ? c->label : "<module>";
  cr_expect(rc == 0 && !strcmp(s, want), "%s: co_name decodes to %s (%s)", c->label,
            s ? s : "?", pp_errname(rc));
  free(s);
  s = NULL;
  rc = pystr_read(r, L, c->filename, &s);
  cr_expect(rc == 0 && strlen(s) >= 14 && !strcmp(s + strlen(s) - 14, "layout_dump.py"),
            "%s: co_filename decodes to %s", c->label, s ? s : "?");
  free(s);
}

/* The stack plan of the snapshot's current thread (see the top comment). */
static void check_plan(const struct mem_reader *r, const struct py_layout *L, const struct dump *d) {
  struct py_thread th[MAXN];
  struct py_raw_frame a[64], b[64];
  struct frame_windows fw;
  struct stack_plan p;
  struct mem_read_req reqs[STACK_PLAN_REQS];
  size_t n = 0, i, na = 0, nb = 0;
  size_t arena_len = 2 * STACK_PLAN_BYTES + STACK_PLAN_CODES * CODE_FP_MAX;
  unsigned char *win = malloc(FRAME_WINDOWS_BUF); /* owned */
  unsigned char *arena = malloc(arena_len);       /* owned */
  cr_assert(win && arena);
  cr_assert_eq(py_threads_read(r, L, d->runtime, th, MAXN, &n), 0);
  for (i = 0; i < n && th[i].tstate != d->tstate; i++)
    ;
  cr_assert(i < n, "current thread state not listed");
  const struct py_thread *t = &th[i];

  frame_windows_init(&fw, r, t, win, FRAME_WINDOWS_BUF);
  cr_assert_eq(frame_walk(r, L, t->frame, &fw, a, 64, &na), 0);
  cr_assert_eq(na, d->nstack, "%zu frames", na);
  memset(&p, 0, sizeof p);
  stack_plan_make(&p, L, t, &fw, a, na);
  cr_assert(p.valid, "no plan for a %zu-frame stack", na);

  /* The batch, as the sampler would send it after the thread states. */
  unsigned char *ap = arena;
  size_t left = arena_len;
  size_t k = stack_plan_requests(&p, &ap, &left, reqs, STACK_PLAN_REQS);
  cr_assert(k > 0 && p.armed);
  cr_assert_eq(mem_readv(r, reqs, k), 0);
  stack_plan_windows(&p, t, &fw, win, FRAME_WINDOWS_BUF);
  cr_assert_eq(frame_walk(r, L, t->frame, &fw, b, 64, &nb), 0);
  cr_expect_eq(fw.reads, 0, "the planned walk read %zu times itself", fw.reads);
  cr_assert_eq(nb, na);
  for (size_t j = 0; j < na; j++)
    cr_expect(a[j].addr == b[j].addr && a[j].code == b[j].code && a[j].offset == b[j].offset,
              "frame %zu differs in the planned walk", j);
  cr_expect(stack_plan_untorn(&p, L, t, t->frame, &fw, b, nb), "an unchanged stack counted torn");
  for (size_t j = 0; j < nb; j++)
    cr_expect_not_null(stack_plan_fingerprint(&p, b[j].code), "code of frame %zu not re-checked", j);

  /* The thread moved on while it was copied: each must fail the check. */
  struct py_thread moved = *t;
  moved.frame = t->frame + 8;
  cr_expect(!stack_plan_untorn(&p, L, &moved, moved.frame, &fw, b, nb), "frame pointer moved");
  if (nb >= 2) {
    /* The caller of the leaf runs other code in the second copy. */
    size_t j;
    for (j = 0; j < p.nr; j++) {
      if (b[1].addr >= p.r[j].addr && b[1].addr - p.r[j].addr < p.r[j].len)
        break;
    }
    cr_assert(j < p.nr, "caller frame not in the plan's ranges");
    unsigned char *q = p.copy2 + p.off[j] + (b[1].addr - p.r[j].addr) + L->frame_code;
    uint64_t orig, other;
    memcpy(&orig, q, 8);
    other = orig ^ 0x1000;
    memcpy(q, &other, 8);
    cr_expect(!stack_plan_untorn(&p, L, t, t->frame, &fw, b, nb), "changed caller not caught");
    memcpy(q, &orig, 8);
    cr_expect(stack_plan_untorn(&p, L, t, t->frame, &fw, b, nb));

    /* The leaf's caller moved on in the second copy: the leaf returned,
     * which the walk may show as the moment before. */
    unsigned char *ip = p.copy2 + p.off[j] + (b[1].addr - p.r[j].addr) + L->frame_instr;
    size_t iw = L->instr_kind == PY_INSTR_LASTI_BYTES || L->instr_kind == PY_INSTR_LASTI_UNITS ? 4 : 8;
    unsigned char save[8];
    memcpy(save, ip, iw);
    ip[0] ^= 0x02; /* one code unit further */
    cr_expect(stack_plan_untorn(&p, L, t, t->frame, &fw, b, nb), "a returned leaf counted torn");
    memcpy(ip, save, iw);
    /* A deeper caller's instruction moved: the frames above it were popped
     * and pushed again at the same addresses (tight recursion). */
    if (nb >= 3) {
      size_t j2;
      for (j2 = 0; j2 < p.nr; j2++) {
        if (b[2].addr >= p.r[j2].addr && b[2].addr - p.r[j2].addr < p.r[j2].len)
          break;
      }
      cr_assert(j2 < p.nr, "frame 2 not in the plan's ranges");
      unsigned char *ip2 = p.copy2 + p.off[j2] + (b[2].addr - p.r[j2].addr) + L->frame_instr;
      memcpy(save, ip2, iw);
      ip2[0] ^= 0x02;
      cr_expect(!stack_plan_untorn(&p, L, t, t->frame, &fw, b, nb),
                "a moved deeper caller instruction not caught");
      memcpy(ip2, save, iw);
    }
    cr_expect(stack_plan_untorn(&p, L, t, t->frame, &fw, b, nb));
    /* The leaf's instruction may move: that is the same stack a moment on. */
    size_t jl;
    for (jl = 0; jl < p.nr; jl++) {
      if (b[0].addr >= p.r[jl].addr && b[0].addr - p.r[jl].addr < p.r[jl].len)
        break;
    }
    if (jl < p.nr) {
      unsigned char *lp = p.copy2 + p.off[jl] + (b[0].addr - p.r[jl].addr) + L->frame_instr;
      memcpy(save, lp, iw);
      lp[0] ^= 0x02;
      cr_expect(stack_plan_untorn(&p, L, t, t->frame, &fw, b, nb), "a moving leaf counted torn");
      memcpy(lp, save, iw);
    }
  }

  /* Frames that cannot belong together in a running read. */
  cr_expect(py_stack_plausible(L, b, nb), "a real stack judged implausible");
  if (nb >= 2) {
    struct py_raw_frame c[64];
    memcpy(c, b, nb * sizeof *c);
    c[1].offset = -2; /* a caller that has not started */
    cr_expect(!py_stack_plausible(L, c, nb), "an unstarted caller not caught");
    c[1].offset = b[1].offset;
    c[0].offset = -2; /* the leaf may have just been pushed */
    cr_expect(py_stack_plausible(L, c, nb));
  }
  if (L->owner_gen_mask) {
    struct py_raw_frame c[64];
    uint8_t gen = 0;
    while (!((L->owner_gen_mask >> gen) & 1u))
      gen++;
    memcpy(c, b, nb * sizeof *c);
    c[0].owner = gen;
    c[0].prev = 0; /* a generator frame detached from its caller */
    cr_expect(!py_stack_plausible(L, c, nb), "a detached generator frame not caught");
    c[0].prev = b[0].prev ? b[0].prev : 1; /* a running one has a caller */
    cr_expect(py_stack_plausible(L, c, nb));
  } else {
    cr_expect(L->minor < 11, "3.%d has generator frames with an owner", L->minor);
  }
  free(win);
  free(arena);
}

/* threading's names, read from the snapshot as the sampler reads them. */
static void check_thread_names(const struct mem_reader *r, const struct py_layout *L,
                               const struct dump *d) {
  struct py_thread_name names[MAXN];
  struct py_thread_names_cache cache = {0};
  size_t n = 0;
  cr_assert(py_thread_names_supported(L), "3.%d: no object-model data", L->minor);
  int rc = py_thread_names_read(r, L, d->interp, &cache, names, MAXN, &n);
  cr_assert_eq(rc, 0, "3.%d: thread names: %s", L->minor, pp_errname(rc));
  cr_expect_eq(n, d->nthreads, "%zu names, %zu threads", n, d->nthreads);
  for (size_t i = 0; i < d->nthreads; i++) {
    size_t j;
    for (j = 0; j < n && names[j].ident != d->threads[i][0]; j++)
      ;
    cr_assert(j < n, "no name for thread %llu", (unsigned long long)d->threads[i][0]);
    cr_expect_str_eq(names[j].name, d->tnames[i]);
  }
  /* the cached dict serves the next read */
  cr_expect(cache.active != 0);
  size_t n2 = 0;
  cr_expect_eq(py_thread_names_read(r, L, d->interp, &cache, names, MAXN, &n2), 0);
  cr_expect_eq(n2, n);
  /* a cap smaller than the threads: bounded */
  cr_expect_eq(py_thread_names_read(r, L, d->interp, &cache, names, 1, &n2), 0);
  cr_expect_eq(n2, 1);
}

static void check_interpreter(const char *python, int want_minor) {
  struct dump *d = calloc(1, sizeof *d); /* owned */
  struct mem_reader r;
  struct mem_image *img = ts_image(0, NULL, 0, &r); /* owned */
  struct py_layout L;
  char why[256] = "";
  cr_assert(d);
  int regions = run_snapshot(python, d, img);
  cr_log_info("%s: Python %d.%d.%d, %d regions", python, d->major, d->minor, d->micro, regions);
  cr_assert_eq(d->major, 3);
  cr_assert_eq(d->minor, want_minor, "%s is 3.%d", python, d->minor);

  /* The layout pyprof would use. */
  int has_cookie = !memcmp(d->dbg, "xdebugpy", 8);
  if (d->minor <= 12) {
    cr_assert(!has_cookie);
    const struct py_layout *B = layout_builtin(3, d->minor);
    cr_assert(B, "no built-in table for 3.%d", d->minor);
    L = *B;
  } else {
    cr_assert(has_cookie, "3.%d without _Py_DebugOffsets", d->minor);
    int rc = layout_from_debug_offsets(d->dbg, sizeof d->dbg, &L, why, sizeof why);
    cr_assert_eq(rc, 0, "layout_from_debug_offsets: %s: %s", pp_errname(rc), why);
    cr_expect_str_empty(why);
    cr_expect_eq(L.micro, d->micro);
    cr_expect_null(layout_builtin(3, d->minor));
    int crossed = 0;
    /* The cross-check tables describe default builds. */
    for (size_t i = 0; i < py_layout_crosscheck_count && !L.free_threaded; i++) {
      if (py_layout_crosscheck_tables[i].minor == d->minor) {
        cross_check(&L, &py_layout_crosscheck_tables[i]);
        crossed = 1;
      }
    }
    if (!crossed)
      cr_log_info("3.%d: no generated table to cross-check against (tools/gen-layout.sh has none for it)", d->minor);
  }
  cr_assert_eq(L.minor, d->minor);

  unsigned char buf[65536];
  uint64_t v = 0;
  /* runtime -> interpreter */
  read_struct(&r, d->runtime, L.runtime_size, buf, sizeof buf, "_PyRuntime");
  cr_assert(buf_u64(buf, (size_t)L.runtime_size, L.runtime_interpreters_head, &v));
  cr_assert_eq(v, d->interp, "interpreters.head 0x%llx, expected 0x%llx",
               (unsigned long long)v, (unsigned long long)d->interp);
  if (L.runtime_finalizing >= 0) {
    cr_expect(buf_u64(buf, (size_t)L.runtime_size, L.runtime_finalizing, &v) && v == 0,
              "not finalizing");
  }
  read_struct(&r, d->interp, L.interp_size, buf, sizeof buf, "interpreter");
  uint64_t head = 0, next = 1, gilp = 0;
  cr_assert(buf_u64(buf, (size_t)L.interp_size, L.interp_threads_head, &head));
  cr_assert(buf_u64(buf, (size_t)L.interp_size, L.interp_next, &next));
  cr_expect_eq(head, d->threads_head);
  cr_expect_eq(next, 0, "one interpreter");
  if (L.interp_gil_ptr >= 0)
    cr_assert(buf_u64(buf, (size_t)L.interp_size, L.interp_gil_ptr, &gilp));

  /* thread states */
  size_t seen = 0;
  int found_self = 0;
  for (uint64_t ts = head; ts && seen < MAXN; seen++) {
    uint64_t tid = 0, native = 0, interp = 0;
    read_struct(&r, ts, L.tstate_size, buf, sizeof buf, "thread state");
    size_t n = (size_t)L.tstate_size;
    cr_assert(buf_u64(buf, n, L.tstate_thread_id, &tid));
    cr_assert(buf_u64(buf, n, L.tstate_interp, &interp));
    cr_expect_eq(interp, d->interp);
    if (L.tstate_native_thread_id >= 0)
      cr_assert(buf_u64(buf, n, L.tstate_native_thread_id, &native));
    int known = 0;
    for (size_t i = 0; i < d->nthreads; i++) {
      if (d->threads[i][0] == tid) {
        known = 1;
        if (L.tstate_native_thread_id >= 0)
          cr_expect_eq(native, d->threads[i][1], "native id of thread %llu",
                       (unsigned long long)tid);
      }
    }
    cr_expect(known, "thread state with unknown thread id %llu", (unsigned long long)tid);
    if (ts == d->tstate) {
      found_self = 1;
      cr_expect_eq(tid, d->ident);
      if (L.tstate_native_thread_id >= 0)
        cr_expect_eq(native, d->native);
    }
    cr_assert(buf_u64(buf, n, L.tstate_next, &ts));
  }
  cr_expect_eq(seen, d->nthreads, "%zu thread states, %zu threads", seen, d->nthreads);
  cr_assert(found_self, "current thread state not in the list");

  /* GIL: held by this thread while the snapshot was read */
  uint32_t locked = 0;
  uint64_t holder = 0;
  if (L.free_threaded) {
    /* No GIL to follow; thread-local bytecode offsets instead (3.14+). */
    cr_expect_eq(L.interp_gil_ptr, PYL_NONE);
    cr_expect(d->minor < 14 || (L.frame_tlbc_index > 0 && L.code_tlbc > 0 &&
                                L.codearray_entries == 8),
              "tlbc offsets %d %d %d", L.frame_tlbc_index, L.code_tlbc, L.codearray_entries);
  } else {
    if (L.runtime_gil_locked >= 0) {
      cr_assert_eq(mem_read_u32(&r, d->runtime + (uint64_t)L.runtime_gil_locked, &locked), 0);
      cr_assert_eq(mem_read_u64(&r, d->runtime + (uint64_t)L.runtime_gil_holder, &holder), 0);
    } else {
      cr_assert(gilp != 0 && L.gil_locked >= 0 && L.gil_holder >= 0);
      cr_assert_eq(mem_read_u32(&r, gilp + (uint64_t)L.gil_locked, &locked), 0);
      cr_assert_eq(mem_read_u64(&r, gilp + (uint64_t)L.gil_holder, &holder), 0);
    }
    cr_expect_eq(locked, 1, "GIL locked = %u", locked);
    cr_expect_eq(holder, d->tstate, "GIL last holder");
  }

  /* frames of the current thread */
  uint64_t fp = 0;
  cr_assert_eq(mem_read_u64(&r, d->tstate + (uint64_t)L.tstate_frame, &fp), 0);
  if (L.cframe_current_frame >= 0) {
    cr_assert(fp != 0);
    cr_assert_eq(mem_read_u64(&r, fp + (uint64_t)L.cframe_current_frame, &fp), 0);
  }
  uint64_t got[64];
  size_t ngot = 0, skipped = 0;
  uint8_t last_owner = PY_OWNER_NONE;
  uint64_t first_fp = fp;
  for (int depth = 0; fp && depth < 64; depth++) {
    uint64_t code = 0, prev = 0;
    uint8_t owner = 0;
    read_struct(&r, fp, L.frame_size, buf, sizeof buf, "frame");
    size_t n = (size_t)L.frame_size;
    cr_assert(buf_u64(buf, n, L.frame_code, &code));
    cr_assert(buf_u64(buf, n, L.frame_previous, &prev));
    code &= ~L.code_tag_mask;
    if (L.frame_owner >= 0) {
      cr_assert(buf_u8(buf, n, L.frame_owner, &owner));
      cr_assert(owner < 8, "frame owner %u", owner);
      last_owner = owner;
      if (L.owner_skip_mask & (1u << owner)) {
        skipped++;
        fp = prev;
        continue;
      }
    }
    if (L.instr_kind == PY_INSTR_LASTI_BYTES || L.instr_kind == PY_INSTR_LASTI_UNITS) {
      int32_t lasti = -2;
      cr_assert(buf_i32(buf, n, L.frame_instr, &lasti));
      cr_expect(lasti >= 0 && lasti < 100000, "f_lasti %d", lasti);
    } else {
      uint64_t ip = 0, base = code + (uint64_t)L.code_adaptive;
      cr_assert(buf_u64(buf, n, L.frame_instr, &ip));
      /* prev_instr may sit one code unit before the first */
      cr_expect(ip + 2 >= base && ip < base + 100000, "instruction pointer outside the code");
    }
    got[ngot++] = code;
    fp = prev;
  }
  cr_log_info("3.%d: %zu frames, %zu skipped by owner", d->minor, ngot, skipped);
  /* The chain ends at the entry shim of the thread's first call (3.13+),
   * and frame_walk reports that owner. */
  cr_expect(py_chain_end_plausible(&L, last_owner), "3.%d: chain ends at a frame owned by %u",
            d->minor, last_owner);
  cr_expect(L.minor < 13 || L.owner_end_mask != 0);
  {
    static unsigned char wbuf[FRAME_WINDOWS_BUF];
    struct frame_windows fw;
    struct py_raw_frame raw[64];
    size_t nw = 0;
    struct py_thread th = {.tstate = d->tstate, .frame = first_fp};
    frame_windows_init(&fw, &r, &th, wbuf, sizeof wbuf);
    cr_assert_eq(frame_walk(&r, &L, first_fp, &fw, raw, 64, &nw), 0);
    cr_expect_eq(nw, ngot);
    cr_expect_eq(fw.end_owner, last_owner);
    /* a chain cut short (its last frame a Python frame) is caught */
    if (L.owner_end_mask)
      cr_expect(!py_chain_end_plausible(&L, raw[0].owner));
  }
  cr_assert_eq(ngot, d->nstack, "%zu frames walked, %zu expected", ngot, d->nstack);
  for (size_t i = 0; i < ngot; i++)
    cr_expect_eq(got[i], d->stack[i], "frame %zu: code 0x%llx, expected 0x%llx", i,
                 (unsigned long long)got[i], (unsigned long long)d->stack[i]);

  /* code objects */
  uint64_t type0 = 0;
  for (size_t i = 0; i < d->ncodes; i++) {
    uint64_t type = 0;
    check_code(&r, &L, &d->codes[i], &type);
    if (i == 0)
      type0 = type;
    cr_expect(type != 0 && type == type0, "ob_type of code objects");
  }
  cr_expect_eq(d->ncodes, 6);
  check_plan(&r, &L, d);
  check_thread_names(&r, &L, d);
  mem_image_free(img);
  free(d);
}

Test(layout_real, py3_8) { ts_with_python("test_layout", 8, check_interpreter); }
Test(layout_real, py3_9) { ts_with_python("test_layout", 9, check_interpreter); }
Test(layout_real, py3_10) { ts_with_python("test_layout", 10, check_interpreter); }
Test(layout_real, py3_11) { ts_with_python("test_layout", 11, check_interpreter); }
Test(layout_real, py3_12) { ts_with_python("test_layout", 12, check_interpreter); }
Test(layout_real, py3_13) { ts_with_python("test_layout", 13, check_interpreter); }
Test(layout_real, py3_14) { ts_with_python("test_layout", 14, check_interpreter); }
Test(layout_real, py3_15) { ts_with_python("test_layout", 15, check_interpreter); }
Test(layout_real, py3_14t) { ts_with_ft_python("test_layout", check_interpreter); }
Test(layout_real, debian_python3_11) { ts_with_debian_python("test_layout", check_interpreter); }

/* ---- built-in tables ---------------------------------------------------- */

Test(layout_builtin, covers_3_8_to_3_12_only) {
  for (int m = 8; m <= 12; m++) {
    const struct py_layout *L = layout_builtin(3, m);
    cr_assert(L, "3.%d", m);
    cr_expect_eq(L->major, 3);
    cr_expect_eq(L->minor, m);
    cr_expect(L->source && strstr(L->source, "generated"));
    cr_expect_eq(L->frame_kind, m <= 10 ? PY_FRAME_OBJECT : PY_FRAME_INTERP);
    cr_expect_eq(L->instr_kind, m <= 9 ? PY_INSTR_LASTI_BYTES
                                : m == 10 ? PY_INSTR_LASTI_UNITS
                                          : PY_INSTR_PREV_PTR);
    cr_expect_eq(L->linetable_kind, m <= 9 ? PY_LINETABLE_LNOTAB
                                    : m == 10 ? PY_LINETABLE_310
                                              : PY_LINETABLE_LOCATIONS);
    cr_expect_eq(L->free_threaded, 0);
    /* sizes cover the fields read */
    cr_expect(L->frame_previous + 8 <= L->frame_size && L->frame_code + 8 <= L->frame_size);
    cr_expect(L->code_name + 8 <= L->code_size && L->code_firstlineno + 4 <= L->code_size);
    cr_expect(L->tstate_next + 8 <= L->tstate_size && L->tstate_thread_id + 8 <= L->tstate_size);
    cr_expect(L->runtime_interpreters_head + 8 <= L->runtime_size);
    cr_expect(L->unicode_compact_size > L->unicode_ascii_size);
  }
  cr_expect_null(layout_builtin(3, 7));
  cr_expect_null(layout_builtin(3, 13));
  cr_expect_null(layout_builtin(3, 14));
  cr_expect_null(layout_builtin(2, 7));
  cr_expect_null(layout_builtin(4, 8));
}

/* ---- synthetic _Py_DebugOffsets ----------------------------------------- */

/* Field counts of each section, in order: an independent transcription of
 * 3.13's pycore_runtime.h and 3.14's and 3.15's pycore_debug_offsets.h (not
 * taken from the generated tables, so a wrong generator fails here). */
static const int sec313[] = {3, 13, 9, 6, 10, 2, 4, 3, 3, 3, 2, 3, 3, 4, 2};
static const int sec314[] = {3, 16, 9, 8, 11, 2, 4, 3, 3, 4, 3, 2, 3, 3, 4, 2, 4, 2, 6};
/* 3.15: thread_state gained base_frame, last_profiled_frame(_seq), holds_gil,
 * gil_requested, current_exception, exc_state; err_stackitem follows it;
 * type_object gained two fields, heap_type_object is new; unicode_object has
 * compactunicodeobject_size, gc three more fields. */
static const int sec315[] = {3, 16, 16, 1, 8, 11, 2, 6, 2, 3, 3, 4, 3, 2, 3, 3, 5, 5, 4, 2, 6};

/* Where the sections and fields the tests touch are, per minor. */
struct shape {
  int minor;
  const int *counts;
  int nsec;
  size_t used;                       /* bytes of the whole description */
  int tstate, frame, code, py, bytes, uni; /* section indices */
  int gil;                           /* interpreter_state: index of ceval_gil */
  int native_tid, chunk;             /* thread_state: native_thread_id, datastack_chunk */
};
#define NSEC(a) (int)(sizeof a / sizeof *a)
static const struct shape shapes[] = {
    {13, sec313, NSEC(sec313), 584, 2, 3, 4, 5, 12, 13, 9, 6, 7},
    {14, sec314, NSEC(sec314), 760, 2, 3, 4, 5, 13, 14, 10, 6, 7},
    {15, sec315, NSEC(sec315), 888, 2, 4, 5, 6, 15, 16, 10, 9, 10},
};
#define NSHAPES (int)(sizeof shapes / sizeof *shapes)

static const struct shape *shape_of(int minor) {
  for (int i = 0; i < NSHAPES; i++)
    if (shapes[i].minor == minor)
      return &shapes[i];
  cr_assert_fail("no shape for 3.%d", minor);
  return NULL;
}

struct blob {
  unsigned char b[PY_DEBUG_OFFSETS_READ];
  size_t used;
  const struct shape *sh;
};

static size_t slot_of(const struct blob *x, int sec, int field) {
  size_t s = 0;
  for (int i = 0; i < sec; i++)
    s += (size_t)x->sh->counts[i];
  return 24 + 8 * (s + (size_t)field);
}

static void put(struct blob *x, int sec, int field, uint64_t v) {
  memcpy(x->b + slot_of(x, sec, field), &v, 8);
}

static uint64_t get(const struct blob *x, int sec, int field) {
  uint64_t v;
  memcpy(&v, x->b + slot_of(x, sec, field), 8);
  return v;
}

/* A valid, self-consistent blob for 3.minor: every section 4096 bytes,
 * field j at offset 8*j, then the fingerprinted sections made realistic. */
static void make_blob(struct blob *x, int minor) {
  const struct shape *sh = shape_of(minor);
  memset(x, 0, sizeof *x);
  x->sh = sh;
  memcpy(x->b, "xdebugpy", 8);
  uint64_t version = 0x030000F0u | ((uint64_t)minor << 16) | (2u << 8); /* 3.minor.2 final */
  memcpy(x->b + 8, &version, 8);
  for (int s = 0; s < sh->nsec; s++) {
    put(x, s, 0, 4096);
    for (int j = 1; j < sh->counts[s]; j++)
      put(x, s, j, 8 * (uint64_t)j);
  }
  x->used = slot_of(x, sh->nsec, 0);
  put(x, sh->py, 0, 16);
  put(x, sh->py, 1, 8);
  put(x, sh->bytes, 0, 33);
  put(x, sh->bytes, 1, 16);
  put(x, sh->bytes, 2, 32);
  put(x, sh->uni, 0, 64);
  put(x, sh->uni, 1, 32);
  put(x, sh->uni, 2, 16);
  put(x, sh->uni, 3, 40);
  if (sh->counts[sh->uni] > 4)
    put(x, sh->uni, 4, 56); /* compactunicodeobject_size */
  put(x, 1, sh->gil, 1000);
  put(x, 1, sh->gil + 1, 0);
  put(x, 1, sh->gil + 2, 1016);
  put(x, 1, sh->gil + 3, 1008);
}

static int parse(const struct blob *x, size_t len, struct py_layout *L, char *why, size_t wl) {
  return layout_from_debug_offsets(x->b, len, L, why, wl);
}

Test(debug_offsets, synthetic_valid) {
  for (int i = 0; i < NSHAPES; i++) {
    const struct shape *sh = &shapes[i];
    int minor = sh->minor;
    struct blob x;
    struct py_layout L;
    char why[256];
    make_blob(&x, minor);
    cr_assert_eq(x.used, sh->used);
    int rc = parse(&x, sizeof x.b, &L, why, sizeof why);
    cr_assert_eq(rc, 0, "3.%d: %s %s", minor, pp_errname(rc), why);
    cr_expect_str_empty(why);
    cr_expect_eq(L.minor, minor);
    cr_expect_eq(L.micro, 2);
    cr_expect_eq(L.tstate_native_thread_id, 8 * sh->native_tid);
    cr_expect_eq(L.tstate_frame, 32);                        /* current_frame, field 4 */
    cr_expect_eq(L.tstate_datastack_top, 8 * sh->chunk + 8); /* datastack_chunk's neighbour */
    cr_expect_eq(L.tstate_size, 8 * sh->chunk + 16);         /* up to datastack_top */
    cr_expect_eq(L.frame_owner, 40);
    cr_expect_eq(L.frame_size, 41);
    cr_expect_eq(L.gil_locked, 16);
    cr_expect_eq(L.gil_holder, 8);
    cr_expect_eq(L.unicode_ascii_size, 40);
    cr_expect_eq(L.unicode_compact_size, 56);
    cr_expect_eq(L.code_tag_mask, minor >= 14 ? 3u : 0u);
    /* 3.13 FRAME_OWNED_BY_CSTACK 3; 3.14 _INTERPRETER 3, _CSTACK 4; 3.15
     * _INTERPRETER 3 (no _CSTACK) */
    cr_expect_eq(L.owner_skip_mask, minor == 14 ? 0x18u : 0x8u);
    cr_expect_eq(L.owner_gen_mask, 0x2u);
    cr_expect_eq(L.cframe_current_frame, PYL_NONE);
    cr_expect_eq(L.runtime_gil_locked, PYL_NONE);
    /* the whole description is needed, not one byte less */
    cr_expect_eq(parse(&x, x.used, &L, why, sizeof why), 0);
    cr_expect_eq(parse(&x, x.used - 1, &L, why, sizeof why), PP_EINVAL);
  }
}

static void expect_fail(const struct blob *x, size_t len, int want, const char *needle) {
  struct py_layout L;
  char why[256] = "";
  memset(&L, 0x5a, sizeof L);
  int rc = parse(x, len, &L, why, sizeof why);
  cr_expect_eq(rc, want, "want %s, got %s (%s)", pp_errname(want), pp_errname(rc), why);
  cr_expect(strstr(why, needle), "reason \"%s\" lacks \"%s\"", why, needle);
  cr_expect_eq(((unsigned char *)&L)[0], 0x5a, "output untouched on error");
}

Test(debug_offsets, rejects_bad_input) {
  struct blob x;
  for (int i = 0; i < NSHAPES; i++) {
    const struct shape *sh = &shapes[i];
    int minor = sh->minor;
    make_blob(&x, minor);
    x.b[0] = 'X';
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "cookie");

    make_blob(&x, minor);
    uint64_t v = 0x020712F0;
    memcpy(x.b + 8, &v, 8);
    expect_fail(&x, sizeof x.b, PP_EUNSUPPORTED, "not CPython 3");
    v = 0x030C01F0;
    memcpy(x.b + 8, &v, 8);
    expect_fail(&x, sizeof x.b, PP_EUNSUPPORTED, "3.12");
    v = 0x1030D01F0ull;
    memcpy(x.b + 8, &v, 8);
    expect_fail(&x, sizeof x.b, PP_EUNSUPPORTED, "not CPython 3");

    make_blob(&x, minor);
    v = 2; /* free_threaded is a flag */
    memcpy(x.b + 16, &v, 8);
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "free_threaded");

    make_blob(&x, minor);
    put(&x, sh->tstate, sh->native_tid, get(&x, sh->tstate, 0)); /* == sizeof(PyThreadState) */
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "thread_state.native_thread_id");
    make_blob(&x, minor);
    put(&x, sh->tstate, sh->native_tid, get(&x, sh->tstate, 0) - 4); /* straddles the end */
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "thread_state.native_thread_id");
    make_blob(&x, minor);
    put(&x, sh->code, 3, UINT64_MAX - 3); /* code qualname: wraps if added */
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "code_object.qualname");

    make_blob(&x, minor);
    put(&x, 0, 0, (uint64_t)1 << 40);
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "runtime_state.size");
    make_blob(&x, minor);
    put(&x, sh->frame, 0, 0);
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "interpreter_frame.size");
    make_blob(&x, minor);
    put(&x, sh->tstate, 0, (uint64_t)1 << 20);
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "thread_state.size");

    make_blob(&x, minor);
    put(&x, sh->py, 0, 24); /* PyObject bigger than its header */
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "PyObject");
    make_blob(&x, minor);
    put(&x, sh->uni, 3, 48); /* PyASCIIObject size off */
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "PyASCIIObject");
    make_blob(&x, minor);
    put(&x, 1, sh->gil + 2, 900); /* GIL locked before the GIL state */
    expect_fail(&x, sizeof x.b, PP_ELAYOUT, "GIL");

    make_blob(&x, minor);
    expect_fail(&x, 100, PP_EINVAL, "truncated");
    expect_fail(&x, 10, PP_EINVAL, "truncated");
  }

  make_blob(&x, 13);
  uint64_t v = 0x030D00A1; /* 3.13.0a1 */
  memcpy(x.b + 8, &v, 8);
  expect_fail(&x, sizeof x.b, PP_EUNSUPPORTED, "rc2");
  /* 3.14-shaped tables claiming a minor newer than any known: the newest
   * (3.15) description does not fit them, and the version is named */
  make_blob(&x, 14);
  v = 0x031000A4; /* 3.16.0a4 */
  memcpy(x.b + 8, &v, 8);
  expect_fail(&x, sizeof x.b, PP_EUNSUPPORTED, "3.16");
  make_blob(&x, 13);
  v = 0x031000F0;
  memcpy(x.b + 8, &v, 8);
  expect_fail(&x, sizeof x.b, PP_EUNSUPPORTED, "3.16");
  cr_expect_eq(layout_from_debug_offsets(NULL, 0, NULL, NULL, 0), PP_EINVAL);
}

/* Free-threaded builds: same struct, the free-threaded facts. Expected
 * values transcribed from each version's headers with Py_GIL_DISABLED
 * (Include/cpython/unicodeobject.h: `unsigned char interned` before the
 * bit-fields, so kind starts at bit 8 on 3.14+; internal/pycore_stackref.h:
 * Py_TAG_BITS 1 on 3.14t, 3 on 3.15t; 3.13 has no _PyStackRef and no
 * thread-local bytecode), not from the generated tables. */
Test(debug_offsets, free_threaded) {
  static const struct {
    int minor, kind_shift, compact_shift, ascii_shift;
    uint64_t tag;
    int tlbc;
  } want[] = {{13, 2, 5, 6, 0, 0}, {14, 8, 11, 12, 1, 1}, {15, 8, 11, 12, 3, 1}};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    const struct shape *sh = shape_of(want[i].minor);
    struct blob x;
    struct py_layout L;
    char why[256];
    uint64_t one = 1;
    make_blob(&x, want[i].minor);
    memcpy(x.b + 16, &one, 8);
    int rc = parse(&x, sizeof x.b, &L, why, sizeof why);
    cr_assert_eq(rc, 0, "3.%dt: %s %s", want[i].minor, pp_errname(rc), why);
    cr_expect_eq(L.free_threaded, 1);
    cr_expect_eq(L.interp_gil_ptr, PYL_NONE, "3.%dt has no GIL to follow", want[i].minor);
    cr_expect_eq(L.gil_locked, PYL_NONE);
    cr_expect_eq(L.state_kind_shift, want[i].kind_shift, "3.%dt", want[i].minor);
    cr_expect_eq(L.state_compact_shift, want[i].compact_shift);
    cr_expect_eq(L.state_ascii_shift, want[i].ascii_shift);
    cr_expect_eq(L.code_tag_mask, want[i].tag, "3.%dt tag bits", want[i].minor);
    if (want[i].tlbc) {
      /* interpreter_frame.tlbc_index is field 7, code_object.co_tlbc field 10 */
      cr_expect_eq(L.frame_tlbc_index, 56);
      cr_expect_eq(L.frame_size, 60, "the frame read covers tlbc_index");
      cr_expect_eq(L.code_tlbc, 80);
      cr_expect_eq(L.codearray_entries, 8);
      struct blob y = x;
      put(&y, sh->frame, 7, 0); /* a free-threaded 3.14+ without tlbc_index */
      expect_fail(&y, sizeof y.b, PP_ELAYOUT, "thread-local");
      y = x;
      put(&y, sh->frame, 7, 4094); /* straddles the frame's end */
      expect_fail(&y, sizeof y.b, PP_ELAYOUT, "interpreter_frame.tlbc_index");
    } else {
      cr_expect_eq(L.frame_tlbc_index, 0);
      cr_expect_eq(L.code_tlbc, 0);
    }
    /* the default build of the same blob keeps its GIL and facts */
    make_blob(&x, want[i].minor);
    cr_assert_eq(parse(&x, sizeof x.b, &L, why, sizeof why), 0);
    cr_expect_eq(L.free_threaded, 0);
    cr_expect_eq(L.state_kind_shift, 2);
    cr_expect_eq(L.frame_tlbc_index, 0);
    cr_expect(L.interp_gil_ptr >= 0);
  }
}

/* ---- thread-local bytecode (tlbc_cache) --------------------------------- */

#define TL_CODE 0x10000u
#define TL_ARR 0x20000u
#define TL_COPY1 0x30000u
#define TL_COPY2 0x40000u

struct tl_world {
  struct mem_image *img; /* owned */
  struct mem_reader r;
  struct py_layout L;
};

/* A code object of `units` code units (50: 100 bytes) whose co_tlbc is tl
 * (TL_ARR), a _PyCodeArray with entries for thread indices 0-2 and size
 * written as asize (3). */
static void tl_world_of(struct tl_world *w, uint64_t asize, int64_t units, uint64_t tl) {
  unsigned char code[256] = {0}, arr[40] = {0};
  uint64_t e[3] = {TL_CODE + 200, TL_COPY1, TL_COPY2};
  memset(w, 0, sizeof *w);
  w->L.var_ob_size = 16;
  w->L.code_tlbc = 208;
  w->L.codearray_entries = 8;
  w->L.code_adaptive = 200;
  memcpy(code + 16, &units, 8);
  memcpy(code + 208, &tl, 8);
  memcpy(arr, &asize, 8);
  memcpy(arr + 8, e, sizeof e);
  w->img = ts_image(TL_CODE, code, sizeof code, &w->r);
  cr_assert_eq(mem_image_add(w->img, TL_ARR, arr, sizeof arr), 0);
}

static void tl_world(struct tl_world *w, uint64_t asize) { tl_world_of(w, asize, 50, TL_ARR); }

Test(tlbc, resolves_caches_and_checks) {
  struct tl_world w;
  struct tlbc_cache *c = NULL; /* owned */
  uint64_t base = 0;
  tl_world(&w, 3);
  cr_assert_eq(tlbc_cache_new(&c), 0);
  cr_assert_eq(tlbc_base(c, &w.r, &w.L, TL_CODE, 1, TL_COPY1 + 10, &base), 0);
  cr_expect_eq(base, TL_COPY1);
  cr_expect_eq(tlbc_cache_misses(c), 1);
  cr_assert_eq(tlbc_base(c, &w.r, &w.L, TL_CODE, 2, TL_COPY2 + 100, &base), 0);
  cr_expect_eq(base, TL_COPY2, "the end of the code is inside (instr_ptr after the last)");
  cr_expect_eq(tlbc_cache_misses(c), 2);
  /* a hit reads nothing: the same answer with the memory gone */
  struct mem_reader none;
  struct mem_image *empty = ts_image(0, NULL, 0, &none); /* owned */
  cr_assert_eq(tlbc_base(c, &none, &w.L, TL_CODE, 1, TL_COPY1 + 4, &base), 0);
  cr_expect_eq(base, TL_COPY1);
  cr_expect_eq(tlbc_cache_misses(c), 2);
  /* an instruction outside the cached copy is read again, and refused */
  cr_expect_eq(tlbc_base(c, &w.r, &w.L, TL_CODE, 1, TL_COPY2 + 4, &base), PP_ETORN);
  cr_expect_eq(tlbc_cache_misses(c), 3);
  cr_expect_eq(tlbc_base(c, &w.r, &w.L, TL_CODE, 1, TL_COPY1 + 102, &base), PP_ETORN);
  /* an index past the array's size, or nonsense */
  cr_expect_eq(tlbc_base(c, &w.r, &w.L, TL_CODE, 3, TL_COPY2 + 4, &base), PP_ETORN);
  cr_expect_eq(tlbc_base(c, &w.r, &w.L, TL_CODE, 0, TL_COPY1, &base), PP_EBOUNDS);
  cr_expect_eq(tlbc_base(c, &w.r, &w.L, TL_CODE, -1, TL_COPY1, &base), PP_EBOUNDS);
  /* cleared: reads again; without a cache it works too */
  tlbc_cache_clear(c);
  cr_expect_eq(tlbc_base(c, &none, &w.L, TL_CODE, 1, TL_COPY1 + 4, &base), PP_EFAULT);
  cr_expect_eq(tlbc_base(NULL, &w.r, &w.L, TL_CODE, 1, TL_COPY1 + 4, &base), 0);
  cr_expect_eq(base, TL_COPY1);
  /* a layout without thread-local bytecode cannot ask */
  struct py_layout plain = w.L;
  plain.code_tlbc = 0;
  cr_expect_eq(tlbc_base(c, &w.r, &plain, TL_CODE, 1, TL_COPY1, &base), PP_ELAYOUT);
  tlbc_cache_free(c);
  mem_image_free(empty);
  mem_image_free(w.img);
}

Test(tlbc, untrusted_sizes) {
  struct tl_world w;
  uint64_t base = 0;
  tl_world(&w, (uint64_t)1 << 40); /* an array claiming 2^40 entries */
  cr_expect_eq(tlbc_base(NULL, &w.r, &w.L, TL_CODE, 1, TL_COPY1, &base), PP_EBOUNDS);
  mem_image_free(w.img);
  tl_world_of(&w, 3, (int64_t)1 << 40, TL_ARR); /* code size */
  cr_expect_eq(tlbc_base(NULL, &w.r, &w.L, TL_CODE, 1, TL_COPY1, &base), PP_EBOUNDS);
  mem_image_free(w.img);
  tl_world_of(&w, 3, -5, TL_ARR);
  cr_expect_eq(tlbc_base(NULL, &w.r, &w.L, TL_CODE, 1, TL_COPY1, &base), PP_EBOUNDS);
  mem_image_free(w.img);
  tl_world_of(&w, 3, 50, 0); /* no co_tlbc */
  cr_expect_eq(tlbc_base(NULL, &w.r, &w.L, TL_CODE, 1, TL_COPY1, &base), PP_ETORN);
  mem_image_free(w.img);
  tl_world_of(&w, 3, 50, 0x50000); /* co_tlbc pointing at nothing */
  cr_expect_eq(tlbc_base(NULL, &w.r, &w.L, TL_CODE, 1, TL_COPY1, &base), PP_EFAULT);
  mem_image_free(w.img);
}

Test(debug_offsets, newer_minor_and_prerelease_warn) {
  struct blob x;
  struct py_layout L;
  char why[256];
  make_blob(&x, 15);
  uint64_t v = 0x031000F0; /* 3.16.0 shaped like 3.15: accepted, with a warning */
  memcpy(x.b + 8, &v, 8);
  cr_assert_eq(parse(&x, sizeof x.b, &L, why, sizeof why), 0, "%s", why);
  cr_expect(strstr(why, "newer"), "%s", why);
  cr_expect(strstr(why, "3.16"), "%s", why);
  cr_expect_eq(L.minor, 16);
  make_blob(&x, 15);
  v = 0x030F00B2; /* 3.15.0b2 */
  memcpy(x.b + 8, &v, 8);
  cr_assert_eq(parse(&x, sizeof x.b, &L, why, sizeof why), 0, "%s", why);
  cr_expect(strstr(why, "pre-release"), "%s", why);
  /* why may be NULL */
  make_blob(&x, 13);
  cr_expect_eq(layout_from_debug_offsets(x.b, sizeof x.b, &L, NULL, 0), 0);
}

/* Random corruption never crashes and never yields a table whose sizes do
 * not cover its offsets. */
Test(debug_offsets, fuzz) {
  struct blob x;
  struct py_layout L;
  char why[256];
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int ok = 0;
  for (int iter = 0; iter < 20000; iter++) {
    make_blob(&x, 13 + iter % 3);
    uint64_t ft = (uint64_t)(iter / 3) & 1; /* free-threaded every other round */
    memcpy(x.b + 16, &ft, 8);
    int flips = 1 + iter % 4;
    for (int k = 0; k < flips; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = 24 + (size_t)(seed >> 33) % (x.used - 24);
      x.b[at] = (unsigned char)(seed >> 20);
    }
    if (parse(&x, sizeof x.b, &L, why, sizeof why) == 0) {
      ok++;
      cr_assert(L.tstate_size > 0 && L.tstate_size <= 65536);
      cr_assert(L.frame_size > 0 && L.frame_size <= 65536);
      cr_assert(L.code_size > 0 && L.code_size <= 65536);
      cr_assert(L.runtime_size > 0 && L.interp_size > 0);
      cr_assert(L.tstate_native_thread_id + 8 <= L.tstate_size);
      cr_assert(L.frame_owner + 1 <= L.frame_size);
      cr_assert(L.code_firstlineno + 4 <= L.code_size);
      cr_assert(L.frame_tlbc_index == 0 || L.frame_tlbc_index + 4 <= L.frame_size);
      cr_assert(L.free_threaded || L.frame_tlbc_index == 0);
    }
  }
  cr_log_info("fuzz: %d of 20000 corrupted tables still validated", ok);
}
