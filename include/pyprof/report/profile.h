/* The profile model: one or more record files aggregated once, then read by
 * every output format (report/formats.h).
 *
 * Identities: a function is (file, firstline, name, kind); a frame is
 * (function, line); a stack is a sequence of frames, root first. Ids are
 * dense indexes into the arrays below and are assigned in order of first
 * appearance, so a profile built from the same files is always the same.
 *
 * Counts are samples. "own" counts samples where the entry is the leaf;
 * "total" counts samples where it is anywhere on the stack, once per sample
 * even under recursion. */
#ifndef PYPROF_REPORT_PROFILE_H
#define PYPROF_REPORT_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/record/reader.h"

struct profile_file {
  char *path;                   /* owned */
  struct record_header hdr;     /* string members point into cmdline/hostname/python_path below */
  char *cmdline, *hostname, *python_path; /* owned copies */
  uint64_t samples;             /* samples read (kept or not) */
  uint64_t kept;                /* samples that went into the profile */
  uint64_t last_t_ns;           /* time of the last sample */
  int truncated;                /* no end chunk: the recording was cut short */
  int has_summary;
  struct record_summary summary;
};

struct profile_func {
  uint32_t name, file; /* string ids */
  int32_t firstline;
  uint8_t kind; /* enum record_frame_kind */
  uint64_t own, total;
};

struct profile_frame {
  uint32_t func;
  int32_t line;
  uint64_t own, total;
};

struct profile_stack {
  size_t off; /* into profile.stack_frames */
  uint32_t n; /* depth; 0 for a sample without frames */
  uint64_t count;
};

/* Samples of one stack on one thread. */
struct profile_tstack {
  uint32_t thread, stack;
  uint64_t count;
};

struct profile_thread {
  uint32_t file; /* index into profile.files */
  uint32_t tid;
  uint32_t name; /* string id, or UINT32_MAX when unnamed */
  uint64_t samples;
};

/* caller -> callee, between adjacent frames of a stack. */
struct profile_edge {
  uint32_t caller, callee; /* function ids */
  uint64_t own;            /* samples where callee is the leaf, called from caller */
  uint64_t total;          /* samples containing the call, once per sample */
};

struct profile_options {
  int skip_idle; /* drop samples flagged RECORD_SAMPLE_IDLE */
};

struct profile_index; /* private lookup tables */

struct profile {
  struct profile_options opts;
  struct profile_file *files; /* owned; nfiles entries */
  size_t nfiles;
  char **strings; /* owned: array and each NUL-terminated string */
  size_t nstrings;
  struct profile_func *funcs; /* owned */
  size_t nfuncs;
  struct profile_frame *frames; /* owned */
  size_t nframes;
  uint32_t *stack_frames; /* owned: frame ids of all stacks */
  struct profile_stack *stacks; /* owned */
  size_t nstacks;
  struct profile_tstack *tstacks; /* owned */
  size_t ntstacks;
  struct profile_thread *threads; /* owned */
  size_t nthreads;
  struct profile_edge *edges; /* owned; filled by profile_finish(), sorted by (callee, caller) */
  size_t nedges;
  uint64_t samples;   /* samples in the profile */
  uint64_t gil_tracked; /* samples from files whose samples carry the GIL flag */
  uint64_t gil_held;    /* ...of which the sampled thread held the GIL */
  int gil_only;         /* some file was recorded with --gil */
  double interval_s;  /* seconds per sample: 1 / rate of the first file (0.01 if unknown) */
  int mixed_rates;    /* files were recorded at different rates */
  struct profile_index *index; /* owned; private */
};

/* Empty profile; *out is owned by the caller, released by profile_free(). */
int profile_create(struct profile **out, const struct profile_options *opts);

/* Read one record file into the profile. 0 (check the file entry's truncated
 * flag for a warning, whose text goes to msg), or a negative PP_E* code with
 * an explanation in msg; nothing from a failing file is kept. msg (msglen
 * bytes) receives "" when there is nothing to say. */
int profile_add_file(struct profile *p, const char *path, char *msg, size_t msglen);

/* Compute own/total counts and edges once all files are added. */
int profile_finish(struct profile *p);

void profile_free(struct profile *p);

/* Convenience lookups. */
const char *profile_str(const struct profile *p, uint32_t id);
/* Total duration in seconds: the longest file (summary duration, else the
 * time of its last sample); files from the ranks of one job overlap. */
double profile_duration_s(const struct profile *p);

#endif
