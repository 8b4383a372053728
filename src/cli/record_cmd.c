/* `pyprof record`: attach to or launch a Python program and sample it into a
 * record file. Owns option parsing, signal handling and every message the
 * user sees about a recording. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pyprof/cli/commands.h"
#include "pyprof/common/error.h"
#include "pyprof/proc/launch.h"
#include "pyprof/proc/proc_info.h"
#include "pyprof/proc/proc_mem.h"
#include "pyprof/python/layout.h"
#include "pyprof/python/target.h"
#include "pyprof/record/writer.h"
#include "pyprof/sampler/sampler.h"

#define EXIT_ERR 1
#define EXIT_USAGE 2
#define LAUNCH_FIND_TIMEOUT_S 30.0
#define READY_TIMEOUT_S 30.0

static const char record_help[] =
    "usage: pyprof record [options] -p PID\n"
    "       pyprof record [options] -- PROGRAM [ARGS...]\n"
    "\n"
    "Sample the Python stacks of every thread of a process into a record file.\n"
    "With -p, attach to a running CPython process. With --, launch PROGRAM (python3, a\n"
    "venv's python, or a script/`env` that execs python) and profile it from its\n"
    "first milliseconds; pyprof then exits with the program's exit status.\n"
    "\n"
    "Sampling ends when the target exits, after -d SECONDS, or on Ctrl-C /\n"
    "SIGTERM; the record file is complete in every case, and a summary is printed.\n"
    "\n"
    "options:\n"
    "  -p, --pid PID        attach to process PID\n"
    "  -o, --output FILE    record file to write (default: pyprof-PID.pyprof)\n"
    "  -r, --rate RATE      samples per second: 100 (default), 500, 1k, 10k ...\n"
    "                       (1 to 1000k)\n"
    "  -d, --duration SECS  stop sampling after SECS seconds (decimals allowed);\n"
    "                       a launched program keeps running to its end\n"
    "      --idle           also keep samples of threads that are not running on a\n"
    "                       CPU (sleeping, waiting on I/O or a lock); by default\n"
    "                       they are left out, judged from /proc/PID/task/TID/stat\n"
    "      --blocking       stop every thread (ptrace) for every read: exact,\n"
    "                       at a cost to the target (README, bench/ section 3)\n"
    "      --no-stop        never stop the target: a stack that changes while it\n"
    "                       is read is read once more, then counted as failed;\n"
    "                       on programs that call and return faster than a read\n"
    "                       (generators, coroutines, tight recursion) shares then\n"
    "                       shift towards the steadier code\n"
    "                       Default: threads are read running (no stop, one\n"
    "                       system call per tick); a read that cannot be shown to\n"
    "                       be one moment's stack is replaced by a stopped read of\n"
    "                       that thread (ptrace, a few tens of us), and a thread\n"
    "                       whose reads keep failing is read stopped for a while,\n"
    "                       so no sample is dropped or moved for what its stack\n"
    "                       was doing. Budget: 2000 stopped reads per second and\n"
    "                       thread; past it, failed running reads are counted.\n"
    "                       The summary says how many reads were stopped. Cost,\n"
    "                       measured (bench/ section 8b): see README\n"
    "      --gil            keep only samples of the thread holding the GIL (what\n"
    "                       the interpreter is executing); without it every\n"
    "                       sample still records whether its thread held the GIL,\n"
    "                       and `pyprof report` shows the GIL share. A free-threaded\n"
    "                       build (3.13t, 3.14t, ...) has no GIL: --gil then says so\n"
    "                       and keeps every thread\n"
    "      --python-version X.Y\n"
    "                       use pyprof's built-in layout table for 3.X (3.8-3.12)\n"
    "                       instead of the detected version: for interpreters whose\n"
    "                       version cannot be detected; a wrong choice is caught\n"
    "                       (no stack reads) and reported, never recorded\n"
    "  -q, --quiet          no status line, no summary (errors are still printed)\n"
    "  -h, --help           this help\n"
    "\n"
    "exit status: launched: the program's own status (128+N if killed by signal N);\n"
    "attached: 0 on success. 1: pyprof could not record (message on stderr), 2: bad\n"
    "usage.\n"
    "\n"
    "examples:\n"
    "  pyprof record -- python3 train.py --epochs 3\n"
    "  pyprof record -p 4242 -d 60 -o job.pyprof\n"
    "  pyprof record -r 1k --idle -o server.pyprof -p $(pgrep -f server.py)\n"
    "  pyprof report job.pyprof\n";

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_signal;
static volatile sig_atomic_t g_child;

static void on_signal(int sig, siginfo_t *info, void *uctx) {
  (void)uctx;
  g_stop = 1;
  g_signal = sig;
  /* A signal sent by a process (kill, a batch system) is passed to a launched
   * child; a terminal's Ctrl-C already reaches the child through its process
   * group, so it is not doubled. */
  if (g_child > 0 && info && info->si_code <= 0)
    kill((pid_t)g_child, sig);
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: sleeps and waits return early */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  /* Past a file size limit (ulimit -f) writes fail with EFBIG, which the
   * writer reports, instead of the signal killing pyprof mid-chunk. */
  signal(SIGXFSZ, SIG_IGN);
}

