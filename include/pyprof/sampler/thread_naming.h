/* The Python-level name of each sampled thread in the record: when threads
 * appear (and every few seconds, for renames) the sampler asks the walker
 * for threading's names (python/thread_names.h) and writes a thread-name
 * record for each thread whose name is new or changed. The OS name written
 * when a thread is first sampled stays the name of threads Python does not
 * name (or on a version without object-model data). */
#ifndef PYPROF_SAMPLER_THREAD_NAMING_H
#define PYPROF_SAMPLER_THREAD_NAMING_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/frame_walk.h"
#include "pyprof/python/layout.h"
#include "pyprof/record/writer.h"

struct thread_naming;

int thread_naming_new(struct thread_naming **out);
void thread_naming_free(struct thread_naming *tn);
/* A thread was sampled for the first time: names are read again soon. */
void thread_naming_saw(struct thread_naming *tn);
/* Read and record names when due (now: monotonic ns). threads[0..n) are this
 * tick's threads (ident -> kernel tid). Returns a record_writer error only;
 * a failed read is retried later. */
int thread_naming_update(struct thread_naming *tn, const struct mem_reader *r,
                         const struct py_layout *L, const struct py_thread *threads, size_t n,
                         int64_t now, struct record_writer *w);
/* The Python name last recorded for tid, or NULL. */
const char *thread_naming_name(struct thread_naming *tn, uint32_t tid);
/* Python names written so far. */
uint64_t thread_naming_named(const struct thread_naming *tn);

#endif
