/* summary.h -- what a configuration serves, as lines: the start log and --check-config.
 *
 * One description for both, so the operator reads the same words before start-up
 * (--check-config) and in the log once the server runs. */
#ifndef SVCDNS_SUMMARY_H
#define SVCDNS_SUMMARY_H

#include "config.h"
#include "zones.h"

typedef void (*summary_line_fn)(void *arg, const char *line);

/* Calls line() once per line: version and config file, domain, every listener, the
 * upstreams, the state file, each zone with its file, the static instances. */
void config_summary(const struct config *cfg, const struct zone_set *zones,
		    summary_line_fn line, void *arg);

#endif
