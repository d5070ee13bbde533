/* fuzz_reg_proto.c -- libFuzzer target: registration lines (split like a datagram)
 * through the parser and executor, then a consistency check of the registry. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "reg_proto.h"
#include "registrar.h"

static struct config cfg;
static struct registry reg;
static struct registrar registrar;
static struct sockaddr_in source;

static void setup(void)
{
	char err[512];
	log_set_level(LOG_ERROR);
	config_defaults(&cfg);
	cfg.max_instances = 5000;
	config_finish(&cfg);
	registry_init(&reg, 1);
	registrar_init(&registrar, &reg, &cfg, err);
	source.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &source.sin_addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		setup();
		ready = 1;
	}
	struct evbuffer *out = evbuffer_new();
	const char *p = (const char *)data, *end = p + size;
	registrar_tick(&registrar);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		reg_proto_execute(&registrar, p, len, (struct sockaddr *)&source, REG_UDP, out);
		p += len + (nl ? 1 : 0);
	}
	/* Every request gets a reply line, and the books balance. */
	if (size && evbuffer_get_length(out) == 0)
		abort();
	if (registrar.leases.count > reg.instance_count)
		abort();
	evbuffer_free(out);
	registrar.now_ms += 700;  /* let leases run out over the run */
	registrar_expire(&registrar, 100);
	return 0;
}
