/* Module-private to src/python/ (thread_names.c and its generated data): how
 * to read the few Python objects a thread's name is reached through, per
 * CPython minor and build kind, as data (tools/gen-pyobjects.py ->
 * pyobjects_tables.c, from each version's own headers). Offsets are bytes;
 * a negative instance offset counts back from the object's address. */
#ifndef PYPROF_PYTHON_PYOBJECTS_H
#define PYPROF_PYTHON_PYOBJECTS_H

#include <stddef.h>
#include <stdint.h>

struct py_objects {
  int minor, free_threaded;
  int interp_modules; /* PyInterpreterState: sys.modules (3.13+: _Py_DebugOffsets wins) */
  int module_dict;    /* PyModuleObject.md_dict */
  int dict_keys, dict_values;     /* PyDictObject ma_keys, ma_values */
  int keys_kind;      /* 1: 3.8-3.10 (dk_size entries, index width from it); 2: 3.11+ (log2
                         sizes, dk_kind) */
  int dk_size;        /* kind 1: Py_ssize_t dk_size; kind 2: uint8 dk_log2_size */
  int dk_log2_index_bytes, dk_kind; /* kind 2: uint8 fields; -1 for kind 1 */
  int dk_nentries, dk_indices;
  int entry_general, entry_unicode; /* entry sizes: kind-general / unicode-key entries */
  int entry_key, entry_value, uentry_key, uentry_value;
  int kind_general;   /* dk_kind value of general (hash-carrying) entries */
  int values_values;  /* offset of the PyObject *[] in a values block */
  int tp_basicsize, tp_dictoffset, tp_flags, ht_cached_keys;
  int inst_kind;      /* where an instance's attributes are: 1 the dict at tp_dictoffset
                         (3.8-3.10); 2 a dict pointer at managed_dict, else values at
                         managed_values (3.11); 3 one word at managed_dict: a dict, or
                         values | 1 (3.12); 4 a dict pointer at managed_dict, else inline
                         values after tp_basicsize (3.13+) */
  int managed_dict, managed_values;
  int values_tag_delta; /* kind 3: the word holds values + delta (odd) */
  long flag_managed_dict, flag_inline_values; /* tp_flags bits; 0 where absent */
  int values_valid;   /* 3.13+: offset of the uint8 `valid` of inline values; -1 */
  int long_tagged;    /* 1: lv_tag (ndigits << 3 | sign) (3.12+); 0: signed ob_size */
  int long_size, long_digits, long_shift, digit_size;
};

extern const struct py_objects py_objects_tables[];
extern const size_t py_objects_table_count;

#endif
