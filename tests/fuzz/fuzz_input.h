/* fuzz_input.h -- for fuzz targets whose code under test reads a file. */
#ifndef SVCDNS_FUZZ_INPUT_H
#define SVCDNS_FUZZ_INPUT_H

#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

/* Writes the fuzzer's input to path, replacing what was there; 0, or -1 on failure. */
static inline int write_input(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	int rc = write(fd, data, size) == (ssize_t)size ? 0 : -1;
	close(fd);
	return rc;
}

#endif
