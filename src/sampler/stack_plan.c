/* Stack plans (stack_plan.h): what a thread's next walk needs, copied in the
 * tick's one batched read, and the second-copy check that a walk over those
 * copies is one moment's stack. Must never accept a walk it cannot show to
 * be one (the caller then reads the thread another way). */
#include "pyprof/sampler/stack_plan.h"

#include <string.h>

static uint64_t frame_ptr_addr(const struct py_layout *L, const struct py_thread *th) {
  if (L->cframe_current_frame >= 0 && th->cframe)
    return th->cframe + (uint64_t)L->cframe_current_frame;
  return th->tstate + (uint64_t)L->tstate_frame;
}

void stack_plan_make(struct stack_plan *p, const struct py_layout *L, const struct py_thread *th,
                     const struct frame_windows *fw, const struct py_raw_frame *raw, size_t n) {
  int complete = 0;
  p->valid = 0;
  p->armed = 0;
  if (L->tstate_frame < 0)
    return;
  p->nr = frame_walk_ranges(L, th, fw, p->r, STACK_PLAN_RANGES, STACK_PLAN_BYTES, &complete);
  /* A plan that cannot cover the whole stack would make every walk read
   * anyway: not worth its bytes in the batch. */
  if (!complete || p->nr == 0 || n == 0 || raw[0].addr == 0)
    return;
  p->bytes = 0;
  for (size_t i = 0; i < p->nr; i++) {
    p->off[i] = p->bytes;
    p->bytes += p->r[i].len;
  }
  p->ncode = 0;
  for (size_t i = 0; i < n && p->ncode < STACK_PLAN_CODES; i++) {
    size_t j;
    for (j = 0; j < p->ncode && p->code[j] != raw[i].code; j++)
      ;
    if (j == p->ncode)
      p->code[p->ncode++] = raw[i].code;
  }
  code_fp_span(L, &p->fp_off, &p->fp_len);
  p->tstate = th->tstate;
  p->cframe = th->cframe;
  p->fp_addr = frame_ptr_addr(L, th);
  p->leaf = raw[0].addr;
  p->code_addr = raw[0].addr + (uint64_t)L->frame_code;
  p->valid = 1;
}

/* Requests copying p's ranges into buf (range i at buf + off[i]), one per
 * range. */
static size_t copy_requests(const struct stack_plan *p, unsigned char *buf,
                            struct mem_read_req *reqs) {
  for (size_t i = 0; i < p->nr; i++)
    reqs[i] = (struct mem_read_req){p->r[i].addr, buf + p->off[i], p->r[i].len};
  return p->nr;
}

size_t stack_plan_requests(struct stack_plan *p, unsigned char **arena, size_t *left,
                           struct mem_read_req *reqs, size_t cap) {
  size_t k = 0;
  p->armed = 0;
  if (!p->valid || cap < STACK_PLAN_REQS)
    return 0;
  size_t need = 2 * p->bytes + p->ncode * p->fp_len;
  if (need > *left)
    return 0;
  p->copy = *arena;
  p->copy2 = p->copy + p->bytes;
  k += copy_requests(p, p->copy, reqs + k);
  /* After the ranges: the frame pointer and the leaf's code again, then the
   * ranges a second time (the torn-read check). */
  reqs[k++] = (struct mem_read_req){p->fp_addr, p->fp_after, sizeof p->fp_after};
  reqs[k++] = (struct mem_read_req){p->code_addr, p->code_after, sizeof p->code_after};
  k += stack_plan_recopy(p, p->copy2, reqs + k);
  p->fps = p->copy2 + p->bytes;
  for (size_t i = 0; i < p->ncode; i++)
    reqs[k++] = (struct mem_read_req){p->code[i] + (uint64_t)p->fp_off, p->fps + i * p->fp_len,
                                      p->fp_len};
  *arena += need;
  *left -= need;
  p->armed = 1;
  return k;
}

size_t stack_plan_recopy(const struct stack_plan *p, unsigned char *buf, struct mem_read_req *reqs) {
  return p->valid ? copy_requests(p, buf, reqs) : 0;
}

int stack_plan_agrees(const struct stack_plan *p, const struct py_layout *L,
                      const unsigned char *copy, const struct py_raw_frame *raw, size_t n) {
  for (size_t k = 0; k < n; k++) {
    const struct py_raw_frame *f = &raw[k];
    size_t i;
    for (i = 0; i < p->nr; i++) {
      uint64_t a = p->r[i].addr;
      if (f->addr >= a && f->addr - a <= p->r[i].len &&
          p->r[i].len - (f->addr - a) >= (size_t)L->frame_size)
        break;
    }
    if (i == p->nr)
      return 0; /* not in the copies */
    const unsigned char *q = copy + p->off[i] + (f->addr - p->r[i].addr);
    uint64_t code, prev;
    memcpy(&code, q + L->frame_code, sizeof code);
    memcpy(&prev, q + L->frame_previous, sizeof prev);
    if ((code & ~L->code_tag_mask) != f->code || prev != f->prev)
      return 0;
    /* A caller is suspended in a call: its instruction cannot move while it
     * stays one. The leaf's caller (k == 1) becomes the leaf when the leaf
     * returns, which the torn check allows (the walk shows the moment
     * before), so its instruction may move; a deeper caller moves only when
     * the frames above it were popped and pushed again (a tight recursion at
     * the same addresses), and then the walk mixes two moments. */
    if (k > 1 && frame_instr_raw(L, q) != f->instr)
      return 0;
  }
  return 1;
}

void stack_plan_windows(const struct stack_plan *p, const struct py_thread *th,
                        struct frame_windows *fw, unsigned char *buf, size_t cap) {
  frame_windows_empty(fw, th, buf, cap);
  for (size_t i = 0; i < p->nr; i++)
    frame_windows_adopt(fw, p->r[i].addr, p->copy + p->off[i], p->r[i].len);
}

int stack_plan_untorn(const struct stack_plan *p, const struct py_layout *L,
                      const struct py_thread *th, uint64_t frame, const struct frame_windows *fw,
                      const struct py_raw_frame *raw, size_t n) {
  uint64_t after, code;
  if (!p->armed || fw->reads != 0 || th->tstate != p->tstate || th->cframe != p->cframe ||
      frame_ptr_addr(L, th) != p->fp_addr || n == 0 || raw[0].addr != frame || frame != p->leaf)
    return 0;
  memcpy(&after, p->fp_after, sizeof after);
  memcpy(&code, p->code_after, sizeof code);
  if (after != frame || (code & ~L->code_tag_mask) != raw[0].code)
    return 0;
  return stack_plan_agrees(p, L, p->copy2, raw, n);
}

const unsigned char *stack_plan_fingerprint(const struct stack_plan *p, uint64_t code) {
  if (!p->armed)
    return NULL;
  for (size_t i = 0; i < p->ncode; i++) {
    if (p->code[i] == code)
      return p->fps + i * p->fp_len;
  }
  return NULL;
}
