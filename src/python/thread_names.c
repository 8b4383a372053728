/* Python-level thread names (thread_names.h): finds threading._active
 * through sys.modules, and each Thread's _name through its instance
 * attributes, with the object-model data of pyobjects_tables.c (generated
 * from each version's headers). Knows CPython only through struct py_layout
 * and struct py_objects. Must never read unbounded or trust what it reads:
 * dict sizes, entry counts, int widths and string lengths are bounded, and a
 * name is kept only when every step validated. */
#include "pyprof/python/thread_names.h"

#include <stdlib.h>
#include <string.h>

#include "pyprof/common/error.h"
#include "pyprof/python/pystr.h"
#include "pyobjects.h"

#define DICT_ENTRIES_MAX 65536 /* entries of one dict read (sys.modules of big apps: ~5,000) */
#define DICT_LOG2_MAX 20

static const struct py_objects *objects_for(const struct py_layout *L) {
  for (size_t i = 0; i < py_objects_table_count; i++) {
    const struct py_objects *o = &py_objects_tables[i];
    if (o->minor == L->minor && o->free_threaded == L->free_threaded)
      return o;
  }
  return NULL;
}

int py_thread_names_supported(const struct py_layout *L) {
  return L->major == 3 && objects_for(L) != NULL;
}

static uint64_t ld64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* The entries of a dict's keys object, decoded: key and value per entry
 * (value 0 when the dict is split and its values are elsewhere). */
struct dict_view {
  size_t n;
  uint64_t *keys;   /* owned, n */
  uint64_t *values; /* owned, n */
};

static void view_free(struct dict_view *v) {
  free(v->keys);
  free(v->values);
  memset(v, 0, sizeof *v);
}

/* Read the keys object at keys; values (0: none) is a values block whose
 * PyObject *[] holds entry i's value (split dicts, instance values). */
static int keys_read(const struct mem_reader *r, const struct py_objects *O, uint64_t keys,
                     uint64_t values, struct dict_view *v) {
  unsigned char hdr[64];
  unsigned char *ents = NULL;  /* owned */
  unsigned char *vals = NULL;  /* owned */
  int rc;
  memset(v, 0, sizeof *v);
  if (keys == 0 || O->dk_indices <= 0 || O->dk_indices > (int)sizeof hdr)
    return PP_ELAYOUT;
  rc = mem_read(r, keys, hdr, (size_t)O->dk_indices);
  if (rc < 0)
    return rc;
  int64_t nent;
  memcpy(&nent, hdr + O->dk_nentries, sizeof nent);
  uint64_t index_bytes, esize = (uint64_t)O->entry_general;
  int koff = O->entry_key, voff = O->entry_value;
  if (O->keys_kind == 1) {
    int64_t size;
    memcpy(&size, hdr + O->dk_size, sizeof size);
    if (size < 8 || size > ((int64_t)1 << DICT_LOG2_MAX) || (size & (size - 1)) != 0)
      return PP_EBOUNDS;
    unsigned ix = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
    index_bytes = (uint64_t)size * ix;
  } else {
    uint8_t log2 = hdr[O->dk_size], log2ix = hdr[O->dk_log2_index_bytes], kind = hdr[O->dk_kind];
    if (log2 > DICT_LOG2_MAX || log2ix < log2 || log2ix > log2 + 3)
      return PP_EBOUNDS;
    index_bytes = (uint64_t)1 << log2ix;
    if (kind != O->kind_general) {
      esize = (uint64_t)O->entry_unicode;
      koff = O->uentry_key;
      voff = O->uentry_value;
    }
  }
  if (nent < 0 || nent > DICT_ENTRIES_MAX)
    return PP_EBOUNDS;
  size_t n = (size_t)nent;
  v->keys = calloc(n ? n : 1, sizeof *v->keys);
  v->values = calloc(n ? n : 1, sizeof *v->values);
  ents = malloc(n ? n * esize : 1);
  vals = values ? malloc(n ? n * 8 : 1) : NULL;
  if (!v->keys || !v->values || !ents || (values && !vals)) {
    rc = PP_ENOMEM;
    goto out;
  }
  if (n > 0) {
    rc = mem_read(r, keys + (uint64_t)O->dk_indices + index_bytes, ents, n * esize);
    if (rc == 0 && values)
      rc = mem_read(r, values + (uint64_t)O->values_values, vals, n * 8);
    if (rc < 0)
      goto out;
  }
  for (size_t i = 0; i < n; i++) {
    v->keys[i] = ld64(ents + i * esize + koff);
    v->values[i] = values ? ld64(vals + i * 8) : ld64(ents + i * esize + voff);
  }
  v->n = n;
out:
  free(ents);
  free(vals);
  if (rc < 0)
    view_free(v);
  return rc;
}

