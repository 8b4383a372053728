/* `-f flamegraph`: an interactive flamegraph as one self-contained HTML page
 * (no network access: the style and the script are inline, written for
 * pyprof).
 *
 * The stacks of the profile are merged into a tree (identical prefixes share
 * nodes; a node is a frame "function (file:line)", as in folded; with
 * --threads each thread is a root frame). Siblings are ordered by samples,
 * heaviest first. Subtrees with fewer than 1/10000 of the samples (0.01 %)
 * are left out (the page says how many); their parent keeps its width.
 *
 * The page carries the tree as compact JSON in a <script type=
 * "application/json"> element:
 *   {"meta": {...},
 *    "strings": [...],
 *    "frames": [[name, file, line, firstline, kind], ...]   (string indexes;
 *               kind 0 Python, 1 native, 2 thread, 3 "(no frames)")
 *    "nodes": [frame, samples, children, ...]}               (preorder; the
 *               root "all" has frame -1)
 * and the script draws it on a canvas: only frames at least 0.3 px wide are
 * drawn, so large trees stay responsive. Untrusted names reach the page only
 * through esc_json(ESC_JSON_HTML) (in the data) and esc_html (title lines);
 * the script puts them into the document with textContent only. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/report/escape.h"
#include "pyprof/report/formats.h"

#define NONE UINT32_MAX
#define PRUNE_FRACTION 10000 /* subtrees below samples / PRUNE_FRACTION are left out */

enum fg_kind { FG_PYTHON = 0, FG_NATIVE = 1, FG_THREAD = 2, FG_NOFRAMES = 3 };

struct fg_node {
  uint32_t key;         /* profile frame id; nframes + thread; nframes + nthreads for "(no frames)" */
  uint32_t parent;      /* NONE for the root */
  uint32_t child, next; /* first child, next sibling, NONE at the end */
  uint64_t total;       /* samples with this node on the stack */
};

struct fg_tree {
  const struct profile *p;
  struct fg_node *nodes; /* owned; nodes[0] is the root */
  size_t n, cap;
  uint32_t *slots; /* owned: open-addressing index of (parent, key) -> node id + 1 */
  size_t mask;     /* slots capacity - 1 */
};

static uint32_t slot_hash(uint32_t parent, uint32_t key) {
  uint64_t h = ((uint64_t)parent << 32 | key) * 0x9e3779b97f4a7c15ull;
  return (uint32_t)(h >> 32);
}

static int tree_grow_index(struct fg_tree *t) {
  size_t ncap = t->slots ? (t->mask + 1) * 2 : 1024;
  uint32_t *ns = calloc(ncap, sizeof *ns); /* owned by t after the swap */
  if (!ns)
    return PP_ENOMEM;
  for (size_t i = 1; i < t->n; i++) {
    size_t j = slot_hash(t->nodes[i].parent, t->nodes[i].key) & (ncap - 1);
    while (ns[j])
      j = (j + 1) & (ncap - 1);
    ns[j] = (uint32_t)i + 1;
  }
  free(t->slots);
  t->slots = ns;
  t->mask = ncap - 1;
  return 0;
}

/* The child of parent with key, created when missing; its id in *out. */
static int tree_child(struct fg_tree *t, uint32_t parent, uint32_t key, uint32_t *out) {
  if (t->slots) {
    for (size_t j = slot_hash(parent, key) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
      const struct fg_node *c = &t->nodes[t->slots[j] - 1];
      if (c->parent == parent && c->key == key) {
        *out = t->slots[j] - 1;
        return 0;
      }
    }
  }
  if (t->n >= NONE - 1)
    return PP_ENOMEM;
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    struct fg_node *nn = realloc(t->nodes, ncap * sizeof *nn); /* owned by t */
    if (!nn)
      return PP_ENOMEM;
    t->nodes = nn;
    t->cap = ncap;
  }
  uint32_t id = (uint32_t)t->n++;
  t->nodes[id] = (struct fg_node){key, parent, NONE, t->nodes[parent].child, 0};
  t->nodes[parent].child = id;
  if (!t->slots || (t->n + 1) * 2 > t->mask + 1) {
    int rc = tree_grow_index(t); /* indexes every node, the new one included */
    if (rc < 0)
      return rc;
  } else {
    size_t j = slot_hash(parent, key) & t->mask;
    while (t->slots[j])
      j = (j + 1) & t->mask;
    t->slots[j] = id + 1;
  }
  *out = id;
  return 0;
}

static int tree_add(struct fg_tree *t, int thread_root, uint32_t thread,
                    const struct profile_stack *s, uint64_t count) {
  const struct profile *p = t->p;
  uint32_t cur = 0;
  int rc = 0;
  t->nodes[0].total += count;
  if (thread_root) {
    if ((rc = tree_child(t, cur, (uint32_t)p->nframes + thread, &cur)) < 0)
      return rc;
    t->nodes[cur].total += count;
  }
  if (s->n == 0) {
    if ((rc = tree_child(t, cur, (uint32_t)(p->nframes + p->nthreads), &cur)) < 0)
      return rc;
    t->nodes[cur].total += count;
  }
  for (uint32_t i = 0; i < s->n; i++) {
    if ((rc = tree_child(t, cur, p->stack_frames[s->off + i], &cur)) < 0)
      return rc;
    t->nodes[cur].total += count;
  }
  return 0;
}

