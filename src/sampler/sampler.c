/* The sampling loop (sampler.h): per tick, one batched read of the thread
 * list and every thread's stack plan, then per thread a running read kept
 * only when it shows one moment's stack, or a stopped read chosen from the
 * thread's past (struct thread_mode); the frames become record ids through
 * the per-thread memo. Must never leave a thread stopped, never choose how
 * to read a sample from what that sample shows, and never write a stack
 * the checks did not accept. */
#include "pyprof/sampler/sampler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/proc/proc_info.h"
#include "pyprof/proc/ptrace_stop.h"
#include "pyprof/proc/pthread_tid.h"
#include "pyprof/python/code_cache.h"
#include "pyprof/python/frame_walk.h"
#include "pyprof/sampler/stack_plan.h"
#include "pyprof/sampler/thread_naming.h"

#define FLUSH_EVERY_NS 100000000LL  /* a kill -9 loses at most ~100 ms */
#define CATCHUP_MAX_NS 10000000LL   /* ticks later than this are dropped, not caught up */
#define RUNSTATE_TTL_NS 1000000LL   /* above 1 kHz, a thread's run state is re-read once per ms */
#define STATUS_EVERY_NS 250000000LL
#define CODE_CACHE_MAX 65536
#define SEEN_TIDS_MAX 65536              /* threads named in one recording */
#define SEEN_TIDS_SLOTS (2 * SEEN_TIDS_MAX) /* power of two */
#define LAYOUT_GIVE_UP 50  /* unreadable stopped stacks, with none readable, before giving up */
#define LAYOUT_GIVE_UP_RUNNING 2000 /* the same for running reads, when none can be stopped */
#define RELOCATE_AFTER 20  /* bad ticks after good ones before looking for the interpreter anew */

#define MEMO_THREADS 64
#define MODE_THREADS 64     /* threads whose read mode is remembered */
#define STOP_BACKOFF_MIN 8     /* stopped reads after a first failed running read */
#define STOP_BACKOFF_MAX 1024  /* ... after many: the thread's stack changes too fast to read */
#define STOP_OK_RUN 64         /* running reads in a row that halve the backoff */
#define STOP_REFUSALS_MAX 8    /* stops refused in a row before running reads only */
/* At most SAMPLER_STOP_RATE_MAX stopped reads per second and thread (a burst of
 * STOP_BURST_NS worth): each holds the thread for tens of microseconds, so
 * above ~2 kHz a thread whose stack changes too fast to read running would
 * spend a large share of its time stopped. Past the budget its running reads
 * that do not hold are counted as failed (the summary says so). */
#define STOP_COST_NS (1000000000LL / SAMPLER_STOP_RATE_MAX)
#define STOP_BURST_NS 100000000LL
#define PLAN_ARENA_BYTES ((size_t)2 << 20) /* copies of all threads' plans in one tick */
#define PLAN_PAUSE_TICKS 256               /* ticks without plans after a batch with them failed */

struct stack_memo {
  uint32_t tid;
  uint64_t gen;              /* valid while equal to memo_gen_now() */
  struct py_raw_frame *raw;  /* owned, cap: last walk, leaf first */
  uint32_t *ids;             /* owned, cap: its frame ids, root first */
  size_t n, cap;
  uint32_t stack_id;
};

/* How a thread is read (adaptive mode). A thread is read running, without
 * stopping it; when such a read cannot be shown to be one moment's stack,
 * that thread is stopped and read at once (the sample is kept), and its next
 * `backoff` samples are read stopped too. The backoff doubles with every
 * failed running read and halves after STOP_OK_RUN good ones in a row. The
 * choice for a sample is made before it is read, from the thread's past
 * only, so it cannot favour what the stack is doing now; only the failed
 * running reads are re-timed (a few microseconds later), and a thread whose
 * reads fail often is soon read stopped nearly always. */
struct thread_mode {
  uint32_t tid;
  uint32_t stop_left; /* samples still to read stopped */
  uint32_t backoff;   /* stopped samples after the next failed running read */
  uint32_t ok_run;    /* running reads in a row that held */
  int64_t credit_ns;  /* stop budget: STOP_COST_NS per stop, earned with time */
  int64_t last_ns;    /* when the credit was last earned */
};

