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

#define PY_INTERPRETERS_MAX 64  /* sub-interpreters walked */
#define PY_THREADS_MAX 4096     /* thread states per walk */
#define PY_STACK_MAX 16384      /* frames per stack */

struct py_thread {
  uint64_t tstate;     /* remote PyThreadState address */
  uint64_t thread_id;  /* pthread id (tstate->thread_id) */
  uint64_t native_tid; /* kernel tid, 0 when the version does not record it */
  uint64_t frame;      /* current frame address (0: no Python code running) */
};

struct py_raw_frame {
  uint64_t code;   /* remote code object address */
  int64_t offset;  /* byte offset of the current instruction, negative if not started */
};

/* List thread states of every interpreter under the runtime at runtime_addr.
 * PP_ENOTREADY when the runtime has no interpreter or thread yet. */
int py_threads_read(const struct mem_reader *r, const struct py_layout *L, uint64_t runtime_addr,
                    struct py_thread *out, size_t cap, size_t *n);

/* Re-read a thread state's current frame pointer (torn-read check). */
int py_thread_current_frame(const struct mem_reader *r, const struct py_layout *L, uint64_t tstate,
                            uint64_t *frame);

/* Walk the frame chain from frame (leaf) towards the root, writing at most cap
 * frames leaf first into out. PP_EBOUNDS when deeper than cap, PP_ECYCLE on a
 * loop, PP_EFAULT / PP_ELAYOUT when memory does not look like frames. */
int frame_walk(const struct mem_reader *r, const struct py_layout *L, uint64_t frame,
               struct py_raw_frame *out, size_t cap, size_t *n);

#endif
