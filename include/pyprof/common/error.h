/* The project's one error enum. Functions return 0 on success or a negative
 * PP_E* code; pp_strerror() gives the message, from the single table below. */
#ifndef PYPROF_COMMON_ERROR_H
#define PYPROF_COMMON_ERROR_H

#define PP_ERRNO_MAP(XX)                                                        \
  XX(NOMEM, "out of memory")                                                    \
  XX(INVAL, "invalid argument")                                                 \
  XX(IO, "input/output error")                                                  \
  XX(NOSPC, "no space left on the output device")                               \
  XX(FBIG, "output file size limit exceeded")                                   \
  XX(NOPROC, "no such process")                                                 \
  XX(PERM, "permission denied")                                                 \
  XX(EXITED, "target process has exited")                                       \
  XX(NOTPYTHON, "not a Python process")                                         \
  XX(UNSUPPORTED, "Python version not supported")                               \
  XX(NOTREADY, "Python interpreter not initialised yet")                        \
  XX(FAULT, "remote address not readable")                                      \
  XX(LAYOUT, "target memory does not match the interpreter layout")            \
  XX(TORN, "stack changed while it was read")                                   \
  XX(BOUNDS, "value out of bounds")                                             \
  XX(CYCLE, "cycle detected in a remote linked structure")                      \
  XX(ELF, "cannot read ELF file")                                               \
  XX(NOTFOUND, "not found")                                                     \
  XX(FORMAT, "not a pyprof record file")                                        \
  XX(VERSION, "unsupported record file format version")                         \
  XX(TRUNCATED, "record file is truncated")                                     \
  XX(CORRUPT, "record file is corrupt")

enum pp_error {
  PP_OK = 0,
  PP_ERROR_BASE_ = -1000,
#define PP_ERR_ENUM_(name, msg) PP_E##name,
  PP_ERRNO_MAP(PP_ERR_ENUM_)
#undef PP_ERR_ENUM_
  PP_ERROR_END_
};

/* Message for a PP_E* code (or 0). Never NULL. */
const char *pp_strerror(int err);
/* Symbolic name, e.g. "PP_EPERM". Never NULL. */
const char *pp_errname(int err);
/* Map an errno value (positive) to the closest PP_E* code. */
int pp_from_errno(int errnum);

#endif