/* "100", "1k", "10K", "2.5k", "1000hz" -> Hz; 0 on error. */
static uint32_t parse_rate(const char *s) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || !isfinite(v) || v <= 0)
    return 0;
  if (*end == 'k' || *end == 'K') {
    v *= 1000;
    end++;
  }
  if (strcasecmp(end, "hz") == 0)
    end += 2;
  if (*end != 0 || v < 1 || v > 1000000)
    return 0;
  return (uint32_t)(v + 0.5);
}

static int read_ptrace_scope(void) {
  FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
  int v = -1;
  if (f) {
    if (fscanf(f, "%d", &v) != 1)
      v = -1;
    fclose(f);
  }
  return v;
}

static void explain_eperm(pid_t pid) {
  char path[64];
  struct stat st;
  int scope = read_ptrace_scope();
  snprintf(path, sizeof path, "/proc/%d", (int)pid);
  fprintf(stderr, "pyprof: permission denied reading the memory of PID %d.\n", (int)pid);
  fprintf(stderr, "  Reading another process's memory needs ptrace access to it:\n");
  if (stat(path, &st) == 0 && st.st_uid != geteuid())
    fprintf(stderr,
            "  - the target runs as uid %u and you are uid %u: run pyprof as the same user "
            "(e.g. `sudo -u#%u pyprof ...`) or as root;\n",
            (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)st.st_uid);
  if (scope == 1)
    fprintf(stderr,
            "  - kernel.yama.ptrace_scope is 1 (only a parent may trace its children): launch the "
            "program under pyprof instead (`pyprof record -- python app.py`), or allow it with "
            "`sudo sysctl kernel.yama.ptrace_scope=0`, or grant pyprof the capability: "
            "`sudo setcap cap_sys_ptrace+ep $(command -v pyprof)`;\n");
  else if (scope == 2)
    fprintf(stderr, "  - kernel.yama.ptrace_scope is 2 (admin only): run pyprof as root or give it "
                    "CAP_SYS_PTRACE (`sudo setcap cap_sys_ptrace+ep $(command -v pyprof)`);\n");
  else if (scope == 3)
    fprintf(stderr, "  - kernel.yama.ptrace_scope is 3: ptrace is disabled until reboot; no "
                    "process can be profiled from outside on this machine;\n");
  fprintf(stderr, "  - inside a container, ptrace needs CAP_SYS_PTRACE: start it with "
                  "`--cap-add SYS_PTRACE` (docker/podman).\n");
}

