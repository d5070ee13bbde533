/* split.h -- weighted splits of a service's traffic between its tags (SPLIT, splits:).
 *
 * A split says which share of a service's answers each tag gets: "v1=90 v2=10".  It
 * is parsed and kept here; weights.c turns it into per-instance weights per answer.
 * The registry holds the set (struct registry.splits), so answers, the state file's
 * compaction and the HTTP API all read the one copy. */
#ifndef SVCDNS_SPLIT_H
#define SVCDNS_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"

#define SPLIT_TAGS_MAX 8
#define SPLIT_TEXT_MAX 640  /* "v1=90 v2=10 limit=1" for the most shares and longest tags */

struct split_share {
	char tag[DNAME_MAX_LABEL + 1];    /* lowercase LDH label */
	uint8_t percent;                  /* 0-100; the shares of a split sum to 100 */
};

struct split {
	uint8_t wire_label[DNAME_MAX_LABEL + 1];  /* the service, "\len name", lowercase */
	uint8_t count;                    /* shares */
	uint16_t limit;                   /* limit=N: address records per answer; 0: none */
	bool from_config;                 /* splits: in the file; SPLIT may not change it */
	struct split_share shares[SPLIT_TAGS_MAX];
};

struct split_set {
	struct split *items;              /* owned; few, so searched in order */
	size_t count;
};

/* Parses the shares and options of SPLIT after its service ("v1=90", "limit=1") into
 * out, whose wire_label the caller sets.  No fields is a split of no shares (a clear).
 * Returns 0, or -1 with reason set. */
int split_parse(char *const *fields, int count, struct split *out, char *reason, size_t size);
/* The same for a space-separated text ("v1=90 v2=10 limit=1", config splits:). */
int split_parse_text(const char *text, struct split *out, char *reason, size_t size);
/* Writes the shares and limit as SPLIT takes them: "v1=90 v2=10 limit=1". */
void split_format(const struct split *sp, char *out, size_t size);
/* Writes the service's name of a split into out (DNAME_MAX_LABEL + 1 bytes). */
char *split_service_name(const struct split *sp, char *out);
/* Sets a split's service from its text name (an LDH label); 0 or -1. */
int split_set_service(struct split *sp, const char *service);
/* The split of a service by its wire label, or NULL. */
const struct split *split_find(const struct split_set *set, const uint8_t *wire_label);
/* Adds or replaces the split of sp's service; 0, or -1 when out of memory. */
int split_set_put(struct split_set *set, const struct split *sp);
/* Removes the split of a service (wire label); returns whether there was one. */
bool split_set_remove(struct split_set *set, const uint8_t *wire_label);
void split_set_free(struct split_set *set);

#endif
