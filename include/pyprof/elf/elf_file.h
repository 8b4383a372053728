/* Symbols and layout of an ELF file on disk (the python executable or
 * libpython), through libelf. */
#ifndef PYPROF_ELF_ELF_FILE_H
#define PYPROF_ELF_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>

struct elf_file;

/* Open path. PP_ENOTFOUND / PP_EPERM / PP_EELF (not an ELF file). The caller
 * owns *out and releases it with elf_file_close. */
int elf_file_open(const char *path, struct elf_file **out);
void elf_file_close(struct elf_file *f);
/* Look name up in .dynsym, then .symtab. *value is the link-time address
 * (add the load bias for the runtime address). PP_ENOTFOUND if absent. */
int elf_file_symbol(struct elf_file *f, const char *name, uint64_t *value, uint64_t *size);
/* Link-time address and file offset of the first PT_LOAD segment, both page
 * aligned: a mapping of file offset load_offset at address A gives the load
 * bias A - load_vaddr. */
int elf_file_first_load(struct elf_file *f, uint64_t *load_vaddr, uint64_t *load_offset);
/* Search .rodata for PY_VERSION: "3.<minor>.<micro>" followed by NUL or a
 * release tag ("+", "a1", "rc2"), not preceded by a digit or dot. want_minor
 * (-1: any) rejects other strings that look alike (library versions). 0 and
 * the numbers, or PP_ENOTFOUND. */
int elf_file_python_version(struct elf_file *f, int want_minor, int *major, int *minor,
                            int *micro);

#endif
