#!/usr/bin/env python3
"""Regenerate src/python/layout_dbg_tables.c: the description of each CPython
minor's _Py_DebugOffsets (3.13+), from that version's own headers.

_Py_DebugOffsets is a struct of named sub-structs of uint64_t fields. pyprof
locates a value by section and field name, so it needs each minor's sections
and fields in declaration order, plus a few facts the struct does not carry
(frame owner values, the _PyStackRef tag bits, the str state bit-field
layout, where datastack_top lies). This script

  1. parses the struct out of the header that defines it
     (internal/pycore_runtime.h on 3.13, internal/pycore_debug_offsets.h on
     3.14+), and
  2. compiles a probe against the same headers (-DPy_BUILD_CORE) that checks
     every parsed field's position with offsetof() and prints the facts,
     twice: for the default build and with -DPy_GIL_DISABLED for the
     free-threaded one (same headers, other object and str layouts; the
     struct itself is the same, its FT-only fields are 0 in a default build),

then writes the C tables. Nothing is typed by hand: a new minor is one more
include directory on the command line.

Usage:
  tools/gen-dbg-offsets.py                  the chroot of tools/provision-chroot.sh,
                                            its /usr/include/python3.{13,14,15}
  tools/gen-dbg-offsets.py --chroot ROOT INC...   include dirs inside ROOT
  tools/gen-dbg-offsets.py INC...           include dirs on this machine (cc)
  --check                                   compare with the committed file, exit 1 if it differs
"""
import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import probe_run  # noqa: E402
REPO = os.path.dirname(HERE)
OUT = os.path.join(REPO, "src", "python", "layout_dbg_tables.c")


def parse_struct(text):
    """[(section, [fields])] of typedef struct _Py_DebugOffsets, in order;
    the header fields (cookie, version, free_threaded) are left out."""
    m = re.search(r"typedef\s+struct\s+_Py_DebugOffsets\s*\{(.*?)\}\s*_Py_DebugOffsets\s*;", text, re.S)
    if not m:
        raise SystemExit("gen-dbg-offsets: no typedef struct _Py_DebugOffsets in the header")
    body = re.sub(r"//[^\n]*|/\*.*?\*/", "", m.group(1), flags=re.S)
    sections = []
    pos = 0
    head = re.compile(r"\s*char\s+cookie\s*\[\s*8\s*\][^;]*;\s*uint64_t\s+version\s*;\s*uint64_t\s+free_threaded\s*;")
    hm = head.match(body)
    if not hm:
        raise SystemExit("gen-dbg-offsets: _Py_DebugOffsets does not start with cookie, version, free_threaded")
    pos = hm.end()
    sec = re.compile(r"\s*struct\s*(\w*)\s*\{([^{}]*)\}\s*(\w+)\s*;")
    while True:
        rest = body[pos:]
        if not rest.strip():
            break
        sm = sec.match(body, pos)
        if not sm:
            raise SystemExit("gen-dbg-offsets: cannot parse _Py_DebugOffsets near: %r" % rest.strip()[:80])
        fields = []
        for decl in sm.group(2).split(";"):
            decl = decl.strip()
            if not decl:
                continue
            fm = re.fullmatch(r"uint64_t\s+(\w+)", decl)
            if not fm:
                raise SystemExit("gen-dbg-offsets: %s: not a uint64_t field: %r" % (sm.group(3), decl))
            fields.append(fm.group(1))
        sections.append((sm.group(3), fields))
        pos = sm.end()
    return sections


