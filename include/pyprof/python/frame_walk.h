/* Walking the interpreter's threads and each thread's frame chain in remote
 * memory. Produces raw frames (code object address, instruction offset); what
 * becomes of them is the caller's business. Every walk is bounded and
 * cycle-checked. */
#ifndef PYPROF_PYTHON_FRAME_WALK_H
#define PYPROF_PYTHON_FRAME_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/layout.h"
#include "pyprof/python/tlbc_cache.h"

#define PY_INTERPRETERS_MAX 64  /* sub-interpreters walked */
#define PY_THREADS_MAX 4096     /* thread states per walk */
#define PY_STACK_MAX 16384      /* frames per stack */

struct py_thread {
  uint64_t tstate;     /* remote PyThreadState address */
  uint64_t interp;     /* its PyInterpreterState */
  uint64_t thread_id;  /* pthread id (tstate->thread_id) */
  uint64_t native_tid; /* kernel tid, 0 when the version does not record it */
  uint64_t frame;      /* current frame address (0: no Python code running) */
  uint64_t cframe;     /* 3.11-3.12: the _PyCFrame the frame pointer was read from */
  uint64_t stack_lo;   /* 3.11+: current data-stack chunk [stack_lo, stack_hi), */
  uint64_t stack_hi;   /*        where most of the thread's frames live; 0 if unknown */
};

struct py_raw_frame {
  uint64_t addr;   /* remote frame address */
  uint64_t prev;   /* the frame's previous (caller) pointer as read */
  uint64_t code;   /* remote code object address */
  int64_t offset;  /* byte offset of the current instruction, negative if not started */
  uint64_t instr;  /* the frame's instruction field as read (frame_instr_raw) */
  uint8_t owner;   /* 3.11+: the frame's owner as read (PY_OWNER_NONE before 3.11) */
};
#define PY_OWNER_NONE 0xffu

/* The instruction offset (bytes) of the frame copied at p, running code
 * object code (tag bits cleared): what frame_walk puts in offset. p holds
 * L->frame_size bytes. */
int64_t frame_instr_offset(const struct py_layout *L, const unsigned char *p, uint64_t code);
/* The instruction field of the frame copied at p as stored (f_lasti, or the
 * instruction pointer): equal values mean the frame has not moved, whichever
 * copy of its bytecode it runs. */
uint64_t frame_instr_raw(const struct py_layout *L, const unsigned char *p);

/* 1 when raw[0..n) (leaf first, a walk made while the thread ran) can be a
 * stack the thread had: every caller frame (all but the leaf) has started
 * (a caller is suspended in a call, so its instruction offset is not
 * negative), and no generator or coroutine frame on it is detached (3.11+: a
 * suspended generator's frame has no previous; one that is running always
 * has). A walk of a running thread that fails this read frames from two
 * moments. Used for walks of running threads only: a stopped read is what
 * the thread had, whatever it looks like. */
int py_stack_plausible(const struct py_layout *L, const struct py_raw_frame *raw, size_t n);
/* 1 when a walk that ended at a frame owned by end_owner (frame_windows'
 * end_owner) ends where a thread's chain ends (3.13+: the entry shim of its
 * first call into Python, whose previous is NULL); a running read that ends
 * elsewhere followed a link that changed under it and shows a stack cut
 * short. Always 1 where the layout has no such rule. */
int py_chain_end_plausible(const struct py_layout *L, uint8_t end_owner);

/* Local copies of stretches of remote memory (a thread's data-stack
 * chunks): frames that lie inside one are decoded from it instead of being
 * read one by one. The first window is the top of the thread's current chunk;
 * when a frame is outside every window, a new window is copied downwards from
 * it (older frames sit below newer ones in a chunk), so a 500-deep stack
 * spread over several chunks costs a few reads, not 500. A caller that has
 * already copied the memory (in a batch with its other reads) hands the
 * copies over with frame_windows_adopt instead. */
