/* fuzz_zone.c -- libFuzzer target: the zone-file loader (ldns) on arbitrary files,
 * then a few lookups in what loaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dname.h"
#include "fuzz_input.h"
#include "log.h"
#include "zones.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[80];
	static uint8_t domain[DNAME_MAX_WIRE];
	if (!path[0]) {
		log_set_level(LOG_ERROR);
		snprintf(path, sizeof path, "/tmp/svcdns-fuzz-zone-%d/example.test.zone", (int)getpid());
		char dir[80];
		snprintf(dir, sizeof dir, "/tmp/svcdns-fuzz-zone-%d", (int)getpid());
		mkdir(dir, 0700);
		dname_from_text("svc.internal", domain);
	}
	if (write_input(path, data, size) < 0)
		return 0;
	struct zone_set zs;
	char err[ZONES_ERROR_MAX];
	memset(&zs, 0, sizeof zs);
	if (zones_load_file(&zs, path, domain, err) == 0) {
		uint8_t name[DNAME_MAX_WIRE];
		size_t len = dname_from_text("www.example.test", name);
		const struct zone *z = zones_find(&zs, name, len);
		if (z && zone_find_node(z, z->apex, z->apex_len) == NULL)
			abort();  /* a loaded zone always has its apex */
	}
	zones_free(&zs);
	unlink(path);
	return 0;
}