static void report_locate_error(int rc, pid_t pid, const char *why) {
  switch (rc) {
  case PP_ENOPROC:
    fprintf(stderr, "pyprof: no process with PID %d (check it with `ps -p %d`)\n", (int)pid,
            (int)pid);
    break;
  case PP_EPERM:
    explain_eperm(pid);
    break;
  case PP_ENOTPYTHON:
    fprintf(stderr, "pyprof: %s.\n  Give the PID of a CPython process, e.g. `pgrep -f app.py`.\n",
            why);
    break;
  case PP_EUNSUPPORTED:
    fprintf(stderr, "pyprof: unsupported Python: %s\n", why);
    break;
  case PP_EEXITED:
    fprintf(stderr, "pyprof: PID %d exited before it could be sampled\n", (int)pid);
    break;
  default:
    fprintf(stderr, "pyprof: cannot attach to PID %d: %s%s%s\n", (int)pid, pp_strerror(rc),
            why[0] ? ": " : "", why);
  }
}

static void explain_layout_mismatch(pid_t pid, const struct py_target *t) {
  if (!strcmp(t->version_source, "--python-version")) {
    fprintf(stderr,
            "pyprof: the layout forced with --python-version 3.%d does not fit the interpreter of "
            "PID %d: no stack could be read, so nothing is recorded. Leave version detection on "
            "(drop --python-version); if detection fails, `python -VV` tells the version to give.\n",
            t->minor, (int)pid);
    return;
  }
  fprintf(stderr,
          "pyprof: the memory of PID %d does not match the layout of Python %d.%d.%d (%s; "
          "version from %s): no stack could be read, so nothing is recorded. This build of "
          "Python is not supported; please report it with the output of `python -VV`.\n",
          (int)pid, t->major, t->minor, t->micro, t->layout.source ? t->layout.source : "",
          t->version_source);
}

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int child_exit_code(int status) {
  if (status < 0)
    return EXIT_ERR;
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return EXIT_ERR;
}

/* Launch mode: poll until the child runs an interpreter pyprof can read. */
static int locate_launched(pid_t child, const struct mem_reader *r, struct py_target *t, char *why,
                           size_t whylen, int *child_status) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int rc = py_target_locate(child, r, t, why, whylen);
    if (rc == 0 || rc == PP_EUNSUPPORTED || rc == PP_EPERM)
      return rc;
    int status;
    if (waitpid(child, &status, WNOHANG) == child) {
      *child_status = status;
      return PP_EEXITED;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    double el = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
    if (g_stop || el > LAUNCH_FIND_TIMEOUT_S)
      return rc;
    usleep(el < 1.0 ? 200 : 5000);
  }
}

