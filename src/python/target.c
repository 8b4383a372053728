#include "pyprof/python/target.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyprof/common/error.h"
#include "pyprof/elf/elf_file.h"
#include "pyprof/proc/proc_info.h"

/* Newest minor whose layout we can take from _Py_DebugOffsets; see layout.c. */
static const char supported_text[] = "3.8-3.15";

const char *py_target_supported(void) { return supported_text; }

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Files worth checking for _PyRuntime: the executable, then libpython*. */
static int is_candidate(const char *path, const char *exe) {
  if (path[0] != '/')
    return 0;
  if (exe[0] && strcmp(path, exe) == 0)
    return 1;
  return strncmp(base_name(path), "libpython", 9) == 0;
}

/* Version from a file name: python3.11, libpython3.11.so.1.0, python3.11d. */
static int version_from_name(const char *path, int *minor) {
  const char *b = base_name(path);
  const char *p = strstr(b, "python3.");
  if (!p)
    return 0;
  p += 8;
  int m = 0, digits = 0;
  while (*p >= '0' && *p <= '9' && digits < 3) {
    m = m * 10 + (*p++ - '0');
    digits++;
  }
  if (!digits)
    return 0;
  *minor = m;
  return 1;
}

struct candidate {
  const char *path;  /* borrowed from the maps */
  uint64_t bias;
};

static int load_bias(const struct proc_maps *maps, const char *path, struct elf_file *ef,
                     uint64_t *bias) {
  uint64_t vaddr, off;
  int rc = elf_file_first_load(ef, &vaddr, &off);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < maps->n; i++) {
    if (maps->v[i].offset == off && strcmp(maps->v[i].path, path) == 0) {
      *bias = maps->v[i].start - vaddr;
      return 0;
    }
  }
  return PP_ENOTFOUND;
}

static int detect_version(const struct mem_reader *r, struct elf_file *ef, uint64_t bias,
                          const char *path, struct py_target *t) {
  uint64_t val, size;
  /* 3.11+: const unsigned long Py_Version = PY_VERSION_HEX. */
  if (elf_file_symbol(ef, "Py_Version", &val, &size) == 0) {
    uint32_t hex;
    if (mem_read_u32(r, val + bias, &hex) == 0 && (hex >> 24) == 3) {
      t->major = 3;
      t->minor = (hex >> 16) & 0xff;
      t->micro = (hex >> 8) & 0xff;
      snprintf(t->version_source, sizeof t->version_source, "Py_Version");
      return 0;
    }
  }
  int name_minor = -1;
  if (!version_from_name(path, &name_minor))
    name_minor = -1;
  if (elf_file_python_version(ef, name_minor, &t->major, &t->minor, &t->micro) == 0) {
    snprintf(t->version_source, sizeof t->version_source, "version string");
    return 0;
  }
  if (name_minor >= 0) {
    t->major = 3;
    t->minor = name_minor;
    t->micro = 0;
    snprintf(t->version_source, sizeof t->version_source, "file name");
    return 0;
  }
  return PP_ENOTFOUND;
}

