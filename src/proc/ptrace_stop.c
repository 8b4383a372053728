/* Stopping one thread of the target for a read: PTRACE_SEIZE, PTRACE_INTERRUPT,
 * wait for the stop; later PTRACE_DETACH, handing back a signal that arrived
 * meanwhile. Owns nothing across calls: a thread is traced only between a
 * successful ptrace_thread_stop and its ptrace_thread_resume. Must never
 * leave a thread seized or stopped on a failure path, and never swallow a
 * signal meant for the target. */
#include "pyprof/proc/ptrace_stop.h"

#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "pyprof/common/error.h"

/* How many unrelated stops (signals) we accept before the interrupt stop. */
#define STOP_WAIT_MAX 16

int ptrace_thread_stop(pid_t tid, int *pending_sig) {
  *pending_sig = 0;
  if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0)
    return errno == ESRCH ? PP_ENOTFOUND : pp_from_errno(errno);
  if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0) {
    int e = errno;
    ptrace(PTRACE_DETACH, tid, 0, 0);
    return e == ESRCH ? PP_ENOTFOUND : pp_from_errno(e);
  }
  for (int i = 0; i < STOP_WAIT_MAX; i++) {
    int status;
    pid_t w = waitpid(tid, &status, __WALL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0) {
      ptrace(PTRACE_DETACH, tid, 0, 0); /* not ours to wait for: let it go */
      return PP_ENOTFOUND;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status))
      return PP_ENOTFOUND;
    if (!WIFSTOPPED(status))
      continue;
    if ((status >> 16) == PTRACE_EVENT_STOP)
      return 0; /* the interrupt (or a group stop): the thread is held */
    /* A signal-delivery stop: the thread is stopped too; keep the signal
     * to hand it back when we let go. */
    *pending_sig = WSTOPSIG(status);
    return 0;
  }
  ptrace(PTRACE_DETACH, tid, 0, 0);
  return PP_EIO;
}

int ptrace_thread_resume(pid_t tid, int pending_sig) {
  if (ptrace(PTRACE_DETACH, tid, 0, (void *)(long)pending_sig) < 0)
    return errno == ESRCH ? PP_ENOTFOUND : pp_from_errno(errno);
  return 0;
}