static void print_summary(const struct sampler_stats *st, const char *out, uint64_t bytes,
                          uint32_t rate, int gil_tracked) {
  double secs = (double)st->duration_ns / 1e9;
  uint64_t tot = st->samples + st->failed;
  const char *why = st->stop_reason == SAMPLER_STOP_SIGNAL     ? "interrupted"
                    : st->stop_reason == SAMPLER_STOP_EXITED   ? "target exited"
                    : st->stop_reason == SAMPLER_STOP_DURATION ? "duration reached"
                                                               : "error";
  fprintf(stderr,
          "pyprof: %s after %.2f s: %llu samples from %llu threads, %llu ticks at %.1f Hz "
          "(asked %u Hz)\n",
          why, secs, (unsigned long long)st->samples, (unsigned long long)st->threads_seen,
          (unsigned long long)st->ticks, secs > 0 ? (double)st->ticks / secs : 0.0, rate);
  fprintf(stderr,
          "pyprof: failed samples: %llu (%.2f%%: %llu torn, %llu unreadable, %llu other); "
          "%llu idle thread samples left out\n",
          (unsigned long long)st->failed, tot ? 100.0 * (double)st->failed / (double)tot : 0.0,
          (unsigned long long)st->fail.torn, (unsigned long long)st->fail.fault,
          (unsigned long long)st->fail.other, (unsigned long long)st->idle_skipped);
  if (st->stopped_samples || st->fallbacks)
    fprintf(stderr,
            "pyprof: %.1f%% of samples were read with the thread stopped (%llu running reads "
            "that did not hold were replaced by a stopped read)\n",
            st->samples ? 100.0 * (double)st->stopped_samples / (double)st->samples : 0.0,
            (unsigned long long)st->fallbacks);
  if (st->stopped_reads && secs > 0)
    fprintf(stderr, "pyprof: threads were held stopped %.1f ms in all (at most), %.2f%% of the "
                    "%.2f s recorded\n",
            (double)st->stopped_ns / 1e6, 100.0 * (double)st->stopped_ns / 1e9 / secs, secs);
  if (st->stop_limited)
    fprintf(stderr, "pyprof: %llu samples failed because their threads had used their budget of "
                    "%d stopped reads per second (at this rate their stacks change faster than "
                    "they can be read running); lower the rate, or use --blocking for every read "
                    "stopped\n", (unsigned long long)st->stop_limited, SAMPLER_STOP_RATE_MAX);
  if (st->retries)
    fprintf(stderr, "pyprof: --no-stop: %llu reads held only when read a second time\n",
            (unsigned long long)st->retries);
  if (st->stop_refused)
    fprintf(stderr, "pyprof: note: threads could not be stopped (ptrace refused: another tracer, "
                    "or no permission), so stacks that changed while read were counted as failed "
                    "instead; see README \"Permissions\"\n");
  if (tot && st->failed * 10 > tot && !st->stopped_samples)
    fprintf(stderr, "pyprof: hint: many stacks changed while they were read (calls and returns "
                    "faster than a read takes); without --no-stop, or with --blocking, pyprof "
                    "reads such threads stopped\n");
  if (st->reattached)
    fprintf(stderr, "pyprof: the target replaced its program image (exec) %llu time(s); pyprof "
                    "found the new interpreter and went on\n", (unsigned long long)st->reattached);
  if (gil_tracked && st->samples)
    fprintf(stderr, "pyprof: %.1f%% of samples are of the thread holding the GIL%s\n",
            100.0 * (double)st->gil_samples / (double)st->samples,
            st->gil_skipped ? " (--gil: only those were kept)" : "");
  fprintf(stderr, "pyprof: wrote %s (%.1f kB, %.2f bytes/sample); see `pyprof report %s`\n", out,
          (double)bytes / 1024.0, st->samples ? (double)bytes / (double)st->samples : 0.0, out);
}

struct record_opts {
  pid_t pid;
  const char *output;
  uint32_t rate;
  double duration;
  int idle, blocking, no_stop, gil, quiet;
  int force_minor; /* --python-version 3.X, 0 if not given */
  char **argv; /* borrowed: program to launch, NULL when attaching */
};

