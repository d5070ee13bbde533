/* docker_labels.c -- a container's inspect object and labels -> one svcdns instance (see
 * docker_labels.h). The labels follow registrator's habits, with svcdns's own prefix:
 *   svcdns.service, svcdns.port, svcdns.proto, svcdns.ttl, svcdns.priority,
 *   svcdns.weight, svcdns.tags, svcdns.check, svcdns.txt.KEY, svcdns.enable=false. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_labels.h"

#define LABEL_PREFIX "svcdns."
#define TXT_LABEL_PREFIX "svcdns.txt."
#define COMPOSE_SERVICE "com.docker.compose.service"
#define COMPOSE_PROJECT "com.docker.compose.project"
#define MARKER_TXT_SLOTS 2          /* docker-id= and docker-daemon= */

static int fail(char *why, size_t why_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *label(json_t *labels, const char *key)
{
	return json_string_value(json_object_get(labels, key));
}

int docker_is_candidate(json_t *labels, int compose)
{
	const char *enable = label(labels, LABEL_PREFIX "enable");
	if (enable != NULL && strcmp(enable, "false") == 0)
		return 0;
	return label(labels, LABEL_PREFIX "service") != NULL || (compose && label(labels, COMPOSE_SERVICE) != NULL);
}

int docker_instance_name(const char *container_name, char *out, size_t out_size)
{
	size_t n = 0;
	if (container_name[0] == '/')
		container_name++;
	for (const char *p = container_name; *p && n + 1 < out_size && n < 63; p++) {
		char ch = (char)tolower((unsigned char)*p);
		if (ch == '_' || ch == '.')
			ch = '-';
		if (!isalnum((unsigned char)ch) && ch != '-')
			continue;
		if (ch == '-' && n == 0)
			continue;
		out[n++] = ch;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int parse_u16(const char *text, uint16_t *out)
{
	char *end = NULL;
	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	unsigned long n = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || n > 65535)
		return -1;
	*out = (uint16_t)n;
	return 0;
}

static int is_word(const char *text, size_t max)
{
	size_t len = strlen(text);
	if (len == 0 || len > max)
		return 0;
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* svcdns.port, else the only exposed port (its /udp also sets the proto). */
static int choose_port(json_t *labels, json_t *config, struct svcdns_instance *inst, char *why, size_t why_size)
{
	const char *port = label(labels, LABEL_PREFIX "port");
	if (port != NULL) {
		if (parse_u16(port, &inst->port) < 0)
			return fail(why, why_size, "svcdns.port '%.20s' is not a number 0-65535", port);
		return 0;
	}
	json_t *exposed = json_object_get(config, "ExposedPorts");
	if (!json_is_object(exposed) || json_object_size(exposed) != 1)
		return fail(why, why_size, "no svcdns.port label and %zu exposed ports (one is taken as the port)",
			    json_is_object(exposed) ? json_object_size(exposed) : (size_t)0);
	const char *key = json_object_iter_key(json_object_iter(exposed));   /* "8080/tcp" */
	char text[16];
	snprintf(text, sizeof text, "%.*s", (int)strcspn(key, "/"), key);
	if (parse_u16(text, &inst->port) < 0)
		return fail(why, why_size, "exposed port '%.20s' is not a number", key);
	if (strstr(key, "/udp") != NULL)
		snprintf(inst->proto, sizeof inst->proto, "udp");
	return 0;
}

/* The network's name as given, or as compose named it (PROJECT_NAME). */
static int is_wanted_network(const char *name, const char *wanted, const char *project)
{
	if (strcmp(name, wanted) == 0)
		return 1;
	size_t plen = project ? strlen(project) : 0;
	return plen > 0 && strncmp(name, project, plen) == 0 && name[plen] == '_' && strcmp(name + plen + 1, wanted) == 0;
}

/* The address on --network, else on the only network; with several networks and no
 * --network, the first by name, and the others as addr= options. */
static int choose_address(json_t *inspect, json_t *labels, const struct docker_label_options *o,
			  struct docker_instance *out, char *why, size_t why_size)
{
	json_t *networks = json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks");
	const char *project = label(labels, COMPOSE_PROJECT);
	const char *names[32];
	size_t count = 0;
	const char *key;
	json_t *value;

	json_object_foreach(networks, key, value) {
		const char *ip = json_string_value(json_object_get(value, "IPAddress"));
		if (ip != NULL && ip[0] != '\0' && count < sizeof names / sizeof names[0])
			names[count++] = key;
	}
	if (o->network != NULL) {
		for (size_t i = 0; i < count; i++) {
			if (is_wanted_network(names[i], o->network, project)) {
				const char *ip = json_string_value(json_object_get(json_object_get(networks, names[i]), "IPAddress"));
				snprintf(out->inst.address, sizeof out->inst.address, "%s", ip);
				return 0;
			}
		}
		return fail(why, why_size, "no address on network '%s'", o->network);
	}
	if (count == 0)
		return fail(why, why_size, "no address on any network (network_mode host or none?)");
	/* Sorted by name, so every registrar run picks the same one. */
	for (size_t i = 1; i < count; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			const char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < count; i++) {
		const char *ip = json_string_value(json_object_get(json_object_get(networks, names[i]), "IPAddress"));
		if (i == 0) {
			snprintf(out->inst.address, sizeof out->inst.address, "%s", ip);
			continue;
		}
		size_t len = strlen(out->extra);
		int n = snprintf(out->extra + len, sizeof out->extra - len, "%saddr=%s", len ? " " : "", ip);
		if (n < 0 || (size_t)n >= sizeof out->extra - len)
			return fail(why, why_size, "too many networks");
	}
	return 0;
}

static int add_txt(struct docker_instance *out, int *count, const char *key, const char *value, char *why,
		   size_t why_size)
{
	if (*count >= SVCDNS_MAX_TXT)
		return fail(why, why_size, "more than %d svcdns.txt.* labels", SVCDNS_MAX_TXT - MARKER_TXT_SLOTS);
	int n = snprintf(out->txt[*count], sizeof out->txt[*count], "%s=%s", key, value);
	if (n < 0 || (size_t)n >= sizeof out->txt[*count] || !is_word(out->txt[*count], 255))
		return fail(why, why_size, "svcdns.txt.%.40s: KEY=VALUE must be 1-255 bytes without spaces", key);
	out->inst.txt[*count] = out->txt[*count];
	(*count)++;
	return 0;
}

/* The optional labels: proto, ttl, priority, weight, tags, check, txt.KEY. */
static int read_options(json_t *labels, const struct docker_label_options *o, struct docker_instance *out,
			char *why, size_t why_size)
{
	struct svcdns_instance *inst = &out->inst;
	const char *value, *key;
	json_t *item;
	int txt_count = 0;

	if ((value = label(labels, LABEL_PREFIX "proto")) != NULL) {
		if (strcmp(value, "tcp") != 0 && strcmp(value, "udp") != 0)
			return fail(why, why_size, "svcdns.proto '%.20s' is neither tcp nor udp", value);
		snprintf(inst->proto, sizeof inst->proto, "%s", value);
	}
	inst->ttl = o->default_ttl;
	if ((value = label(labels, LABEL_PREFIX "ttl")) != NULL) {
		uint16_t ttl = 0;
		if (parse_u16(value, &ttl) < 0 || ttl == 0)
			return fail(why, why_size, "svcdns.ttl '%.20s' is not a number of seconds 1-65535", value);
		inst->ttl = ttl;
	}
	if ((value = label(labels, LABEL_PREFIX "priority")) != NULL && parse_u16(value, &inst->priority) < 0)
		return fail(why, why_size, "svcdns.priority '%.20s' is not a number 0-65535", value);
	if ((value = label(labels, LABEL_PREFIX "weight")) != NULL && parse_u16(value, &inst->weight) < 0)
		return fail(why, why_size, "svcdns.weight '%.20s' is not a number 0-65535", value);
	if ((value = label(labels, LABEL_PREFIX "check")) != NULL) {
		if (!is_word(value, sizeof out->check - 1))
			return fail(why, why_size, "svcdns.check must be a URL without spaces");
		snprintf(out->check, sizeof out->check, "%s", value);
		inst->check = out->check;
	}
	if ((value = label(labels, LABEL_PREFIX "tags")) != NULL) {
		size_t len = strlen(out->extra);
		if (!is_word(value, 255))
			return fail(why, why_size, "svcdns.tags must be a comma-separated list without spaces");
		int n = snprintf(out->extra + len, sizeof out->extra - len, "%stags=%s", len ? " " : "", value);
		if (n < 0 || (size_t)n >= sizeof out->extra - len)
			return fail(why, why_size, "svcdns.tags is too long");
	}
	json_object_foreach(labels, key, item) {
		if (strncmp(key, TXT_LABEL_PREFIX, strlen(TXT_LABEL_PREFIX)) != 0 || !json_is_string(item))
			continue;
		const char *txt_key = key + strlen(TXT_LABEL_PREFIX);
		if (txt_key[0] == '\0' || strchr(txt_key, '=') != NULL)
			return fail(why, why_size, "label '%.60s': the TXT key after svcdns.txt. is empty or has '='", key);
		if (txt_count >= SVCDNS_MAX_TXT - MARKER_TXT_SLOTS)
			return fail(why, why_size, "more than %d svcdns.txt.* labels", SVCDNS_MAX_TXT - MARKER_TXT_SLOTS);
		if (add_txt(out, &txt_count, txt_key, json_string_value(item), why, why_size) < 0)
			return -1;
	}
	if (add_txt(out, &txt_count, DOCKER_MARKER_KEY, out->id, why, why_size) < 0)
		return -1;
	if (o->daemon_id != NULL && o->daemon_id[0] != '\0' &&
	    add_txt(out, &txt_count, DOCKER_DAEMON_KEY, o->daemon_id, why, why_size) < 0)
		return -1;
	return 0;
}

int docker_instance_from_inspect(json_t *inspect, const struct docker_label_options *o,
				 struct docker_instance *out, char *why, size_t why_size)
{
	json_t *config = json_object_get(inspect, "Config");
	json_t *labels = json_object_get(config, "Labels");
	const char *id = json_string_value(json_object_get(inspect, "Id"));
	const char *name = json_string_value(json_object_get(inspect, "Name"));
	const char *service;

	memset(out, 0, sizeof *out);
	why[0] = '\0';
	if (id == NULL || strlen(id) > DOCKER_ID_MAX || !is_word(id, DOCKER_ID_MAX) || name == NULL)
		return fail(why, why_size, "the inspect answer has no Id or Name");
	snprintf(out->id, sizeof out->id, "%s", id);
	json_t *state = json_object_get(inspect, "State");
	if (!json_is_true(json_object_get(state, "Running")) || json_is_true(json_object_get(state, "Paused")))
		return fail(why, why_size, "not running");
	if (!docker_is_candidate(labels, o->compose))
		return fail(why, why_size, "no svcdns.service label");
	service = label(labels, LABEL_PREFIX "service");
	if (service == NULL)
		service = label(labels, COMPOSE_SERVICE);
	if (strlen(service) >= sizeof out->inst.service || !is_word(service, sizeof out->inst.service - 1))
		return fail(why, why_size, "service name '%.70s' is empty, too long or has spaces", service);
	snprintf(out->inst.service, sizeof out->inst.service, "%s", service);
	if (docker_instance_name(name, out->inst.instance, sizeof out->inst.instance) < 0)
		return fail(why, why_size, "container name '%.70s' leaves no DNS label", name);
	if (choose_port(labels, config, &out->inst, why, why_size) < 0 ||
	    choose_address(inspect, labels, o, out, why, why_size) < 0 ||
	    read_options(labels, o, out, why, why_size) < 0)
		return -1;
	return 0;
}
