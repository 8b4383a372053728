/* The live-process mem_reader backend: process_vm_readv(2), with
 * /proc/PID/mem as a fallback where that syscall is unavailable. */
#ifndef PYPROF_PROC_PROC_MEM_H
#define PYPROF_PROC_PROC_MEM_H

#include <stdint.h>
#include <sys/types.h>

#include "pyprof/proc/reader.h"

struct proc_mem;

/* Open a reader for pid. Does not check access; the first read reports
 * PP_EPERM / PP_ENOPROC. *out is owned by the caller (proc_mem_close). */
int proc_mem_open(struct proc_mem **out, pid_t pid);
void proc_mem_close(struct proc_mem *pm);
/* A reader over pm; pm must outlive it. */
void proc_mem_reader(struct proc_mem *pm, struct mem_reader *out);
/* Syscalls issued so far (the bench reports reads per sample). */
uint64_t proc_mem_syscalls(const struct proc_mem *pm);

#endif
