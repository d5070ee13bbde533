/* views.c -- placing instances on networks and finding a client's networks. */
#include <stdio.h>
#include <string.h>

#include "views.h"

uint32_t views_of_address(const struct config *cfg, int family, const uint8_t *addr)
{
	uint32_t mask = 0;
	for (size_t i = 0; i < cfg->network_count; i++)
		if (cidr_list_match_ip(&cfg->networks[i].cidrs, family, addr))
			mask |= 1u << i;
	return mask;
}

uint32_t views_of_source(const struct config *cfg, const struct sockaddr *source)
{
	if (cfg->network_count == 0 || !source)
		return VIEW_ALL;
	uint8_t addr[16];
	int family = sockaddr_ip(source, addr);
	if (!family || cidr_list_match_ip(&cfg->see_all, family, addr))
		return VIEW_ALL;
	return views_of_address(cfg, family, addr);
}

void views_place(const struct config *cfg, struct instance *inst)
{
	struct instance_extras *x = inst->extras;
	uint32_t own = views_of_address(cfg, inst->family, inst->addr);
	if (x && own == 0) {
		for (unsigned i = 0; i < x->network_count; i++) {
			int n = config_find_network(cfg, x->networks[i]);
			if (n >= 0)
				own |= 1u << n;
		}
	}
	inst->networks = own;
	if (!x)
		return;
	x->placed[0] = own;
	for (unsigned i = 0; i < x->addr_count; i++) {
		x->placed[1 + i] = views_of_address(cfg, inst->family, x->addrs[i]);
		inst->networks |= x->placed[1 + i];
	}
}

static void place_one(void *arg, struct instance *inst)
{
	views_place(arg, inst);
}

void views_place_all(const struct config *cfg, struct registry *reg)
{
	registry_foreach(reg, place_one, (void *)cfg);
}

void views_format(const struct config *cfg, uint32_t networks, char *out, size_t size)
{
	size_t len = 0;
	out[0] = 0;
	for (size_t i = 0; i < cfg->network_count && len < size; i++)
		if (networks & (1u << i))
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "," : "", cfg->networks[i].name);
}
