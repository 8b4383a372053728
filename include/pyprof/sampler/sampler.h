/* The sampling loop: at each tick, every thread's Python stack is read from
 * the target and appended to the record. Owns timing, the choice between a
 * running and a stopped read of each thread (and the stop budget), the live
 * status line and the counters behind the final summary. */
#ifndef PYPROF_SAMPLER_SAMPLER_H
#define PYPROF_SAMPLER_SAMPLER_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "pyprof/proc/reader.h"
#include "pyprof/python/target.h"
#include "pyprof/record/writer.h"

/* Default mode: most stopped reads per second and thread (sampler.c). */
#define SAMPLER_STOP_RATE_MAX 2000

/* How thread stacks are read. */
enum sampler_read {
  SAMPLER_READ_ADAPTIVE = 0, /* default: running; stopped when a running read does not hold */
  SAMPLER_READ_STOPPED = 1,  /* --blocking: every read stopped */
  SAMPLER_READ_RUNNING = 2,  /* --no-stop: never stopped; reads that do not hold are retried once, then counted */
};

struct sampler_opts {
  pid_t pid;             /* target */
  pid_t child;           /* launched child to reap, 0 when attached */
  uint32_t rate_hz;      /* ticks per second */
  double duration_s;     /* stop after this long, 0: until exit or signal */
  int idle;              /* keep samples of threads not on a CPU */
  enum sampler_read stop_mode; /* when threads are stopped (ptrace) to be read */
  int gil_only;          /* keep only samples of the thread holding the GIL */
  int status_line;       /* redraw a live status line on stderr */
  const char *output;    /* borrowed; shown in the status line */
  volatile sig_atomic_t *stop; /* borrowed; set asynchronously to end sampling */
};

enum sampler_stop {
  SAMPLER_STOP_SIGNAL = 1,   /* *stop was set */
  SAMPLER_STOP_EXITED = 2,   /* the target exited */
  SAMPLER_STOP_DURATION = 3, /* duration_s passed */
  SAMPLER_STOP_ERROR = 4,    /* an error that ends recording (see error) */
};

/* Why samples failed, counted per cause. */
struct sampler_fail {
  uint64_t torn;    /* the stack kept changing while read */
  uint64_t fault;   /* memory vanished or did not look like frames */
  uint64_t fault_stopped; /* of those, reads of a stopped thread */
  uint64_t other;
};

struct sampler_stats {
  uint64_t ticks;        /* sampling rounds */
  uint64_t samples;      /* stacks written */
  uint64_t failed;       /* thread stacks that could not be read (after one retry) */
  uint64_t retries;      /* --no-stop: reads that held on a second running read */
  uint64_t stopped_reads;   /* reads made with the thread stopped */
  uint64_t stopped_ns;      /* time threads were held, summed (upper bound: from the stop
                               request to the resume) */
  uint64_t stopped_samples; /* samples written from them */
  uint64_t fallbacks;       /* adaptive: running reads that did not hold, read stopped instead */
  uint64_t stop_limited;    /* adaptive: such reads counted failed, the stop budget spent */
  int stop_refused;         /* adaptive: stopping was refused; running reads only from then on */
  int layout_unsure;        /* PP_ELAYOUT decided from running reads only */
  uint64_t idle_skipped; /* thread samples left out because the thread was idle */
  uint64_t gil_skipped;  /* thread samples left out by --gil */
  uint64_t gil_samples;  /* samples taken while the thread held the GIL */
  uint64_t late_ticks;   /* ticks that started more than one period late */
  uint64_t threads_seen; /* distinct threads sampled */
  uint64_t reattached;   /* times the interpreter was found anew (the target exec'd) */
  struct sampler_fail fail;
  int64_t duration_ns;   /* from first tick to stop */
  enum sampler_stop stop_reason;
  int error;             /* PP_E* when stop_reason is SAMPLER_STOP_ERROR */
  int child_status;      /* wait status of the launched child, -1 if not reaped */
};

/* Sample until a stop condition. Returns 0 or the error that ended
 * recording (also in st->error); the record stays valid either way. */
int sampler_run(const struct sampler_opts *o, const struct py_target *t,
                const struct mem_reader *r, struct record_writer *w, struct sampler_stats *st);

/* 1 when the GIL holder of t's interpreter can be read (samples then carry
 * RECORD_SAMPLE_GIL). */
int sampler_gil_tracked(const struct py_target *t, const struct mem_reader *r);

/* Wait until the interpreter of pid has a thread state (launch mode), at most
 * timeout_s; 0 when ready, PP_ENOTREADY on timeout, PP_EEXITED if pid died,
 * PP_ELAYOUT when its thread states stay unreadable with this layout. */
int sampler_wait_ready(const struct py_target *t, const struct mem_reader *r, pid_t child,
                       double timeout_s, volatile sig_atomic_t *stop, int *child_status);

#endif