#define FRAME_WINDOWS_MAX 48
#define FRAME_WINDOW_TOP ((size_t)256 << 10)  /* bytes below datastack_top */
#define FRAME_WINDOW_MISS ((size_t)16 << 10)  /* bytes copied on a miss (a 3.13+ entry frame on the C stack misses every walk: keep it small) */
#define FRAME_WINDOWS_BUF (FRAME_WINDOW_TOP + 15 * FRAME_WINDOW_MISS)
#define FRAME_EXTRA_MAX 32                    /* ranges of frames outside the current chunk */

struct frame_range {
  uint64_t addr;
  size_t len;
};

struct frame_windows {
  unsigned char *buf; /* borrowed: caller's storage of cap bytes */
  size_t cap, used, n;
  uint64_t stack_lo;  /* the thread's current data-stack chunk, 0 if none */
  uint64_t stack_hi;
  size_t reads;       /* remote reads the walk made itself (misses) */
  size_t hint;        /* window of the last hit: tried first */
  size_t nextra;      /* frames found outside that chunk, as merged ranges */
  int extra_lost;     /* more of them than extra[] holds */
  struct tlbc_cache *tlbc; /* borrowed, may be NULL: free-threaded 3.14+ bytecode copies
                              (cleared by frame_windows_init/empty: set it after) */
  uint8_t end_owner;       /* set by frame_walk: owner of the last frame of the chain
                              (PY_OWNER_NONE when the version has none or the walk failed) */
  struct frame_range extra[FRAME_EXTRA_MAX];
  struct {
    uint64_t addr;          /* remote address of the first byte copied */
    const unsigned char *p; /* borrowed: the copy (in buf, or adopted) */
    size_t len;
  } w[FRAME_WINDOWS_MAX];
};

/* Start a new set of windows over buf (cap bytes) for thread th: copies the
 * top of its current data-stack chunk when the version has one. */
void frame_windows_init(struct frame_windows *fw, const struct mem_reader *r,
                        const struct py_thread *th, unsigned char *buf, size_t cap);
/* Start an empty set for th over buf, then hand it copies the caller already
 * holds (borrowed, valid for the walk): len bytes at addr copied to data. */
void frame_windows_empty(struct frame_windows *fw, const struct py_thread *th, unsigned char *buf,
                         size_t cap);
int frame_windows_adopt(struct frame_windows *fw, uint64_t addr, const unsigned char *data,
                        size_t len);

/* The remote ranges to copy ahead of the next walk of thread th so that it
 * finds every frame of a stack like the one fw just served without reads of
 * its own: the top of th's data-stack chunk up to the end of its page (room
 * for a call or two; a page is mapped whole), then the frames the walk found
 * elsewhere (3.13+ entry frames on the C stack, older chunks, 3.8-3.10 frame
 * objects), neighbours merged. Returns how many of cap were filled; at most
 * max_bytes in all. *complete is 0 when some frames did not fit. */
size_t frame_walk_ranges(const struct py_layout *L, const struct py_thread *th,
                         const struct frame_windows *fw, struct frame_range *out, size_t cap,
                         size_t max_bytes, int *complete);

/* List thread states of every interpreter under the runtime at runtime_addr.
 * PP_ENOTREADY when the runtime has no interpreter or thread yet. */
int py_threads_read(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                    struct py_thread *out, size_t cap, size_t *n);

/* Where the GIL's "locked" flag and holder live (remote addresses). */
struct py_gil_loc {
  uint64_t locked, holder;
};
/* Find them: the runtime's GIL (3.8-3.11) or interpreter interp's (3.12+,
 * through *gil_state, cached by the caller: 0 on the first call). */
int py_gil_locate(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                  uint64_t interp, uint64_t *gil_state, struct py_gil_loc *loc);

/* Most threads the batched re-read handles; more go the slow way. */
#define PY_REREAD_MAX 64
/* Most requests a caller can add to that batch. */
#define PY_REREAD_EXTRA_MAX 1024

