/* Subcommands of the pyprof executable. Each parses its own argv (argv[0] is
 * the subcommand name) and returns the process exit status. */
#ifndef PYPROF_CLI_COMMANDS_H
#define PYPROF_CLI_COMMANDS_H

int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