struct sampler {
  const struct sampler_opts *o;
  const struct py_target *t;            /* the target in force: points at tgt */
  struct py_target *tgt;                /* owned copy, replaced when the target execs */
  uint64_t starttime;                   /* identity of the target process */
  uint64_t bad_ticks;                   /* consecutive ticks without a readable thread list */
  const struct mem_reader *r;
  struct record_writer *w;
  struct sampler_stats *st;
  struct code_cache *codes;             /* owned */
  struct proc_thread_states *states;    /* owned */
  struct py_thread *threads;            /* owned, PY_THREADS_MAX */
  struct py_raw_frame *raw;             /* owned, PY_STACK_MAX */
  unsigned char *window;                /* owned, FRAME_WINDOWS_BUF: data-stack copies */
  struct stack_plan *plans;             /* owned, PY_REREAD_MAX: per threads[] index (fast path) */
  unsigned char *arena;                 /* owned, PLAN_ARENA_BYTES: the plans' copies */
  unsigned char *recopy;                /* owned, STACK_PLAN_BYTES: second copy, torn check */
  struct mem_read_req *plan_reqs;       /* owned, PY_REREAD_EXTRA_MAX */
  uint64_t plan_pause;                  /* ticks left without plans */
  /* 3.8-3.10: kernel tids read in the tick's batch, from these pthread ids */
  unsigned char tid_pre[PY_REREAD_MAX][4];
  uint64_t tid_pre_id[PY_REREAD_MAX];
  size_t ntid_pre;
  unsigned char *fp_bufs;               /* owned, FP_CHECK_MAX * CODE_FP_MAX: fingerprints */
  uint32_t *ids;                        /* owned, PY_STACK_MAX */
  uint32_t *seen_tids;                  /* owned, SEEN_TIDS_SLOTS: set of tids named so far */
  size_t nseen;
  int32_t ptid_off;                     /* tid offset in pthread descriptors, -1 unknown */
  uint64_t gil_interp, gil_state;       /* cached GIL state address of gil_interp */
  struct py_gil_loc gil_loc;            /* where the GIL's flag and holder are */
  int gil_loc_ok;
  size_t nprev;                         /* threads[] from the last tick, for the fast path */
  struct stack_memo memos[MEMO_THREADS];/* per-thread last stacks (arrays owned) */
  size_t memo_next;
  struct thread_mode modes[MODE_THREADS];
  size_t mode_next;
  int can_stop;                         /* adaptive: threads may be stopped (0 once refused) */
  unsigned stop_refusals;               /* stops refused in a row */
  uint64_t relocations;                 /* with the code cache's epoch: memo validity */
  struct tlbc_cache *tlbc;              /* owned: free-threaded bytecode copies */
  struct thread_naming *naming;         /* owned: Python thread names into the record */
  uint64_t tlbc_epoch;                  /* code cache epoch the tlbc entries belong to */
  uint64_t gil_holder;                  /* this tick's GIL holder (tstate), 0 if none */
  int gil_known;                        /* this tick's holder was read */
  int64_t t0;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t deadline) {
  struct timespec ts = {(time_t)(deadline / 1000000000LL), (long)(deadline % 1000000000LL)};
  /* EINTR (a signal) returns early: the loop then checks its stop flag. */
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Name a thread in the record the first time it is sampled (from its comm). */
static void note_thread(struct sampler *s, uint32_t tid) {
  /* Open-addressing set of the tids named so far (tid 0 is never noted). */
  size_t mask = SEEN_TIDS_SLOTS - 1, i = (tid * 2654435761u) & mask;
  while (s->seen_tids[i]) {
    if (s->seen_tids[i] == tid)
      return;
    i = (i + 1) & mask;
  }
  if (s->nseen == SEEN_TIDS_MAX)
    return; /* enough names: later threads stay unnamed rather than slow us */
  s->seen_tids[i] = tid;
  s->nseen++;
  s->st->threads_seen++;
  thread_naming_saw(s->naming);
  const char *pyname = thread_naming_name(s->naming, tid);
  if (pyname) { /* Python named it before its first sample */
    record_writer_thread(s->w, tid, pyname);
    return;
  }
  char path[80], name[64] = "";
  snprintf(path, sizeof path, "/proc/%d/task/%u/comm", (int)s->o->pid, tid);
  FILE *f = fopen(path, "re");
  if (f) {
    if (fgets(name, sizeof name, f))
      name[strcspn(name, "\n")] = 0;
    fclose(f);
  }
  record_writer_thread(s->w, tid, name);
}

/* Turn walked raw frames (leaf first) into a record stack id. A code object
 * that cannot be read fails the sample like a torn read would. */
/* The record frame id of raw frame i (leaf-first index) of the current walk. */
static int frame_id_of(struct sampler *s, size_t i, uint32_t *id) {
  const struct py_layout *L = &s->t->layout;
  struct code_info *ci;
  int rc = code_cache_get(s->codes, s->r, L, s->t->code_type_addr, s->raw[i].code, &ci);
  if (rc < 0)
    return rc;
  if (!ci->user_set) {
    rc = record_writer_string(s->w, ci->name, strlen(ci->name), &ci->user[0]);
    if (rc == 0)
      rc = record_writer_string(s->w, ci->file, strlen(ci->file), &ci->user[1]);
    if (rc < 0)
      return rc;
    ci->user_set = 1;
  }
  int32_t line = line_map_lookup(&ci->lines, s->raw[i].offset);
  return record_writer_frame(s->w, RECORD_FRAME_PYTHON, ci->user[0], ci->user[1], ci->firstline,
                             line, id);
}

/* This thread's previous stack, to reuse the frame ids of the part that did
 * not change (usually all but the leaf): a 50-deep stack then costs one or
 * two frame lookups instead of fifty. */
/* Remembered frame ids hold only while no code object they came from was
 * dropped from the cache (replaced in memory, or the cache emptied) and the
 * target has not exec'd. */
static uint64_t memo_gen_now(const struct sampler *s) {
  return code_cache_epoch(s->codes) * 1024 + s->relocations;
}

static struct stack_memo *memo_for(struct sampler *s, uint32_t tid) {
  struct stack_memo *m = NULL;
  uint64_t gen = memo_gen_now(s);
  for (size_t i = 0; i < MEMO_THREADS; i++) {
    if (s->memos[i].tid == tid && s->memos[i].gen == gen)
      return &s->memos[i];
  }
  m = &s->memos[s->memo_next++ % MEMO_THREADS];
  m->tid = tid;
  m->gen = gen;
  m->n = 0;
  return m;
}

static int memo_store(struct stack_memo *m, const struct py_raw_frame *raw, const uint32_t *ids,
                      size_t n, uint32_t stack_id) {
  if (n > m->cap) {
    size_t cap = n < 64 ? 64 : n;
    struct py_raw_frame *nr = realloc(m->raw, cap * sizeof *nr);
    if (!nr)
      return PP_ENOMEM;
    m->raw = nr;
    uint32_t *ni = realloc(m->ids, cap * sizeof *ni);
    if (!ni)
      return PP_ENOMEM;
    m->ids = ni;
    m->cap = cap;
  }
  if (n) {
    memcpy(m->raw, raw, n * sizeof *raw);
    memcpy(m->ids, ids, n * sizeof *ids);
  }
  m->n = n;
  m->stack_id = stack_id;
  return 0;
}

/* Turn walked raw frames (leaf first) into a record stack id. A code object
 * that cannot be read fails the sample like a torn read would. */
static int build_stack(struct sampler *s, uint32_t tid, size_t n, uint32_t *stack_id) {
  struct stack_memo *m = memo_for(s, tid);
  /* Frames equal (same code, same instruction) from the root up keep their ids. */
  size_t same = 0;
  while (same < n && same < m->n && s->raw[n - 1 - same].code == m->raw[m->n - 1 - same].code &&
         s->raw[n - 1 - same].offset == m->raw[m->n - 1 - same].offset)
    same++;
  if (same == n && same == m->n) {
    *stack_id = m->stack_id;
    return 0;
  }
  if (same)
    memcpy(s->ids, m->ids, same * sizeof *s->ids); /* m->ids is NULL before the first store */
  for (size_t k = same; k < n; k++) {
    int rc = frame_id_of(s, n - 1 - k, &s->ids[k]);
    if (rc < 0)
      return rc;
  }
  /* Root-first ids; the memo keeps the raw frames root-aligned too. */
  int rc = record_writer_stack(s->w, s->ids, n, stack_id);
  if (rc < 0)
    return rc;
  return memo_store(m, s->raw, s->ids, n, *stack_id);
}

/* Most distinct code objects of one stack re-checked per sample, from the
 * leaf down (deeper ones beyond that are not re-checked). */
#define FP_CHECK_MAX 128

/* Walk one thread; 0 with *n frames, PP_ETORN when the stack moved under us.
 * With an armed plan (its copies read in this tick's batch) the walk usually
 * reads nothing and its torn-read check is already done (stack_plan.h).
 * Otherwise one batched read afterwards serves the torn-read check (the
 * current frame, the leaf's code, and a second copy of the memory walked,
 * which must agree on every frame's code and caller) and the stale-code check
 * of every cached code object on the stack. Either way the plan (NULL for
 * threads beyond the batch) is remade for the next tick. */
static int walk_once(struct sampler *s, const struct py_thread *th, uint64_t frame,
                     struct stack_plan *plan, int stopped, size_t *n) {
  const struct py_layout *L = &s->t->layout;
  struct frame_windows fw;
  struct mem_read_req reqs[2 + STACK_PLAN_RANGES + FP_CHECK_MAX];
  uint64_t seen[FP_CHECK_MAX], fp_addr[FP_CHECK_MAX];
  struct py_check chk;
  struct stack_plan local; /* the plan of a thread beyond the batch: this walk only */
  struct stack_plan *np = plan ? plan : &local;
  int32_t fp_off;
  size_t fp_len, nreq = 0, nfp = 0, nseen = 0;
  int planned = plan && plan->armed && frame == th->frame;
  int recheck = 0;
  if (planned)
    stack_plan_windows(plan, th, &fw, s->window, FRAME_WINDOWS_BUF);
  else /* 3.11+: one read of the data-stack chunk serves most frames. */
    frame_windows_init(&fw, s->r, th, s->window, FRAME_WINDOWS_BUF);
  if (L->frame_tlbc_index > 0) {
    /* Code objects were dropped: an address may hold another one now. */
    if (s->tlbc_epoch != code_cache_epoch(s->codes)) {
      tlbc_cache_clear(s->tlbc);
      s->tlbc_epoch = code_cache_epoch(s->codes);
    }
    fw.tlbc = s->tlbc;
  }
  int rc = frame_walk(s->r, L, frame, &fw, s->raw, PY_STACK_MAX, n);
  if (rc == 0 && !stopped &&
      (!py_stack_plausible(L, s->raw, *n) || !py_chain_end_plausible(L, fw.end_owner)))
    rc = PP_ETORN; /* frames that cannot belong together (two moments mixed), or a chain
                      cut short by a link that changed under the walk */
  if (rc < 0)
    goto out;
  int untorn = stopped || (planned && stack_plan_untorn(plan, L, th, frame, &fw, s->raw, *n));
  if (!untorn) {
    nreq = py_thread_check_prepare(L, th, frame, *n ? &s->raw[0] : NULL, &chk, reqs);
    /* The plan for the next tick also gives the ranges to copy again. */
    stack_plan_make(np, L, th, &fw, s->raw, *n);
    nreq += stack_plan_recopy(np, s->recopy, reqs + nreq);
    recheck = np->valid;
  }
  code_fp_span(L, &fp_off, &fp_len);
  for (size_t i = 0; i < *n && nseen < FP_CHECK_MAX; i++) {
    uint64_t code = s->raw[i].code;
    size_t j;
    for (j = 0; j < nseen && seen[j] != code; j++)
      ;
    if (j < nseen || !code_cache_peek(s->codes, code))
      continue;
    seen[nseen++] = code;
    const unsigned char *fp = untorn && planned ? stack_plan_fingerprint(plan, code) : NULL;
    if (fp) {
      code_cache_check(s->codes, L, code, fp); /* read in the batch */
      continue;
    }
    fp_addr[nfp] = code;
    reqs[nreq++] = (struct mem_read_req){code + (uint64_t)fp_off, s->fp_bufs + nfp * CODE_FP_MAX,
                                         fp_len};
    nfp++;
  }
  if (nreq > 0) {
    rc = mem_readv(s->r, reqs, nreq);
    if (rc < 0)
      goto out;
  }
  if (!untorn) {
    rc = py_thread_check_result(L, &chk);
    if (rc == PY_CHECK_DEEPER)
      rc = py_thread_check_deeper(s->r, L, &chk);
    if (rc == 0 && recheck && !stack_plan_agrees(np, L, s->recopy, s->raw, *n))
      rc = PP_ETORN; /* a frame changed under the walk: a stack mixed from two moments */
    if (rc < 0)
      goto out;
  }
  for (size_t j = 0; j < nfp; j++)
    code_cache_check(s->codes, L, fp_addr[j], s->fp_bufs + j * CODE_FP_MAX);
  if (untorn && plan && !stopped)
    stack_plan_make(plan, L, th, &fw, s->raw, *n); /* after its fingerprints were used */
  rc = 0;
out:
  if (planned)
    plan->armed = 0; /* its copies are this walk's; a retry reads afresh */
  return rc;
}

/* Errors that end the recording rather than one sample. */
static int is_fatal(int rc) {
  return rc == PP_ENOMEM || rc == PP_ENOSPC || rc == PP_EIO || rc == PP_EFBIG || rc == PP_EEXITED;
}

static void count_failure(struct sampler *s, int rc) {
  s->st->failed++;
  if (rc == PP_ETORN)
    s->st->fail.torn++;
  else if (rc == PP_EFAULT || rc == PP_ELAYOUT || rc == PP_ECYCLE || rc == PP_EBOUNDS)
    s->st->fail.fault++;
  else
    s->st->fail.other++;
}

/* The read mode of thread tid (adaptive), remembered or new. */
static struct thread_mode *mode_for(struct sampler *s, uint32_t tid) {
  for (size_t i = 0; i < MODE_THREADS; i++) {
    if (s->modes[i].tid == tid)
      return &s->modes[i];
  }
  struct thread_mode *m = &s->modes[s->mode_next++ % MODE_THREADS];
  *m = (struct thread_mode){.tid = tid, .backoff = STOP_BACKOFF_MIN, .credit_ns = STOP_BURST_NS,
                            .last_ns = -1};
  return m;
}

/* Take one stop from m's budget at t_ns; 0 when it is spent. */
static int mode_take_stop(struct thread_mode *m, int64_t t_ns) {
  if (m->last_ns >= 0 && t_ns > m->last_ns) {
    m->credit_ns += t_ns - m->last_ns;
    if (m->credit_ns > STOP_BURST_NS)
      m->credit_ns = STOP_BURST_NS;
  }
  m->last_ns = t_ns;
  if (m->credit_ns < STOP_COST_NS)
    return 0;
  m->credit_ns -= STOP_COST_NS;
  return 1;
}

/* 1 when thread tid's next sample is to be read stopped (no lookup side
 * effects: used when planning the tick's batch). */
static int mode_stops(const struct sampler *s, uint32_t tid) {
  if (s->o->stop_mode == SAMPLER_READ_STOPPED)
    return tid != 0;
  if (s->o->stop_mode != SAMPLER_READ_ADAPTIVE || !s->can_stop || tid == 0)
    return 0;
  for (size_t i = 0; i < MODE_THREADS; i++) {
    if (s->modes[i].tid == tid)
      return s->modes[i].stop_left > 0;
  }
  return 0;
}

/* Read thread th stopped: stop it, read its frame pointer and walk, let it
 * go. *frame is 0 when it ran no Python code. PP_EPERM when it could not be
 * stopped. */
static int read_stopped(struct sampler *s, const struct py_thread *th, uint32_t tid,
                        uint64_t *frame, size_t *n) {
  int pending = 0;
  int64_t t0 = now_ns();
  int rc = ptrace_thread_stop((pid_t)tid, &pending);
  if (rc < 0)
    return rc == PP_ENOTFOUND ? PP_ENOTFOUND : PP_EPERM;
  s->st->stopped_reads++;
  rc = py_thread_current_frame(s->r, &s->t->layout, th->tstate, frame);
  if (rc == 0 && *frame != 0)
    rc = walk_once(s, th, *frame, NULL, 1, n);
  ptrace_thread_resume((pid_t)tid, pending);
  s->st->stopped_ns += (uint64_t)(now_ns() - t0);
  return rc;
}

/* Sample one thread (plan: its stack plan, may be NULL). Returns a writer
 * error (fatal) or 0.
 *
 * The instant a sample shows is the one at which the tick's batch read the
 * thread's current-frame pointer (running read), or the moment the thread
 * was stopped (stopped read). A running read is kept only when the checks
 * show its frames were the thread's stack from that instant until after
 * they were copied (walk_once); otherwise, in adaptive mode, the thread is
 * read stopped at once instead, so no sample is dropped or re-timed for
 * what its stack was doing (see struct thread_mode). */
static int sample_thread(struct sampler *s, const struct py_thread *th, struct stack_plan *plan,
                         int64_t t_ns) {
  const struct py_layout *L = &s->t->layout;
  uint32_t tid = (uint32_t)th->native_tid;
  uint32_t flags = 0;
  int rc = 0;
  if (tid && !s->o->idle) {
    int running = 1;
    if (proc_thread_running(s->states, (pid_t)tid, &running) < 0) {
      /* No such thread: it ended, or (3.8-3.10) its tid was derived from a
       * thread descriptor since reused. Resolve tids afresh next tick. */
      if (L->tstate_native_thread_id < 0)
        s->ptid_off = -1; /* find the offset again */
      return 0;
    }
    if (!running) {
      s->st->idle_skipped++;
      return 0;
    }
  } else if (tid && s->o->idle) {
    int running = 1;
    if (proc_thread_running(s->states, (pid_t)tid, &running) == 0 && !running)
      flags |= RECORD_SAMPLE_IDLE;
  }
  if (s->gil_known && th->tstate == s->gil_holder)
    flags |= RECORD_SAMPLE_GIL;
  if (s->o->gil_only && !(flags & RECORD_SAMPLE_GIL)) {
    s->st->gil_skipped++;
    return 0;
  }
  if (th->frame == 0)
    return 0; /* no Python code on this thread right now */
  int adaptive = s->o->stop_mode == SAMPLER_READ_ADAPTIVE && s->can_stop && tid;
  struct thread_mode *m = adaptive ? mode_for(s, tid) : NULL;
  uint64_t frame = th->frame;
  size_t n = 0;
  uint32_t stack_id = 0;
  int walk_rc, stopped = 0, retried = 0;
  if (s->o->stop_mode == SAMPLER_READ_STOPPED && tid) {
    stopped = 1;
    walk_rc = read_stopped(s, th, tid, &frame, &n);
  } else if (m && m->stop_left > 0 && mode_take_stop(m, t_ns)) {
    m->stop_left--;
    stopped = 1;
    walk_rc = read_stopped(s, th, tid, &frame, &n);
  } else {
    walk_rc = walk_once(s, th, frame, plan, 0, &n);
    if (m && walk_rc < 0 && !is_fatal(walk_rc) && walk_rc != PP_EBOUNDS) {
      /* Not one moment's stack: read this thread stopped, now and for its
       * next samples -- within the stop budget. */
      m->stop_left = m->backoff;
      m->backoff = m->backoff * 2 > STOP_BACKOFF_MAX ? STOP_BACKOFF_MAX : m->backoff * 2;
      m->ok_run = 0;
      if (mode_take_stop(m, t_ns)) {
        stopped = 1;
        s->st->fallbacks++;
        walk_rc = read_stopped(s, th, tid, &frame, &n);
      } else {
        s->st->stop_limited++;
      }
    } else if (m && walk_rc == 0 && ++m->ok_run >= STOP_OK_RUN) {
      m->ok_run = 0;
      m->backoff = m->backoff / 2 < STOP_BACKOFF_MIN ? STOP_BACKOFF_MIN : m->backoff / 2;
    } else if (!m && walk_rc < 0 && !is_fatal(walk_rc) && walk_rc != PP_EBOUNDS) {
      /* Never stopping (--no-stop, or not permitted): one more running read,
       * of a later instant. */
      retried = 1;
      walk_rc = py_thread_current_frame(s->r, L, th->tstate, &frame);
      if (walk_rc == 0 && frame != 0)
        walk_rc = walk_once(s, th, frame, plan, 0, &n);
    }
  }
  if (stopped && walk_rc != PP_EPERM)
    s->stop_refusals = 0;
  if (walk_rc == PP_EPERM && adaptive && ++s->stop_refusals >= STOP_REFUSALS_MAX) {
    /* Stopping is not permitted (or the target is traced by someone else):
     * stay with running reads from now on; the summary says so. One refusal
     * alone proves nothing: a thread that is exiting refuses too. */
    s->can_stop = 0;
    s->st->stop_refused = 1;
  }
  if (stopped && walk_rc == PP_ENOTFOUND)
    return 0; /* the thread ended before it could be stopped */
  if (walk_rc == 0 && (frame == 0 || n == 0))
    return 0; /* left Python meanwhile (or only shim frames): nothing to record */
  if (walk_rc == 0)
    walk_rc = build_stack(s, tid, n, &stack_id);
  if (is_fatal(walk_rc))
    return walk_rc;
  if (walk_rc < 0) {
    count_failure(s, walk_rc);
    if (stopped && walk_rc != PP_EPERM &&
        (walk_rc == PP_EFAULT || walk_rc == PP_ELAYOUT || walk_rc == PP_ECYCLE))
      s->st->fail.fault_stopped++;
    return 0;
  }
  if (retried)
    s->st->retries++;
  if (tid)
    note_thread(s, tid);
  rc = record_writer_sample(s->w, tid, (uint64_t)t_ns, stack_id, flags);
  if (rc == 0) {
    s->st->samples++;
    if (stopped)
      s->st->stopped_samples++;
    if (flags & RECORD_SAMPLE_GIL)
      s->st->gil_samples++;
  }
  return rc;
}

static int target_gone(struct sampler *s) {
  if (s->o->child) {
    int status;
    pid_t w = waitpid(s->o->child, &status, WNOHANG);
    if (w == s->o->child) {
      s->st->child_status = status;
      return 1;
    }
    return 0;
  }
  uint64_t st;
  /* Same pid, different start time: ours exited and the pid was reused. */
  if (!proc_alive(s->o->pid) || proc_starttime(s->o->pid, &st) < 0 || st != s->starttime)
    return 1;
  return 0;
}

/* The thread list stayed unreadable after samples had been read: the target
 * probably exec'd (a new image, a new _PyRuntime). Find the interpreter anew;
 * everything cached about the old image goes. */
static void relocate(struct sampler *s) {
  char why[512];
  struct py_target *nt = malloc(sizeof *nt); /* owned until swapped in */
  s->bad_ticks = 0;
  if (!nt)
    return;
  if (py_target_locate(s->o->pid, s->r, nt, why, sizeof why) < 0) {
    free(nt);
    return;
  }
  free(s->tgt);
  s->tgt = nt;
  s->t = nt;
  code_cache_free(s->codes);
  s->codes = NULL;
  code_cache_new(CODE_CACHE_MAX, &s->codes);
  tlbc_cache_clear(s->tlbc);
  s->ptid_off = -1;
  s->gil_interp = s->gil_state = 0;
  s->gil_loc_ok = 0;
  s->nprev = 0;
  s->relocations++;
  s->st->reattached++;
}

static void status_line(struct sampler *s, int64_t now) {
  double el = (double)(now - s->t0) / 1e9;
  uint64_t tot = s->st->samples + s->st->failed;
  fprintf(stderr, "\r\033[K  pyprof: %.1fs  %llu samples  %.0f Hz  %llu failed (%.1f%%)  %.1f kB -> %s",
          el, (unsigned long long)s->st->samples,
          el > 0 ? (double)s->st->ticks / el : 0.0, (unsigned long long)s->st->failed,
          tot ? 100.0 * (double)s->st->failed / (double)tot : 0.0,
          (double)record_writer_bytes(s->w) / 1024.0, s->o->output ? s->o->output : "");
  fflush(stderr);
}

/* 3.8-3.10 record no native thread id: derive it from the pthread id. The
 * tid is re-read from each thread's descriptor every tick, in the tick's
 * batch (tids_requests) or in one read of its own: a thread state's
 * thread_id changes once the new thread runs, and the C library reuses
 * descriptors of ended threads, so no mapping can be kept. */
static size_t tids_requests(struct sampler *s, size_t n, struct mem_read_req *reqs, size_t cap) {
  s->ntid_pre = 0;
  if (s->t->layout.tstate_native_thread_id >= 0 || s->ptid_off < 0 || n > PY_REREAD_MAX || n > cap)
    return 0;
  for (size_t i = 0; i < n; i++) {
    s->tid_pre_id[i] = s->threads[i].thread_id;
    reqs[i] = (struct mem_read_req){s->threads[i].thread_id + (uint64_t)s->ptid_off,
                                    s->tid_pre[i], 4};
  }
  s->ntid_pre = n;
  return n;
}

/* Fill threads[0..n).native_tid (3.8-3.10), from the batch where it read the
 * descriptor of the same pthread id (pre: 1 when it did read them). */
static void fill_native_tids(struct sampler *s, size_t n, int pre) {
  struct mem_read_req reqs[PY_REREAD_MAX];
  unsigned char tb[PY_REREAD_MAX][4];
  size_t idx[PY_REREAD_MAX];
  if (s->t->layout.tstate_native_thread_id >= 0)
    return;
  if (s->ptid_off < 0) {
    uint64_t ids[64];
    size_t k = n < 64 ? n : 64;
    for (size_t i = 0; i < k; i++)
      ids[i] = s->threads[i].thread_id;
    if (pthread_tid_offset_find(s->r, s->o->pid, ids, k, &s->ptid_off) < 0) {
      s->ptid_off = -1;
      return;
    }
    pre = 0;
  }
  for (size_t base = 0; base < n; base += PY_REREAD_MAX) {
    size_t k = 0, m = n - base < PY_REREAD_MAX ? n - base : PY_REREAD_MAX;
    for (size_t i = 0; i < m; i++) {
      struct py_thread *th = &s->threads[base + i];
      if (pre && base + i < s->ntid_pre && s->tid_pre_id[base + i] == th->thread_id) {
        uint32_t tid;
        memcpy(&tid, s->tid_pre[base + i], 4);
        th->native_tid = tid;
        continue;
      }
      idx[k] = base + i;
      reqs[k] = (struct mem_read_req){th->thread_id + (uint64_t)s->ptid_off, tb[k], 4};
      k++;
    }
    if (k == 0)
      continue;
    if (mem_readv(s->r, reqs, k) < 0) {
      /* A thread ended meanwhile: fall back to one read each. */
      for (size_t i = 0; i < k; i++) {
        uint32_t tid = 0;
        pthread_tid_read(s->r, s->threads[idx[i]].thread_id, s->ptid_off, &tid);
        s->threads[idx[i]].native_tid = tid;
      }
      continue;
    }
    for (size_t i = 0; i < k; i++) {
      uint32_t tid;
      memcpy(&tid, tb[i], 4);
      s->threads[idx[i]].native_tid = tid;
    }
  }
}

/* Slow path: walk the thread list afresh, then find and read the GIL. */
static int threads_fresh(struct sampler *s, size_t *n) {
  const struct py_layout *L = &s->t->layout;
  int rc = py_threads_read(s->r, L, s->t->runtime_addr, s->threads, PY_THREADS_MAX, n);
  if (rc < 0)
    return rc;
  fill_native_tids(s, *n, 0);
  /* One GIL (the main interpreter's, last in the list) is tracked; threads of
   * a sub-interpreter with its own GIL are never flagged as holders. */
  if (s->gil_interp != s->threads[*n - 1].interp) {
    s->gil_interp = s->threads[*n - 1].interp;
    s->gil_state = 0;
  }
  s->gil_loc_ok =
      py_gil_locate(s->r, L, s->t->runtime_addr, s->gil_interp, &s->gil_state, &s->gil_loc) == 0;
  s->gil_known = s->gil_loc_ok && py_gil_holder(s->r, L, s->t->runtime_addr, s->gil_interp,
                                                 &s->gil_state, &s->gil_holder) == 0;
  return 0;
}

/* Requests of the plans of threads[0..n) for this tick's batch, into
 * s->plan_reqs after the first k; the plans whose requests are there are
 * armed (disarmed again by plans_drop if the batch fails). Returns how many
 * were added. */
static size_t plans_requests(struct sampler *s, size_t n, size_t k) {
  size_t k0 = k, left = PLAN_ARENA_BYTES;
  unsigned char *arena = s->arena;
  for (size_t i = 0; i < PY_REREAD_MAX; i++)
    s->plans[i].armed = 0; /* copies of an earlier tick are never used */
  if (s->o->stop_mode == SAMPLER_READ_STOPPED)
    return 0;
  if (s->plan_pause > 0) {
    s->plan_pause--;
    return 0;
  }
  for (size_t i = 0; i < n && i < PY_REREAD_MAX; i++) {
    struct stack_plan *p = &s->plans[i];
    if (!p->valid || p->tstate != s->threads[i].tstate || PY_REREAD_EXTRA_MAX - k < STACK_PLAN_REQS ||
        mode_stops(s, (uint32_t)s->threads[i].native_tid))
      continue; /* a thread read stopped needs no copies */
    k += stack_plan_requests(p, &arena, &left, s->plan_reqs + k, PY_REREAD_EXTRA_MAX - k);
  }
  return k - k0;
}

static void plans_drop(struct sampler *s) {
  for (size_t i = 0; i < PY_REREAD_MAX; i++)
    s->plans[i].valid = s->plans[i].armed = 0;
}

static int sampler_tick(struct sampler *s, int64_t now) {
  size_t n = 0;
  int rc = PP_ENOTFOUND;
  s->st->ticks++;
  if (!s->codes)
    return PP_ENOMEM;
  /* Fast path: the same threads as last tick, all re-read in one batch,
   * with what their stack walks will need (their plans). */
  if (s->nprev > 0) {
    size_t ntid = tids_requests(s, s->nprev, s->plan_reqs, PY_REREAD_EXTRA_MAX);
    size_t nplan = plans_requests(s, s->nprev, ntid);
    rc = py_threads_reread(s->r, &s->t->layout, s->t->runtime_addr, s->threads, s->nprev,
                           s->gil_loc_ok ? &s->gil_loc : NULL, &s->gil_holder, s->plan_reqs,
                           ntid + nplan);
    int pre = rc == 0;
    if (rc == PP_EFAULT && nplan > 0) {
      /* Perhaps a plan's memory went away (a chunk freed): try without, and
       * leave plans out for a while. */
      plans_drop(s);
      s->plan_pause = PLAN_PAUSE_TICKS;
      rc = py_threads_reread(s->r, &s->t->layout, s->t->runtime_addr, s->threads, s->nprev,
                             s->gil_loc_ok ? &s->gil_loc : NULL, &s->gil_holder, s->plan_reqs, ntid);
      pre = rc == 0;
    }
    if (rc == 0) {
      n = s->nprev;
      s->gil_known = s->gil_loc_ok;
      fill_native_tids(s, n, pre);
    }
  }
  if (rc == PP_ENOTFOUND || (rc < 0 && rc != PP_EEXITED && rc != PP_ENOPROC)) {
    plans_drop(s);
    rc = threads_fresh(s, &n);
  }
  s->nprev = rc == 0 ? n : 0;
  if (rc == PP_EEXITED || rc == PP_ENOPROC)
    return PP_EEXITED;
  if (rc < 0) {
    /* Starting, finalizing, the list caught mid-change, or a new image. */
    if (rc != PP_ENOTREADY)
      count_failure(s, rc);
    if (++s->bad_ticks >= RELOCATE_AFTER && s->st->samples > 0)
      relocate(s);
    return 0;
  }
  s->bad_ticks = 0;
  for (size_t i = 0; i < n; i++) {
    /* A plan is kept only for a thread walked this tick (remade by the
     * walk): an idle thread's copies would be read for nothing. */
    struct stack_plan *plan = i < PY_REREAD_MAX ? &s->plans[i] : NULL;
    if (plan)
      plan->valid = 0;
    rc = sample_thread(s, &s->threads[i], plan, now - s->t0);
    if (plan)
      plan->armed = 0;
    if (rc < 0)
      return rc;
  }
  {
    int nrc = thread_naming_update(s->naming, s->r, &s->t->layout, s->threads, n, now, s->w);
    if (nrc < 0)
      return nrc;
  }
  return 0;
}

int sampler_run(const struct sampler_opts *o, const struct py_target *t,
                const struct mem_reader *r, struct record_writer *w, struct sampler_stats *st) {
  struct sampler s = {.o = o, .r = r, .w = w, .st = st,
                      .can_stop = o->stop_mode == SAMPLER_READ_ADAPTIVE};
  int rc;
  memset(st, 0, sizeof *st);
  st->child_status = -1;
  s.tgt = malloc(sizeof *s.tgt);
  if (!s.tgt) {
    rc = PP_ENOMEM;
    goto out;
  }
  *s.tgt = *t;
  s.t = s.tgt;
  if (proc_starttime(o->pid, &s.starttime) < 0) {
    rc = PP_EEXITED;
    goto out;
  }
  rc = code_cache_new(CODE_CACHE_MAX, &s.codes);
  if (rc < 0)
    goto out;
  rc = tlbc_cache_new(&s.tlbc);
  if (rc < 0)
    goto out;
  rc = thread_naming_new(&s.naming);
  if (rc < 0)
    goto out;
  rc = proc_thread_states_new(o->pid, &s.states);
  if (rc < 0)
    goto out;
  /* Reading /proc/PID/task/TID/stat costs ~2.7 us per thread: at rates above
   * 1 kHz a thread's run state is reused for up to 1 ms. */
  if (o->rate_hz > 1000)
    proc_thread_states_set_ttl(s.states, RUNSTATE_TTL_NS);
  s.threads = calloc(PY_THREADS_MAX, sizeof *s.threads);
  s.raw = calloc(PY_STACK_MAX, sizeof *s.raw);
  s.window = malloc(FRAME_WINDOWS_BUF);
  s.plans = calloc(PY_REREAD_MAX, sizeof *s.plans);
  s.arena = malloc(PLAN_ARENA_BYTES);
  s.recopy = malloc(STACK_PLAN_BYTES);
  s.plan_reqs = calloc(PY_REREAD_EXTRA_MAX, sizeof *s.plan_reqs);
  s.fp_bufs = malloc(FP_CHECK_MAX * CODE_FP_MAX);
  s.ids = calloc(PY_STACK_MAX, sizeof *s.ids);
  s.seen_tids = calloc(SEEN_TIDS_SLOTS, sizeof *s.seen_tids);
  s.ptid_off = -1;
  if (!s.threads || !s.raw || !s.ids || !s.seen_tids || !s.window || !s.fp_bufs || !s.plans ||
      !s.arena || !s.recopy || !s.plan_reqs) {
    rc = PP_ENOMEM;
    goto out;
  }
  int64_t period = 1000000000LL / (o->rate_hz ? o->rate_hz : 100);
  s.t0 = now_ns();
  int64_t deadline = s.t0;
  int64_t end = o->duration_s > 0 ? s.t0 + (int64_t)(o->duration_s * 1e9) : 0;
  int64_t next_flush = s.t0 + FLUSH_EVERY_NS, next_status = s.t0 + STATUS_EVERY_NS;
  for (;;) {
    if (*o->stop) {
      st->stop_reason = SAMPLER_STOP_SIGNAL;
      break;
    }
    int64_t now = now_ns();
    if (end && now >= end) {
      st->stop_reason = SAMPLER_STOP_DURATION;
      break;
    }
    rc = sampler_tick(&s, now);
    if (rc == PP_EEXITED || (rc == 0 && o->child && target_gone(&s))) {
      st->stop_reason = SAMPLER_STOP_EXITED;
      rc = 0;
      break;
    }
    if (rc == 0 && st->samples == 0 &&
        (st->fail.fault_stopped >= LAYOUT_GIVE_UP ||
         (!s.can_stop && st->fail.fault >= LAYOUT_GIVE_UP_RUNNING))) {
      /* Nothing but unreadable stacks from the start: the layout does not fit
       * this interpreter. Stop rather than record garbage. Only reads of a
       * stopped thread decide this (a running thread's stack can look like
       * anything while it changes), or, when no thread can be stopped, many
       * more running ones. */
      rc = PP_ELAYOUT;
      st->layout_unsure = st->fail.fault_stopped < LAYOUT_GIVE_UP;
    }
    if (rc < 0) {
      st->stop_reason = SAMPLER_STOP_ERROR;
      break;
    }
    now = now_ns();
    if (now >= next_flush) {
      rc = record_writer_flush(w);
      if (rc < 0) {
        st->stop_reason = SAMPLER_STOP_ERROR;
        break;
      }
      next_flush = now + FLUSH_EVERY_NS;
      if (!o->child && target_gone(&s)) {
        st->stop_reason = SAMPLER_STOP_EXITED;
        break;
      }
    }
    if (o->status_line && now >= next_status) {
      status_line(&s, now);
      next_status = now + STATUS_EVERY_NS;
    }
    deadline += period;
    if (deadline < now - CATCHUP_MAX_NS) {
      /* Too far behind to catch up: let the missed ticks go. */
      st->late_ticks++;
      deadline = now;
    }
    /* A late tick runs at once: even a sleep to a past deadline costs ~12 us
     * of CPU and ~60 us of wall time here (bench, section 0). */
    if (deadline > now)
      sleep_until(end && end < deadline ? end : deadline); /* -d ends on time at low rates */
  }
out:
  st->duration_ns = s.t0 ? now_ns() - s.t0 : 0;
  if (o->status_line && s.t0)
    fprintf(stderr, "\r\033[K");
  st->error = rc;
  free(s.tgt);
  for (size_t i = 0; i < MEMO_THREADS; i++) {
    free(s.memos[i].raw);
    free(s.memos[i].ids);
  }
  code_cache_free(s.codes);
  tlbc_cache_free(s.tlbc);
  thread_naming_free(s.naming);
  proc_thread_states_free(s.states);
  free(s.threads);
  free(s.raw);
  free(s.window);
  free(s.plans);
  free(s.arena);
  free(s.recopy);
  free(s.plan_reqs);
  free(s.fp_bufs);
  free(s.ids);
  free(s.seen_tids);
  return rc;
}

int sampler_gil_tracked(const struct py_target *t, const struct mem_reader *r) {
  struct py_thread th[PY_INTERPRETERS_MAX];
  size_t n;
  uint64_t state = 0, holder;
  int rc = py_threads_read(r, &t->layout, t->runtime_addr, th, PY_INTERPRETERS_MAX, &n);
  if (rc < 0 && rc != PP_EBOUNDS)
    return 0;
  return py_gil_holder(r, &t->layout, t->runtime_addr, th[n - 1].interp, &state, &holder) == 0;
}

int sampler_wait_ready(const struct py_target *t, const struct mem_reader *r, pid_t child,
                       double timeout_s, volatile sig_atomic_t *stop, int *child_status) {
  struct py_thread th[4];
  size_t n;
  int64_t end = now_ns() + (int64_t)(timeout_s * 1e9);
  *child_status = -1;
  int64_t bad_since = 0;
  while (!*stop) {
    int rc = py_threads_read(r, &t->layout, t->runtime_addr, th, 4, &n);
    if (rc == 0 || rc == PP_EBOUNDS)
      return 0;
    /* A thread state caught mid-initialisation can look wrong for a moment;
     * one that stays wrong for a second means the layout does not fit. */
    if (rc == PP_ELAYOUT || rc == PP_ECYCLE || rc == PP_EFAULT) {
      if (!bad_since)
        bad_since = now_ns();
      else if (now_ns() - bad_since > 1000000000LL)
        return PP_ELAYOUT;
    } else {
      bad_since = 0;
    }
    if (child) {
      int status;
      if (waitpid(child, &status, WNOHANG) == child) {
        *child_status = status;
        return PP_EEXITED;
      }
    } else if (!proc_alive(t->pid)) {
      return PP_EEXITED;
    }
    if (now_ns() > end)
      return PP_ENOTREADY;
    usleep(200);
  }
  return PP_ENOTREADY;
}