static int choose_layout(const struct mem_reader *r, struct py_target *t, char *why,
                         size_t whylen) {
  unsigned char dbg[PY_DEBUG_OFFSETS_READ];
  /* The first remote read: this is where a missing permission shows. */
  int rrc = mem_read(r, t->runtime_addr, dbg, sizeof dbg);
  if (rrc == PP_EPERM || rrc == PP_EEXITED || rrc == PP_ENOPROC) {
    snprintf(why, whylen, "cannot read the memory of PID %d", (int)t->pid);
    return rrc;
  }
  if (rrc < 0) {
    /* Just after exec the loader may not have mapped the data segment yet. */
    snprintf(why, whylen, "_PyRuntime of PID %d is not readable yet", (int)t->pid);
    return PP_ENOTREADY;
  }
  /* 3.13+: the layout is in the target itself. */
  if (rrc == 0 && memcmp(dbg, "xdebugpy", 8) == 0) {
    char reason[256] = "";
    int rc = layout_from_debug_offsets(dbg, sizeof dbg, &t->layout, reason, sizeof reason);
    if (rc < 0) {
      snprintf(why, whylen, "Python %d.%d.%d: %s", t->major, t->minor, t->micro,
               reason[0] ? reason : pp_strerror(rc));
      return rc;
    }
    t->major = t->layout.major;
    t->minor = t->layout.minor;
    t->micro = t->layout.micro;
    snprintf(t->version_source, sizeof t->version_source, "_Py_DebugOffsets");
    if (reason[0])
      snprintf(t->warning, sizeof t->warning, "%s", reason);
    return 0;
  }
  if (t->major == 3 && t->minor >= 13) {
    /* 3.13+ always carry _Py_DebugOffsets: not seeing the cookie means the
     * loader has not finished mapping the library yet (launch mode polls
     * again), or the memory is not what it claims to be. */
    snprintf(why, whylen,
             "found Python %d.%d.%d in %s but no _Py_DebugOffsets at its _PyRuntime (still "
             "loading, or not a CPython runtime)",
             t->major, t->minor, t->micro, t->runtime_path);
    return PP_ENOTREADY;
  }
  const struct py_layout *L = layout_builtin(t->major, t->minor);
  if (!L) {
    snprintf(why, whylen,
             "found Python %d.%d.%d in %s (version from %s); pyprof supports CPython %s",
             t->major, t->minor, t->micro, t->runtime_path, t->version_source,
             py_target_supported());
    return PP_EUNSUPPORTED;
  }
  t->layout = *L;
  t->layout.micro = (uint8_t)t->micro;
  if (t->layout.free_threaded) {
    snprintf(why, whylen, "Python %d.%d is a free-threaded build, not supported yet", t->major,
             t->minor);
    return PP_EUNSUPPORTED;
  }
  return 0;
}

int py_target_locate(pid_t pid, const struct mem_reader *r, struct py_target *out, char *why,
                     size_t whylen) {
  struct proc_maps maps = {0};
  struct elf_file *ef = NULL; /* owned: the file being examined */
  char exe[PATH_MAX] = "";
  char linkpath[64];
  int rc;

  memset(out, 0, sizeof *out);
  out->pid = pid;
  why[0] = 0;
  rc = proc_maps_read(pid, &maps);
  if (rc < 0) {
    if (rc == PP_ENOPROC)
      snprintf(why, whylen, "no process with PID %d", (int)pid);
    else if (rc == PP_EPERM)
      snprintf(why, whylen, "cannot read /proc/%d/maps", (int)pid);
    goto out;
  }
  snprintf(linkpath, sizeof linkpath, "/proc/%d/exe", (int)pid);
  ssize_t n = readlink(linkpath, exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;

  rc = PP_ENOTPYTHON;
  const char *seen_prev = NULL;
  for (size_t i = 0; i < maps.n; i++) {
    const char *path = maps.v[i].path;
    if (!is_candidate(path, exe) || (seen_prev && strcmp(seen_prev, path) == 0))
      continue;
    seen_prev = path;
    char local[PATH_MAX + 32];
    proc_path_in_root(pid, path, local, sizeof local);
    elf_file_close(ef);
    ef = NULL;
    if (elf_file_open(local, &ef) < 0)
      continue;
    uint64_t val, size, bias;
    if (elf_file_symbol(ef, "_PyRuntime", &val, &size) < 0)
      continue;
    if (load_bias(&maps, path, ef, &bias) < 0)
      continue;
    out->runtime_addr = val + bias;
    snprintf(out->runtime_path, sizeof out->runtime_path, "%s", path);
    if (elf_file_symbol(ef, "PyCode_Type", &val, &size) == 0)
      out->code_type_addr = val + bias;
    if (detect_version(r, ef, bias, path, out) < 0) {
      /* 3.13+ need no outside version: the debug offsets carry it. */
      out->major = 3;
      snprintf(out->version_source, sizeof out->version_source, "unknown");
    }
    rc = choose_layout(r, out, why, whylen);
    goto out;
  }
  snprintf(why, whylen,
           "PID %d (%s) is not a Python process: no _PyRuntime symbol in the executable or a "
           "loaded libpython",
           (int)pid, exe[0] ? exe : "executable unknown");
out:
  elf_file_close(ef);
  proc_maps_free(&maps);
  return rc;
}
