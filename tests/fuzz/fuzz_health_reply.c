/* fuzz_health_reply.c -- libFuzzer target: the HTTP status-line and gRPC reply parsers
 * of the health probes, fed the bytes a backend could send, and the check= URL parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health_codec.h"
#include "health_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t code;
	struct grpc_reply r;
	/* Every prefix, as the probe sees a reply arrive in pieces. */
	for (size_t n = size > 64 ? size - 64 : 0; n <= size; n++) {
		http_status_parse(data, n, &code);
		grpc_reply_parse(data, n, &r);
	}
	char text[HEALTH_URL_MAX + 32];
	size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
	memcpy(text, data, n);
	text[n] = 0;
	struct health_check_spec spec;
	const char *reason;
	char url[HEALTH_URL_MAX + 64];
	if (health_parse_url(text, &spec, &reason) == 0)
		health_format_url(&spec, url, sizeof url);
	uint32_t ms;
	health_parse_duration(text, &ms);
	return 0;
}
