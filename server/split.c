/* split.c -- parsing and keeping the weighted splits of services between their tags. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "split.h"

static int parse_percent(const char *text, unsigned max, unsigned *out)
{
	size_t len = strlen(text);
	if (len == 0 || len > 5 || strspn(text, "0123456789") != len)
		return -1;
	*out = (unsigned)strtoul(text, NULL, 10);
	return *out > max ? -1 : 0;
}

int split_parse(char *const *fields, int count, struct split *out, char *reason, size_t size)
{
	unsigned sum = 0;
	out->count = 0;
	out->limit = 0;
	out->from_config = false;
	for (int i = 0; i < count; i++) {
		const char *eq = strchr(fields[i], '=');
		size_t key_len = eq ? (size_t)(eq - fields[i]) : 0;
		unsigned n;
		if (key_len == 0) {
			snprintf(reason, size, "'%.40s': expected TAG=PERCENT or limit=N", fields[i]);
			return -1;
		}
		/* any case: a tag, lowercased, would be "limit" and read back as the option */
		if (key_len == 5 && strncasecmp(fields[i], "limit", 5) == 0) {
			if (parse_percent(eq + 1, 65535, &n) < 0 || n == 0) {
				snprintf(reason, size, "limit: '%.20s' is not 1-65535", eq + 1);
				return -1;
			}
			out->limit = (uint16_t)n;
			continue;
		}
		if (!label_is_ldh(fields[i], key_len)) {
			snprintf(reason, size, "tag '%.*s': not a valid name (letters, digits, inner hyphens; 1-63)",
				 (int)(key_len > 63 ? 63 : key_len), fields[i]);
			return -1;
		}
		if (out->count == SPLIT_TAGS_MAX) {
			snprintf(reason, size, "at most %d tags per split", SPLIT_TAGS_MAX);
			return -1;
		}
		struct split_share *s = &out->shares[out->count];
		for (size_t j = 0; j < key_len; j++)
			s->tag[j] = (char)tolower((unsigned char)fields[i][j]);
		s->tag[key_len] = 0;
		for (unsigned j = 0; j < out->count; j++) {
			if (strcmp(out->shares[j].tag, s->tag) == 0) {
				snprintf(reason, size, "tag '%s' appears twice", s->tag);
				return -1;
			}
		}
		if (parse_percent(eq + 1, 100, &n) < 0) {
			snprintf(reason, size, "%s: '%.20s' is not a percent 0-100", s->tag, eq + 1);
			return -1;
		}
		s->percent = (uint8_t)n;
		sum += n;
		out->count++;
	}
	if (out->count == 0 && out->limit) {
		snprintf(reason, size, "limit= needs TAG=PERCENT shares");
		return -1;
	}
	if (out->count && sum != 100) {
		snprintf(reason, size, "percents sum to %u, not 100", sum);
		return -1;
	}
	return 0;
}

int split_parse_text(const char *text, struct split *out, char *reason, size_t size)
{
	char copy[SPLIT_TEXT_MAX + 1];
	char *fields[SPLIT_TAGS_MAX + 2];
	int count = 0;
	if (strlen(text) > SPLIT_TEXT_MAX) {
		snprintf(reason, size, "too long");
		return -1;
	}
	snprintf(copy, sizeof copy, "%s", text);
	for (char *save = NULL, *f = strtok_r(copy, " \t", &save); f; f = strtok_r(NULL, " \t", &save)) {
		if (count == SPLIT_TAGS_MAX + 1) {
			snprintf(reason, size, "at most %d tags per split", SPLIT_TAGS_MAX);
			return -1;
		}
		fields[count++] = f;
	}
	if (count == 0) {
		snprintf(reason, size, "expected TAG=PERCENT shares, like 'v1=90 v2=10'");
		return -1;
	}
	return split_parse(fields, count, out, reason, size);
}

void split_format(const struct split *sp, char *out, size_t size)
{
	size_t len = 0;
	out[0] = 0;
	for (unsigned i = 0; i < sp->count && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s=%u", i ? " " : "", sp->shares[i].tag,
					sp->shares[i].percent);
	if (sp->limit && len < size)
		snprintf(out + len, size - len, " limit=%u", sp->limit);
}

char *split_service_name(const struct split *sp, char *out)
{
	memcpy(out, sp->wire_label + 1, sp->wire_label[0]);
	out[sp->wire_label[0]] = 0;
	return out;
}

int split_set_service(struct split *sp, const char *service)
{
	size_t len = strlen(service);
	if (!label_is_ldh(service, len))
		return -1;
	sp->wire_label[0] = (uint8_t)len;
	for (size_t i = 0; i < len; i++)
		sp->wire_label[1 + i] = (uint8_t)tolower((unsigned char)service[i]);
	return 0;
}

static int same_label(const uint8_t *a, const uint8_t *b)
{
	return a[0] == b[0] && memcmp(a + 1, b + 1, a[0]) == 0;
}

const struct split *split_find(const struct split_set *set, const uint8_t *wire_label)
{
	for (size_t i = 0; i < set->count; i++)
		if (same_label(set->items[i].wire_label, wire_label))
			return &set->items[i];
	return NULL;
}

int split_set_put(struct split_set *set, const struct split *sp)
{
	struct split *old = (struct split *)split_find(set, sp->wire_label);
	if (old) {
		*old = *sp;
		return 0;
	}
	struct split *grown = realloc(set->items, (set->count + 1) * sizeof *grown);
	if (!grown)
		return -1;
	set->items = grown;
	set->items[set->count++] = *sp;
	return 0;
}

bool split_set_remove(struct split_set *set, const uint8_t *wire_label)
{
	for (size_t i = 0; i < set->count; i++) {
		if (same_label(set->items[i].wire_label, wire_label)) {
			set->items[i] = set->items[--set->count];
			return true;
		}
	}
	return false;
}

void split_set_free(struct split_set *set)
{
	free(set->items);
	set->items = NULL;
	set->count = 0;
}
