/* pidfile.c -- --pid-file: written once the server serves, removed at a clean exit. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidfile.h"

int pidfile_write(const char *path, char err[CONFIG_ERROR_MAX])
{
	char tmp[PATH_MAX], text[32];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		snprintf(err, CONFIG_ERROR_MAX, "%s: path too long", path);
		return -1;
	}
	int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	int written = write(fd, text, (size_t)len) == len;
	int saved = errno;
	if (close(fd) < 0 && written) {
		written = 0;
		saved = errno;
	}
	if (!written) {
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, CONFIG_ERROR_MAX, "%s: cannot write: %s", path, strerror(errno));
	return -1;
}

void pidfile_remove(const char *path)
{
	char text[32] = "";
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	int ours = fgets(text, sizeof text, f) && strtol(text, NULL, 10) == (long)getpid();
	fclose(f);
	if (ours)
		unlink(path);
}