/* The per-tick fast path of py_threads_read: given the previous tick's list
 * th[0..n) (one interpreter), re-read in ONE batch the runtime's interpreter
 * head, the interpreter's thread head and next, every thread state, the
 * 3.11-3.12 current-frame pointers and the GIL (gil may be NULL), and refresh
 * th in place. The caller's extra requests (at most PY_REREAD_EXTRA_MAX) are
 * read in the same call, after all of those. PP_ENOTFOUND when the list is no
 * longer the same, PP_EFAULT when a request could not be read (the caller
 * then calls py_threads_read); th is unchanged on any failure. */
int py_threads_reread(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                      struct py_thread *th, size_t n, const struct py_gil_loc *gil,
                      uint64_t *gil_holder, const struct mem_read_req *extra, size_t nextra);

/* The thread state holding the GIL of interpreter interp (3.12+: per
 * interpreter; before: the runtime's), 0 when the GIL is free. *gil_state
 * caches the address of the GIL's state (3.12+), 0 on the first call.
 * PP_ENOTFOUND when the layout does not locate the GIL. */
int py_gil_holder(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                  uint64_t interp, uint64_t *gil_state, uint64_t *holder);

/* Re-read a thread state's current frame pointer. */
int py_thread_current_frame(const struct mem_reader *r, const struct py_layout *L, uint64_t tstate,
                            uint64_t *frame);

/* Torn-read check after a walk that started at frame F and produced leaf.
 * The walk is kept when what it read is a stack the thread really had:
 * - the current frame C is still F, and F still runs the same code object
 *   (its instruction may have moved: that changes the line, not the stack);
 * - or C is F's caller: the thread returned from F meanwhile, and the walk
 *   shows the state just before (a popped frame's memory is left as it was);
 * - or C's caller is F: the thread called one level deeper meanwhile.
 * Anything else (several calls and returns in between) is PP_ETORN. The
 * last case needs one more read of C, done by py_thread_check_unchanged and
 * by callers of py_thread_check_result through py_thread_check_deeper. */
int py_thread_check_unchanged(const struct mem_reader *r, const struct py_layout *L,
                              const struct py_thread *th, uint64_t frame,
                              const struct py_raw_frame *leaf);

/* The same check in two halves, so a caller can batch its reads with others:
 * prepare fills up to 2 requests (returns how many) pointing into *chk;
 * after they are read, result gives 0, PP_ETORN, or PP_EAGAIN-like
 * PY_CHECK_DEEPER: call py_thread_check_deeper to decide. */
#define PY_CHECK_DEEPER 1
struct py_check {
  unsigned char fp_buf[8], code_buf[8]; /* filled by the reads */
  uint64_t frame, leaf_code, leaf_prev, current;
  int has_leaf;
};
size_t py_thread_check_prepare(const struct py_layout *L, const struct py_thread *th,
                               uint64_t frame, const struct py_raw_frame *leaf,
                               struct py_check *chk, struct mem_read_req reqs[2]);
int py_thread_check_result(const struct py_layout *L, struct py_check *chk);
/* Reads the caller pointer of the current frame: 0 when it is the walk's
 * first frame (the thread went one call deeper), else PP_ETORN. */
int py_thread_check_deeper(const struct mem_reader *r, const struct py_layout *L,
                           const struct py_check *chk);

/* Walk the frame chain from frame (leaf) towards the root, writing at most cap
 * frames leaf first into out. With fw (may be NULL), frames are taken from
 * and added to its windows. PP_EBOUNDS when deeper than cap, PP_ECYCLE on a
 * loop, PP_EFAULT / PP_ELAYOUT when memory does not look like frames. */
int frame_walk(const struct mem_reader *r, const struct py_layout *L, uint64_t frame,
               struct frame_windows *fw, struct py_raw_frame *out, size_t cap, size_t *n);

#endif
