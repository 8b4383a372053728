#include "pyprof/proc/proc_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pyprof/common/error.h"

/* Largest number of iovecs passed to one process_vm_readv call. */
#define PROC_MEM_IOV_MAX 256

struct proc_mem {
  pid_t pid;
  int mem_fd;         /* owned; /proc/PID/mem, opened lazily for the fallback, -1 if not */
  int use_fallback;   /* process_vm_readv returned ENOSYS */
  uint64_t syscalls;
};

int proc_mem_open(struct proc_mem **out, pid_t pid) {
  struct proc_mem *pm = calloc(1, sizeof *pm);
  if (!pm)
    return PP_ENOMEM;
  pm->pid = pid;
  pm->mem_fd = -1;
  *out = pm;
  return 0;
}

void proc_mem_close(struct proc_mem *pm) {
  if (!pm)
    return;
  if (pm->mem_fd >= 0)
    close(pm->mem_fd);
  free(pm);
}

static int map_errno(int e, pid_t pid) {
  switch (e) {
  case ESRCH:
    return PP_EEXITED;
  case EFAULT:
  case EIO:
    return PP_EFAULT;
  case EPERM:
  case EACCES:
    return PP_EPERM;
  case ENOMEM:
    return PP_EFAULT; /* remote range not mapped */
  default:
    return PP_EIO;
  }
}

static int fallback_read(struct proc_mem *pm, uint64_t addr, void *buf, size_t len) {
  if (pm->mem_fd < 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pm->pid);
    pm->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (pm->mem_fd < 0)
      return errno == ENOENT ? PP_EEXITED : map_errno(errno, pm->pid);
  }
  size_t done = 0;
  while (done < len) {
    pm->syscalls++;
    ssize_t n = pread(pm->mem_fd, (char *)buf + done, len - done, (off_t)(addr + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return map_errno(errno, pm->pid);
    if (n == 0)
      return PP_EFAULT;
    done += (size_t)n;
  }
  return 0;
}

static int pm_read(void *ctx, uint64_t addr, void *buf, size_t len) {
  struct proc_mem *pm = ctx;
  if (pm->use_fallback)
    return fallback_read(pm, addr, buf, len);
  struct iovec local = {buf, len};
  struct iovec remote = {(void *)(uintptr_t)addr, len};
  pm->syscalls++;
  ssize_t n = process_vm_readv(pm->pid, &local, 1, &remote, 1, 0);
  if (n == (ssize_t)len)
    return 0;
  if (n >= 0)
    return PP_EFAULT; /* partial: the range crosses into an unmapped page */
  if (errno == ENOSYS) {
    pm->use_fallback = 1;
    return fallback_read(pm, addr, buf, len);
  }
  return map_errno(errno, pm->pid);
}

static int pm_readv(void *ctx, const struct mem_read_req *reqs, size_t n) {
  struct proc_mem *pm = ctx;
  struct iovec local[PROC_MEM_IOV_MAX], remote[PROC_MEM_IOV_MAX];
  if (pm->use_fallback) {
    for (size_t i = 0; i < n; i++) {
      int rc = fallback_read(pm, reqs[i].addr, reqs[i].buf, reqs[i].len);
      if (rc < 0)
        return rc;
    }
    return 0;
  }
  for (size_t base = 0; base < n; base += PROC_MEM_IOV_MAX) {
    size_t k = n - base < PROC_MEM_IOV_MAX ? n - base : PROC_MEM_IOV_MAX;
    size_t want = 0;
    for (size_t i = 0; i < k; i++) {
      local[i] = (struct iovec){reqs[base + i].buf, reqs[base + i].len};
      remote[i] = (struct iovec){(void *)(uintptr_t)reqs[base + i].addr, reqs[base + i].len};
      want += reqs[base + i].len;
    }
    pm->syscalls++;
    ssize_t got = process_vm_readv(pm->pid, local, k, remote, k, 0);
    if (got < 0)
      return map_errno(errno, pm->pid);
    if ((size_t)got != want)
      return PP_EFAULT;
  }
  return 0;
}

/* One process_vm_readv with one iovec per page, highest page first: the
 * kernel stops at the first unreadable page and reports what it read. */
static int pm_read_down(void *ctx, uint64_t hi, void *buf, size_t len, size_t *got) {
  struct proc_mem *pm = ctx;
  struct iovec local[PROC_MEM_IOV_MAX], remote[PROC_MEM_IOV_MAX];
  size_t k = 0, done = 0;
  uint64_t top = hi;
  *got = 0;
  if (pm->use_fallback) {
    while (done < len) {
      uint64_t piece = top % 4096 ? top % 4096 : 4096;
      if (piece > len - done)
        piece = len - done;
      if (fallback_read(pm, top - piece, (char *)buf + (len - done - piece), (size_t)piece) < 0)
        break;
      done += (size_t)piece;
      top -= piece;
    }
    *got = done;
    return done ? 0 : PP_EFAULT;
  }
  while (done < len && k < PROC_MEM_IOV_MAX) {
    uint64_t piece = top % 4096 ? top % 4096 : 4096;
    if (piece > len - done)
      piece = len - done;
    local[k] = (struct iovec){(char *)buf + (len - done - piece), (size_t)piece};
    remote[k] = (struct iovec){(void *)(uintptr_t)(top - piece), (size_t)piece};
    k++;
    done += (size_t)piece;
    top -= piece;
  }
  pm->syscalls++;
  ssize_t n = process_vm_readv(pm->pid, local, k, remote, k, 0);
  if (n <= 0)
    return n < 0 ? map_errno(errno, pm->pid) : PP_EFAULT;
  *got = (size_t)n;
  return 0;
}

static const struct mem_reader_ops proc_mem_ops = {
    .read = pm_read, .readv = pm_readv, .read_down = pm_read_down};

void proc_mem_reader(struct proc_mem *pm, struct mem_reader *out) {
  out->ops = &proc_mem_ops;
  out->ctx = pm;
}

uint64_t proc_mem_syscalls(const struct proc_mem *pm) { return pm->syscalls; }