PROBE_HEAD = r"""
#define Py_BUILD_CORE 1
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "Python.h"
#include "internal/pycore_runtime.h"
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_debug_offsets.h"
#include "internal/pycore_stackref.h"
#endif
#include "internal/pycore_frame.h"

static int low_bit(unsigned v) { int i = 0; while (v && !(v & 1u)) { v >>= 1; i++; } return v ? i : -1; }

static unsigned state_word(const PyASCIIObject *a) {
  unsigned w;
  memcpy(&w, (const char *)a + offsetof(PyASCIIObject, state), sizeof w);
  return w;
}

int main(void) {
  PyASCIIObject a;
  printf("version %s\n", PY_VERSION);
  memset(&a, 0, sizeof a); a.state.kind = 1; printf("kind_shift %d\n", low_bit(state_word(&a)));
  memset(&a, 0, sizeof a); a.state.compact = 1; printf("compact_shift %d\n", low_bit(state_word(&a)));
  memset(&a, 0, sizeof a); a.state.ascii = 1; printf("ascii_shift %d\n", low_bit(state_word(&a)));
  printf("compact_extra %d\n", (int)(sizeof(PyCompactUnicodeObject) - sizeof(PyASCIIObject)));
  printf("datastack_top_delta %d\n",
         (int)(offsetof(PyThreadState, datastack_top) - offsetof(PyThreadState, datastack_chunk)));
#if PY_VERSION_HEX >= 0x030E0000
  printf("code_tag_mask %d\n", (int)Py_TAG_BITS);
#else
  printf("code_tag_mask 0\n");
#endif
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030E0000
  /* thread-local bytecode: frame->tlbc_index selects co_tlbc->entries[i] */
  printf("codearray_entries %d\n", (int)offsetof(_PyCodeArray, entries));
#else
  printf("codearray_entries 0\n");
#endif
"""

# Frame owners whose frames are not Python code (shims on the C stack, the
# interpreter's base frame) and the one of generator frames: masks of the
# enumerators the version's enum _frameowner has.
SKIP_OWNERS = ("FRAME_OWNED_BY_CSTACK", "FRAME_OWNED_BY_INTERPRETER")
GEN_OWNERS = ("FRAME_OWNED_BY_GENERATOR",)
# The frame a thread's chain ends at: the thread's base frame, owned by the
# interpreter (3.14+), else the entry shim _PyEval_EvalFrameDefault puts on
# the C stack (3.13), whose previous is NULL for a thread's first call.
END_OWNERS = ("FRAME_OWNED_BY_INTERPRETER", "FRAME_OWNED_BY_CSTACK")


def probe_source(sections, owners):
    lines = [PROBE_HEAD]
    skip = " | ".join("(1u << %s)" % o for o in SKIP_OWNERS if o in owners) or "0u"
    gen = " | ".join("(1u << %s)" % o for o in GEN_OWNERS if o in owners) or "0u"
    lines.append('  printf("owner_skip_mask %%u\\n", %s);' % skip)
    lines.append('  printf("owner_gen_mask %%u\\n", %s);' % gen)
    end = next(("(1u << %s)" % o for o in END_OWNERS if o in owners), "0u")
    lines.append('  printf("owner_end_mask %%u\\n", %s);' % end)
    slot = 0
    for name, fields in sections:
        for f in fields:
            # the parsed position must be where the compiler puts the field
            lines.append('  if (offsetof(_Py_DebugOffsets, %s.%s) != %d) { printf("bad %s.%s\\n"); return 1; }'
                         % (name, f, 24 + 8 * slot, name, f))
            slot += 1
    lines.append('  if (sizeof(_Py_DebugOffsets) != %d) { printf("bad size\\n"); return 1; }' % (24 + 8 * slot))
    lines.append("  return 0;\n}\n")
    return "\n".join(lines)


def header_of(inc, read):
    for h in ("internal/pycore_debug_offsets.h", "internal/pycore_runtime.h"):
        text = read(os.path.join(inc, h))
        if text is not None and "typedef struct _Py_DebugOffsets" in text:
            return h, text
    raise SystemExit("gen-dbg-offsets: no _Py_DebugOffsets in %s/internal" % inc)


def describe(inc, chroot):
    def read(path):
        full = os.path.join(chroot, path.lstrip("/")) if chroot else path
        try:
            with open(full) as f:
                return f.read()
        except OSError:
            return None
    hname, text = header_of(inc, read)
    sections = parse_struct(text)
    owners = set()
    for h in ("internal/pycore_interpframe_structs.h", "internal/pycore_frame.h"):
        t = read(os.path.join(inc, h)) or ""
        m = re.search(r"enum\s+_frameowner\s*\{([^}]*)\}", t)
        if m:
            owners = set(re.findall(r"\b(FRAME_OWNED_BY_\w+)", m.group(1)))
            break
    if "FRAME_OWNED_BY_GENERATOR" not in owners:
        raise SystemExit("gen-dbg-offsets: no enum _frameowner with FRAME_OWNED_BY_GENERATOR under %s" % inc)
    src = probe_source(sections, owners)
    outs = [run_probe(src, inc, chroot, hname, extra) for extra in ([], ["-DPy_GIL_DISABLED=1"])]
    variants = []
    for out in outs:
        facts = dict(line.split(" ", 1) for line in out.strip().splitlines())
        ver = facts.pop("version")
        variants.append({k: int(v) for k, v in facts.items()})
    minor = int(ver.split(".")[1])
    return {"minor": minor, "version": ver, "header": os.path.join(inc, hname), "sections": sections,
            "facts": variants}


