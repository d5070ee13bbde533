/* svcdnsctl.c -- the command-line client: register, renew, deregister, list and ping over
 * the registration protocol, and `register --keepalive`, which holds a registration for as
 * long as it runs (a container sidecar or entrypoint helper).
 *
 * Exit status: 0 OK, 1 an ERR reply (the line goes to stderr) or no server, 2 bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker_registrar.h"
#include "keepalive.h"
#include "list_json.h"
#include "watch.h"
#include "svcdns/client.h"
#include "version.h"

#define DEFAULT_SERVER "127.0.0.1:8053"
#define KEY_LINE_MAX 2048

enum exit_status { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
	"usage: svcdnsctl [--server HOST:PORT[,HOST:PORT]...] [--tcp] [--key NAME:SECRET | --key-file FILE] COMMAND\n"
	"\n"
	"commands:\n"
	"  register SERVICE INSTANCE ADDRESS PORT [--ttl N] [--proto tcp|udp] [--priority N]\n"
	"           [--weight N] [--txt K=V]... [--check URL [--interval D] [--timeout D]\n"
	"           [--fall N] [--rise N]] [--tag TAG]... [--addr ADDRESS]...\n"
	"           [--network NAME[,NAME]] [--keepalive]\n"
	"  renew SERVICE INSTANCE [--ttl N]\n"
	"  deregister SERVICE INSTANCE\n"
	"  list [SERVICE] [--json]   print the server's instance lines (over TCP when\n"
	"                         the answer is too large for UDP); --json: as GET /v1/services\n"
	"  split SERVICE [TAG=PERCENT]... [--limit N]   weighted answers between tags\n"
	"                         (percents sum to 100); no shares: clear the split\n"
	"  ping\n"
	"  watch [--json] [--once]   follow registrations, renewals, expiries (HTTP API);\n"
	"                         reconnects with backoff when the stream ends; --json: the\n"
	"                         stream's JSON lines; --once: exit 1 when the stream ends\n"
	"  docker [--docker-socket PATH] [--network NAME] [--compose] [--ttl N]\n"
	"         [--deregister-on-exit]   register a Docker engine's containers from their\n"
	"                         svcdns.* labels, renew them while they run, deregister\n"
	"                         them when they stop (see README, \"Docker\")\n"
	"\n"
	"  --server HOST:PORT     registration listener; IPv6 as [::1]:8053; a comma list\n"
	"                         fails over: a server that does not answer, refuses or\n"
	"                         says ERR 503 passes the request to the next one\n"
	"                         (default $SVCDNS_SERVER, else " DEFAULT_SERVER ")\n"
	"  --tcp                  use TCP instead of UDP\n"
	"  --http HOST:PORT       the HTTP API, for watch (default $SVCDNS_HTTP, else "
	SVCDNSCTL_HTTP_DEFAULT ")\n"
	"  --key NAME:SECRET      sign requests with this key (default $SVCDNS_KEY)\n"
	"  --key-file FILE        read NAME:SECRET from the first line of FILE\n"
	"  --keepalive            stay in the foreground: renew at a third of the lease,\n"
	"                         register again when the server forgot the instance,\n"
	"                         deregister on SIGINT or SIGTERM\n"
	"  --docker-socket PATH   docker: the engine's API socket (default DOCKER_HOST's\n"
	"                         unix://PATH, else /var/run/docker.sock)\n"
	"  --network NAME         docker: register the address on this network (compose's\n"
	"                         PROJECT_NAME matches too); default: the only network.\n"
	"                         register: network=NAME[,NAME] for an address in no network\n"
	"  --compose              docker: com.docker.compose.service names the service\n"
	"                         of a container without svcdns.service\n"
	"  --deregister-on-exit   docker: on SIGINT/SIGTERM deregister every container\n"
	"                         held; without it their leases run out by themselves\n"
	"  -h, --help, --version\n"
	"\n"
	"Exit status: 0 OK, 1 ERR reply or server unreachable, 2 usage error.\n";

enum option_id {
	OPT_SERVER = 256, OPT_TCP, OPT_KEY, OPT_KEY_FILE, OPT_HTTP, OPT_TTL, OPT_PROTO, OPT_PRIORITY,
	OPT_WEIGHT, OPT_TXT, OPT_CHECK, OPT_INTERVAL, OPT_TIMEOUT, OPT_FALL, OPT_RISE, OPT_KEEPALIVE,
	OPT_TAG, OPT_ADDR, OPT_LIMIT, OPT_JSON, OPT_ONCE, OPT_DOCKER_SOCKET, OPT_NETWORK, OPT_COMPOSE,
	OPT_DEREGISTER_ON_EXIT, OPT_HELP, OPT_VERSION,
};

static const struct option long_options[] = {
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "tcp", no_argument, NULL, OPT_TCP },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "weight", required_argument, NULL, OPT_WEIGHT },
	{ "txt", required_argument, NULL, OPT_TXT },
	{ "check", required_argument, NULL, OPT_CHECK },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "fall", required_argument, NULL, OPT_FALL },
	{ "rise", required_argument, NULL, OPT_RISE },
	{ "keepalive", no_argument, NULL, OPT_KEEPALIVE },
	{ "tag", required_argument, NULL, OPT_TAG },
	{ "addr", required_argument, NULL, OPT_ADDR },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "docker-socket", required_argument, NULL, OPT_DOCKER_SOCKET },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "compose", no_argument, NULL, OPT_COMPOSE },
	{ "deregister-on-exit", no_argument, NULL, OPT_DEREGISTER_ON_EXIT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* Everything the command line said. */