static int dict_read(const struct mem_reader *r, const struct py_objects *O, uint64_t dict,
                     struct dict_view *v) {
  uint64_t keys, values;
  memset(v, 0, sizeof *v);
  if (dict == 0)
    return PP_ENOTFOUND;
  struct mem_read_req q[2] = {{dict + (uint64_t)O->dict_keys, &keys, 8},
                              {dict + (uint64_t)O->dict_values, &values, 8}};
  int rc = mem_readv(r, q, 2);
  if (rc < 0)
    return rc;
  return keys_read(r, O, keys, values, v);
}

/* The value of the entry whose key is the str want, or PP_ENOTFOUND. */
static int view_find(const struct mem_reader *r, const struct py_layout *L,
                     const struct dict_view *v, const char *want, uint64_t *value) {
  for (size_t i = 0; i < v->n; i++) {
    char *k = NULL; /* owned */
    if (v->keys[i] == 0 || v->values[i] == 0)
      continue; /* deleted, or not set in this instance */
    if (pystr_read(r, L, v->keys[i], &k) < 0)
      continue; /* not a str we can read: not ours */
    int same = strcmp(k, want) == 0;
    free(k);
    if (same) {
      *value = v->values[i];
      return 0;
    }
  }
  return PP_ENOTFOUND;
}

static int dict_get(const struct mem_reader *r, const struct py_layout *L,
                    const struct py_objects *O, uint64_t dict, const char *want, uint64_t *value) {
  struct dict_view v;
  int rc = dict_read(r, O, dict, &v);
  if (rc == 0) {
    rc = view_find(r, L, &v, want, value);
    view_free(&v);
  }
  return rc;
}

/* The attribute want of an instance (its own attributes only). */
static int attr_get(const struct mem_reader *r, const struct py_layout *L,
                    const struct py_objects *O, uint64_t obj, const char *want, uint64_t *value) {
  uint64_t type, flags = 0, keys = 0, word = 0;
  int64_t basicsize = 0, dictoffset = 0;
  int rc = mem_read_u64(r, obj + (uint64_t)L->ob_type, &type);
  if (rc < 0)
    return rc;
  struct mem_read_req q[4] = {{type + (uint64_t)O->tp_flags, &flags, 8},
                              {type + (uint64_t)O->tp_basicsize, &basicsize, 8},
                              {type + (uint64_t)O->tp_dictoffset, &dictoffset, 8},
                              {type + (uint64_t)O->ht_cached_keys, &keys, 8}};
  rc = mem_readv(r, q, 4);
  if (rc < 0)
    return rc;
  /* (3.11+ managed-dict types have tp_dictoffset -1: only kind 1 uses it) */
  if (basicsize <= 0 || basicsize > 65536 ||
      (O->inst_kind == 1 && (dictoffset < 0 || dictoffset > 65536)))
    return PP_EBOUNDS;
  uint64_t dict = 0, values = 0;
  switch (O->inst_kind) {
  case 1:
    if (dictoffset == 0)
      return PP_ENOTFOUND;
    rc = mem_read_u64(r, obj + (uint64_t)dictoffset, &dict);
    break;
  case 2:
    if (!(flags & (uint64_t)O->flag_managed_dict))
      return PP_ENOTFOUND;
    rc = mem_read_u64(r, obj + (uint64_t)(int64_t)O->managed_dict, &dict);
    if (rc == 0 && dict == 0)
      rc = mem_read_u64(r, obj + (uint64_t)(int64_t)O->managed_values, &values);
    break;
  case 3:
    if (!(flags & (uint64_t)O->flag_managed_dict))
      return PP_ENOTFOUND;
    rc = mem_read_u64(r, obj + (uint64_t)(int64_t)O->managed_dict, &word);
    if (word & 1)
      values = word - (uint64_t)(int64_t)O->values_tag_delta;
    else
      dict = word;
    break;
  case 4:
    if (flags & (uint64_t)O->flag_managed_dict)
      rc = mem_read_u64(r, obj + (uint64_t)(int64_t)O->managed_dict, &dict);
    if (rc == 0 && dict == 0 && (flags & (uint64_t)O->flag_inline_values)) {
      uint8_t valid = 0;
      values = obj + (uint64_t)basicsize;
      rc = mem_read(r, values + (uint64_t)O->values_valid, &valid, 1);
      if (rc == 0 && valid != 1)
        return PP_ENOTFOUND;
    }
    break;
  default:
    return PP_ELAYOUT;
  }
  if (rc < 0)
    return rc;
  if (dict)
    return dict_get(r, L, O, dict, want, value);
  if (!values || !keys)
    return PP_ENOTFOUND;
  struct dict_view v;
  rc = keys_read(r, O, keys, values, &v);
  if (rc == 0) {
    rc = view_find(r, L, &v, want, value);
    view_free(&v);
  }
  return rc;
}

