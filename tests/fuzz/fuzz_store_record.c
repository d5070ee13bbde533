/* fuzz_store_record.c -- libFuzzer target: the etcd instance record's decoder, fed what any
 * writer of the store's prefix could put there, and the instance key and base64 parsers.
 * A record that decodes must encode and decode back to the same spec. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_record rec, again;
	const char *why;
	memset(&rec, 0, sizeof rec);
	if (store_record_decode((const char *)data, size, &rec, &why) == 0) {
		char *json = store_record_encode(&rec);
		if (json) {
			memset(&again, 0, sizeof again);
			if (store_record_decode(json, strlen(json), &again, &why) != 0 ||
			    memcmp(&rec.spec, &again.spec, sizeof rec.spec) != 0)
				abort();
			free(json);
		}
	}
	char service[DNAME_MAX_LABEL + 1], instance[DNAME_MAX_LABEL + 1];
	store_parse_instance_key((const char *)data, size, service, instance);
	char text[256];
	uint8_t raw[256];
	size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
	memcpy(text, data, n);
	text[n] = 0;
	store_unbase64(text, raw, sizeof raw);
	return 0;
}