/* Siblings: more samples first, then by name, file, line; synthetic frames
 * (threads, "(no frames)") after real ones, in key order. */
static int cmp_sibling(const void *a, const void *b, void *ctx) {
  const struct fg_tree *t = ctx;
  const struct profile *p = t->p;
  const struct fg_node *x = &t->nodes[*(const uint32_t *)a], *y = &t->nodes[*(const uint32_t *)b];
  if (x->total != y->total)
    return x->total > y->total ? -1 : 1;
  if (x->key < p->nframes && y->key < p->nframes) {
    const struct profile_frame *fx = &p->frames[x->key], *fy = &p->frames[y->key];
    const struct profile_func *gx = &p->funcs[fx->func], *gy = &p->funcs[fy->func];
    int k = strcmp(profile_str(p, gx->name), profile_str(p, gy->name));
    if (k)
      return k;
    if ((k = strcmp(profile_str(p, gx->file), profile_str(p, gy->file))))
      return k;
    if (fx->line != fy->line)
      return fx->line < fy->line ? -1 : 1;
  }
  return x->key < y->key ? -1 : x->key > y->key;
}

/* Order every node's children with cmp_sibling; scratch holds t->n ids. */
static void tree_sort(struct fg_tree *t, uint32_t *scratch) {
  for (size_t i = 0; i < t->n; i++) {
    size_t k = 0;
    for (uint32_t c = t->nodes[i].child; c != NONE; c = t->nodes[c].next)
      scratch[k++] = c;
    if (k < 2)
      continue;
    qsort_r(scratch, k, sizeof *scratch, cmp_sibling, t);
    t->nodes[i].child = scratch[0];
    for (size_t j = 0; j + 1 < k; j++)
      t->nodes[scratch[j]].next = scratch[j + 1];
    t->nodes[scratch[k - 1]].next = NONE;
  }
}

/* The output's string and frame tables, filled as nodes refer to them. */
struct fg_tables {
  uint32_t *smap;          /* owned: profile string id -> output index, NONE = not yet */
  uint32_t *fmap;          /* owned: node key -> output frame index, NONE = not yet */
  uint32_t nstrings, nframes;
  uint32_t empty;          /* output index of "", NONE = not yet */
  struct textbuf strings;  /* owns the JSON of "strings" */
  struct textbuf frames;   /* owns the JSON of "frames" */
  struct textbuf scratch;  /* owns a thread label being built */
};

static void put_string(struct fg_tables *tb, const char *s, size_t len) {
  tb_str(&tb->strings, tb->nstrings ? ",\n" : "\n");
  esc_json(&tb->strings, s, len, ESC_JSON_HTML);
  tb->nstrings++;
}

static uint32_t string_index(struct fg_tables *tb, const struct profile *p, uint32_t id) {
  if (tb->smap[id] == NONE) {
    const char *s = profile_str(p, id);
    tb->smap[id] = tb->nstrings;
    put_string(tb, s, strlen(s));
  }
  return tb->smap[id];
}

static uint32_t frame_index(struct fg_tables *tb, const struct profile *p, uint32_t key) {
  if (tb->fmap[key] != NONE)
    return tb->fmap[key];
  tb->fmap[key] = tb->nframes++;
  uint32_t name, file;
  int32_t line = 0, first = 0;
  int kind;
  if (key < p->nframes) {
    const struct profile_frame *fr = &p->frames[key];
    const struct profile_func *fn = &p->funcs[fr->func];
    name = string_index(tb, p, fn->name);
    file = string_index(tb, p, fn->file);
    line = fr->line;
    first = fn->firstline;
    kind = fn->kind == 1 ? FG_NATIVE : FG_PYTHON;
  } else {
    tb->scratch.len = 0;
    if (key < p->nframes + p->nthreads) {
      report_thread_label(&tb->scratch, p, key - (uint32_t)p->nframes);
      kind = FG_THREAD;
    } else {
      tb_str(&tb->scratch, "(no frames)");
      kind = FG_NOFRAMES;
    }
    name = tb->nstrings;
    put_string(tb, tb->scratch.p ? tb->scratch.p : "", tb->scratch.len);
    if (tb->empty == NONE) {
      tb->empty = tb->nstrings;
      put_string(tb, "", 0);
    }
    file = tb->empty;
  }
  tb_printf(&tb->frames, "%s[%" PRIu32 ",%" PRIu32 ",%" PRId32 ",%" PRId32 ",%d]",
            tb->fmap[key] ? ",\n" : "\n", name, file, line, first, kind);
  return tb->fmap[key];
}

