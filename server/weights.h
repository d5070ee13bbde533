/* weights.h -- the weighted order of answers: effective weights and the RFC 2782 draw.
 *
 * Each candidate of an answer gets an effective weight: its own (weight=, default 1)
 * or, when the service has a split, its tag's percent shared out over the tag's
 * answerable instances.  The encoder then writes records in weighted-random order:
 * each next record is drawn from those left with probability proportional to its
 * weight (RFC 2782's selection, applied to the A order too); weight 0 comes only
 * once nothing weighted is left.  A tree of sums of the weights left makes each draw
 * O(log n), so an answer of n records costs O(n log n), not the O(n^2) of a linear
 * scan per record. */
#ifndef SVCDNS_WEIGHTS_H
#define SVCDNS_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "split.h"

/* An instance's own weight in the draw: weight= when given, else 1. */
static inline uint32_t instance_draw_weight(const struct instance *inst)
{
	return inst->extras && inst->extras->weight_set ? inst->weight : 1;
}

/* Fills w[0..n) with the effective weights of the answerable candidates c[0..n) under
 * a split (NULL: their own draw weights).  Returns whether the weights differ, that is
 * whether a weighted draw would order them differently from a uniform shuffle. */
int weights_effective(const struct split *sp, struct instance *const *c, size_t n, uint32_t *w);
/* The effective weights of every instance of a service by slot (malloc'd), as an answer
 * to a client with this view would have them (0: not answerable: expired, unseen, or
 * withheld by its health check), for LIST and the HTTP API.  NULL when the service has
 * no split (weight= alone says it all), or when out of memory. */
uint32_t *weights_listed(const struct registry *reg, const struct service *svc, int64_t now_ms,
			 bool only_passing, bool fail_open, uint32_t view);
/* The weighted draw without replacement (RFC 2782's selection) in O(log n) a draw: a
 * tree of sums of the weights left, WEIGHT_TREE_FANOUT children a node, over n
 * candidates, in storage of WEIGHT_TREE_STORAGE(n) sums that the caller owns (the
 * responder's scratch: nothing is allocated per answer).  A draw scans at most FANOUT
 * sums a level and taking a candidate out changes one sum a level: with 16, 200
 * candidates are 2 levels above the leaves, 65,536 are 4. */
#define WEIGHT_TREE_FANOUT 16
#define WEIGHT_TREE_LEVELS 10   /* enough for 2^36 candidates */
#define WEIGHT_TREE_STORAGE(n) ((n) + (n) / (WEIGHT_TREE_FANOUT - 1) + WEIGHT_TREE_LEVELS)

struct weight_tree {
	struct {
		uint64_t *sums;   /* level 0: the weights left; level l: sums of FANOUT of level l - 1 */
		size_t count;
	} level[WEIGHT_TREE_LEVELS];
	int levels;           /* the last holds one sum: total */
	size_t n;
	uint64_t total;       /* the weights left */
};

/* Builds the tree over w[0..n) in O(n). */
void weight_tree_build(struct weight_tree *t, uint64_t *storage, const uint32_t *w, size_t n);
/* The candidate drawn with probability w[i] / total from a 64-bit random number (total
 * above 0): the one whose share of [0, total) holds random x total / 2^64. */
size_t weight_tree_draw(const struct weight_tree *t, uint64_t random);
/* Takes candidate i (of weight w) out of later draws. */
void weight_tree_take(struct weight_tree *t, size_t i, uint32_t w);

#endif