static int parse_record_args(int argc, char **argv, struct record_opts *o) {
  static const struct option longopts[] = {
      {"pid", required_argument, 0, 'p'},      {"output", required_argument, 0, 'o'},
      {"rate", required_argument, 0, 'r'},     {"duration", required_argument, 0, 'd'},
      {"idle", no_argument, 0, 'I'},           {"blocking", no_argument, 0, 'B'},
      {"no-stop", no_argument, 0, 'N'},
      {"gil", no_argument, 0, 'G'},             {"python-version", required_argument, 0, 'P'},
      {"quiet", no_argument, 0, 'q'},          {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  o->rate = 100;
  optind = 1;
  int c;
  /* '+': stop at the first non-option, so the program's own options pass. */
  while ((c = getopt_long(argc, argv, "+p:o:r:d:qh", longopts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'p': {
      long v = strtol(optarg, &end, 10);
      if (*end || v <= 0 || v > 0x3fffffff) {
        fprintf(stderr, "pyprof record: -p needs a process id, got '%s'\n", optarg);
        return EXIT_USAGE;
      }
      o->pid = (pid_t)v;
      break;
    }
    case 'o':
      o->output = optarg;
      break;
    case 'r':
      o->rate = parse_rate(optarg);
      if (!o->rate) {
        fprintf(stderr, "pyprof record: bad rate '%s' (examples: 100, 500, 1k, 10k; 1 to 1000k)\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'd':
      o->duration = strtod(optarg, &end);
      if (*end || !(o->duration > 0) || !isfinite(o->duration)) {
        fprintf(stderr, "pyprof record: -d needs a positive number of seconds, got '%s'\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'I':
      o->idle = 1;
      break;
    case 'B':
      o->blocking = 1;
      break;
    case 'N':
      o->no_stop = 1;
      break;
    case 'G':
      o->gil = 1;
      break;
    case 'P':
      if (sscanf(optarg, "3.%d", &o->force_minor) != 1 || !layout_builtin(3, o->force_minor)) {
        fprintf(stderr, "pyprof record: --python-version takes 3.8 to 3.12 (3.13+ carry their "
                        "own layout), got '%s'\n", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'q':
      o->quiet = 1;
      break;
    case 'h':
      fputs(record_help, stdout);
      return -1;
    default:
      fprintf(stderr, "Try `pyprof record --help`.\n");
      return EXIT_USAGE;
    }
  }
  if (optind < argc)
    o->argv = argv + optind;
  if (!o->pid == !o->argv) {
    fprintf(stderr, "pyprof record: give either -p PID or -- PROGRAM [ARGS...] (not %s)\n%s",
            o->pid ? "both" : "neither", "Try `pyprof record --help`.\n");
    return EXIT_USAGE;
  }
  if (o->blocking && o->no_stop) {
    fprintf(stderr, "pyprof record: --blocking (stop for every read) and --no-stop (never stop) "
                    "contradict each other; give one\n");
    return EXIT_USAGE;
  }
  return 0;
}

int cmd_record(int argc, char **argv) {
  struct record_opts o;
  struct proc_mem *pm = NULL;         /* owned */
  struct record_writer *w = NULL;     /* owned until record_writer_close */
  char *cmdline = NULL;               /* owned */
  char outbuf[64];
  char why[512] = "";
  struct py_target *t = NULL;         /* owned (large: PATH_MAX inside) */
  struct mem_reader r;
  struct sampler_stats st = {0};
  int child_status = -1;
  pid_t child = 0;
  int exit_code = EXIT_ERR;
  int rc = parse_record_args(argc, argv, &o);
  if (rc != 0)
    return rc < 0 ? 0 : rc;

  install_signals();
  memset(&st, 0, sizeof st);
  t = calloc(1, sizeof *t);
  if (!t)
    goto out;
  if (o.argv) {
    int e;
    rc = launch_child(o.argv, &child, &e);
    if (rc < 0) {
      fprintf(stderr, "pyprof: cannot run '%s': %s\n", o.argv[0], strerror(e ? e : EIO));
      exit_code = e == ENOENT ? 127 : 126;
      goto out;
    }
    g_child = child;
    o.pid = child;
  }
  rc = proc_mem_open(&pm, o.pid);
  if (rc < 0)
    goto out;
  proc_mem_reader(pm, &r);

  rc = child ? locate_launched(child, &r, t, why, sizeof why, &child_status)
             : py_target_locate(o.pid, &r, t, why, sizeof why);
  if (rc == PP_EEXITED && child) {
    fprintf(stderr, "pyprof: '%s' exited before a Python interpreter was found in it\n",
            o.argv[0]);
    exit_code = child_exit_code(child_status);
    child = 0;
    goto out;
  }
  if (rc < 0) {
    if (child && rc == PP_ENOTPYTHON)
      fprintf(stderr, "pyprof: '%s' did not start a Python interpreter within %.0f s: %s\n",
              o.argv[0], LAUNCH_FIND_TIMEOUT_S, why);
    else
      report_locate_error(rc, o.pid, why);
    goto out;
  }
  if (o.force_minor) {
    t->layout = *layout_builtin(3, o.force_minor);
    t->major = 3;
    t->minor = o.force_minor;
    t->micro = 0;
    snprintf(t->version_source, sizeof t->version_source, "--python-version");
  }
  if (t->warning[0] && !o.quiet)
    fprintf(stderr, "pyprof: warning: %s\n", t->warning);
  rc = sampler_wait_ready(t, &r, child, child ? READY_TIMEOUT_S : 5.0, &g_stop, &child_status);
  if (rc == PP_EEXITED) {
    fprintf(stderr, "pyprof: PID %d exited before its interpreter started\n", (int)o.pid);
    if (child)
      exit_code = child_exit_code(child_status);
    child = 0;
    goto out;
  }
  if (rc == PP_ELAYOUT) {
    explain_layout_mismatch(o.pid, t);
    goto out;
  }
  if (rc < 0 && !g_stop) {
    fprintf(stderr, "pyprof: the interpreter of PID %d has no thread state yet (still starting, "
                    "or shutting down); try again\n", (int)o.pid);
    goto out;
  }

  int gil_tracked = sampler_gil_tracked(t, &r);
  /* Just after start-up the GIL may not be created yet, or the thread list
   * be caught mid-change (seen on 3.12 and 3.14 in launch mode): look again
   * for up to half a second before going on without it. */
  for (int i = 0; i < 50 && !gil_tracked && !t->layout.free_threaded && !g_stop; i++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    gil_tracked = sampler_gil_tracked(t, &r);
  }
  if (o.gil && t->layout.free_threaded) {
    /* Not an error: a job script's flags should not break on a 3.14t. */
    fprintf(stderr, "pyprof: --gil: Python %d.%dt is a free-threaded build: it has no GIL, so "
                    "every thread's samples are kept\n", t->major, t->minor);
    o.gil = 0;
  } else if (o.gil && !gil_tracked) {
    fprintf(stderr, "pyprof: --gil: cannot locate the GIL of Python %d.%d in PID %d\n", t->major,
            t->minor, (int)o.pid);
    goto out;
  }
  if (!o.output) {
    snprintf(outbuf, sizeof outbuf, "pyprof-%d.pyprof", (int)o.pid);
    o.output = outbuf;
  }
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  proc_cmdline(o.pid, &cmdline);
  struct record_header_info h = {
      .py_major = (uint8_t)t->major, .py_minor = (uint8_t)t->minor,
      .py_micro = (uint8_t)t->micro, .pid = (uint32_t)o.pid, .rate_hz = o.rate,
      .flags = (o.idle ? RECORD_FLAG_IDLE : 0) | (o.blocking ? RECORD_FLAG_BLOCKING : 0) |
               (o.gil ? RECORD_FLAG_GIL : 0) | (gil_tracked ? RECORD_FLAG_GIL_TRACKED : 0),
      .start_unix_ns = wall_ns(), .cmdline = cmdline ? cmdline : "", .hostname = host,
      .python_path = t->runtime_path, .rank = -1};
  rc = record_writer_open(&w, o.output, &h);
  if (rc < 0) {
    fprintf(stderr, "pyprof: cannot write %s: %s\n", o.output,
            rc == PP_EIO ? strerror(errno) : pp_strerror(rc));
    w = NULL;
    goto out;
  }
  if (!o.quiet)
    fprintf(stderr, "pyprof: recording PID %d (Python %d.%d.%d, %s) at %u Hz into %s; Ctrl-C to stop\n",
            (int)o.pid, t->major, t->minor, t->micro, t->runtime_path, o.rate, o.output);

  struct sampler_opts so = {.pid = o.pid, .child = child, .rate_hz = o.rate,
                            .duration_s = o.duration, .idle = o.idle,
                            .stop_mode = o.blocking  ? SAMPLER_READ_STOPPED
                                         : o.no_stop ? SAMPLER_READ_RUNNING
                                                     : SAMPLER_READ_ADAPTIVE,
                            .gil_only = o.gil,
                            .status_line = !o.quiet && isatty(2), .output = o.output,
                            .stop = &g_stop};
  int srun = sampler_run(&so, t, &r, w, &st);
  if (st.child_status != -1) {
    child_status = st.child_status;
    child = 0; /* reaped by the sampler */
  }
  struct record_summary sum = {.samples = st.samples, .failed = st.failed,
                               .attempts = st.samples + st.failed,
                               .duration_ns = st.duration_ns,
                               .exit_status = child_status >= 0 ? child_exit_code(child_status) : -1};
  rc = record_writer_close(w, &sum);
  w = NULL;
  if (srun == PP_ELAYOUT && st.layout_unsure)
    fprintf(stderr,
            "pyprof: no stack of PID %d could be read in %llu attempts, and its threads could "
            "not be stopped to read them still (ptrace refused). Either its stacks change faster "
            "than they can be read running, or the layout of Python %d.%d.%d (%s) does not fit "
            "it. Allow ptrace (README \"Permissions\") and try again; if a stopped read fails "
            "too, please report it with the output of `python -VV`.\n",
            (int)o.pid, (unsigned long long)st.failed, t->major, t->minor, t->micro,
            t->layout.source ? t->layout.source : "");
  else if (srun == PP_ELAYOUT)
    explain_layout_mismatch(o.pid, t);
  else if (srun < 0)
    fprintf(stderr, "pyprof: recording stopped: %s%s; %s keeps what was written before\n",
            pp_strerror(srun), srun == PP_ENOSPC ? " (free space, or write to another disk with -o)" : "",
            o.output);
  if (rc < 0)
    fprintf(stderr, "pyprof: finishing %s failed: %s; the file reads back up to the last "
                    "complete chunk\n", o.output, pp_strerror(rc));
  struct stat fst;
  if (!o.quiet)
    print_summary(&st, o.output, stat(o.output, &fst) == 0 ? (uint64_t)fst.st_size : 0, o.rate,
                  gil_tracked);
  exit_code = (srun < 0 || rc < 0) ? EXIT_ERR : 0;
out:
  if (child) {
    /* Launch mode: the program runs to its end; pyprof returns its status. */
    int status;
    if (!o.quiet && st.stop_reason == SAMPLER_STOP_DURATION)
      fprintf(stderr, "pyprof: sampling done; waiting for PID %d to finish (Ctrl-C to stop waiting)\n",
              (int)child);
    else if (exit_code == EXIT_ERR && st.stop_reason == 0)
      fprintf(stderr, "pyprof: '%s' (PID %d) runs on unprofiled; pyprof waits for it and exits with "
                      "its status, or 1 if that is 0 (nothing was recorded); Ctrl-C stops it\n",
              o.argv[0], (int)child);
    g_stop = 0;
    for (;;) {
      pid_t wr = waitpid(child, &status, 0);
      if (wr == child) {
        child_status = status;
        break;
      }
      if (wr < 0 && errno == EINTR && !g_stop)
        continue;
      child_status = -1;
      break;
    }
  }
  if (o.argv && child_status >= 0 && exit_code != EXIT_ERR)
    exit_code = child_exit_code(child_status);
  else if (o.argv && child_status >= 0 && exit_code == EXIT_ERR && child_exit_code(child_status) != 0)
    exit_code = child_exit_code(child_status);
  if (w)
    record_writer_close(w, NULL);
  free(cmdline);
  free(t);
  proc_mem_close(pm);
  return exit_code;
}
