#include "pyprof/proc/launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include "pyprof/common/error.h"

int launch_child(char *const argv[], pid_t *pid, int *errno_out) {
  int fds[2];
  *errno_out = 0;
  if (pipe2(fds, O_CLOEXEC) < 0)
    return pp_from_errno(errno);
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    return pp_from_errno(e);
  }
  if (child == 0) {
    close(fds[0]);
    /* The child must not inherit pyprof's ignored/blocked signal state. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    execvp(argv[0], argv);
    int e = errno;
    ssize_t wr = write(fds[1], &e, sizeof e);
    (void)wr;
    _exit(127);
  }
  close(fds[1]);
  int e = 0;
  ssize_t n;
  do {
    n = read(fds[0], &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  close(fds[0]);
  if (n == (ssize_t)sizeof e) {
    int st;
    waitpid(child, &st, 0);
    *errno_out = e;
    return e == ENOENT ? PP_ENOTFOUND : pp_from_errno(e);
  }
  *pid = child;
  return 0;
}
