/* fuzz_docker.c -- libFuzzer target: what svcdnsctl docker reads from the engine. The
 * first byte picks the mode: the HTTP framing of a GET or of the /events stream, fed in
 * pieces of 1-16 bytes, and the same bytes as an inspect object -> one instance (with
 * or without --compose and --network), and as a container name -> a DNS label. */
#include <stdint.h>
#include <string.h>

#include "docker_api.h"
#include "docker_labels.h"

static void on_response(void *arg, int status, json_t *body, const char *error)
{
	(void)arg, (void)status, (void)body, (void)error;
}

static void on_opened(void *arg)
{
	(void)arg;
}

static void on_event(void *arg, json_t *event)
{
	(void)arg;
	json_string_value(json_object_get(event, "Action"));
}

static void on_closed(void *arg, int status, const char *error)
{
	(void)arg, (void)status, (void)error;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++, size--;

	size_t piece = (size_t)(mode & 15) + 1;
	struct docker_request *r = docker_request_detached(mode & 16, on_response, on_opened, on_event, on_closed, NULL);
	int ended = r == NULL;
	for (size_t off = 0; !ended && off < size; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		ended = docker_request_feed(r, data + off, n, 0);
	}
	if (!ended)
		docker_request_feed(r, "", 0, 1);

	json_t *inspect = json_loadb((const char *)data, size, 0, NULL);
	if (inspect != NULL) {
		struct docker_label_options o = { .compose = mode & 32, .network = mode & 64 ? "apps" : NULL,
						  .default_ttl = mode & 128 ? 30 : 0, .daemon_id = "D" };
		struct docker_instance d;
		char why[256];
		docker_instance_from_inspect(inspect, &o, &d, why, sizeof why);
		docker_is_candidate(json_object_get(json_object_get(inspect, "Config"), "Labels"), 1);
		json_decref(inspect);
	}
	char text[128], name[64];
	size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
	memcpy(text, data, n);
	text[n] = 0;
	docker_instance_name(text, name, sizeof name);
	return 0;
}
