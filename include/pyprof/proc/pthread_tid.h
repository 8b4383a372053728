/* Kernel thread ids for interpreters that record only the pthread id
 * (CPython 3.8-3.10 keep tstate->thread_id = pthread_self() but no native id).
 * A pthread_t is the address of the C library's thread descriptor, which holds
 * the kernel tid at a fixed offset; the offset is found by looking, not
 * assumed: it is the one at which every thread's descriptor holds a distinct
 * tid of the target. */
#ifndef PYPROF_PROC_PTHREAD_TID_H
#define PYPROF_PROC_PTHREAD_TID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyprof/proc/reader.h"

/* Scan window inside the descriptor. */
#define PTHREAD_TID_SCAN 2048

/* Find the tid offset from the thread descriptors at pthread_ids[0..n) of pid.
 * PP_ENOTFOUND when no offset fits every thread. */
int pthread_tid_offset_find(const struct mem_reader *r, pid_t pid, const uint64_t *pthread_ids,
                            size_t n, int32_t *off);
/* Read one thread's tid with a known offset. */
int pthread_tid_read(const struct mem_reader *r, uint64_t pthread_id, int32_t off, uint32_t *tid);

#endif
