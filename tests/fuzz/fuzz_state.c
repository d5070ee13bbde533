/* fuzz_state.c -- libFuzzer target: the state journal loader on arbitrary files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "log.h"
#include "state.h"

static size_t records;

static int on_put(void *arg, const struct instance_spec *spec, const char *key_name)
{
	(void)arg;
	if (!spec || !key_name || strlen(spec->service) > DNAME_MAX_LABEL)
		abort();
	records++;
	return 0;
}

static int on_renew(void *arg, const char *service, const char *instance, int64_t expires)
{
	(void)arg; (void)service; (void)instance; (void)expires;
	records++;
	return 0;
}

static int on_remove(void *arg, const char *service, const char *instance)
{
	(void)arg; (void)service; (void)instance;
	records++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (!path[0]) {
		log_set_level(LOG_ERROR);
		snprintf(path, sizeof path, "/tmp/svcdns-fuzz-state-%d", (int)getpid());
	}
	if (write_input(path, data, size) < 0)
		return 0;
	struct state_replay_ops ops = { on_put, on_renew, on_remove, NULL, NULL };
	char err[STATE_ERROR_MAX];
	struct state *st = state_open(path, &ops, err);
	if (st)
		state_close(st);
	unlink(path);
	return 0;
}