def run_probe(src, inc, chroot, hname, extra):
    """Compile and run the probe against inc with extra cc flags; its output."""
    try:
        return probe_run.run_probe(src, inc, chroot, extra)
    except probe_run.ProbeError as e:
        kind = " ".join(extra) or "default build"
        if not e.compiled:
            raise SystemExit("gen-dbg-offsets: the probe (%s) does not compile against %s:\n%s"
                             % (kind, inc, e.detail))
        raise SystemExit("gen-dbg-offsets: %s: the parse of %s disagrees with the compiler (%s): %s"
                         % (inc, hname, kind, e.detail))


def c_text(descs):
    out = ["/* generated by tools/gen-dbg-offsets.py — do not edit.",
           " *",
           " * The _Py_DebugOffsets of each CPython minor, as data: sections and their",
           " * uint64 fields in declaration order, parsed from the header that defines",
           " * the struct and checked field by field with offsetof() by a probe compiled",
           " * against the same headers, which also printed the facts below:"]
    for d in descs:
        out.append(" *   3.%d: %s (%s)" % (d["minor"], d["header"], d["version"]))
    out += [" */", '#include "layout_dbg.h"', ""]
    for d in descs:
        for name, fields in d["sections"]:
            out.append("static const char *const f3%d_%s[] = {%s};" % (
                d["minor"], name, ", ".join('"%s"' % f for f in fields)))
        out.append("static const struct dbg_section s3%d[] = {" % d["minor"])
        for name, fields in d["sections"]:
            out.append('    {"%s", f3%d_%s, %d},' % (name, d["minor"], name, len(fields)))
        out.append("};")
        out.append("")
    out.append("const struct dbg_desc py_dbg_descs[] = {")
    for d in descs:
        out += ["    {.minor = %d," % d["minor"],
                '     .source = "_Py_DebugOffsets in the target (3.%d description)",' % d["minor"],
                "     .sections = s3%d," % d["minor"],
                "     .nsections = %d," % len(d["sections"]),
                "     .facts = {"]
        for label, f in zip(("default build", "free-threaded build"), d["facts"]):
            out += ["         /* %s */" % label,
                    "         {.kind_shift = %d," % f["kind_shift"],
                    "          .compact_shift = %d," % f["compact_shift"],
                    "          .ascii_shift = %d," % f["ascii_shift"],
                    "          .compact_extra = %d," % f["compact_extra"],
                    "          .datastack_top_delta = %d," % f["datastack_top_delta"],
                    "          .owner_skip_mask = 0x%xu," % f["owner_skip_mask"],
                    "          .owner_gen_mask = 0x%xu," % f["owner_gen_mask"],
                    "          .owner_end_mask = 0x%xu," % f["owner_end_mask"],
                    "          .code_tag_mask = %d," % f["code_tag_mask"],
                    "          .codearray_entries = %d}," % f["codearray_entries"]]
        out += ["     }},"]
    out.append("};")
    out.append("const size_t py_dbg_desc_count = sizeof py_dbg_descs / sizeof py_dbg_descs[0];")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chroot")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("include", nargs="*")
    a = ap.parse_args()
    chroot, incs = a.chroot, a.include
    if not incs:
        chroot = probe_run.chroot_root("gen-dbg-offsets", HERE)
        incs = ["/usr/include/python3.%d" % m for m in (13, 14, 15)]
    descs = sorted((describe(i, chroot) for i in incs), key=lambda d: d["minor"])
    return probe_run.write_or_check("gen-dbg-offsets", OUT, c_text(descs), a.check,
                                    ", ".join("3.%d" % d["minor"] for d in descs))


if __name__ == "__main__":
    sys.exit(main())