/* A small non-negative int (a thread ident: at most 64 bits). */
static int int_read(const struct mem_reader *r, const struct py_objects *O, uint64_t addr,
                    uint64_t *out) {
  unsigned char b[64];
  size_t need = (size_t)O->long_digits + 3 * (size_t)O->digit_size;
  if (need > sizeof b || O->digit_size != 4 || O->long_shift != 30)
    return PP_ELAYOUT;
  int rc = mem_read(r, addr, b, need);
  if (rc < 0)
    return rc;
  int64_t size;
  memcpy(&size, b + O->long_size, sizeof size);
  uint64_t nd;
  if (O->long_tagged) {
    if ((size & 3) == 2)
      return PP_EBOUNDS; /* negative */
    nd = (uint64_t)size >> 3;
  } else {
    if (size < 0)
      return PP_EBOUNDS;
    nd = (uint64_t)size;
  }
  if (nd > 3)
    return PP_EBOUNDS;
  uint64_t v = 0;
  for (uint64_t i = 0; i < nd; i++) {
    uint32_t d;
    memcpy(&d, b + O->long_digits + 4 * i, sizeof d);
    if (d >> 30)
      return PP_EBOUNDS;
    if (i == 2 && (d >> 4))
      return PP_EBOUNDS; /* past 64 bits */
    v |= (uint64_t)d << (30 * i);
  }
  *out = v;
  return 0;
}

static int find_active(const struct mem_reader *r, const struct py_layout *L,
                       const struct py_objects *O, uint64_t interp, uint64_t *active) {
  uint64_t modules, threading, mdict;
  int32_t off = L->interp_modules > 0 ? L->interp_modules : O->interp_modules;
  int rc = mem_read_u64(r, interp + (uint64_t)off, &modules);
  if (rc < 0)
    return rc;
  rc = dict_get(r, L, O, modules, "threading", &threading);
  if (rc < 0)
    return rc;
  rc = mem_read_u64(r, threading + (uint64_t)O->module_dict, &mdict);
  if (rc < 0)
    return rc;
  return dict_get(r, L, O, mdict, "_active", active);
}

/* (ident, name) of each entry of the dict threading._active. */
static int active_read(const struct mem_reader *r, const struct py_layout *L,
                       const struct py_objects *O, uint64_t active, struct py_thread_name *out,
                       size_t cap, size_t *n) {
  struct dict_view v;
  int rc = dict_read(r, O, active, &v);
  if (rc < 0)
    return rc;
  if (v.n > PY_THREAD_NAMES_MAX) {
    view_free(&v);
    return PP_EBOUNDS;
  }
  size_t got = 0, bad = 0;
  for (size_t i = 0; i < v.n && got < cap; i++) {
    uint64_t ident, name;
    char *s = NULL; /* owned */
    if (v.keys[i] == 0 || v.values[i] == 0)
      continue;
    if (int_read(r, O, v.keys[i], &ident) < 0 || ident == 0 ||
        attr_get(r, L, O, v.values[i], "_name", &name) < 0 || pystr_read(r, L, name, &s) < 0) {
      bad++;
      continue;
    }
    out[got].ident = ident;
    /* keep whole UTF-8 characters */
    size_t len = strlen(s);
    if (len >= PY_THREAD_NAME_MAX) {
      len = PY_THREAD_NAME_MAX - 1;
      while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
        len--;
    }
    memcpy(out[got].name, s, len);
    out[got].name[len] = 0;
    free(s);
    got++;
  }
  view_free(&v);
  *n = got;
  /* A dict whose every entry fails is not threading._active (any more). */
  return got == 0 && bad > 0 ? PP_ENOTFOUND : 0;
}

int py_thread_names_read(const struct mem_reader *r, const struct py_layout *L, uint64_t interp,
                         struct py_thread_names_cache *cache, struct py_thread_name *out,
                         size_t cap, size_t *n) {
  const struct py_objects *O = objects_for(L);
  *n = 0;
  if (!O || L->major != 3)
    return PP_EUNSUPPORTED;
  if (cache && cache->active) {
    if (active_read(r, L, O, cache->active, out, cap, n) == 0 && *n > 0)
      return 0;
    cache->active = 0;
  }
  uint64_t active;
  int rc = find_active(r, L, O, interp, &active);
  if (rc == 0)
    rc = active_read(r, L, O, active, out, cap, n);
  if (rc == 0 && cache)
    cache->active = active;
  return rc;
}
