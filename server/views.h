/* views.h -- per-network views: which instances, and which of their addresses, a
 * client sees, decided by the client's source address (networks:, see-all:).
 *
 * Like Docker's embedded DNS: a client sees the instances that share at least one of
 * its networks, and of each the address on a shared network.  Instances on no network
 * are seen by all; see-all sources (default loopback) see everything.  A query's view
 * is a bitmask of networks computed once by the DNS front from the peer address; an
 * instance's networks are placed here when it is put and again on a reload. */
#ifndef SVCDNS_VIEWS_H
#define SVCDNS_VIEWS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "registry.h"

#define VIEWS_MAX_NETWORKS 31   /* bit i: network i; VIEW_ALL stays apart from any client */
#define VIEW_ALL UINT32_MAX     /* no networks configured, or a see-all source */

/* The networks of a query's source address: VIEW_ALL without networks or for see-all
 * sources, else the bits of the networks that contain it (maybe none). */
uint32_t views_of_source(const struct config *cfg, const struct sockaddr *source);
/* The networks whose CIDRs contain an address. */
uint32_t views_of_address(const struct config *cfg, int family, const uint8_t *addr);
/* Places an instance on its networks: its address's, those of its addr= addresses, and
 * its network= names for an address that lies in no network. */
void views_place(const struct config *cfg, struct instance *inst);
/* Places every instance again (a reload changed networks:). */
void views_place_all(const struct config *cfg, struct registry *reg);
/* Writes the names of the networks in a mask, comma-separated, into out ("" for none). */
void views_format(const struct config *cfg, uint32_t networks, char *out, size_t size);

/* Whether a client with this view sees the instance. */
static inline bool instance_visible(const struct instance *inst, uint32_t view)
{
	return view == VIEW_ALL || inst->networks == 0 || (inst->networks & view) != 0;
}

/* Whether a client with this view sees one address of an instance (index 0: its own,
 * 1 + i: addr= i): the address lies on a network they share, or the instance is seen
 * by all.  A reverse PTR answers only such an address. */
static inline bool instance_sees_address(const struct instance *inst, uint32_t view, unsigned index)
{
	if (view == VIEW_ALL || inst->networks == 0)
		return true;
	return ((inst->extras ? inst->extras->placed[index] : inst->networks) & view) != 0;
}

/* The address a client with this view gets for an instance it sees: its own address
 * unless only an addr= address lies on a network they share. */
static inline const uint8_t *instance_view_addr(const struct instance *inst, uint32_t view)
{
	const struct instance_extras *x = inst->extras;
	if (view == VIEW_ALL || !x || !x->addr_count || (x->placed[0] & view) || inst->networks == 0)
		return inst->addr;
	for (unsigned i = 0; i < x->addr_count; i++)
		if (x->placed[1 + i] & view)
			return x->addrs[i];
	return inst->addr;
}

#endif
