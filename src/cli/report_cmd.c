/* `pyprof report`: read record files, aggregate them once, write one format. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyprof/cli/commands.h"
#include "pyprof/common/error.h"
#include "pyprof/report/formats.h"
#include "pyprof/report/profile.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

static void usage(FILE *out) {
  fputs("usage: pyprof report [OPTIONS] FILE...\n"
        "\n"
        "Summarise one or more pyprof record files (from `pyprof record`). Several\n"
        "files, e.g. one per MPI rank or process, are merged into one profile.\n"
        "\n"
        "Options:\n"
        "  -f, --format FMT   output format (default: top):\n",
        out);
  for (size_t i = 0; i < report_nformats; i++)
    fprintf(out, "                       %-10s %s\n", report_formats[i].name,
            report_formats[i].summary);
  fputs("  -o, --output FILE  write to FILE instead of standard output (required for\n"
        "                     pstats); FILE is removed again if writing fails\n"
        "  -s, --sort KEY     top: order by 'own' samples (the function itself was\n"
        "                     running, default) or 'total' (it was on the stack)\n"
        "  -n, --limit N      top: show N functions (default 20; 0 = all)\n"
        "  -t, --threads      folded, flamegraph: add each thread as the root frame\n"
        "      --no-idle      leave out samples of threads that were idle (off CPU)\n"
        "  -q, --quiet        no warnings about files that were cut short\n"
        "  -h, --help         show this help\n"
        "\n"
        "Counts are samples: 'own' when the function was the innermost frame, 'total'\n"
        "when it was anywhere on the stack (counted once per sample under recursion).\n"
        "A function is identified by (file, first line, name). pstats times are\n"
        "samples x sampling interval (1 / rate).\n"
        "\n"
        "A file that was cut short (recorder killed, disk full) is reported up to its\n"
        "last complete chunk, with a warning.\n"
        "\n"
        "Examples:\n"
        "  pyprof report app.pyprof\n"
        "  pyprof report --sort total --limit 50 app.pyprof\n"
        "  pyprof report -f folded app.pyprof | flamegraph.pl > app.svg\n"
        "  pyprof report -f folded --threads -o app.folded app.pyprof\n"
        "  pyprof report -f pstats -o app.prof app.pyprof && python3 -m pstats app.prof\n"
        "  pyprof report -f flamegraph -o app.html app.pyprof   # open in a browser\n"
        "  pyprof report -f speedscope -o app.json app.pyprof   # drop on speedscope.app\n"
        "  pyprof report rank-*.pyprof\n"
        "\n"
        "Exit status: 0 report written (also when a file was cut short), 1 a file\n"
        "could not be read or the output could not be written, 2 usage error.\n",
        out);
}

static int parse_limit(const char *s, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-')
    return -1;
  *out = (size_t)v;
  return 0;
}

int cmd_report(int argc, char **argv) {
  int status = EXIT_OK;
  struct profile *prof = NULL; /* owned */
  FILE *out = NULL;            /* owned unless stdout */
  const struct report_format *fmt = report_format_find("top");
  const char *outpath = NULL;
  struct report_options ro = {REPORT_SORT_OWN, 20, 0};
  struct profile_options po = {0};
  int quiet = 0;
  enum { OPT_NO_IDLE = 256 };
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
      {"sort", required_argument, NULL, 's'},   {"limit", required_argument, NULL, 'n'},
      {"threads", no_argument, NULL, 't'},      {"no-idle", no_argument, NULL, OPT_NO_IDLE},
      {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  optind = 0; /* glibc: full re-initialisation, argv[0] is the subcommand */
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":f:o:s:n:tqh", longopts, NULL)) != -1) {
    switch (c) {
    case 'f':
      fmt = report_format_find(optarg);
      if (!fmt) {
        fprintf(stderr, "pyprof report: unknown format '%s' (one of:", optarg);
        for (size_t i = 0; i < report_nformats; i++)
          fprintf(stderr, " %s", report_formats[i].name);
        fputs(")\n", stderr);
        status = EXIT_USAGE;
        goto out;
      }
      break;
    case 'o':
      outpath = optarg;
      break;
    case 's':
      if (strcmp(optarg, "own") == 0) {
        ro.sort = REPORT_SORT_OWN;
      } else if (strcmp(optarg, "total") == 0) {
        ro.sort = REPORT_SORT_TOTAL;
      } else {
        fprintf(stderr, "pyprof report: --sort takes 'own' or 'total', not '%s'\n", optarg);
        status = EXIT_USAGE;
        goto out;
      }
      break;
    case 'n':
      if (parse_limit(optarg, &ro.limit) < 0) {
        fprintf(stderr, "pyprof report: --limit takes a number >= 0, not '%s'\n", optarg);
        status = EXIT_USAGE;
        goto out;
      }
      break;
    case 't':
      ro.threads = 1;
      break;
    case OPT_NO_IDLE:
      po.skip_idle = 1;
      break;
    case 'q':
      quiet = 1;
      break;
    case 'h':
      usage(stdout);
      goto out;
    case ':':
      if (optopt && optopt < 256)
        fprintf(stderr, "pyprof report: option '-%c' needs a value\n", optopt);
      else
        fprintf(stderr, "pyprof report: option '%s' needs a value\n", argv[optind - 1]);
      status = EXIT_USAGE;
      goto out;
    default:
      if (optopt && optopt < 256)
        fprintf(stderr, "pyprof report: unknown option '-%c' (see pyprof report --help)\n",
                optopt);
      else
        fprintf(stderr, "pyprof report: unknown option '%s' (see pyprof report --help)\n",
                argv[optind - 1]);
      status = EXIT_USAGE;
      goto out;
    }
  }
  if (optind >= argc) {
    fputs("pyprof report: no record file given (see pyprof report --help)\n", stderr);
    status = EXIT_USAGE;
    goto out;
  }
  if (fmt->binary && !outpath) {
    fprintf(stderr, "pyprof report: -f %s writes a binary file: give it with -o FILE\n",
            fmt->name);
    status = EXIT_USAGE;
    goto out;
  }

  int rc = profile_create(&prof, &po);
  if (rc < 0) {
    fprintf(stderr, "pyprof report: %s\n", pp_strerror(rc));
    status = EXIT_ERR;
    goto out;
  }
  char msg[600];
  for (int i = optind; i < argc; i++) {
    rc = profile_add_file(prof, argv[i], msg, sizeof msg);
    if (rc < 0) {
      fprintf(stderr, "pyprof report: %s: %s\n", argv[i], msg);
      status = EXIT_ERR;
      if (rc == PP_ENOMEM)
        goto out;
    } else if (msg[0] && !quiet) {
      fprintf(stderr, "pyprof report: warning: %s: %s\n", argv[i], msg);
    }
  }
  if (status != EXIT_OK) {
    fputs("pyprof report: no report written\n", stderr);
    goto out;
  }
  if ((rc = profile_finish(prof)) < 0) {
    fprintf(stderr, "pyprof report: %s\n", pp_strerror(rc));
    status = EXIT_ERR;
    goto out;
  }
  if (prof->mixed_rates && !quiet)
    fprintf(stderr, "pyprof report: warning: the files were recorded at different rates; "
                    "times assume %g Hz\n",
            1.0 / prof->interval_s);

  if (outpath) {
    out = fopen(outpath, fmt->binary ? "wb" : "w");
    if (!out) {
      fprintf(stderr, "pyprof report: cannot create %s: %s\n", outpath, strerror(errno));
      status = EXIT_ERR;
      goto out;
    }
  }
  rc = fmt->write(prof, &ro, out ? out : stdout);
  if (out) {
    if (fclose(out) != 0 && rc == 0)
      rc = pp_from_errno(errno);
    out = NULL;
  } else if (fflush(stdout) != 0 && rc == 0) {
    rc = pp_from_errno(errno);
  }
  if (rc < 0) {
    fprintf(stderr, "pyprof report: cannot write %s: %s\n", outpath ? outpath : "the report",
            pp_strerror(rc));
    if (outpath)
      unlink(outpath);
    status = EXIT_ERR;
  }
out:
  if (out)
    fclose(out);
  profile_free(prof);
  return status;
}
