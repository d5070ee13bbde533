/* list_json.h -- `svcdnsctl list --json`: LIST's instance lines as the HTTP API's JSON.
 *
 * The same shape as GET /v1/services ({"services":[SERVICE,...]}) or, for one service,
 * GET /v1/services/NAME (one SERVICE), services and instances sorted by name, so a
 * script reads either source with one parser. */
#ifndef SVCDNS_CLIENT_LIST_JSON_H
#define SVCDNS_CLIENT_LIST_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "svcdns/client.h"

struct list_json {
	json_t *instances;   /* array of {"service": ..., instance fields} in arrival order */
	int failed;          /* out of memory on the way */
};

void list_json_init(struct list_json *lj);
/* svcdns_list's callback: keeps one instance. */
void list_json_add(const struct svcdns_instance *inst, void *arg);
/* Writes the document for all services (service NULL) or one, and a newline;
 * frees what was kept. Returns 0, or -1 when out of memory or the write failed. */
int list_json_print(struct list_json *lj, const char *service, FILE *out);
void list_json_free(struct list_json *lj);

#endif
