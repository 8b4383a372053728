#include "pyprof/common/error.h"

#include <errno.h>

const char *pp_strerror(int err) {
  switch (err) {
  case PP_OK:
    return "success";
#define PP_ERR_MSG_(name, msg)                                                  \
  case PP_E##name:                                                              \
    return msg;
    PP_ERRNO_MAP(PP_ERR_MSG_)
#undef PP_ERR_MSG_
  default:
    return "unknown error";
  }
}

const char *pp_errname(int err) {
  switch (err) {
  case PP_OK:
    return "PP_OK";
#define PP_ERR_NAME_(name, msg)                                                 \
  case PP_E##name:                                                              \
    return "PP_E" #name;
    PP_ERRNO_MAP(PP_ERR_NAME_)
#undef PP_ERR_NAME_
  default:
    return "PP_E?";
  }
}

int pp_from_errno(int errnum) {
  switch (errnum) {
  case 0:
    return PP_OK;
  case ENOMEM:
    return PP_ENOMEM;
  case EINVAL:
    return PP_EINVAL;
  case ENOSPC:
  case EDQUOT:
    return PP_ENOSPC;
  case EFBIG:
    return PP_EFBIG;
  case ESRCH:
    return PP_ENOPROC;
  case EPERM:
  case EACCES:
    return PP_EPERM;
  case EFAULT:
    return PP_EFAULT;
  case ENOENT:
    return PP_ENOTFOUND;
  default:
    return PP_EIO;
  }
}
