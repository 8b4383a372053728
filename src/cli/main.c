/* pyprof: a sampling profiler for CPython. Dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "pyprof/cli/commands.h"

#ifndef PYPROF_VERSION
#define PYPROF_VERSION "dev"
#endif

static const char usage_text[] =
    "usage: pyprof <command> [options] ...\n"
    "\n"
    "A sampling profiler for CPython 3.8-3.15: reads a running interpreter's\n"
    "stacks from outside the process, attributes time to Python functions and\n"
    "lines, and turns the samples into tables, folded stacks and pstats files.\n"
    "\n"
    "commands:\n"
    "  record   sample a running process (-p PID) or a program it launches\n"
    "           (-- python app.py ...) into a record file\n"
    "  report   turn record files into a top table, folded stacks or a\n"
    "           cProfile-compatible pstats file\n"
    "\n"
    "options:\n"
    "  -h, --help      this help; `pyprof <command> --help` for a command\n"
    "  -V, --version   print the version\n"
    "\n"
    "examples:\n"
    "  pyprof record -o app.pyprof -- python3 app.py --size 10\n"
    "  pyprof record -p 4242 -d 30 -r 1k\n"
    "  pyprof report app.pyprof\n"
    "  pyprof report -f folded app.pyprof > app.folded\n"
    "  pyprof report -f pstats -o app.prof app.pyprof && python3 -m pstats app.prof\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_text, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
    fputs(usage_text, stdout);
    return 0;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("pyprof %s\n", PYPROF_VERSION);
    return 0;
  }
  if (strcmp(cmd, "record") == 0)
    return cmd_record(argc - 1, argv + 1);
  if (strcmp(cmd, "report") == 0)
    return cmd_report(argc - 1, argv + 1);
  fprintf(stderr, "pyprof: unknown command '%s'\n\n%s", cmd, usage_text);
  return 2;
}
