/* main.c -- svcdns: parse flags, load the config, run the server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "pidfile.h"
#include "server.h"
#include "version.h"

enum exit_status { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"usage: svcdns [--config FILE] [--dns ADDR:PORT]... [--register ADDR:PORT]... [--state FILE]\n"
	"              [--store etcd://HOST:PORT[,HOST:PORT]...]\n"
	"              [--forward ADDR[:PORT]|resolv.conf]... [--http ADDR:PORT|off]\n"
	"              [--domain NAME] [--zones DIR] [--log-level debug|info|warn|error]\n"
	"              [--log-queries] [--pid-file FILE] [--check-config] [--version] [--help]\n"
	"\n"
	"  --config FILE      YAML configuration (see zones/svcdns.example.yml)\n"
	"  --dns ADDR:PORT    DNS listen address, UDP and TCP; repeatable; IPv6 as [::1]:5353\n"
	"                     (default 0.0.0.0:53 and [::]:53)\n"
	"  --register ADDR:PORT  registration protocol listen address, UDP and TCP; repeatable\n"
	"                     (default 0.0.0.0:8053 and [::]:8053; sources limited by allow-from)\n"
	"  --state FILE       keep registrations in FILE: an OK survives a crash (default: memory only)\n"
	"  --store URL        share the registry with other nodes on etcd: etcd://HOST:PORT,...\n"
	"                     (etcds:// for TLS); excludes --state (default: embedded)\n"
	"  --forward UPSTREAM upstream resolver for names outside our zones; repeatable, tried in\n"
	"                     order; 'resolv.conf' takes the host's nameservers (default: none,\n"
	"                     such names get REFUSED)\n"
	"  --http ADDR:PORT   HTTP API and metrics; 'off' disables it (default 127.0.0.1:8054)\n"
	"  --domain NAME      service domain (default svc.internal)\n"
	"  --zones DIR        directory of *.zone master files (default zones)\n"
	"  --log-level LEVEL  debug, info, warn or error (default info)\n"
	"  --log-queries      log one line per DNS query (as log-queries: true; default off)\n"
	"  --pid-file FILE    write the server's PID to FILE once it serves; removed at exit\n"
	"  --check-config     load and check the config and zones, then exit (0 good, 2 bad)\n"
	"  --version          print the version and exit\n"
	"  --help             print this help and exit\n"
	"Command-line flags override the config file.\n";

struct cli {
	const char *config_file;
	const char *dns[CONFIG_MAX_LISTEN];
	int dns_count;
	const char *reg[CONFIG_MAX_LISTEN];
	int reg_count;
	const char *state;
	const char *store;
	const char *forward[CONFIG_MAX_FORWARD];
	int forward_count;
	const char *http[CONFIG_MAX_LISTEN];
	int http_count;
	const char *domain;
	const char *zones;
	const char *log_level;
	int log_queries;
	const char *pid_file;
	int check_config;
};

/* Collects one more value of a repeatable flag. */
static int add_flag_value(const char **list, int *count, int max, const char *flag)
{
	if (*count == max) {
		fprintf(stderr, "svcdns: --%s: at most %d values\n", flag, max);
		return -1;
	}
	list[(*count)++] = optarg;
	return 0;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	enum { OPT_CONFIG = 256, OPT_DNS, OPT_REGISTER, OPT_STATE, OPT_STORE, OPT_FORWARD, OPT_HTTP, OPT_DOMAIN, OPT_ZONES, OPT_LOG, OPT_LOG_QUERIES, OPT_PID_FILE, OPT_CHECK, OPT_VERSION, OPT_HELP };
	static const struct option options[] = {
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "register", required_argument, NULL, OPT_REGISTER },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "forward", required_argument, NULL, OPT_FORWARD },
		{ "http", required_argument, NULL, OPT_HTTP },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "zones", required_argument, NULL, OPT_ZONES },
		{ "log-level", required_argument, NULL, OPT_LOG },
		{ "log-queries", no_argument, NULL, OPT_LOG_QUERIES },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_CONFIG: cli->config_file = optarg; break;
		case OPT_DNS:
			if (add_flag_value(cli->dns, &cli->dns_count, CONFIG_MAX_LISTEN, "dns") < 0)
				return EXIT_USAGE;
			break;
		case OPT_REGISTER:
			if (add_flag_value(cli->reg, &cli->reg_count, CONFIG_MAX_LISTEN, "register") < 0)
				return EXIT_USAGE;
			break;
		case OPT_FORWARD:
			if (add_flag_value(cli->forward, &cli->forward_count, CONFIG_MAX_FORWARD, "forward") < 0)
				return EXIT_USAGE;
			break;
		case OPT_HTTP:
			if (add_flag_value(cli->http, &cli->http_count, CONFIG_MAX_LISTEN, "http") < 0)
				return EXIT_USAGE;
			break;
		case OPT_STATE: cli->state = optarg; break;
		case OPT_STORE: cli->store = optarg; break;
		case OPT_DOMAIN: cli->domain = optarg; break;
		case OPT_ZONES: cli->zones = optarg; break;
		case OPT_LOG: cli->log_level = optarg; break;
		case OPT_LOG_QUERIES: cli->log_queries = 1; break;
		case OPT_PID_FILE: cli->pid_file = optarg; break;
		case OPT_CHECK: cli->check_config = 1; break;
		case OPT_VERSION: printf("svcdns %s\n", SVCDNS_VERSION); return EXIT_OK;
		case OPT_HELP: fputs(usage_text, stdout); return EXIT_OK;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svcdns: unexpected argument '%s'\n%s", argv[optind], usage_text);
		return EXIT_USAGE;
	}
	return -1;  /* go on */
}

