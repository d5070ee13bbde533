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

void weight_tree_build(struct weight_tree *t, uint64_t *storage, const uint32_t *w, size_t n)
{
	t->n = n;
	t->levels = 0;
	t->total = 0;
	size_t offset = 0, count = n;
	for (size_t i = 0; i < n; i++) {
		storage[i] = w[i];
		t->total += w[i];
	}
	/* Each level sums groups of WEIGHT_TREE_FANOUT nodes of the one below, until one
	 * node holds them all: O(n) to build, n / (FANOUT - 1) sums above the leaves. */
	for (;;) {
		t->level[t->levels].sums = storage + offset;
		t->level[t->levels++].count = count;
		if (count <= 1)
			break;
		const uint64_t *below = storage + offset;
		size_t above = (count + WEIGHT_TREE_FANOUT - 1) / WEIGHT_TREE_FANOUT;
		offset += count;
		for (size_t j = 0; j < above; j++) {
			uint64_t sum = 0;
			for (size_t c = j * WEIGHT_TREE_FANOUT; c < (j + 1) * WEIGHT_TREE_FANOUT && c < count; c++)
				sum += below[c];
			storage[offset + j] = sum;
		}
		count = above;
	}
}

size_t weight_tree_draw(const struct weight_tree *t, uint64_t random)
{
	/* The high half of random x total is uniform in [0, total) without a modulo's bias
	 * worth speaking of (total is below 2^32 x n). */
	uint64_t point = (uint64_t)(((unsigned __int128)random * t->total) >> 64);
	size_t pos = 0;
	/* From the top down, in each group of children the one whose share holds point: the
	 * count of running sums <= point, as a linear scan of the leaves would find it (a
	 * share of weight 0 is empty: never chosen).  Counting, not breaking out, keeps the
	 * scan free of branches to mispredict. */
	for (int l = t->levels - 2; l >= 0; l--) {
		const uint64_t *sums = t->level[l].sums;
		size_t first = pos * WEIGHT_TREE_FANOUT, end = first + WEIGHT_TREE_FANOUT;
		if (end > t->level[l].count)
			end = t->level[l].count;
		uint64_t running = 0, before = 0;
		size_t k = 0;
		for (size_t c = first; c < end; c++) {
			running += sums[c];
			bool within = running <= point;
			k += within;
			before = within ? running : before;
		}
		pos = first + k < end ? first + k : end - 1;  /* end - 1: not reached while total is the sum */
		point -= before;
	}
	return pos;
}

void weight_tree_take(struct weight_tree *t, size_t i, uint32_t w)
{
	t->total -= w;
	for (int l = 0; l < t->levels; l++, i /= WEIGHT_TREE_FANOUT)
		t->level[l].sums[i] -= w;
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