struct command_line {
	const char *server;
	int tcp;
	const char *key;                  /* NAME:SECRET from --key */
	const char *key_file;
	const char *http;                 /* the HTTP API, for watch */
	struct svcdns_instance inst;      /* register's fields; renew's ttl */
	unsigned command_options;         /* option_bit()s of the command options given */
	int keepalive;
	int json;                         /* list, watch: JSON output */
	int once;                         /* watch: no reconnecting */
	const char *docker_socket;        /* docker: the engine's socket */
	const char *network;              /* docker: --network */
	int compose;                      /* docker: --compose */
	int deregister_on_exit;           /* docker: --deregister-on-exit */
	int txt_count;
	int addr_count;
	char tags[8 * 64 + 1];            /* --tag, joined with commas */
	unsigned limit;                   /* split --limit */
	char **args;                      /* COMMAND and its operands */
	int arg_count;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says what is wrong with the command line; returns the usage exit status. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("svcdnsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'svcdnsctl --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Strict decimal in min..max: no sign, no spaces, no trailing text. */
static int parse_number(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	*out = strtoul(text, &end, 10);
	return errno == 0 && *end == '\0' && *out >= min && *out <= max ? 0 : -1;
}

/* An option's bit in command_line.command_options. */
static unsigned option_bit(int option_id)
{
	return 1u << (option_id - OPT_SERVER);
}

/* The option's name as written on the command line, for messages. */
static const char *option_name(int option_id)
{
	for (const struct option *o = long_options; o->name != NULL; o++)
		if (o->val == option_id)
			return o->name;
	return "?";
}

/* "10s" or "500ms": digits, then the unit. */
static int is_duration(const char *text)
{
	size_t digits = strspn(text, "0123456789");
	return digits > 0 && digits <= 9 && (strcmp(text + digits, "s") == 0 || strcmp(text + digits, "ms") == 0);
}

/* Reads the flags (anywhere on the line) into cl. Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct command_line *cl)
{
	unsigned long number = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_SERVER:
			cl->server = optarg;
			break;
		case OPT_HTTP:
			cl->http = optarg;
			break;
		case OPT_TCP:
			cl->tcp = 1;
			break;
		case OPT_KEY:
			cl->key = optarg;
			break;
		case OPT_KEY_FILE:
			cl->key_file = optarg;
			break;
		case OPT_TTL:
			if (parse_number(optarg, 1, 0x7fffffffUL, &number) < 0)
				return usage_error("--ttl '%s' is not a number of seconds (1 or more)", optarg);
			cl->inst.ttl = (unsigned)number;
			cl->command_options |= option_bit(OPT_TTL);
			break;
		case OPT_PROTO:
			if (strcmp(optarg, "tcp") != 0 && strcmp(optarg, "udp") != 0)
				return usage_error("--proto '%s' is neither tcp nor udp", optarg);
			snprintf(cl->inst.proto, sizeof cl->inst.proto, "%s", optarg);
			cl->command_options |= option_bit(OPT_PROTO);
			break;
		case OPT_PRIORITY:
			if (parse_number(optarg, 0, 65535, &number) < 0)
				return usage_error("--priority '%s' is not a number 0-65535", optarg);
			cl->inst.priority = (uint16_t)number;
			cl->command_options |= option_bit(OPT_PRIORITY);
			break;
		case OPT_WEIGHT:
			if (parse_number(optarg, 0, 65535, &number) < 0)
				return usage_error("--weight '%s' is not a number 0-65535", optarg);
			cl->inst.weight = (uint16_t)number;
			cl->inst.weight_set = 1;
			cl->command_options |= option_bit(OPT_WEIGHT);
			break;
		case OPT_TXT:
			if (cl->txt_count == SVCDNS_MAX_TXT)
				return usage_error("more than %d --txt options", SVCDNS_MAX_TXT);
			if (optarg[0] == '\0' || strlen(optarg) > 255 || strpbrk(optarg, " \t\r\n") != NULL)
				return usage_error("--txt '%s' must be 1-255 bytes without spaces", optarg);
			if (optarg[0] == '=' || strchr(optarg, '=') == NULL)
				return usage_error("--txt '%s' must be KEY=VALUE (a key, then '=')", optarg);
			cl->inst.txt[cl->txt_count++] = optarg;
			cl->command_options |= option_bit(OPT_TXT);
			break;
		case OPT_CHECK:
			if (optarg[0] == '\0' || strpbrk(optarg, " \t\r\n") != NULL)
				return usage_error("--check '%s' must be a URL without spaces", optarg);
			cl->inst.check = optarg;
			cl->command_options |= option_bit(OPT_CHECK);
			break;
		case OPT_INTERVAL:
		case OPT_TIMEOUT:
			if (!is_duration(optarg))
				return usage_error("--%s '%s' is not a duration (10s, 500ms)", option_name(opt), optarg);
			*(opt == OPT_INTERVAL ? &cl->inst.interval : &cl->inst.timeout) = optarg;
			cl->command_options |= option_bit(opt);
			break;
		case OPT_FALL:
		case OPT_RISE:
			if (parse_number(optarg, 1, 100, &number) < 0)
				return usage_error("--%s '%s' is not a number 1-100", option_name(opt), optarg);
			*(opt == OPT_FALL ? &cl->inst.fall : &cl->inst.rise) = (unsigned)number;
			cl->command_options |= option_bit(opt);
			break;
		case OPT_TAG:
			if (optarg[0] == '\0' || strpbrk(optarg, " \t\r\n") != NULL ||
			    strlen(cl->tags) + strlen(optarg) + 2 > sizeof cl->tags)
				return usage_error("--tag '%s': a name (or NAME,NAME) without spaces; at most 8 tags", optarg);
			if (cl->tags[0])
				strcat(cl->tags, ",");
			strcat(cl->tags, optarg);
			cl->inst.tags = cl->tags;
			cl->command_options |= option_bit(OPT_TAG);
			break;
		case OPT_ADDR:
			if (cl->addr_count == SVCDNS_MAX_ADDRS)
				return usage_error("more than %d --addr options", SVCDNS_MAX_ADDRS);
			cl->inst.addrs[cl->addr_count++] = optarg;
			cl->command_options |= option_bit(OPT_ADDR);
			break;
		case OPT_LIMIT:
			if (parse_number(optarg, 1, 65535, &number) < 0)
				return usage_error("--limit '%s' is not a number 1-65535", optarg);
			cl->limit = (unsigned)number;
			cl->command_options |= option_bit(OPT_LIMIT);
			break;
		case OPT_KEEPALIVE:
			cl->keepalive = 1;
			cl->command_options |= option_bit(OPT_KEEPALIVE);
			break;
		case OPT_JSON:
			cl->json = 1;
			cl->command_options |= option_bit(OPT_JSON);
			break;
		case OPT_ONCE:
			cl->once = 1;
			cl->command_options |= option_bit(OPT_ONCE);
			break;
		case OPT_DOCKER_SOCKET:
		case OPT_NETWORK:
			if (optarg[0] == '\0')
				return usage_error("--%s needs a non-empty value", option_name(opt));
			*(opt == OPT_NETWORK ? &cl->network : &cl->docker_socket) = optarg;
			if (opt == OPT_NETWORK)
				cl->inst.network = optarg;  /* register: network= for an address in no network */
			cl->command_options |= option_bit(opt);
			break;
		case OPT_COMPOSE:
		case OPT_DEREGISTER_ON_EXIT:
			*(opt == OPT_COMPOSE ? &cl->compose : &cl->deregister_on_exit) = 1;
			cl->command_options |= option_bit(opt);
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage_text, stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("svcdnsctl %s\n", SVCDNS_VERSION);
			return EXIT_OK;
		default:  /* getopt_long has said what was wrong */
			fputs("Try 'svcdnsctl --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	cl->args = argv + optind;
	cl->arg_count = argc - optind;
	return -1;
}

/* Splits "NAME:SECRET" (the secret may contain ':') and gives it to the client. */
static int apply_key(struct svcdns_client *c, char *name_secret, const char *source)
{
	char *colon = strchr(name_secret, ':');
	if (colon == NULL || colon == name_secret || colon[1] == '\0')
		return usage_error("%s: a key is NAME:SECRET, both non-empty", source);
	*colon = '\0';
	int rc = svcdns_set_key(c, name_secret, colon + 1);
	*colon = ':';
	if (rc < 0)
		return usage_error("%s: the key name may not contain spaces, the secret is at most 1024 bytes",
				   source);
	return -1;
}

/* Reads the first line of the key file, without its line ending. */
static int read_key_file(const char *path, char *line, size_t line_size)
{
	FILE *f = fopen(path, "r");
	int status = -1;

	if (f == NULL) {
		fprintf(stderr, "svcdnsctl: cannot open key file %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (fgets(line, (int)line_size, f) == NULL) {
		fprintf(stderr, "svcdnsctl: key file %s is empty\n", path);
		status = EXIT_USAGE;
		goto out;
	}
	line[strcspn(line, "\r\n")] = '\0';
out:
	fclose(f);
	return status;
}

/* --key, else --key-file, else $SVCDNS_KEY. Returns -1 to go on, or an exit status. */
static int set_up_key(struct svcdns_client *c, const struct command_line *cl)
{
	char line[KEY_LINE_MAX];
	const char *env_key = getenv("SVCDNS_KEY");
	int status = -1;

	if (cl->key != NULL && cl->key_file != NULL)
		return usage_error("--key and --key-file exclude each other");
	if (cl->key != NULL)
		snprintf(line, sizeof line, "%s", cl->key);
	else if (cl->key_file != NULL)
		status = read_key_file(cl->key_file, line, sizeof line);
	else if (env_key != NULL && env_key[0] != '\0')
		snprintf(line, sizeof line, "%s", env_key);
	else
		return -1;
	if (status == -1)
		status = apply_key(c, line, cl->key != NULL ? "--key" : cl->key_file != NULL ? cl->key_file : "SVCDNS_KEY");
	OPENSSL_cleanse(line, sizeof line);
	return status;
}

/* An ERR reply prints as the server sent it; other failures say what went wrong. */
static int report(struct svcdns_client *c, int status)
{
	if (status == 0)
		return EXIT_OK;
	if (status > 0)
		fprintf(stderr, "%s\n", svcdns_last_error(c));
	else
		fprintf(stderr, "svcdnsctl: %s\n", svcdns_last_error(c));
	return EXIT_FAILED;
}

/* ---- keepalive: a self-pipe turns SIGINT/SIGTERM into a readable fd ---- */

static int stop_pipe_write_fd = -1;   /* the signal handler's only way out */

static void on_stop_signal(int signo)
{
	int saved_errno = errno;
	char byte = (char)signo;
	if (write(stop_pipe_write_fd, &byte, 1) < 0) {
		/* The pipe is full: a stop is pending already. */
	}
	errno = saved_errno;
}

static void log_to_stderr(void *arg, const char *message)
{
	(void)arg;
	fprintf(stderr, "svcdnsctl: %s\n", message);
}

/* Returns the read end of a pipe that SIGINT and SIGTERM write to, or -1. The write end
 * stays open: a late signal must find a valid fd in the handler. */
static int catch_stop_signals(void)
{
	int stop_pipe[2] = { -1, -1 };
	struct sigaction action = { 0 };

	if (pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		fprintf(stderr, "svcdnsctl: cannot create a pipe: %s\n", strerror(errno));
		return -1;
	}
	stop_pipe_write_fd = stop_pipe[1];
	action.sa_handler = on_stop_signal;
	action.sa_flags = SA_RESTART;
	sigemptyset(&action.sa_mask);
	if (sigaction(SIGINT, &action, NULL) < 0 || sigaction(SIGTERM, &action, NULL) < 0) {
		fprintf(stderr, "svcdnsctl: cannot catch SIGINT/SIGTERM: %s\n", strerror(errno));
		close(stop_pipe[0]);
		return -1;
	}
	return stop_pipe[0];
}

static int run_keepalive(struct svcdns_client *c, const struct svcdns_instance *inst)
{
	int stop_fd = catch_stop_signals();
	if (stop_fd < 0)
		return EXIT_FAILED;
	int rc = keepalive_run(c, inst, stop_fd, log_to_stderr, NULL);
	close(stop_fd);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}

/* ---- the commands ---- */

static void print_instance(const struct svcdns_instance *inst, void *arg)
{
	(void)arg;
	printf("%s %s %s %u ttl=%u", inst->service, inst->instance, inst->address, (unsigned)inst->port, inst->ttl);
	if (strcmp(inst->proto, "udp") == 0)
		printf(" proto=udp");
	if (inst->priority > 0)
		printf(" priority=%u", (unsigned)inst->priority);
	if (inst->weight > 0 || inst->weight_set)
		printf(" weight=%u", (unsigned)inst->weight);
	for (int i = 0; i < SVCDNS_MAX_TXT && inst->txt[i] != NULL; i++)
		printf(" txt=%s", inst->txt[i]);
	if (inst->tags)
		printf(" tags=%s", inst->tags);
	for (int i = 0; i < SVCDNS_MAX_ADDRS && inst->addrs[i] != NULL; i++)
		printf(" addr=%s", inst->addrs[i]);
	if (inst->network)
		printf(" network=%s", inst->network);
	if (inst->networks)
		printf(" networks=%s", inst->networks);
	if (inst->effective_weight)
		printf(" effective-weight=%s", inst->effective_weight);
	if (inst->check)
		printf(" check=%s", inst->check);
	if (inst->interval)
		printf(" interval=%s", inst->interval);
	if (inst->timeout)
		printf(" timeout=%s", inst->timeout);
	if (inst->fall)
		printf(" fall=%u", inst->fall);
	if (inst->rise)
		printf(" rise=%u", inst->rise);
	if (inst->health)
		printf(" health=%s", inst->health);
	if (inst->is_static)
		printf(" static");
	putchar('\n');
}

static int command_register(struct svcdns_client *c, struct command_line *cl)
{
	struct svcdns_instance *inst = &cl->inst;
	unsigned long port = 0;
	unsigned granted = 0;

	if (cl->arg_count != 5)
		return usage_error("register takes SERVICE INSTANCE ADDRESS PORT");
	if (parse_number(cl->args[4], 0, 65535, &port) < 0)
		return usage_error("port '%s' is not a number 0-65535", cl->args[4]);
	snprintf(inst->service, sizeof inst->service, "%s", cl->args[1]);
	snprintf(inst->instance, sizeof inst->instance, "%s", cl->args[2]);
	snprintf(inst->address, sizeof inst->address, "%s", cl->args[3]);
	if (strlen(cl->args[1]) >= sizeof inst->service || strlen(cl->args[2]) >= sizeof inst->instance ||
	    strlen(cl->args[3]) >= sizeof inst->address)
		return usage_error("SERVICE, INSTANCE and ADDRESS are at most 63 characters");
	inst->port = (uint16_t)port;
	if (cl->keepalive)
		return run_keepalive(c, inst);
	int status = svcdns_register(c, inst, &granted);
	if (status == 0)
		printf("OK ttl=%u\n", granted);
	return report(c, status);
}

static int command_renew(struct svcdns_client *c, struct command_line *cl)
{
	unsigned granted = 0;

	if (cl->arg_count != 3)
		return usage_error("renew takes SERVICE INSTANCE");
	int status = svcdns_renew(c, cl->args[1], cl->args[2], cl->inst.ttl, &granted);
	if (status == 0)
		printf("OK ttl=%u\n", granted);
	return report(c, status);
}

static int command_deregister(struct svcdns_client *c, struct command_line *cl)
{
	if (cl->arg_count != 3)
		return usage_error("deregister takes SERVICE INSTANCE");
	int status = svcdns_deregister(c, cl->args[1], cl->args[2]);
	if (status == 0)
		printf("OK\n");
	return report(c, status);
}

/* LIST over UDP gets ERR 413 when the reply does not fit one datagram: then it is asked
 * again over TCP, which has no such limit. Nothing was printed for the refused one. */
static int command_list(struct svcdns_client *c, struct command_line *cl)
{
	const char *service = cl->arg_count == 2 ? cl->args[1] : NULL;
	struct svcdns_client *tcp = NULL;
	struct list_json lj;
	if (cl->arg_count > 2)
		return usage_error("list takes at most a SERVICE");
	list_json_init(&lj);
	void (*fn)(const struct svcdns_instance *, void *) = cl->json ? list_json_add : print_instance;
	int status = svcdns_list(c, service, fn, &lj, NULL);
	if (status == 413 && !cl->tcp) {
		tcp = svcdns_open(cl->server, 1);
		if (tcp == NULL) {
			fprintf(stderr, "svcdnsctl: %s\n", strerror(errno));
			list_json_free(&lj);
			return EXIT_FAILED;
		}
		status = set_up_key(tcp, cl);
		if (status == -1)
			status = svcdns_list(tcp, service, fn, &lj, NULL);
		else
			goto out;
		c = tcp;
	}
	if (status == 0 && cl->json && list_json_print(&lj, service, stdout) < 0) {
		fprintf(stderr, "svcdnsctl: cannot print the JSON list: %s\n", strerror(errno));
		status = EXIT_FAILED;
		goto out;
	}
	status = report(c, status);
out:
	list_json_free(&lj);
	svcdns_close(tcp);
	return status;
}

/* split SERVICE [TAG=PERCENT]... [--limit N]: the shares go to the server as written. */
static int command_split(struct svcdns_client *c, struct command_line *cl)
{
	char shares[1024] = "";
	size_t len = 0;
	if (cl->arg_count < 2)
		return usage_error("split takes SERVICE [TAG=PERCENT]...");
	for (int i = 2; i < cl->arg_count; i++) {
		int n = snprintf(shares + len, sizeof shares - len, "%s%s", len ? " " : "", cl->args[i]);
		if (n < 0 || (size_t)n >= sizeof shares - len)
			return usage_error("too many shares");
		len += (size_t)n;
	}
	if (cl->limit) {
		if (len == 0)
			return usage_error("--limit needs TAG=PERCENT shares");
		snprintf(shares + len, sizeof shares - len, " limit=%u", cl->limit);
	}
	int status = svcdns_split(c, cl->args[1], shares);
	if (status == 0)
		printf("OK\n");
	return report(c, status);
}

/* DOCKER_HOST=unix:///path names the socket; a tcp:// engine is not supported. */
static const char *docker_socket_path(const struct command_line *cl)
{
	const char *host = getenv("DOCKER_HOST");
	if (cl->docker_socket != NULL)
		return cl->docker_socket;
	if (host != NULL && strncmp(host, "unix://", 7) == 0 && host[7] != '\0')
		return host + 7;
	return "/var/run/docker.sock";
}

static int command_docker(struct svcdns_client *c, struct command_line *cl)
{
	struct svcdns_client *list_client = NULL;
	const char *host = getenv("DOCKER_HOST");
	int status = EXIT_FAILED, stop_fd = -1;

	if (cl->arg_count != 1)
		return usage_error("docker takes no operands");
	if (cl->docker_socket == NULL && host != NULL && host[0] != '\0' && strncmp(host, "unix://", 7) != 0)
		return usage_error("DOCKER_HOST '%s': only unix:// sockets are supported (or use --docker-socket)", host);
	struct docker_registrar_options options = {
		.socket_path = docker_socket_path(cl),
		.labels = { .network = cl->network, .compose = cl->compose, .default_ttl = cl->inst.ttl },
		.deregister_on_exit = cl->deregister_on_exit,
		.log = log_to_stderr,
	};
	/* LIST over TCP: the instances of a whole engine need not fit one datagram. */
	list_client = svcdns_open(cl->server, 1);
	if (list_client == NULL) {
		fprintf(stderr, "svcdnsctl: %s\n", strerror(errno));
		goto out;
	}
	status = set_up_key(list_client, cl);
	if (status != -1)
		goto out;
	status = EXIT_FAILED;
	stop_fd = catch_stop_signals();
	if (stop_fd < 0)
		goto out;
	if (docker_registrar_run(c, list_client, &options, stop_fd) == 0)
		status = EXIT_OK;
out:
	if (stop_fd >= 0)
		close(stop_fd);
	svcdns_close(list_client);
	return status;
}

static int command_ping(struct svcdns_client *c, struct command_line *cl)
{
	if (cl->arg_count != 1)
		return usage_error("ping takes no operands");
	int status = svcdns_ping(c);
	if (status == 0)
		printf("OK\n");
	return report(c, status);
}

struct command {
	const char *name;
	int (*run)(struct svcdns_client *c, struct command_line *cl);
	int options[16];       /* the command options it takes (option ids), 0-terminated */
};

static const struct command commands[] = {
	{ "register", command_register, { OPT_TTL, OPT_PROTO, OPT_PRIORITY, OPT_WEIGHT, OPT_TXT, OPT_CHECK,
					  OPT_INTERVAL, OPT_TIMEOUT, OPT_FALL, OPT_RISE, OPT_KEEPALIVE, OPT_TAG,
					  OPT_ADDR, OPT_NETWORK } },
	{ "split", command_split, { OPT_LIMIT } },
	{ "renew", command_renew, { OPT_TTL } },
	{ "deregister", command_deregister, { 0 } },
	{ "list", command_list, { OPT_JSON } },
	{ "ping", command_ping, { 0 } },
	{ "watch", NULL, { OPT_JSON, OPT_ONCE } },  /* talks HTTP, not the registration protocol: see main */
	{ "docker", command_docker, { OPT_TTL, OPT_DOCKER_SOCKET, OPT_NETWORK, OPT_COMPOSE, OPT_DEREGISTER_ON_EXIT } },
};

static int command_takes(const struct command *command, int option_id)
{
	for (const int *id = command->options; *id != 0; id++)
		if (*id == option_id)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct command_line cl = { 0 };
	struct svcdns_client *c = NULL;
	const struct command *command = NULL;
	int status = parse_options(argc, argv, &cl);

	if (status != -1)
		goto out;
	if (cl.arg_count == 0) {
		status = usage_error("no command given (register, renew, deregister, list, split, ping, watch, docker)");
		goto out;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cl.args[0], commands[i].name) == 0)
			command = &commands[i];
	if (command == NULL) {
		status = usage_error("unknown command '%s'", cl.args[0]);
		goto out;
	}
	for (int id = OPT_TTL; id <= OPT_DEREGISTER_ON_EXIT; id++) {
		if ((cl.command_options & option_bit(id)) != 0 && !command_takes(command, id)) {
			status = usage_error("--%s is not an option of %s", option_name(id), command->name);
			goto out;
		}
	}

	if (command->run == NULL) {
		const char *http = cl.http ? cl.http : getenv("SVCDNS_HTTP");
		if (cl.arg_count != 1) {
			status = usage_error("watch takes no operands");
			goto out;
		}
		struct watch_options options = { .json = cl.json, .once = cl.once };
		status = svcdnsctl_watch(http && *http ? http : SVCDNSCTL_HTTP_DEFAULT, stdout, &options);
		goto out;
	}
	const char *server = cl.server;
	if (server == NULL)
		server = getenv("SVCDNS_SERVER");
	if (server == NULL || server[0] == '\0')
		server = DEFAULT_SERVER;
	cl.server = server;
	c = svcdns_open(server, cl.tcp);
	if (c == NULL) {
		if (errno == EINVAL)
			status = usage_error("bad server address '%s' (HOST:PORT, [IPV6]:PORT or HOST; "
					     "at most 16, separated by commas)", server);
		else
			fprintf(stderr, "svcdnsctl: %s\n", strerror(errno));
		goto out;
	}
	status = set_up_key(c, &cl);
	if (status != -1)
		goto out;
	status = command->run(c, &cl);
out:
	svcdns_close(c);
	if (fflush(stdout) != 0 && status == EXIT_OK)
		status = EXIT_FAILED;
	return status == -1 ? EXIT_FAILED : status;
}