/* Replaces a listen list with the flag's addresses, when any were given. */
static int apply_listen(const char *flag, const char *const *texts, int count,
			struct listen_addr *addrs, int *addr_count, int *is_default, char err[CONFIG_ERROR_MAX])
{
	char reason[CONFIG_ERROR_MAX];
	if (count == 0)
		return 0;
	*addr_count = 0;
	*is_default = 0;
	for (int i = 0; i < count; i++) {
		if (config_parse_listen(texts[i], &addrs[(*addr_count)++], reason) < 0) {
			snprintf(err, CONFIG_ERROR_MAX, "%s: %s", flag, reason);
			return -1;
		}
	}
	return 0;
}

static int apply_forward(const struct cli *cli, struct config *cfg, char err[CONFIG_ERROR_MAX])
{
	char reason[CONFIG_ERROR_MAX];
	if (cli->forward_count == 0)
		return 0;
	cfg->forward_count = 0;
	cfg->forward_from_resolv_conf = 0;
	for (int i = 0; i < cli->forward_count; i++) {
		if (strcmp(cli->forward[i], "resolv.conf") == 0) {
			cfg->forward_from_resolv_conf = 1;
		} else if (config_parse_upstream(cli->forward[i], &cfg->forward[cfg->forward_count++], reason) < 0) {
			snprintf(err, CONFIG_ERROR_MAX, "--forward: %s", reason);
			return -1;
		}
	}
	return 0;
}

/* Builds the configuration: defaults, then the file, then the flags, which win.
 * Used at start and again on every SIGHUP. */
static int load_config(struct config *cfg, void *arg, char err[CONFIG_ERROR_MAX])
{
	const struct cli *cli = arg;
	int is_default;
	config_defaults(cfg);
	if (cli->config_file && config_load_file(cfg, cli->config_file, err) < 0)
		return -1;
	if (apply_listen("--dns", cli->dns, cli->dns_count, cfg->dns, &cfg->dns_count, &cfg->dns_is_default, err) < 0 ||
	    apply_listen("--register", cli->reg, cli->reg_count, cfg->reg, &cfg->reg_count, &cfg->reg_is_default, err) < 0 ||
	    apply_forward(cli, cfg, err) < 0)
		return -1;
	if (cli->state)
		snprintf(cfg->state_file, sizeof cfg->state_file, "%s", cli->state);
	if (cli->store) {
		char reason[CONFIG_ERROR_MAX];
		if (config_parse_store_url(cfg, cli->store, reason) < 0) {
			snprintf(err, CONFIG_ERROR_MAX, "--store: %s", reason);
			return -1;
		}
	}
	if (cli->http_count == 1 && strcmp(cli->http[0], "off") == 0)
		cfg->http_count = 0;
	else if (apply_listen("--http", cli->http, cli->http_count, cfg->http, &cfg->http_count, &is_default, err) < 0)
		return -1;
	if (cli->domain && config_set_domain(cfg, cli->domain, err) < 0) {
		char reason[CONFIG_ERROR_MAX];
		snprintf(reason, sizeof reason, "%s", err);
		snprintf(err, CONFIG_ERROR_MAX, "--domain: '%s': %s", cli->domain, reason);
		return -1;
	}
	if (cli->zones) {
		char reason[CONFIG_ERROR_MAX];
		snprintf(cfg->zones_dir, sizeof cfg->zones_dir, "%s", cli->zones);
		cfg->zones_dir_explicit = 1;
		if (config_check_zones_dir(cfg->zones_dir, reason) < 0) {
			snprintf(err, CONFIG_ERROR_MAX, "--zones: %s", reason);
			return -1;
		}
	}
	if (cli->log_level && log_level_parse(cli->log_level, &cfg->log_level) < 0) {
		snprintf(err, CONFIG_ERROR_MAX, "--log-level: '%s': use debug, info, warn or error", cli->log_level);
		return -1;
	}
	if (cli->log_queries)
		cfg->log_queries = 1;
	config_finish(cfg);
	return config_store_finish(cfg, err);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	int rc = parse_cli(argc, argv, &cli);
	if (rc >= 0)
		return rc;

	struct config cfg;
	char err[CONFIG_ERROR_MAX];
	if (load_config(&cfg, &cli, err) < 0) {
		fprintf(stderr, "svcdns: %s\n", err);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	log_set_level(cfg.log_level);

	if (cli.check_config) {
		rc = server_check_config(&cfg, stdout) < 0 ? EXIT_USAGE : EXIT_OK;
		config_free(&cfg);
		return rc;
	}

	struct server srv;
	int pid_written = 0;
	rc = server_init(&srv, &cfg, load_config, &cli);
	if (rc < 0) {
		rc = rc == SERVER_BAD_CONFIG ? EXIT_USAGE : EXIT_RUNTIME;
	} else if (cli.pid_file && pidfile_write(cli.pid_file, err) < 0) {
		log_error("--pid-file: %s", err);
		rc = EXIT_RUNTIME;
	} else {
		pid_written = cli.pid_file != NULL;
		if (server_run(&srv) < 0)
			rc = EXIT_RUNTIME;
	}
	server_free(&srv);
	if (pid_written)
		pidfile_remove(cli.pid_file);
	config_free(&cfg);
	return rc;
}
