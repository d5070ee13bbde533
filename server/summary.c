/* summary.c -- what a configuration serves, as lines (start log, --check-config). */
#include <stdio.h>
#include <string.h>

#include "summary.h"
#include "version.h"

/* "A, B, C" of a listen list, or the text for none. */
static void join_listen(char *out, size_t size, const struct listen_addr *addrs, int count,
			const char *none)
{
	size_t used = 0;
	out[0] = 0;
	if (count == 0) {
		snprintf(out, size, "%s", none);
		return;
	}
	for (int i = 0; i < count && used < size; i++) {
		int n = snprintf(out + used, size - used, "%s%s", i ? ", " : "", addrs[i].text);
		if (n < 0)
			return;
		used += (size_t)n;
	}
}

void config_summary(const struct config *cfg, const struct zone_set *zones,
		    summary_line_fn line, void *arg)
{
	char text[1024], list[768];
	snprintf(text, sizeof text, "svcdns %s, config %s", SVCDNS_VERSION,
		 cfg->source[0] ? cfg->source : "(built-in defaults)");
	line(arg, text);
	snprintf(text, sizeof text, "domain %s: %zu static instance(s)%s", cfg->domain_text,
		 cfg->service_count, cfg->bare_names ? ", bare names on" : "");
	line(arg, text);
	join_listen(list, sizeof list, cfg->dns, cfg->dns_count, "none");
	snprintf(text, sizeof text, "dns (udp, tcp): %s", list);
	line(arg, text);
	join_listen(list, sizeof list, cfg->reg, cfg->reg_count, "none");
	snprintf(text, sizeof text, "register (udp, tcp): %s", list);
	line(arg, text);
	join_listen(list, sizeof list, cfg->http, cfg->http_count, "off");
	snprintf(text, sizeof text, "http: %s", list);
	line(arg, text);
	join_listen(list, sizeof list, cfg->forward, cfg->forward_count,
		    "none (names outside our zones get REFUSED)");
	snprintf(text, sizeof text, "forward: %s%s", list,
		 cfg->forward_from_resolv_conf ? " (and /etc/resolv.conf's nameservers)" : "");
	line(arg, text);
	snprintf(text, sizeof text, "state: %s", cfg->state_file[0] ? cfg->state_file
						     : "none (registrations in memory only)");
	line(arg, text);
	snprintf(text, sizeof text, "zones: %zu zone file(s) from %s", zones ? zones->zone_count : 0,
		 cfg->zones_dir);
	line(arg, text);
	for (const struct zone *z = zones ? zones->first : NULL; z; z = z->next) {
		char apex[DNAME_MAX_TEXT];
		dname_to_text(z->apex, apex);
		snprintf(text, sizeof text, "zone %s from %s%s", apex, z->file,
			 z->is_service_domain ? " (merged with the registry)" : "");
		line(arg, text);
	}
	snprintf(text, sizeof text, "query log: %s", cfg->log_queries ? "on" : "off");
	line(arg, text);
}
