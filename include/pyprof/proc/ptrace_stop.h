/* Stopping one thread of the target for an exact snapshot (--blocking):
 * PTRACE_SEIZE + PTRACE_INTERRUPT, then PTRACE_DETACH. A signal that arrives
 * while the thread is held is handed back on detach, so the target never
 * loses one. */
#ifndef PYPROF_PROC_PTRACE_STOP_H
#define PYPROF_PROC_PTRACE_STOP_H

#include <sys/types.h>

/* Stop tid and wait until it is stopped. *pending_sig gets a signal that must
 * be delivered on resume (0 if none). PP_EPERM / PP_ENOTFOUND on failure. */
int ptrace_thread_stop(pid_t tid, int *pending_sig);
/* Let tid run again (detaches), delivering pending_sig. */
int ptrace_thread_resume(pid_t tid, int pending_sig);

#endif
