/* A mem_reader backend over a set of local byte regions at chosen remote
 * addresses: unit tests build interpreter memory by hand, fuzzers feed bytes.
 * A read must fall entirely inside one region, else PP_EFAULT. */
#ifndef PYPROF_PROC_MEM_IMAGE_H
#define PYPROF_PROC_MEM_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "pyprof/proc/reader.h"

struct mem_image;

int mem_image_new(struct mem_image **out);
void mem_image_free(struct mem_image *img);
/* Copy len bytes to appear at remote address addr. Regions may not overlap
 * (PP_EINVAL). */
int mem_image_add(struct mem_image *img, uint64_t addr, const void *data, size_t len);
/* A reader over img; img must outlive it. */
void mem_image_reader(struct mem_image *img, struct mem_reader *out);
/* Number of read calls served (tests assert on read counts). */
uint64_t mem_image_reads(const struct mem_image *img);

#endif
