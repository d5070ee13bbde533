/* weights.h -- the weighted order of answers: effective weights and the RFC 2782 draw.
 *
 * Each candidate of an answer gets an effective weight: its own (weight=, default 1)
 * or, when the service has a split, its tag's percent shared out over the tag's
 * answerable instances.  The encoder then writes records in weighted-random order:
 * each next record is drawn from those left with probability proportional to its
 * weight (RFC 2782's selection, applied to the A order too); weight 0 comes only
 * once nothing weighted is left. */
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
/* An index in [0, n) drawn with probability w[i] / total (total: the sum of w, above 0),
 * from a 64-bit random number. */
size_t weights_draw(const uint32_t *w, size_t n, uint64_t total, uint64_t random);

#endif
