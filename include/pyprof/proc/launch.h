/* Launching the program to profile as a child process. */
#ifndef PYPROF_PROC_LAUNCH_H
#define PYPROF_PROC_LAUNCH_H

#include <sys/types.h>

/* fork + execvp(argv[0], argv). Returns once the exec has happened (or
 * failed): *pid is the child. PP_ENOTFOUND / PP_EPERM when the exec failed,
 * with the child already reaped; errno_out gets the exec errno. */
int launch_child(char *const argv[], pid_t *pid, int *errno_out);

#endif