/* First bytes of s, at most max, not ending inside a UTF-8 sequence. */
static size_t cut_len(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n <= max)
    return n;
  while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
    max--;
  return max;
}

static void put_html_cut(struct textbuf *b, const char *s, size_t max) {
  size_t n = cut_len(s, max);
  esc_html(b, s, n);
  if (s[n])
    tb_str(b, "\xe2\x80\xa6"); /* … */
}

static const char *const FG_CSS[] = {
    "body { margin: 0; padding: 10px 14px; font: 14px/1.4 system-ui, -apple-system, \"Segoe UI\", sans-serif; color: #222; background: #fafafa; }",
    "h1 { font-size: 17px; margin: 0 0 2px; font-weight: 600; }",
    "h1 .cmd { font-family: ui-monospace, Menlo, Consolas, monospace; font-weight: 400; word-break: break-all; }",
    ".sub { margin: 0 0 6px; color: #555; }",
    ".warn { color: #a40; margin: 4px 0; }",
    ".bar { margin: 6px 0 2px; }",
    ".bar button { font: inherit; padding: 2px 10px; margin-right: 4px; cursor: pointer; }",
    ".bar input { font: inherit; padding: 2px 6px; }",
    "#match { margin-left: 8px; color: #909; font-weight: 600; }",
    "#zoominfo { margin: 2px 0 6px; color: #555; font-size: 13px; min-height: 1.4em; word-break: break-all; }",
    "#chart { position: relative; width: 100%; }",
    "#chart canvas { display: block; }",
    "#chart canvas.ov { position: absolute; left: 0; top: 0; pointer-events: none; }",
    "#tip { display: none; position: fixed; z-index: 10; max-width: 640px; padding: 6px 9px; background: #fffff0; border: 1px solid #999; border-radius: 4px; box-shadow: 0 2px 8px rgba(0,0,0,.2); font: 12px/1.45 ui-monospace, Menlo, Consolas, monospace; pointer-events: none; white-space: pre-wrap; word-break: break-all; }",
    "#tip .tn { font-weight: 700; }",
    "#tip .tm { color: #777; }",
    ".note { color: #666; font-size: 12px; margin-top: 10px; }",
};

