/* main.c -- dnsprobe's command line: options, then the subcommand. */

/* dnsprobe is a small DNS client that does to svcdns what dig cannot.
 *
 * dig and kdig ask well-formed questions one at a time.  The integration tests
 * also need broken packets, pipelined TCP, a slow writer, idle and surplus
 * connections.  Each subcommand does one of those, prints one result line and
 * exits 0 when the server behaved, 1 when it did not, 2 on a usage error.
 *
 *   dnsprobe garbage   --server A --port P --seed N --count K [--name NAME]
 *   dnsprobe pipeline  --server A --port P --name NAME --count K
 *   dnsprobe slowtcp   --server A --port P --name NAME
 *   dnsprobe idle      --server A --port P --expect-close-within S
 *   dnsprobe holdconns --server A --port P --count K --hold S [--expect-closed N]
 *   dnsprobe send      --server A --port P --hex BYTES [--timeout S] [--describe]
 *
 * Messages are built by hand rather than with ldns: broken packets cannot be
 * expressed as ldns_pkt objects, and one small encoder for both keeps them alike.
 * The only peer is --server, a numeric address: nothing here resolves a name,
 * and every socket is connect()ed to that address before it sends.
 */
#include "dnsprobe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- command line ------------------------------------------------------------------- */

static const char usage_text[] =
	"usage: dnsprobe COMMAND --server ADDR --port PORT [options]\n"
	"  garbage   --seed N --count K [--name NAME]  broken packets over UDP and TCP\n"
	"  pipeline  --name NAME --count K             K queries in one TCP write\n"
	"  slowtcp   --name NAME                       one query, one byte at a time\n"
	"  idle      --expect-close-within S           the server closes a silent connection\n"
	"  holdconns --count K --hold S [--expect-closed N]  hold K connections open\n"
	"  send      --hex BYTES [--timeout S]         one datagram; prints the rcode or 'no answer'\n"
	"            [--describe]                      and a line of flags, counts, OPT and TSIG\n";

static int usage(const char *problem)
{
	if (problem)
		fprintf(stderr, "dnsprobe: %s\n", problem);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int parse_number(const char *text, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The server address must be numeric: this program never looks a name up. */
static int set_server(struct options *o, const char *text, double port)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&o->server;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->server;
	memset(&o->server, 0, sizeof o->server);
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		o->server_len = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		o->server_len = sizeof *v6;
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	enum { OPT_SERVER = 256, OPT_PORT, OPT_SEED, OPT_COUNT, OPT_NAME, OPT_HOLD, OPT_CLOSE_WITHIN,
	       OPT_EXPECT_CLOSED, OPT_HEX, OPT_TIMEOUT, OPT_DESCRIBE };
	static const struct option long_options[] = {
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "expect-close-within", required_argument, NULL, OPT_CLOSE_WITHIN },
		{ "expect-closed", required_argument, NULL, OPT_EXPECT_CLOSED },
		{ "hex", required_argument, NULL, OPT_HEX },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "describe", no_argument, NULL, OPT_DESCRIBE },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .name = "svc.internal", .count = 1, .hold = 1, .close_within = 0,
			     .expect_closed = -1, .timeout = 1 };
	const char *server = NULL;
	double port = 0, v;
	if (argc < 2)
		return usage(NULL);
	const char *command = argv[1];
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_SERVER: server = optarg; break;
		case OPT_PORT:
			if (parse_number(optarg, 1, 65535, &port) < 0)
				return usage("--port: not a port number");
			break;
		case OPT_SEED:
			if (parse_number(optarg, 0, 1e15, &v) < 0)
				return usage("--seed: not a number");
			o.seed = (uint64_t)v;
			break;
		case OPT_COUNT:
			if (parse_number(optarg, 1, 65535, &v) < 0)
				return usage("--count: 1 to 65535");
			o.count = (unsigned long)v;
			break;
		case OPT_NAME: o.name = optarg; break;
		case OPT_HOLD:
			if (parse_number(optarg, 0.1, 3600, &o.hold) < 0)
				return usage("--hold: seconds, 0.1 to 3600");
			break;
		case OPT_CLOSE_WITHIN:
			if (parse_number(optarg, IDLE_TOO_EARLY, 3600, &o.close_within) < 0)
				return usage("--expect-close-within: seconds, 0.5 to 3600");
			break;
		case OPT_EXPECT_CLOSED:
			if (parse_number(optarg, 0, 65535, &v) < 0)
				return usage("--expect-closed: a count");
			o.expect_closed = (long)v;
			break;
		case OPT_HEX: o.hex = optarg; break;
		case OPT_DESCRIBE: o.describe = 1; break;
		case OPT_TIMEOUT:
			if (parse_number(optarg, 0.01, 60, &o.timeout) < 0)
				return usage("--timeout: seconds, 0.01 to 60");
			break;
		default: return usage(NULL);
		}
	}
	if (optind < argc)
		return usage("unexpected argument");
	if (!server || port == 0)
		return usage("--server and --port are required");
	if (set_server(&o, server, port) < 0)
		return usage("--server: a numeric IPv4 or IPv6 address");

	if (strcmp(command, "garbage") == 0)
		return cmd_garbage(&o);
	if (strcmp(command, "pipeline") == 0)
		return cmd_pipeline(&o);
	if (strcmp(command, "slowtcp") == 0)
		return cmd_slowtcp(&o);
	if (strcmp(command, "idle") == 0)
		return o.close_within > 0 ? cmd_idle(&o) : usage("idle: --expect-close-within is required");
	if (strcmp(command, "holdconns") == 0)
		return cmd_holdconns(&o);
	if (strcmp(command, "send") == 0)
		return o.hex ? cmd_send(&o) : usage("send: --hex is required");
	return usage("unknown command");
}
