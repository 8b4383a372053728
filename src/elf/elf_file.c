#include "pyprof/elf/elf_file.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyprof/common/error.h"

struct elf_file {
  int fd;     /* owned */
  Elf *elf;   /* owned */
};

int elf_file_open(const char *path, struct elf_file **out) {
  int rc = 0;
  struct elf_file *f = calloc(1, sizeof *f); /* owned until handed to *out */
  if (!f)
    return PP_ENOMEM;
  f->fd = -1;
  if (elf_version(EV_CURRENT) == EV_NONE) {
    rc = PP_EELF;
    goto out;
  }
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) {
    rc = errno == ENOENT ? PP_ENOTFOUND : pp_from_errno(errno);
    goto out;
  }
  f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
  if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
    rc = PP_EELF;
    goto out;
  }
  *out = f;
  f = NULL;
out:
  elf_file_close(f);
  return rc;
}

void elf_file_close(struct elf_file *f) {
  if (!f)
    return;
  if (f->elf)
    elf_end(f->elf);
  if (f->fd >= 0)
    close(f->fd);
  free(f);
}

static int find_in_table(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, const char *name,
                         uint64_t *value, uint64_t *size) {
  Elf_Data *data = elf_getdata(scn, NULL);
  if (!data || sh->sh_entsize == 0)
    return PP_ENOTFOUND;
  size_t count = sh->sh_size / sh->sh_entsize;
  for (size_t i = 0; i < count; i++) {
    GElf_Sym sym;
    if (!gelf_getsym(data, (int)i, &sym))
      break;
    if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0)
      continue;
    const char *nm = elf_strptr(elf, sh->sh_link, sym.st_name);
    if (nm && strcmp(nm, name) == 0) {
      *value = sym.st_value;
      *size = sym.st_size;
      return 0;
    }
  }
  return PP_ENOTFOUND;
}

int elf_file_symbol(struct elf_file *f, const char *name, uint64_t *value, uint64_t *size) {
  static const Elf64_Word order[2] = {SHT_DYNSYM, SHT_SYMTAB};
  for (int pass = 0; pass < 2; pass++) {
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(f->elf, scn)) != NULL) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != order[pass])
        continue;
      if (find_in_table(f->elf, scn, &sh, name, value, size) == 0)
        return 0;
    }
  }
  return PP_ENOTFOUND;
}

int elf_file_first_load(struct elf_file *f, uint64_t *load_vaddr, uint64_t *load_offset) {
  size_t phnum;
  if (elf_getphdrnum(f->elf, &phnum) != 0)
    return PP_EELF;
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
      continue;
    uint64_t align = ph.p_align > 1 ? ph.p_align : 4096;
    if (align > 4096)
      align = 4096; /* the kernel maps at page granularity */
    *load_vaddr = ph.p_vaddr & ~(align - 1);
    *load_offset = ph.p_offset & ~(align - 1);
    return 0;
  }
  return PP_EELF;
}

static int parse_version(const char *s, size_t n, int *minor, int *micro) {
  /* "3.<minor>.<micro>" then NUL or a release-level letter or '+'. */
  if (n < 5 || s[0] != '3' || s[1] != '.')
    return 0;
  size_t i = 2;
  int mi = 0, mc = 0, digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 3) {
    mi = mi * 10 + (s[i++] - '0');
    digits++;
  }
  if (!digits || i >= n || s[i++] != '.')
    return 0;
  digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 3) {
    mc = mc * 10 + (s[i++] - '0');
    digits++;
  }
  if (!digits || i >= n)
    return 0;
  if (s[i] != 0 && s[i] != '+' && s[i] != 'a' && s[i] != 'b' && s[i] != 'r')
    return 0;
  /* Everything up to the NUL must be a short release tag, e.g. "rc1". */
  size_t j = i;
  while (j < n && s[j] != 0 && j - i < 6)
    j++;
  if (j >= n || s[j] != 0)
    return 0;
  *minor = mi;
  *micro = mc;
  return 1;
}

int elf_file_python_version(struct elf_file *f, int want_minor, int *major, int *minor,
                            int *micro) {
  size_t shstrndx;
  if (elf_getshdrstrndx(f->elf, &shstrndx) != 0)
    return PP_EELF;
  Elf_Scn *scn = NULL;
  while ((scn = elf_nextscn(f->elf, scn)) != NULL) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
      continue;
    const char *nm = elf_strptr(f->elf, shstrndx, sh.sh_name);
    if (!nm || strcmp(nm, ".rodata") != 0)
      continue;
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || !data->d_buf)
      continue;
    const char *p = data->d_buf;
    size_t n = data->d_size;
    for (size_t i = 0; i + 6 < n; i++) {
      /* The linker may merge PY_VERSION into the tail of a longer string
       * (".../versions/3.8.18"), so only a digit or dot before it rules a
       * match out. */
      if (p[i] != '3' || (i > 0 && ((p[i - 1] >= '0' && p[i - 1] <= '9') || p[i - 1] == '.')))
        continue;
      if (parse_version(p + i, n - i, minor, micro) && *minor >= 6 && *minor <= 40 &&
          (want_minor < 0 || *minor == want_minor)) {
        *major = 3;
        return 0;
      }
    }
  }
  return PP_ENOTFOUND;
}
