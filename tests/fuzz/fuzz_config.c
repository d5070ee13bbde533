/* fuzz_config.c -- libFuzzer target: the YAML config loader on arbitrary files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_input.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0]) {
		log_set_level(LOG_ERROR);
		snprintf(path, sizeof path, "/tmp/svcdns-fuzz-config-%d.yml", (int)getpid());
	}
	if (write_input(path, data, size) < 0)
		return 0;
	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	config_defaults(&cfg);
	if (config_load_file(&cfg, path, err) < 0 && strncmp(err, path, strlen(path)) != 0)
		abort();  /* every error names the file */
	config_finish(&cfg);
	config_free(&cfg);
	unlink(path);
	return 0;
}