static const char *const FG_JS[] = {
    "(function () {",
    "\"use strict\";",
    "var D = JSON.parse(document.getElementById(\"pyprof-data\").textContent);",
    "var S = D.strings, F = D.frames, R = D.nodes, M = D.meta;",
    "var N = (R.length / 3) | 0;",
    "var fr = new Int32Array(N), tot = new Float64Array(N), x0 = new Float64Array(N);",
    "var dep = new Int32Array(N), par = new Int32Array(N), own = new Float64Array(N);",
    "var size = new Int32Array(N), rows = [];",
    "var sN = [], sR = [], sX = [], i, j;",
    "for (i = 0; i < N; i++) {",
    "  var c = R[3 * i + 2];",
    "  fr[i] = R[3 * i]; tot[i] = R[3 * i + 1]; own[i] = tot[i]; size[i] = 1; par[i] = -1;",
    "  if (sN.length) {",
    "    var k = sN.length - 1, p = sN[k];",
    "    par[i] = p; dep[i] = dep[p] + 1; x0[i] = sX[k]; sX[k] += tot[i]; own[p] -= tot[i]; sR[k]--;",
    "  }",
    "  (rows[dep[i]] || (rows[dep[i]] = [])).push(i);",
    "  if (c > 0) { sN.push(i); sR.push(c); sX.push(x0[i]); }",
    "  else while (sN.length && sR[sN.length - 1] === 0) { sN.pop(); sR.pop(); sX.pop(); }",
    "}",
    "for (i = N - 1; i > 0; i--) size[par[i]] += size[i];",
    "",
    "var ALL = M.samples || 0;",
    "var RH = 17, MAXROWS = 1800;",
    "var FONT = \"12px ui-monospace, SFMono-Regular, Menlo, Consolas, \\\"DejaVu Sans Mono\\\", monospace\";",
    "var chart = document.getElementById(\"chart\"), tip = document.getElementById(\"tip\");",
    "var search = document.getElementById(\"search\"), matchEl = document.getElementById(\"match\");",
    "var zinfo = document.getElementById(\"zoominfo\");",
    "var cv = document.createElement(\"canvas\");",
    "chart.appendChild(cv);",
    "var ctx = cv.getContext(\"2d\");",
    "var ov = document.createElement(\"canvas\"); /* hover outline, over the chart */",
    "ov.className = \"ov\";",
    "chart.appendChild(ov);",
    "var octx = ov.getContext(\"2d\");",
    "var zoom = 0, flame = false, matched = null, W = 0, shown = 1, cw = 7, hover = -1;",
    "",
    "function base(path) {",
    "  var a = Math.max(path.lastIndexOf(\"/\"), path.lastIndexOf(\"\\\\\"));",
    "  return a >= 0 ? path.slice(a + 1) : path;",
    "}",
    "function fname(f) { return f < 0 ? \"all\" : S[F[f][0]]; }",
    "/* \"function (file:line)\"; short: the file's base name only */",
    "function label(f, full) {",
    "  if (f < 0) return \"all\";",
    "  var e = F[f], s = S[e[0]], file = S[e[1]];",
    "  if (e[4] >= 2 || !file) return s;",
    "  if (!full) file = base(file);",
    "  return s + \" (\" + file + (e[2] > 0 ? \":\" + e[2] : \"\") + \")\";",
    "}",
    "/* \"function:line\" when the full label does not fit */",
    "function mid(f) {",
    "  if (f < 0) return \"all\";",
    "  var e = F[f];",
    "  return e[4] < 2 && e[2] > 0 ? S[e[0]] + \":\" + e[2] : S[e[0]];",
    "}",
    "var shortLab = new Array(F.length);",
    "function slabel(f) {",
    "  if (f < 0) return \"all\";",
    "  return shortLab[f] || (shortLab[f] = label(f, false));",
    "}",
    "function hash(s) {",
    "  var h = 2166136261;",
    "  for (var a = 0; a < s.length && a < 4096; a++) { h ^= s.charCodeAt(a); h = Math.imul(h, 16777619); }",
    "  return h >>> 0;",
    "}",
    "var colors = new Array(F.length);",
    "/* Python frames warm (hue from the file), native blue, threads grey-green */",
    "function color(f) {",
    "  if (f < 0) return \"#c9c9c9\";",
    "  if (colors[f]) return colors[f];",
    "  var e = F[f], hf = hash(S[e[1]]), hn = hash(S[e[0]]), col;",
    "  if (e[4] === 1) col = \"hsl(\" + (190 + hf % 45) + \",\" + (50 + hn % 25) + \"%,\" + (62 + (hn >>> 8) % 12) + \"%)\";",
    "  else if (e[4] >= 2) col = \"hsl(95,14%,\" + (68 + hn % 10) + \"%)\";",
    "  else col = \"hsl(\" + (hf % 52) + \",\" + (72 + hn % 22) + \"%,\" + (56 + (hn >>> 8) % 12) + \"%)\";",
    "  return (colors[f] = col);",
    "}",
    "function pct(a, b) { return b > 0 ? (100 * a / b).toFixed(2) + \"%\" : \"-\"; }",
    "function cut(s, n) { return s.length > n ? s.slice(0, n - 1) + \"\\u2026\" : s; }",
    "",
    "function rowY(d) { return (flame ? shown - 1 - d : d) * RH; }",
    "function box(n, x, w, faded) {",
    "  var y = rowY(dep[n]);",
    "  ctx.globalAlpha = faded ? 0.5 : 1;",
    "  ctx.fillStyle = matched && matched[n] ? \"#e040d8\" : color(fr[n]);",
    "  ctx.fillRect(x, y, w > 1.5 ? w - 0.5 : w, RH - 1);",
    "  if (w > 3 * cw + 6) {",
    "    var mc = Math.floor((w - 6) / cw), t = slabel(fr[n]);",
    "    if (t.length > mc) t = mid(fr[n]);",
    "    if (t.length > mc) t = cut(t, mc);",
    "    ctx.fillStyle = \"#000\";",
    "    ctx.fillText(t, x + 3, y + RH / 2 + 1);",
    "  }",
    "  ctx.globalAlpha = 1;",
    "}",
    "function draw(again) {",
    "  var dpr = window.devicePixelRatio || 1, md = 0, a;",
    "  W = Math.max(chart.clientWidth, 200);",
    "  for (a = zoom; a < zoom + size[zoom]; a++) if (dep[a] > md) md = dep[a];",
    "  shown = Math.min(md + 1, MAXROWS);",
    "  var H = shown * RH;",
    "  cv.width = Math.round(W * dpr); cv.height = Math.round(H * dpr);",
    "  cv.style.width = W + \"px\"; cv.style.height = H + \"px\";",
    "  ov.width = cv.width; ov.height = cv.height;",
    "  ov.style.width = cv.style.width; ov.style.height = cv.style.height;",
    "  octx.setTransform(dpr, 0, 0, dpr, 0, 0);",
    "  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);",
    "  /* a new height may add or remove the scroll bar, changing the width */",
    "  if (!again && Math.max(chart.clientWidth, 200) !== W) { draw(true); return; }",
    "  ctx.clearRect(0, 0, W, H);",
    "  ctx.font = FONT; ctx.textBaseline = \"middle\";",
    "  cw = ctx.measureText(\"mmmmmmmmmm\").width / 10 || 7;",
    "  var zx = x0[zoom], sc = W / (tot[zoom] || 1);",
    "  for (a = par[zoom]; a >= 0; a = par[a]) if (dep[a] < shown) box(a, 0, W, true);",
    "  for (a = zoom; a < zoom + size[zoom]; a++) {",
    "    var w = tot[a] * sc;",
    "    if (w < 0.3) { a += size[a] - 1; continue; } /* and its narrower descendants */",
    "    if (dep[a] < shown) box(a, (x0[a] - zx) * sc, w, false);",
    "  }",
    "  outline(hover);",
    "}",
    "function outline(n) {",
    "  octx.clearRect(0, 0, W, shown * RH);",
    "  if (n < 0) return;",
    "  var sc = W / (tot[zoom] || 1), x, w;",
    "  if (n < zoom) { x = 0; w = W; } else { x = (x0[n] - x0[zoom]) * sc; w = tot[n] * sc; }",
    "  octx.strokeStyle = \"#000\"; octx.lineWidth = 1.5;",
    "  octx.strokeRect(x + 0.5, rowY(dep[n]) + 0.5, Math.max(w - 1.5, 1), RH - 2);",
    "}",
    "function nodeAt(mx, my) {",
    "  var r = Math.floor(my / RH), d = flame ? shown - 1 - r : r, a;",
    "  if (d < 0 || d >= shown) return -1;",
    "  if (d < dep[zoom]) {",
    "    for (a = par[zoom]; a >= 0; a = par[a]) if (dep[a] === d) return a;",
    "    return -1;",
    "  }",
    "  var row = rows[d];",
    "  if (!row) return -1;",
    "  var xs = x0[zoom] + mx * (tot[zoom] || 1) / W, lo = 0, hi = row.length - 1, best = -1;",
    "  while (lo <= hi) {",
    "    var m = (lo + hi) >> 1;",
    "    if (x0[row[m]] <= xs) { best = m; lo = m + 1; } else hi = m - 1;",
    "  }",
    "  if (best < 0) return -1;",
    "  a = row[best];",
    "  if (xs >= x0[a] + tot[a] || a < zoom || a >= zoom + size[zoom]) return -1;",
    "  return a;",
    "}",
    "function line(parent, text, cls) {",
    "  var el = document.createElement(\"div\");",
    "  if (cls) el.className = cls;",
    "  el.textContent = text;",
    "  parent.appendChild(el);",
    "}",
    "function showTip(n, ev) {",
    "  var f = fr[n];",
    "  tip.textContent = \"\";",
    "  if (f < 0) {",
    "    line(tip, \"all samples\", \"tn\");",
    "  } else {",
    "    var e = F[f], file = S[e[1]];",
    "    line(tip, cut(S[e[0]], 300), \"tn\");",
    "    if (e[4] === 1) line(tip, \"native: \" + cut(file, 300));",
    "    else if (e[4] < 2 && file) {",
    "      line(tip, cut(file, 300) + (e[2] > 0 ? \":\" + e[2] : \"\"));",
    "      if (e[3] > 0) line(tip, \"function starts at line \" + e[3], \"tm\");",
    "    } else if (e[4] === 2) line(tip, \"thread\", \"tm\");",
    "  }",
    "  var t = \"samples: \" + tot[n] + \" (\" + pct(tot[n], ALL) + \" of all\";",
    "  if (zoom > 0 && n >= zoom) t += \", \" + pct(tot[n], tot[zoom]) + \" of the zoomed frame\";",
    "  line(tip, t + \")\");",
    "  line(tip, \"self: \" + own[n] + \" (\" + pct(own[n], ALL) + \")\");",
    "  line(tip, n === zoom ? (zoom ? \"click to zoom out (Esc)\" : \"\") : \"click to zoom\", \"tm\");",
    "  tip.style.display = \"block\";",
    "  var tw = tip.offsetWidth, th = tip.offsetHeight;",
    "  var x = ev.clientX + 14, y = ev.clientY + 16;",
    "  if (x + tw > window.innerWidth - 4) x = Math.max(4, ev.clientX - tw - 14);",
    "  if (y + th > window.innerHeight - 4) y = Math.max(4, ev.clientY - th - 12);",
    "  tip.style.left = x + \"px\"; tip.style.top = y + \"px\";",
    "}",
    "function zoomInfo() {",
    "  if (zoom === 0) {",
    "    zinfo.textContent = \"Click a frame to zoom in; Esc or Reset zooms out.\";",
    "    return;",
    "  }",
    "  zinfo.textContent = \"Zoomed into \" + cut(label(fr[zoom], true), 200) + \": \" + tot[zoom] +",
    "    \" samples, \" + pct(tot[zoom], ALL) + \" of all. Click a faded frame above it, press Esc or Reset to zoom out.\";",
    "}",
    "function matchInfo() {",
    "  if (!matched) { matchEl.textContent = \"\"; return; }",
    "  var sum = 0, end = 0, zsum = 0, a;",
    "  for (a = 0; a < N; a++) {",
    "    if (!matched[a] || a < end) continue;",
    "    sum += tot[a]; end = a + size[a];",
    "    if (a >= zoom && a < zoom + size[zoom]) zsum += tot[a];",
    "  }",
    "  for (a = zoom; a >= 0; a = par[a]) if (matched[a]) zsum = tot[zoom];",
    "  var t = \"matched \" + pct(sum, ALL) + \" of all samples (\" + sum + \")\";",
    "  if (zoom > 0) t += \", \" + pct(zsum, tot[zoom]) + \" of the zoomed frame\";",
    "  matchEl.textContent = t;",
    "}",
    "function doSearch() {",
    "  var q = search.value, re = null, f, a;",
    "  if (!q) { matched = null; matchInfo(); draw(); return; }",
    "  var e = q.lastIndexOf(\"/\");",
    "  if (q.length > 2 && q.charAt(0) === \"/\" && e > 0) {",
    "    try { re = new RegExp(q.slice(1, e), q.slice(e + 1).replace(/g/g, \"\")); }",
    "    catch (err) { matchEl.textContent = \"invalid regular expression\"; return; }",
    "  }",
    "  var lq = q.toLowerCase(), fm = new Uint8Array(F.length);",
    "  for (f = 0; f < F.length; f++) {",
    "    var l = label(f, true);",
    "    fm[f] = re ? re.test(l) : l.toLowerCase().indexOf(lq) >= 0;",
    "  }",
    "  matched = new Uint8Array(N);",
    "  for (a = 1; a < N; a++) matched[a] = fr[a] >= 0 && fm[fr[a]];",
    "  matchInfo(); draw();",
    "}",
    "function zoomTo(n) { zoom = n; hover = -1; tip.style.display = \"none\"; zoomInfo(); matchInfo(); draw(); }",
    "",
    "cv.addEventListener(\"mousemove\", function (ev) {",
    "  var n = nodeAt(ev.offsetX, ev.offsetY);",
    "  if (n !== hover) { hover = n; outline(n); }",
    "  if (n < 0) { tip.style.display = \"none\"; cv.style.cursor = \"\"; return; }",
    "  cv.style.cursor = \"pointer\";",
    "  showTip(n, ev);",
    "});",
    "cv.addEventListener(\"mouseleave\", function () {",
    "  tip.style.display = \"none\";",
    "  if (hover >= 0) { hover = -1; outline(-1); }",
    "});",
    "cv.addEventListener(\"click\", function (ev) {",
    "  var n = nodeAt(ev.offsetX, ev.offsetY);",
    "  if (n < 0) return;",
    "  zoomTo(n === zoom && zoom > 0 ? Math.max(par[zoom], 0) : n);",
    "});",
    "document.getElementById(\"reset\").addEventListener(\"click\", function () { zoomTo(0); });",
    "document.getElementById(\"flip\").addEventListener(\"click\", function () {",
    "  flame = !flame;",
    "  draw();",
    "  if (flame) cv.scrollIntoView({block: \"end\"}); /* the root is at the bottom now */",
    "});",
    "var timer = 0;",
    "search.addEventListener(\"input\", function () { clearTimeout(timer); timer = setTimeout(doSearch, 120); });",
    "document.addEventListener(\"keydown\", function (ev) {",
    "  if (ev.key === \"Escape\") {",
    "    if (document.activeElement === search && search.value) { search.value = \"\"; doSearch(); }",
    "    else zoomTo(0);",
    "  } else if (ev.key === \"/\" && document.activeElement !== search) {",
    "    ev.preventDefault(); search.focus();",
    "  }",
    "});",
    "var rt = 0;",
    "window.addEventListener(\"resize\", function () { clearTimeout(rt); rt = setTimeout(function () { draw(); }, 60); });",
    "zoomInfo();",
    "draw();",
    "})();",
};

