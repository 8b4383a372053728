/* fuzz_frame_walk: the sampler's per-tick path over an arbitrary memory image.
 *
 * The input is a memory image (format in fuzz_common.h): a layout choice,
 * flags, the _PyRuntime and PyCode_Type addresses, and regions of bytes at
 * chosen addresses. Over it runs what the sampler does on every tick:
 * py_threads_read, py_gil_holder, and per thread frame_windows_init +
 * frame_walk + py_thread_check_unchanged + py_thread_current_frame, then
 * code_cache_get and line_map_lookup for every frame. Everything must return
 * with a known error code or valid results, within the libFuzzer timeout and
 * without leaking. Seeds (fuzz/corpus/frame_walk) are the bytes real
 * interpreters' stacks are read from, cut out of whole-process snapshots by
 * fuzz/seedgen.c. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "pyprof/common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct mem_image *img = NULL; /* owned: freed below */
  struct fuzz_image_hdr h;
  struct mem_reader r;
  struct py_layout L;
  FUZZ_FAIL_IF(mem_image_new(&img) < 0);
  if (fuzz_image_parse(data, size, &h, img) == 0) {
    mem_image_reader(img, &r);
    if (fuzz_image_layout(&h, &r, &L) == 0)
      fuzz_sample(&r, &L, &h, NULL);
  }
  mem_image_free(img);
  return 0;
}
