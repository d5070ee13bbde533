/* fuzz_store_record.c -- libFuzzer target: the etcd instance record's and split's decoders,
 * fed what any writer of the store's prefix could put there, and the instance key and base64
 * parsers.  A record or split that decodes must encode and decode back to the same value. */
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
	struct split sp, sp_again;
	char reason[160];
	memset(&sp, 0, sizeof sp);
	if (store_split_decode((const char *)data, size, &sp, reason, sizeof reason) == 0) {
		char *json = store_split_encode(&sp);
		if (json) {
			memset(&sp_again, 0, sizeof sp_again);
			if (store_split_decode(json, strlen(json), &sp_again, reason, sizeof reason) != 0 ||
			    memcmp(&sp, &sp_again, sizeof sp) != 0)
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
