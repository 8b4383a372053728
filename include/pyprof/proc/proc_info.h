/* One target process as /proc shows it: memory maps, threads, thread state,
 * command line. */
#ifndef PYPROF_PROC_PROC_INFO_H
#define PYPROF_PROC_PROC_INFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_map {
  uint64_t start, end, offset;
  char perms[5];  /* "r-xp" */
  char *path;     /* owned; "" for anonymous mappings */
};

struct proc_maps {
  struct proc_map *v; /* owned array of n */
  size_t n;
};

/* Parse /proc/PID/maps. PP_ENOPROC when pid does not exist, PP_EPERM when not
 * allowed. Caller frees with proc_maps_free. */
int proc_maps_read(pid_t pid, struct proc_maps *out);
void proc_maps_free(struct proc_maps *m);

/* Thread ids of pid (from /proc/PID/task), *tids malloc'd (caller frees). */
int proc_threads_list(pid_t pid, pid_t **tids, size_t *n);

/* A cache of open /proc/PID/task/TID/stat descriptors, so the per-sample
 * "is this thread on a CPU" check is one pread. */
struct proc_thread_states;
int proc_thread_states_new(pid_t pid, struct proc_thread_states **out);
void proc_thread_states_free(struct proc_thread_states *ts);
/* Reuse a thread's state read less than ttl_ns ago (0, the default: read
 * every time). */
void proc_thread_states_set_ttl(struct proc_thread_states *ts, int64_t ttl_ns);
/* *running = 1 when the thread's state is R (running or runnable). PP_ENOTFOUND
 * when the thread is gone. */
int proc_thread_running(struct proc_thread_states *ts, pid_t tid, int *running);

/* Command line of pid with spaces between arguments, malloc'd into *out
 * (caller frees); at most 4096 bytes. */
int proc_cmdline(pid_t pid, char **out);
/* Start time of pid (clock ticks since boot, /proc/PID/stat field 22): with
 * the pid, it identifies a process even if the pid is later reused. */
int proc_starttime(pid_t pid, uint64_t *out);
/* 1 when pid exists (and is not a zombie), 0 otherwise. */
int proc_alive(pid_t pid);
/* Resolve a path seen in the target's mount namespace: /proc/PID/root/PATH
 * when that exists, else PATH. Writes into out (cap bytes). */
void proc_path_in_root(pid_t pid, const char *path, char *out, size_t cap);

#endif
