/* docker_labels.h -- what a container registers: its Engine API inspect object and its
 * svcdns.* labels turned into one svcdns instance. Pure: no I/O, so unit tests feed it
 * JSON directly. */
#ifndef SVCDNS_CLIENT_DOCKER_LABELS_H
#define SVCDNS_CLIENT_DOCKER_LABELS_H

#include <jansson.h>

#include "svcdns/client.h"

#define DOCKER_ID_MAX 64
#define DOCKER_MARKER_KEY "docker-id"   /* TXT docker-id=<container id>: "registered from Docker" */
#define DOCKER_DAEMON_KEY "docker-daemon" /* TXT docker-daemon=<daemon id>: which engine's container */

/* How labels are read. */
struct docker_label_options {
	const char *network;          /* --network NAME, or NULL: the container's only network */
	int compose;                  /* --compose: com.docker.compose.service names the service */
	unsigned default_ttl;         /* --ttl, 0: the server's default lease */
	const char *daemon_id;        /* the engine's ID from /info, for the docker-daemon= marker */
};

/* One container's registration. Fill it in place: inst's pointers point into it. */
struct docker_instance {
	char id[DOCKER_ID_MAX + 1];
	struct svcdns_instance inst;
	char txt[SVCDNS_MAX_TXT][256];
	char check[256];
	char extra[512];              /* options svcdns_instance does not carry: tags=, addr= */
};

/* 1 when a container with these labels (a JSON object, or NULL) is meant to be registered:
 * it has svcdns.service (or, with compose, com.docker.compose.service), and no
 * svcdns.enable=false. */
int docker_is_candidate(json_t *labels, int compose);

/* Fills out from a GET /containers/ID/json object. Returns 0, or -1 with the reason the
 * container cannot be registered in why (a label's fault, no address, not running). */
int docker_instance_from_inspect(json_t *inspect, const struct docker_label_options *o,
				 struct docker_instance *out, char *why, size_t why_size);

/* The DNS label a container name becomes: lower case, '_' and '.' as '-', at most 63
 * bytes, no leading or trailing '-'. Returns -1 when nothing is left. */
int docker_instance_name(const char *container_name, char *out, size_t out_size);

#endif
