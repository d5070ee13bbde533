/* weights.c -- effective weights of an answer's candidates, and the weighted draw.
 *
 * A split "v1=90 v2=10" over u1, u2 (v1) and u3 (v2) gives each instance
 * PERCENT x its weight / the weights of its tag's answerable instances, rounded and at
 * least 1: 45, 45, 10.  An instance counts for the first of the split's tags it
 * carries; one carrying none gets 0.  A tag with nothing answerable passes its share on:
 * the percents of the tags left are scaled up to 100.  Nothing here allocates: it runs
 * per answer, on the candidates dns_answer.c collected. */
#include <stdlib.h>
#include <string.h>

#include "views.h"
#include "weights.h"

/* The split share an instance counts for, or -1. */
static int share_of(const struct split *sp, const struct instance *inst)
{
	for (int s = 0; s < sp->count; s++)
		if (instance_has_tag(inst, sp->shares[s].tag, strlen(sp->shares[s].tag)))
			return s;
	return -1;
}

static int split_weights(const struct split *sp, struct instance *const *c, size_t n, uint32_t *w)
{
	uint64_t share_weight[SPLIT_TAGS_MAX] = { 0 };
	unsigned members[SPLIT_TAGS_MAX] = { 0 }, active_percent = 0;
	for (size_t i = 0; i < n; i++) {
		int s = share_of(sp, c[i]);
		/* w holds the share index + 1 until the second pass. */
		w[i] = (uint32_t)(s + 1);
		if (s >= 0) {
			share_weight[s] += instance_draw_weight(c[i]);
			members[s]++;
		}
	}
	for (int s = 0; s < sp->count; s++)
		if (members[s])
			active_percent += sp->shares[s].percent;
	for (size_t i = 0; i < n; i++) {
		int s = (int)w[i] - 1;
		if (s < 0 || active_percent == 0 || sp->shares[s].percent == 0) {
			w[i] = 0;
			continue;
		}
		/* Weights 0 all through a tag share it evenly. */
		uint64_t own = share_weight[s] ? instance_draw_weight(c[i]) : 1;
		uint64_t of = share_weight[s] ? share_weight[s] : members[s];
		uint64_t num = (uint64_t)sp->shares[s].percent * 100 * own;
		uint64_t den = (uint64_t)active_percent * of;
		uint64_t rounded = (2 * num + den) / (2 * den);
		w[i] = rounded ? (uint32_t)rounded : 1;
	}
	return 1;
}

int weights_effective(const struct split *sp, struct instance *const *c, size_t n, uint32_t *w)
{
	if (sp && sp->count)
		return split_weights(sp, c, n, w);
	int differ = 0;
	for (size_t i = 0; i < n; i++) {
		w[i] = instance_draw_weight(c[i]);
		differ |= w[i] != w[0];
	}
	return differ;
}

size_t weights_draw(const uint32_t *w, size_t n, uint64_t total, uint64_t random)
{
	/* The high half of random x total is uniform in [0, total) without a modulo's bias
	 * worth speaking of (total is below 2^32 x n). */
	uint64_t point = (uint64_t)(((unsigned __int128)random * total) >> 64);
	for (size_t i = 0; i < n; i++) {
		if (point < w[i])
			return i;
		point -= w[i];
	}
	return n - 1;  /* not reached while total is the sum of w */
}

uint32_t *weights_listed(const struct registry *reg, const struct service *svc, int64_t now_ms,
			 bool only_passing, bool fail_open, uint32_t view)
{
	const struct split *sp = split_find(&reg->splits, svc->wire_label);
	if (!sp || !svc->count)
		return NULL;
	struct instance **answerable = malloc(svc->count * sizeof *answerable);
	uint32_t *found = malloc(svc->count * sizeof *found);
	uint32_t *by_slot = calloc(svc->count, sizeof *by_slot);
	size_t n = 0;
	if (!answerable || !found || !by_slot) {
		free(by_slot);
		by_slot = NULL;
		goto out;
	}
	/* As dns_answer.c collects candidates: the healthy, else (fail-open) all. */
	for (int pass = 0; pass < (fail_open ? 2 : 1) && n == 0; pass++)
		for (size_t i = 0; i < svc->count; i++) {
			struct instance *inst = svc->instances[i];
			if (instance_live(inst, now_ms) && instance_visible(inst, view) &&
			    (pass == 1 || !instance_withheld(inst, only_passing)))
				answerable[n++] = inst;
		}
	weights_effective(sp, answerable, n, found);
	for (size_t i = 0; i < n; i++)
		by_slot[answerable[i]->slot] = found[i];
out:
	free(answerable);
	free(found);
	return by_slot;
}
