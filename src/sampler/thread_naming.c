/* Python thread names into the record (thread_naming.h): decides when to
 * read threading's names (threads appeared, or a slow refresh), maps idents
 * to kernel tids through the tick's thread list, and writes a name record
 * only when a thread's name is new or changed. Owns no knowledge of CPython
 * (python/thread_names does the reading). Must never slow sampling down:
 * reads are rate-limited and a failure just waits for the next turn. */
#include "pyprof/sampler/thread_naming.h"

#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/python/thread_names.h"

#define NAMING_SLOTS 8192                  /* tids remembered (power of two) */
#define NAMING_SOON_NS 200000000LL         /* after new threads: at most 5 reads/s */
#define NAMING_RETRY_NS 1000000000LL       /* threading not imported yet: once a second */
#define NAMING_REFRESH_NS 5000000000LL     /* renames: every 5 s */

struct named {
  uint32_t tid; /* 0: empty */
  char name[PY_THREAD_NAME_MAX];
};

struct thread_naming {
  struct named *slot;           /* owned, NAMING_SLOTS */
  struct py_thread_name *buf;   /* owned, PY_THREAD_NAMES_MAX */
  struct py_thread_names_cache cache;
  int dirty;                    /* threads appeared since the last read */
  int ever_found;               /* a read succeeded once */
  int64_t next;                 /* earliest next read */
  uint64_t named;
};

int thread_naming_new(struct thread_naming **out) {
  struct thread_naming *tn = calloc(1, sizeof *tn);
  if (tn) {
    tn->slot = calloc(NAMING_SLOTS, sizeof *tn->slot);
    tn->buf = calloc(PY_THREAD_NAMES_MAX, sizeof *tn->buf);
  }
  if (!tn || !tn->slot || !tn->buf) {
    thread_naming_free(tn);
    return PP_ENOMEM;
  }
  tn->dirty = 1;
  *out = tn;
  return 0;
}

void thread_naming_free(struct thread_naming *tn) {
  if (!tn)
    return;
  free(tn->slot);
  free(tn->buf);
  free(tn);
}

void thread_naming_saw(struct thread_naming *tn) {
  if (tn)
    tn->dirty = 1;
}

uint64_t thread_naming_named(const struct thread_naming *tn) { return tn ? tn->named : 0; }

/* The slot of tid (found, or where it goes); NULL when full. */
static struct named *slot_of(struct thread_naming *tn, uint32_t tid) {
  size_t mask = NAMING_SLOTS - 1, i = (tid * 2654435761u) & mask;
  for (size_t k = 0; k < NAMING_SLOTS; k++, i = (i + 1) & mask) {
    if (tn->slot[i].tid == tid || tn->slot[i].tid == 0)
      return &tn->slot[i];
  }
  return NULL;
}

const char *thread_naming_name(struct thread_naming *tn, uint32_t tid) {
  struct named *e = tn && tid ? slot_of(tn, tid) : NULL;
  return e && e->tid == tid ? e->name : NULL;
}

int thread_naming_update(struct thread_naming *tn, const struct mem_reader *r,
                         const struct py_layout *L, const struct py_thread *threads, size_t n,
                         int64_t now, struct record_writer *w) {
  if (!tn || n == 0 || now < tn->next || !py_thread_names_supported(L))
    return 0;
  if (!tn->dirty && tn->ever_found && now < tn->next + NAMING_REFRESH_NS - NAMING_SOON_NS)
    return 0;
  size_t got = 0;
  int rc = py_thread_names_read(r, L, threads[0].interp, &tn->cache, tn->buf,
                                PY_THREAD_NAMES_MAX, &got);
  if (rc < 0) {
    tn->next = now + NAMING_RETRY_NS;
    return 0;
  }
  tn->ever_found = 1;
  tn->dirty = 0;
  tn->next = now + NAMING_SOON_NS;
  for (size_t i = 0; i < got; i++) {
    uint32_t tid = 0;
    for (size_t j = 0; j < n && !tid; j++) {
      if (threads[j].thread_id == tn->buf[i].ident)
        tid = (uint32_t)threads[j].native_tid;
    }
    if (tid == 0)
      continue; /* not sampled this tick: named when it is */
    struct named *e = slot_of(tn, tid);
    if (!e || (e->tid == tid && strcmp(e->name, tn->buf[i].name) == 0))
      continue;
    e->tid = tid;
    memcpy(e->name, tn->buf[i].name, sizeof e->name);
    rc = record_writer_thread(w, tid, e->name);
    if (rc < 0)
      return rc;
    tn->named++;
  }
  return 0;
}