static void put_lines(struct textbuf *b, const char *const *lines, size_t n) {
  for (size_t i = 0; i < n; i++) {
    tb_str(b, lines[i]);
    tb_put(b, "\n", 1);
  }
}

/* The title block: what was profiled, how, and what the page leaves out. */
static void put_header(struct textbuf *b, const struct profile *p, uint64_t min_samples,
                       size_t pruned_nodes, uint64_t pruned_samples) {
  const char *cmd = p->nfiles ? p->files[0].cmdline : "";
  tb_str(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"generator\" content=\"pyprof\">\n<title>pyprof flamegraph");
  if (cmd[0]) {
    tb_str(b, ": ");
    put_html_cut(b, cmd, 120);
  }
  tb_str(b, "</title>\n<style>\n");
  put_lines(b, FG_CSS, sizeof FG_CSS / sizeof FG_CSS[0]);
  tb_str(b, "</style>\n</head>\n<body>\n<div id=\"head\">\n<h1>pyprof flamegraph");
  if (cmd[0]) {
    tb_str(b, ": <span class=\"cmd\" title=\"");
    put_html_cut(b, cmd, 4096);
    tb_str(b, "\">");
    put_html_cut(b, cmd, 300);
    tb_str(b, "</span>");
  }
  tb_str(b, "</h1>\n<p class=\"sub\">");
  if (p->nfiles) {
    const struct record_header *h = &p->files[0].hdr;
    int same = 1;
    for (size_t i = 1; i < p->nfiles; i++)
      same &= p->files[i].hdr.py_major == h->py_major && p->files[i].hdr.py_minor == h->py_minor &&
              p->files[i].hdr.py_micro == h->py_micro;
    tb_printf(b, "Python %u.%u.%u%s &middot; ", h->py_major, h->py_minor, h->py_micro,
              same ? "" : " (and others)");
  }
  tb_printf(b, "%" PRIu64 " samples &middot; %.2f s", p->samples, profile_duration_s(p));
  if (p->nfiles && !p->mixed_rates)
    tb_printf(b, " &middot; %" PRIu32 " Hz", p->files[0].hdr.rate_hz);
  else if (p->nfiles)
    tb_printf(b, " &middot; mixed rates, times assume %g Hz", 1.0 / p->interval_s);
  uint64_t failed = 0, attempts = 0;
  for (size_t i = 0; i < p->nfiles; i++) {
    if (p->files[i].has_summary) {
      failed += p->files[i].summary.failed;
      attempts += p->files[i].summary.attempts;
    }
  }
  if (attempts)
    tb_printf(b, " (%.2f%% of sampling attempts failed)",
              100.0 * (double)failed / (double)attempts);
  tb_printf(b, " &middot; %zu thread%s", p->nthreads, p->nthreads == 1 ? "" : "s");
  if (p->nfiles == 1) {
    const struct profile_file *f = &p->files[0];
    tb_printf(b, " &middot; pid %" PRIu32, f->hdr.pid);
    if (f->hdr.rank >= 0)
      tb_printf(b, ", rank %" PRId32, f->hdr.rank);
    if (f->hostname[0]) {
      tb_str(b, " on ");
      put_html_cut(b, f->hostname, 200);
    }
  } else if (p->nfiles > 1) {
    tb_printf(b, " &middot; %zu files merged", p->nfiles);
  }
  tb_str(b, "</p>\n");
  size_t truncated = 0;
  for (size_t i = 0; i < p->nfiles; i++)
    truncated += p->files[i].truncated != 0;
  if (truncated)
    tb_printf(b, "<p class=\"warn\">%zu record file%s cut short (no end chunk): the profile "
                 "ends at the last complete chunk.</p>\n",
              truncated, truncated == 1 ? " was" : "s were");
  tb_str(b, "<div class=\"bar\"><button id=\"reset\" type=\"button\">Reset zoom</button> "
            "<button id=\"flip\" type=\"button\">Flame / icicle</button> "
            "<input id=\"search\" type=\"text\" placeholder=\"Search: text or /regex/  (press /)\" "
            "size=\"36\" spellcheck=\"false\"> <span id=\"match\"></span></div>\n"
            "<p id=\"zoominfo\"></p>\n</div>\n"
            "<noscript><p class=\"warn\">This flamegraph is drawn by JavaScript.</p></noscript>\n");
  if (!p->samples)
    tb_str(b, "<p class=\"warn\">No samples.</p>\n");
  tb_str(b, "<div id=\"chart\"></div>\n<div id=\"tip\"></div>\n<p class=\"note\">"
            "Width is samples; frames are <i>function (file:line)</i> with the line being "
            "executed, identical call paths merged, heavier callees left. "
            "Python frames are warm colours (hue by file), native frames blue.");
  if (p->opts.skip_idle)
    tb_str(b, " Samples of idle threads are excluded.");
  if (pruned_nodes)
    tb_printf(b, " Left out: %zu frame%s on call paths with fewer than %" PRIu64
                 " samples (0.01%% of all), %" PRIu64 " samples in all; the callers keep "
                 "their full width.",
              pruned_nodes, pruned_nodes == 1 ? "" : "s", min_samples, pruned_samples);
  tb_str(b, " Generated by pyprof.</p>\n");
}

