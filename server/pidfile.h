/* pidfile.h -- --pid-file: the running server's PID in a file, for `kill -HUP $(cat FILE)`. */
#ifndef SVCDNS_PIDFILE_H
#define SVCDNS_PIDFILE_H

#include "config.h"

/* Writes "PID\n" to path (replacing it atomically: temp file, rename). Returns 0, or -1
 * with "PATH: REASON" in err. */
int pidfile_write(const char *path, char err[CONFIG_ERROR_MAX]);
/* Removes the file, when it still holds our PID. */
void pidfile_remove(const char *path);

#endif
