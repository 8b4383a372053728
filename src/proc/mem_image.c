#include "pyprof/proc/mem_image.h"

#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"

struct region {
  uint64_t addr;
  size_t len;
  unsigned char *data; /* owned */
};

struct mem_image {
  struct region *regions; /* owned array of n */
  size_t n, cap;
  uint64_t reads;
};

int mem_image_new(struct mem_image **out) {
  struct mem_image *img = calloc(1, sizeof *img);
  if (!img)
    return PP_ENOMEM;
  *out = img;
  return 0;
}

void mem_image_free(struct mem_image *img) {
  if (!img)
    return;
  for (size_t i = 0; i < img->n; i++)
    free(img->regions[i].data);
  free(img->regions);
  free(img);
}

int mem_image_add(struct mem_image *img, uint64_t addr, const void *data, size_t len) {
  if (len == 0 || addr + len < addr)
    return PP_EINVAL;
  for (size_t i = 0; i < img->n; i++) {
    const struct region *g = &img->regions[i];
    if (addr < g->addr + g->len && g->addr < addr + len)
      return PP_EINVAL;
  }
  if (img->n == img->cap) {
    size_t cap = img->cap ? img->cap * 2 : 8;
    struct region *nr = realloc(img->regions, cap * sizeof *nr);
    if (!nr)
      return PP_ENOMEM;
    img->regions = nr;
    img->cap = cap;
  }
  unsigned char *copy = malloc(len);
  if (!copy)
    return PP_ENOMEM;
  memcpy(copy, data, len);
  img->regions[img->n++] = (struct region){addr, len, copy};
  return 0;
}

static int image_read(void *ctx, uint64_t addr, void *buf, size_t len) {
  struct mem_image *img = ctx;
  img->reads++;
  for (size_t i = 0; i < img->n; i++) {
    const struct region *g = &img->regions[i];
    if (addr >= g->addr && addr - g->addr <= g->len && g->len - (addr - g->addr) >= len) {
      memcpy(buf, g->data + (addr - g->addr), len);
      return 0;
    }
  }
  return PP_EFAULT;
}

static const struct mem_reader_ops image_ops = {.read = image_read, .readv = NULL};

void mem_image_reader(struct mem_image *img, struct mem_reader *out) {
  out->ops = &image_ops;
  out->ctx = img;
}

uint64_t mem_image_reads(const struct mem_image *img) { return img->reads; }
