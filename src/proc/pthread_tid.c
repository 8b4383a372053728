#include "pyprof/proc/pthread_tid.h"

#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/proc/proc_info.h"

#define SCAN_THREADS_MAX 64

static int in_list(const pid_t *tids, size_t n, uint32_t v) {
  for (size_t i = 0; i < n; i++) {
    if ((uint32_t)tids[i] == v)
      return 1;
  }
  return 0;
}

int pthread_tid_offset_find(const struct mem_reader *r, pid_t pid, const uint64_t *pthread_ids,
                            size_t n, int32_t *off) {
  pid_t *tids = NULL;            /* owned */
  unsigned char *descs = NULL;   /* owned: n descriptors of PTHREAD_TID_SCAN bytes */
  size_t ntids = 0;
  int rc;
  if (n == 0)
    return PP_ENOTFOUND;
  if (n > SCAN_THREADS_MAX)
    n = SCAN_THREADS_MAX;
  rc = proc_threads_list(pid, &tids, &ntids);
  if (rc < 0)
    goto out;
  descs = malloc(n * PTHREAD_TID_SCAN);
  if (!descs) {
    rc = PP_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    rc = mem_read(r, pthread_ids[i], descs + i * PTHREAD_TID_SCAN, PTHREAD_TID_SCAN);
    if (rc < 0)
      goto out;
  }
  rc = PP_ENOTFOUND;
  for (int32_t o = 0; o + 4 <= PTHREAD_TID_SCAN; o += 4) {
    int ok = 1, has_main = 0;
    for (size_t i = 0; i < n && ok; i++) {
      uint32_t v;
      memcpy(&v, descs + i * PTHREAD_TID_SCAN + o, 4);
      ok = v != 0 && in_list(tids, ntids, v);
      has_main |= v == (uint32_t)pid;
      for (size_t j = 0; j < i && ok; j++) {
        uint32_t u;
        memcpy(&u, descs + j * PTHREAD_TID_SCAN + o, 4);
        ok = u != v;
      }
    }
    /* With one thread, insist on the main thread (tid == pid): a lone
     * matching number elsewhere in the descriptor is too weak a sign. */
    if (ok && (n > 1 || has_main)) {
      *off = o;
      rc = 0;
      break;
    }
  }
out:
  free(tids);
  free(descs);
  return rc;
}

int pthread_tid_read(const struct mem_reader *r, uint64_t pthread_id, int32_t off, uint32_t *tid) {
  return mem_read_u32(r, pthread_id + (uint64_t)off, tid);
}
