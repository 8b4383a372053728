/* pyprof-bench-syscost: CPU cost of the system calls a sampling tick is made
 * of, on this machine, against a live target. Gives the floor under pyprof's
 * CPU per tick (section 1 of bench/bench.py).
 *
 *   pyprof-bench-syscost PID [SCALE]
 *
 * Prints key=value lines, CPU microseconds (user+sys, getrusage) per call:
 *   readv64, readv4k   process_vm_readv of 64 B / 4 KiB from PID
 *   proc_stat          pread of /proc/PID/task/PID/stat (pyprof's idle check)
 *   sleep100us, sleep1ms  clock_nanosleep(TIMER_ABSTIME) to 100 us / 1 ms
 *                      ahead: the CPU a sleep+wakeup costs, and its wall time
 *   sleep_past         clock_nanosleep(TIMER_ABSTIME) to 1 us in the past
 *   clock_gettime      one CLOCK_MONOTONIC read
 *
 *   pyprof-bench-syscost --wake RATE SECONDS
 *
 * Wakes RATE times a second on absolute deadlines and does nothing else, for
 * SECONDS: the control in the slowdown benchmark that separates what a
 * profiler's wakeups cost a target from what its reads cost. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static double cpu_s(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static double wall_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* First private readable mapping of at least 4 KiB, preferring [heap]. */
static unsigned long find_addr(int pid) {
  char path[64], line[512];
  unsigned long best = 0;
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *f = fopen(path, "re");
  if (!f)
    return 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' || hi - lo < 4096)
      continue;
    if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]") || strstr(line, "[vdso]"))
      continue;
    if (strstr(line, "[heap]")) {
      best = lo;
      break;
    }
    if (!best)
      best = lo;
  }
  fclose(f);
  return best;
}

static void sleeps(const char *key, long ns, int n) {
  struct timespec ts;
  double c0 = cpu_s(), w0 = wall_s();
  for (int i = 0; i < n; i++) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += ns;
    while (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    while (ts.tv_nsec < 0) {
      ts.tv_sec--;
      ts.tv_nsec += 1000000000L;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  }
  printf("%s=%.3f\n%s_wall=%.3f\n", key, (cpu_s() - c0) / n * 1e6, key,
         (wall_s() - w0) / n * 1e6);
}

static int wake(double rate, double secs) {
  if (!(rate > 0) || !(secs > 0))
    return 2;
  long period = (long)(1e9 / rate);
  struct timespec ts, end;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  end = ts;
  end.tv_sec += (time_t)secs;
  while (ts.tv_sec < end.tv_sec) {
    ts.tv_nsec += period;
    while (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--wake") == 0)
    return wake(atof(argv[2]), atof(argv[3]));
  if (argc < 2) {
    fprintf(stderr, "usage: %s PID [SCALE]\n", argv[0]);
    return 2;
  }
  int pid = atoi(argv[1]);
  double scale = argc > 2 ? atof(argv[2]) : 1.0;
  int n = (int)(100000 * scale);
  if (n < 1000)
    n = 1000;
  unsigned long addr = find_addr(pid);
  if (!addr) {
    fprintf(stderr, "pyprof-bench-syscost: no readable mapping in %d\n", pid);
    return 1;
  }
  static char buf[4096];
  struct iovec l = {buf, 64}, r = {(void *)addr, 64};
  if (process_vm_readv(pid, &l, 1, &r, 1, 0) < 0) {
    perror("pyprof-bench-syscost: process_vm_readv");
    return 1;
  }
  double c0 = cpu_s();
  for (int i = 0; i < n; i++)
    process_vm_readv(pid, &l, 1, &r, 1, 0);
  printf("readv64=%.3f\n", (cpu_s() - c0) / n * 1e6);
  l.iov_len = r.iov_len = 4096;
  c0 = cpu_s();
  for (int i = 0; i < n; i++)
    process_vm_readv(pid, &l, 1, &r, 1, 0);
  printf("readv4k=%.3f\n", (cpu_s() - c0) / n * 1e6);

  char path[80];
  snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    c0 = cpu_s();
    for (int i = 0; i < n / 2; i++)
      if (pread(fd, buf, sizeof buf - 1, 0) <= 0)
        break;
    printf("proc_stat=%.3f\n", (cpu_s() - c0) / (n / 2) * 1e6);
    close(fd);
  }
  struct timespec ts;
  c0 = cpu_s();
  for (int i = 0; i < n * 4; i++)
    clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("clock_gettime=%.3f\n", (cpu_s() - c0) / (n * 4) * 1e6);
  sleeps("sleep_past", -1000, n / 10);
  sleeps("sleep100us", 100000, n / 10);
  sleeps("sleep1ms", 1000000, n / 300 > 50 ? n / 300 : 50);
  return 0;
}
