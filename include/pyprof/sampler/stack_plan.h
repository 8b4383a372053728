/* What a thread's next stack walk will need, copied in the tick's one batched
 * read.
 *
 * After a thread's stack is walked, its plan remembers the memory the walk
 * used (the top of the data-stack chunk, frames that lay elsewhere), where
 * the thread's current-frame pointer lives and which code objects were on the
 * stack. On the next tick the sampler appends the plan's requests to the one
 * batch that re-reads the thread list, after the thread states: the ranges,
 * then the current-frame pointer and the leaf's code pointer again, then the
 * ranges a second time, then the code objects' fingerprints.
 * process_vm_readv copies its iovecs in order, so the walk (over the first
 * copy) is kept when the frame pointer read before the ranges (in the thread
 * state) equals the one read after them, the leaf is where it was last tick
 * and still runs the code the copy shows, every walked frame has the same code
 * and caller in the second copy, and the walk found every frame inside the
 * copies. The second copy catches what a single one cannot: a thread that
 * returned and called a different chain while a copy was being made, leaving
 * a stack mixed from two moments (an old caller under a new callee at the same
 * addresses). Such a walk costs no read of its own; anything else falls back
 * to the per-thread reads and their check. */
#ifndef PYPROF_SAMPLER_STACK_PLAN_H
#define PYPROF_SAMPLER_STACK_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/code_cache.h"
#include "pyprof/python/frame_walk.h"
#include "pyprof/python/layout.h"

#define STACK_PLAN_RANGES 24                /* ranges copied per thread */
#define STACK_PLAN_CODES 32                 /* code objects re-checked per thread */
#define STACK_PLAN_BYTES ((size_t)128 << 10) /* bytes copied per thread (twice) */
/* Requests one plan adds to a batch at most. */
#define STACK_PLAN_REQS (2 * STACK_PLAN_RANGES + 2 + STACK_PLAN_CODES)

struct stack_plan {
  int valid;
  uint64_t tstate;  /* the thread state it was made for */
  uint64_t cframe;  /* 3.11-3.12: the _PyCFrame holding the frame pointer */
  uint64_t fp_addr; /* remote address of the current-frame pointer */
  uint64_t leaf;      /* the leaf frame's address when made */
  uint64_t code_addr; /* where that frame's code pointer is */
  size_t nr;
  struct frame_range r[STACK_PLAN_RANGES];
  size_t ncode;
  uint64_t code[STACK_PLAN_CODES];
  /* This tick's batch; armed once its requests have been read. */
  int armed;
  size_t off[STACK_PLAN_RANGES]; /* where range i sits in a copy of them all */
  size_t bytes;                  /* bytes of all the ranges */
  unsigned char *copy;           /* borrowed: the caller's arena, the first copy */
  unsigned char *copy2;          /* borrowed: likewise, the second copy */
  unsigned char fp_after[8];   /* the frame pointer, read after the ranges */
  unsigned char code_after[8]; /* the leaf's code pointer, likewise */
  unsigned char *fps; /* borrowed: the caller's arena, ncode * fp_len bytes */
  size_t fp_len;
  int32_t fp_off;
};

/* Remember what the walk of th (starting from th's current frame) that fw
 * served used; raw[0..n) are its frames. */
void stack_plan_make(struct stack_plan *p, const struct py_layout *L, const struct py_thread *th,
                     const struct frame_windows *fw, const struct py_raw_frame *raw, size_t n);

/* Append p's requests to reqs (room for cap), their buffers taken from
 * *arena (*left bytes), and arm p. Returns how many were added; 0 when p is
 * not valid or they do not fit (p is then not armed). The caller disarms p
 * (armed = 0) if the requests are not all read. */
size_t stack_plan_requests(struct stack_plan *p, unsigned char **arena, size_t *left,
                           struct mem_read_req *reqs, size_t cap);

/* Requests (at most STACK_PLAN_RANGES) copying p's ranges into buf (at least
 * p->bytes): the second copy, also after a walk made without the batch, for
 * stack_plan_agrees. 0 when p is not valid. */
size_t stack_plan_recopy(const struct stack_plan *p, unsigned char *buf, struct mem_read_req *reqs);

/* 1 when every frame of raw[0..n) lies in p's ranges and has the same code
 * and caller in copy (a copy of p's ranges made after the walk), and every
 * caller frame below the leaf's own caller the same instruction (the leaf's
 * caller moves on once the leaf returns, which the torn check allows). */
int stack_plan_agrees(const struct stack_plan *p, const struct py_layout *L,
                      const unsigned char *copy, const struct py_raw_frame *raw, size_t n);

/* An empty set of windows for th over buf holding the armed plan's copies. */
void stack_plan_windows(const struct stack_plan *p, const struct py_thread *th,
                        struct frame_windows *fw, unsigned char *buf, size_t cap);

/* 1 when the armed plan shows the walk from frame (th's current frame as the
 * batch read it) that fw served, raw[0..n) its frames, to be a real stack:
 * after the first copy the frame pointer was the same and the leaf ran the
 * same code, the second copy agrees on every frame's code and caller, and the
 * walk read nothing of its own. */
int stack_plan_untorn(const struct stack_plan *p, const struct py_layout *L,
                      const struct py_thread *th, uint64_t frame, const struct frame_windows *fw,
                      const struct py_raw_frame *raw, size_t n);

/* The fingerprint bytes of code object code from the armed batch, or NULL. */
const unsigned char *stack_plan_fingerprint(const struct stack_plan *p, uint64_t code);

#endif
