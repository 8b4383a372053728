#include "pyprof/proc/proc_info.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pyprof/common/error.h"

/* Bound on the number of mappings and threads we accept from /proc. */
#define PROC_MAPS_MAX 1000000
#define PROC_THREADS_MAX 100000

static int open_errno(int e) {
  if (e == ENOENT || e == ESRCH)
    return PP_ENOPROC;
  return pp_from_errno(e);
}

int proc_maps_read(pid_t pid, struct proc_maps *out) {
  char path[64];
  char *line = NULL; /* owned: getline buffer */
  size_t linecap = 0;
  int rc = 0;
  out->v = NULL;
  out->n = 0;
  size_t cap = 0;
  snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
  FILE *f = fopen(path, "re"); /* owned */
  if (!f)
    return open_errno(errno);
  while (getline(&line, &linecap, f) > 0) {
    uint64_t start, end, offset;
    char perms[8] = {0};
    int pathpos = 0;
    if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n", &start, &end, perms,
               &offset, &pathpos) < 4)
      continue;
    if (out->n == cap) {
      if (cap >= PROC_MAPS_MAX) {
        rc = PP_EBOUNDS;
        goto out;
      }
      size_t ncap = cap ? cap * 2 : 256;
      struct proc_map *nv = realloc(out->v, ncap * sizeof *nv);
      if (!nv) {
        rc = PP_ENOMEM;
        goto out;
      }
      out->v = nv;
      cap = ncap;
    }
    char *p = pathpos > 0 ? line + pathpos : line + strlen(line);
    size_t plen = strcspn(p, "\n");
    char *dup = strndup(p, plen);
    if (!dup) {
      rc = PP_ENOMEM;
      goto out;
    }
    struct proc_map *m = &out->v[out->n++];
    m->start = start;
    m->end = end;
    m->offset = offset;
    memcpy(m->perms, perms, 4);
    m->perms[4] = 0;
    m->path = dup;
  }
  if (out->n == 0)
    rc = errno == EACCES || errno == EPERM ? PP_EPERM : PP_ENOPROC;
out:
  free(line);
  fclose(f);
  if (rc < 0)
    proc_maps_free(out);
  return rc;
}

void proc_maps_free(struct proc_maps *m) {
  for (size_t i = 0; i < m->n; i++)
    free(m->v[i].path);
  free(m->v);
  m->v = NULL;
  m->n = 0;
}

int proc_threads_list(pid_t pid, pid_t **tids, size_t *n) {
  char path[64];
  int rc = 0;
  size_t cap = 0;
  *tids = NULL;
  *n = 0;
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path); /* owned */
  if (!d)
    return open_errno(errno);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    if (*n == cap) {
      if (cap >= PROC_THREADS_MAX) {
        rc = PP_EBOUNDS;
        goto out;
      }
      size_t ncap = cap ? cap * 2 : 16;
      pid_t *nt = realloc(*tids, ncap * sizeof *nt);
      if (!nt) {
        rc = PP_ENOMEM;
        goto out;
      }
      *tids = nt;
      cap = ncap;
    }
    (*tids)[(*n)++] = (pid_t)atoi(e->d_name);
  }
out:
  closedir(d);
  if (rc < 0) {
    free(*tids);
    *tids = NULL;
    *n = 0;
  }
  return rc;
}

struct stat_fd {
  pid_t tid;
  int fd; /* owned */
  int running;       /* last state read */
  int64_t read_ns;   /* when (CLOCK_MONOTONIC), 0 never */
};

struct proc_thread_states {
  pid_t pid;
  int64_t ttl_ns;
  struct stat_fd *v; /* owned array of n */
  size_t n, cap;
};

int proc_thread_states_new(pid_t pid, struct proc_thread_states **out) {
  struct proc_thread_states *ts = calloc(1, sizeof *ts);
  if (!ts)
    return PP_ENOMEM;
  ts->pid = pid;
  *out = ts;
  return 0;
}

void proc_thread_states_free(struct proc_thread_states *ts) {
  if (!ts)
    return;
  for (size_t i = 0; i < ts->n; i++)
    close(ts->v[i].fd);
  free(ts->v);
  free(ts);
}

static void states_drop(struct proc_thread_states *ts, size_t i) {
  close(ts->v[i].fd);
  ts->v[i] = ts->v[--ts->n];
}

static int states_fd(struct proc_thread_states *ts, pid_t tid, size_t *idx) {
  for (size_t i = 0; i < ts->n; i++) {
    if (ts->v[i].tid == tid) {
      *idx = i;
      return 0;
    }
  }
  char path[80];
  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)ts->pid, (int)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return PP_ENOTFOUND;
  if (ts->n == ts->cap) {
    size_t ncap = ts->cap ? ts->cap * 2 : 16;
    struct stat_fd *nv = realloc(ts->v, ncap * sizeof *nv);
    if (!nv) {
      close(fd);
      return PP_ENOMEM;
    }
    ts->v = nv;
    ts->cap = ncap;
  }
  ts->v[ts->n] = (struct stat_fd){tid, fd, 0, 0};
  *idx = ts->n++;
  return 0;
}

void proc_thread_states_set_ttl(struct proc_thread_states *ts, int64_t ttl_ns) {
  ts->ttl_ns = ttl_ns;
}

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int proc_thread_running(struct proc_thread_states *ts, pid_t tid, int *running) {
  size_t idx;
  char buf[512];
  int64_t now = 0;
  *running = 0;
  int rc = states_fd(ts, tid, &idx);
  if (rc < 0)
    return rc;
  if (ts->ttl_ns > 0) {
    now = mono_ns();
    if (ts->v[idx].read_ns && now - ts->v[idx].read_ns < ts->ttl_ns) {
      *running = ts->v[idx].running;
      return 0;
    }
  }
  ssize_t n = pread(ts->v[idx].fd, buf, sizeof buf - 1, 0);
  if (n <= 0) {
    /* ESRCH once the thread has exited: forget the descriptor. */
    states_drop(ts, idx);
    return PP_ENOTFOUND;
  }
  buf[n] = 0;
  /* The state follows the last ')' (the command name may contain ')' itself). */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ' || !p[2])
    return PP_EIO;
  *running = p[2] == 'R';
  ts->v[idx].running = *running;
  ts->v[idx].read_ns = now;
  return 0;
}

int proc_cmdline(pid_t pid, char **out) {
  char path[64];
  char buf[4096];
  snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return open_errno(errno);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0)
    return pp_from_errno(errno);
  while (n > 0 && buf[n - 1] == 0)
    n--;
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == 0)
      buf[i] = ' ';
  buf[n] = 0;
  *out = strdup(buf);
  return *out ? 0 : PP_ENOMEM;
}

int proc_starttime(pid_t pid, uint64_t *out) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return PP_ENOPROC;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return PP_ENOPROC;
  buf[n] = 0;
  /* Fields after the command name: state is field 3, starttime field 22. */
  char *p = strrchr(buf, ')');
  if (!p)
    return PP_EIO;
  p++;
  for (int field = 3; field < 22; field++) {
    p = strchr(p + 1, ' ');
    if (!p)
      return PP_EIO;
  }
  *out = strtoull(p + 1, NULL, 10);
  return 0;
}

int proc_alive(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ')
    return 0;
  return p[2] != 'Z' && p[2] != 'X';
}

void proc_path_in_root(pid_t pid, const char *path, char *out, size_t cap) {
  struct stat st;
  snprintf(out, cap, "/proc/%d/root%s", (int)pid, path);
  if (stat(out, &st) == 0)
    return;
  snprintf(out, cap, "%s", path);
}