static void put_meta(struct textbuf *b, const struct profile *p, size_t nodes,
                     uint64_t min_samples, size_t pruned_nodes, uint64_t pruned_samples) {
  tb_printf(b, "{\"meta\":{\"samples\":%" PRIu64 ",\"duration\":%.6f,\"interval\":%.9g,"
               "\"nodes\":%zu,\"min_samples\":%" PRIu64 ",\"pruned_nodes\":%zu,"
               "\"pruned_samples\":%" PRIu64 ",\"files\":%zu,\"threads\":%zu,\"cmdline\":",
            p->samples, profile_duration_s(p), p->interval_s, nodes, min_samples, pruned_nodes,
            pruned_samples, p->nfiles, p->nthreads);
  const char *cmd = p->nfiles ? p->files[0].cmdline : "";
  esc_json(b, cmd, strlen(cmd), ESC_JSON_HTML);
  tb_str(b, "},\n");
}

int report_write_flamegraph(const struct profile *p, const struct report_options *o,
                            FILE *out) {
  int rc = 0;
  struct fg_tree t = {.p = p};   /* owns nodes and slots */
  struct fg_tables tb = {.empty = NONE}; /* owns smap, fmap and its buffers */
  uint32_t *scratch = NULL;      /* owned: sibling ids while sorting */
  struct textbuf b = {0};        /* owns the page text */
  struct textbuf nodes = {0};    /* owns the JSON of "nodes" */

  t.cap = 1024;
  if (!(t.nodes = malloc(t.cap * sizeof *t.nodes))) {
    rc = PP_ENOMEM;
    goto out;
  }
  t.nodes[0] = (struct fg_node){NONE, NONE, NONE, NONE, 0};
  t.n = 1;
  if (o->threads) {
    for (size_t i = 0; i < p->ntstacks; i++)
      if (p->tstacks[i].count &&
          (rc = tree_add(&t, 1, p->tstacks[i].thread, &p->stacks[p->tstacks[i].stack],
                         p->tstacks[i].count)) < 0)
        goto out;
  } else {
    for (size_t i = 0; i < p->nstacks; i++)
      if (p->stacks[i].count && (rc = tree_add(&t, 0, 0, &p->stacks[i], p->stacks[i].count)) < 0)
        goto out;
  }
  if (!(scratch = malloc(t.n * sizeof *scratch))) {
    rc = PP_ENOMEM;
    goto out;
  }
  tree_sort(&t, scratch);

  uint64_t min_samples = p->samples / PRUNE_FRACTION + (p->samples % PRUNE_FRACTION != 0);
  if (min_samples < 1)
    min_samples = 1;
  size_t pruned_nodes = 0, kept = 0;
  uint64_t pruned_samples = 0;
  for (size_t i = 1; i < t.n; i++) {
    if (t.nodes[i].total >= min_samples)
      continue;
    pruned_nodes++;
    if (t.nodes[t.nodes[i].parent].total >= min_samples)
      pruned_samples += t.nodes[i].total;
  }

  size_t nkeys = p->nframes + p->nthreads + 1;
  tb.smap = malloc((p->nstrings + 1) * sizeof *tb.smap);
  tb.fmap = malloc(nkeys * sizeof *tb.fmap);
  if (!tb.smap || !tb.fmap) {
    rc = PP_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i <= p->nstrings; i++)
    tb.smap[i] = NONE;
  for (size_t i = 0; i < nkeys; i++)
    tb.fmap[i] = NONE;

  /* Preorder walk; children are sorted heaviest first, so the kept ones
   * (total >= min_samples) are a prefix of each list. */
  uint32_t cur = 0;
  for (;;) {
    const struct fg_node *nd = &t.nodes[cur];
    uint32_t nkids = 0;
    for (uint32_t c = nd->child; c != NONE && t.nodes[c].total >= min_samples;
         c = t.nodes[c].next)
      nkids++;
    if (cur == 0)
      tb_printf(&nodes, "-1,%" PRIu64 ",%" PRIu32, nd->total, nkids);
    else
      tb_printf(&nodes, kept % 16 ? ",%" PRIu32 ",%" PRIu64 ",%" PRIu32
                                  : ",\n%" PRIu32 ",%" PRIu64 ",%" PRIu32,
                frame_index(&tb, p, nd->key), nd->total, nkids);
    kept++;
    if (nkids) {
      cur = nd->child;
      continue;
    }
    while (cur != 0) {
      uint32_t nx = t.nodes[cur].next;
      if (nx != NONE && t.nodes[nx].total >= min_samples) {
        cur = nx;
        break;
      }
      cur = t.nodes[cur].parent;
    }
    if (cur == 0)
      break;
  }

  put_header(&b, p, min_samples, pruned_nodes, pruned_samples);
  tb_str(&b, "<script type=\"application/json\" id=\"pyprof-data\">\n");
  put_meta(&b, p, kept, min_samples, pruned_nodes, pruned_samples);
  if ((rc = tb_flush(&b, out)) < 0)
    goto out;
  tb_str(&b, "\"strings\":[");
  if ((rc = tb.strings.err) < 0 || (rc = tb_flush(&b, out)) < 0 ||
      (rc = tb_flush(&tb.strings, out)) < 0)
    goto out;
  tb_str(&b, "],\n\"frames\":[");
  if ((rc = tb_flush(&b, out)) < 0 || (rc = tb_flush(&tb.frames, out)) < 0)
    goto out;
  tb_str(&b, "],\n\"nodes\":[\n");
  if ((rc = tb_flush(&b, out)) < 0 || (rc = tb_flush(&nodes, out)) < 0)
    goto out;
  tb_str(&b, "]}\n</script>\n<script>\n");
  put_lines(&b, FG_JS, sizeof FG_JS / sizeof FG_JS[0]);
  tb_str(&b, "</script>\n</body>\n</html>\n");
  if ((rc = tb.scratch.err) < 0 || (rc = tb_flush(&b, out)) < 0)
    goto out;
out:
  free(t.nodes);
  free(t.slots);
  free(scratch);
  free(tb.smap);
  free(tb.fmap);
  tb_free(&tb.strings);
  tb_free(&tb.frames);
  tb_free(&tb.scratch);
  tb_free(&b);
  tb_free(&nodes);
  return rc;
}
