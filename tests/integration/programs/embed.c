/* A C program that embeds CPython (links libpython3.X.so) and runs the
 * Python file named by argv[1] with the rest of argv as sys.argv: built by
 * the integration suite (test_integration.Embedded) inside the sid chroot
 * against libpython3.15-dev, profiled from outside like python3.15. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE.py [ARGS...]\n", argv[0]);
    return 2;
  }
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  PyStatus st = PyConfig_SetBytesArgv(&config, argc - 1, argv + 1);
  if (PyStatus_Exception(st))
    goto fail;
  st = Py_InitializeFromConfig(&config);
  if (PyStatus_Exception(st))
    goto fail;
  PyConfig_Clear(&config);
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  int rc = PyRun_SimpleFileExFlags(f, argv[1], 1, NULL);
  return Py_FinalizeEx() < 0 || rc != 0 ? 1 : 0;
fail:
  PyConfig_Clear(&config);
  Py_ExitStatusException(st);
}
