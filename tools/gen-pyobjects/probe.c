/* probe: print the object-model facts pyprof needs to read Python thread
 * names (threading._active) for the CPython version whose headers this file
 * is compiled against, one "name value" per line.
 *
 * Development tool only (run by tools/gen-pyobjects.py, never linked into
 * pyprof). Compiled with -DPy_BUILD_CORE against include/python3.X and its
 * internal/ (and with -DPy_GIL_DISABLED for a free-threaded build's facts).
 * Every number comes from offsetof()/sizeof, a header's own macro, or a
 * header's inline accessor applied to a local buffer, so it is what this
 * version's compiler sees. Version #ifs pick field names; the output is plain
 * data. The one exception is PyDictKeysObject on 3.8-3.10: it is defined in
 * Objects/dict-common.h, which CPython does not install; its layout (the same
 * in 3.8, 3.9 and 3.10) is written out below and checked against live memory
 * by tests/test_layout.c (threading._active found in a snapshot). */
#include <Python.h>

#if PY_VERSION_HEX < 0x03090000
#include "pycore_pystate.h"
#else
#include "pycore_interp.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "pycore_dict.h"
#include "pycore_object.h"
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define P(name, v) printf("%s %ld\n", name, (long)(v))

int main(void) {
  printf("version %s\n", PY_VERSION);
  P("minor", PY_MINOR_VERSION);
#ifdef Py_GIL_DISABLED
  P("free_threaded", 1);
#else
  P("free_threaded", 0);
#endif

  /* sys.modules */
#if PY_VERSION_HEX >= 0x030C0000
  P("interp_modules", offsetof(PyInterpreterState, imports.modules));
#else
  P("interp_modules", offsetof(PyInterpreterState, modules));
#endif
  /* PyModuleObject is private to Objects/moduleobject.c; its first member
   * after the header is md_dict in every version. */
  P("module_dict", sizeof(PyObject));

  /* dicts */
  P("dict_keys", offsetof(PyDictObject, ma_keys));
  P("dict_values", offsetof(PyDictObject, ma_values));
#if PY_VERSION_HEX >= 0x030B0000
  P("keys_kind", 2);
  P("dk_size", offsetof(PyDictKeysObject, dk_log2_size));
  P("dk_log2_index_bytes", offsetof(PyDictKeysObject, dk_log2_index_bytes));
  P("dk_kind", offsetof(PyDictKeysObject, dk_kind));
  P("dk_nentries", offsetof(PyDictKeysObject, dk_nentries));
  P("dk_indices", offsetof(PyDictKeysObject, dk_indices));
  P("entry_general", sizeof(PyDictKeyEntry));
  P("entry_unicode", sizeof(PyDictUnicodeEntry));
  P("entry_key", offsetof(PyDictKeyEntry, me_key));
  P("entry_value", offsetof(PyDictKeyEntry, me_value));
  P("uentry_key", offsetof(PyDictUnicodeEntry, me_key));
  P("uentry_value", offsetof(PyDictUnicodeEntry, me_value));
  P("kind_general", DICT_KEYS_GENERAL);
  P("values_values", offsetof(PyDictValues, values));
#else
  /* Objects/dict-common.h (3.8-3.10): Py_ssize_t dk_refcnt, dk_size;
   * dict_lookup_func dk_lookup; Py_ssize_t dk_usable, dk_nentries;
   * char dk_indices[]; entries {Py_hash_t me_hash; PyObject *me_key,
   * *me_value} follow the indices; split values are a PyObject *[]. */
  P("keys_kind", 1);
  P("dk_size", 8);
  P("dk_log2_index_bytes", -1);
  P("dk_kind", -1);
  P("dk_nentries", 32);
  P("dk_indices", 40);
  P("entry_general", 24);
  P("entry_unicode", 24);
  P("entry_key", 8);
  P("entry_value", 16);
  P("uentry_key", 8);
  P("uentry_value", 16);
  P("kind_general", 0);
  P("values_values", 0);
#endif

  /* types */
  P("tp_basicsize", offsetof(PyTypeObject, tp_basicsize));
  P("tp_dictoffset", offsetof(PyTypeObject, tp_dictoffset));
  P("tp_flags", offsetof(PyTypeObject, tp_flags));
  P("ht_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));

  /* where an instance's attributes are */
  {
    /* The accessors may look at the object's type: give it one. */
    static char buf[256] __attribute__((aligned(16)));
    static PyTypeObject fake;
    PyObject *obj = (PyObject *)(buf + 128);
#if PY_VERSION_HEX >= 0x030B0000
    fake.tp_flags = Py_TPFLAGS_MANAGED_DICT;
#if PY_VERSION_HEX >= 0x030D0000
    fake.tp_flags |= Py_TPFLAGS_INLINE_VALUES;
#endif
    Py_SET_TYPE(obj, &fake);
#endif
    (void)obj;
    (void)fake;
#if PY_VERSION_HEX >= 0x030D0000
    P("inst_kind", 4); /* managed dict pointer, else inline values after tp_basicsize */
    P("managed_dict", (char *)_PyObject_ManagedDictPointer(obj) - (char *)obj);
    P("values_tag_delta", 0);
    P("managed_values", 0);
    P("flag_managed_dict", Py_TPFLAGS_MANAGED_DICT);
    P("flag_inline_values", Py_TPFLAGS_INLINE_VALUES);
    P("values_valid", offsetof(PyDictValues, valid));
#elif PY_VERSION_HEX >= 0x030C0000
    P("inst_kind", 3); /* one word: a dict, or a values pointer stored tagged */
    P("managed_dict", (char *)_PyObject_DictOrValuesPointer(obj) - (char *)obj);
    {
      PyDictOrValues dv;
      _PyDictOrValues_SetValues(&dv, (PyDictValues *)(buf + 64));
      P("values_tag_delta", (char *)dv.values - (buf + 64)); /* stored = values + delta */
    }
    P("managed_values", 0);
    P("flag_managed_dict", Py_TPFLAGS_MANAGED_DICT);
    P("flag_inline_values", 0);
    P("values_valid", -1);
#elif PY_VERSION_HEX >= 0x030B0000
    P("inst_kind", 2); /* dict pointer, else values pointer */
    P("managed_dict", (char *)_PyObject_ManagedDictPointer(obj) - (char *)obj);
    P("managed_values", (char *)_PyObject_ValuesPointer(obj) - (char *)obj);
    P("values_tag_delta", 0);
    P("flag_managed_dict", Py_TPFLAGS_MANAGED_DICT);
    P("flag_inline_values", 0);
    P("values_valid", -1);
#else
    P("inst_kind", 1); /* dict at tp_dictoffset */
    P("managed_dict", 0);
    P("values_tag_delta", 0);
    P("managed_values", 0);
    P("flag_managed_dict", 0);
    P("flag_inline_values", 0);
    P("values_valid", -1);
#endif
  }

  /* ints (thread idents are keys of threading._active) */
#if PY_VERSION_HEX >= 0x030C0000
  P("long_tagged", 1);
  P("long_size", offsetof(PyLongObject, long_value.lv_tag));
  P("long_digits", offsetof(PyLongObject, long_value.ob_digit));
#else
  P("long_tagged", 0);
  P("long_size", offsetof(PyVarObject, ob_size));
  P("long_digits", offsetof(PyLongObject, ob_digit));
#endif
  P("long_shift", PyLong_SHIFT);
  P("digit_size", sizeof(digit));
  return 0;
}
