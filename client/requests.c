/* requests.c -- the protocol's requests (REGISTER, RENEW, DEREGISTER, LIST, PING): build
 * the line from the caller's fields, read the answer back into numbers and structs. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

#define NAME_MAX_LEN 63      /* an LDH label */
#define ADDRESS_MAX_LEN 63
#define TXT_MAX_LEN 255      /* one TXT string */
#define CHECK_MAX_LEN 200    /* a check= URL */

/* A request line under construction. */
struct line_builder {
	char text[CLIENT_REQUEST_MAX];
	size_t len;
	int overflow;            /* something did not fit: the line must not be sent */
};

static void append(struct line_builder *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void append(struct line_builder *b, const char *fmt, ...)
{
	if (b->overflow)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->text + b->len, sizeof b->text - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof b->text - b->len)
		b->overflow = 1;
	else
		b->len += (size_t)n;
}

/* Refuses, before sending, a field that would break the line apart. The server judges
 * everything else (LDH names, address syntax) and names the field in its ERR reply. */
static int check_field(struct svcdns_client *c, const char *what, const char *value, size_t max_len)
{
	if (value != NULL && client_is_word(value, max_len))
		return 0;
	client_set_error(c, "ERR 400 %s: empty, longer than %zu bytes, or contains a space or control character (not sent)",
			 what, max_len);
	return 400;
}

static int line_too_long(struct svcdns_client *c)
{
	client_set_error(c, "ERR 413 request longer than %d bytes (not sent)", CLIENT_REQUEST_MAX - 1);
	return 413;
}

/* Reads "ttl=<n>" from an "OK ttl=<n>" reply; 0 when it is missing. */
static unsigned granted_ttl_of(const char *final)
{
	const char *ttl = strstr(final, " ttl=");
	return ttl != NULL ? (unsigned)strtoul(ttl + 5, NULL, 10) : 0;
}

/* check=, interval=, timeout=, fall=, rise=; the server checks the values. */
static int append_check(struct svcdns_client *c, struct line_builder *b, const struct svcdns_instance *inst)
{
	int rc;
	if (inst->check == NULL) {
		if (inst->interval || inst->timeout || inst->fall || inst->rise) {
			client_set_error(c, "ERR 400 interval, timeout, fall and rise need a check (not sent)");
			return 400;
		}
		return 0;
	}
	if ((rc = check_field(c, "check", inst->check, CHECK_MAX_LEN)) != 0)
		return rc;
	append(b, " check=%s", inst->check);
	if (inst->interval) {
		if ((rc = check_field(c, "interval", inst->interval, 16)) != 0)
			return rc;
		append(b, " interval=%s", inst->interval);
	}
	if (inst->timeout) {
		if ((rc = check_field(c, "timeout", inst->timeout, 16)) != 0)
			return rc;
		append(b, " timeout=%s", inst->timeout);
	}
	if (inst->fall)
		append(b, " fall=%u", inst->fall);
	if (inst->rise)
		append(b, " rise=%u", inst->rise);
	return 0;
}

/* tags=, addr=, network=; the server checks the names and addresses. */
static int append_views(struct svcdns_client *c, struct line_builder *b, const struct svcdns_instance *inst)
{
	int rc;
	if (inst->tags) {
		if ((rc = check_field(c, "tags", inst->tags, 8 * (NAME_MAX_LEN + 1))) != 0)
			return rc;
		append(b, " tags=%s", inst->tags);
	}
	for (int i = 0; i < SVCDNS_MAX_ADDRS && inst->addrs[i] != NULL; i++) {
		if ((rc = check_field(c, "addr", inst->addrs[i], ADDRESS_MAX_LEN)) != 0)
			return rc;
		append(b, " addr=%s", inst->addrs[i]);
	}
	if (inst->network) {
		if ((rc = check_field(c, "network", inst->network, 4 * (NAME_MAX_LEN + 1))) != 0)
			return rc;
		append(b, " network=%s", inst->network);
	}
	return 0;
}

int svcdns_register(struct svcdns_client *c, const struct svcdns_instance *inst, unsigned *granted_ttl)
{
	return svcdns_register_extra(c, inst, NULL, granted_ttl);
}

int svcdns_register_extra(struct svcdns_client *c, const struct svcdns_instance *inst, const char *extra,
			  unsigned *granted_ttl)
{
	struct line_builder b = { .len = 0 };
	char final[CLIENT_FINAL_LINE_MAX];
	int rc;

	if ((rc = check_field(c, "service", inst->service, NAME_MAX_LEN)) != 0 ||
	    (rc = check_field(c, "instance", inst->instance, NAME_MAX_LEN)) != 0 ||
	    (rc = check_field(c, "address", inst->address, ADDRESS_MAX_LEN)) != 0)
		return rc;
	if (inst->proto[0] != '\0' && strcmp(inst->proto, "tcp") != 0 && strcmp(inst->proto, "udp") != 0) {
		client_set_error(c, "ERR 400 proto: '%.4s' is neither tcp nor udp (not sent)", inst->proto);
		return 400;
	}
	append(&b, "REGISTER %s %s %s %u", inst->service, inst->instance, inst->address, (unsigned)inst->port);
	if (inst->ttl > 0)
		append(&b, " ttl=%u", inst->ttl);
	if (inst->proto[0] != '\0')
		append(&b, " proto=%s", inst->proto);
	if (inst->priority > 0)
		append(&b, " priority=%u", (unsigned)inst->priority);
	if (inst->weight > 0 || inst->weight_set)
		append(&b, " weight=%u", (unsigned)inst->weight);
	if ((rc = append_views(c, &b, inst)) != 0)
		return rc;
	for (int i = 0; i < SVCDNS_MAX_TXT && inst->txt[i] != NULL; i++) {
		if ((rc = check_field(c, "txt", inst->txt[i], TXT_MAX_LEN)) != 0)
			return rc;
		append(&b, " txt=%s", inst->txt[i]);
	}
	if ((rc = append_check(c, &b, inst)) != 0)
		return rc;
	if (extra != NULL && extra[0] != '\0') {
		if (strpbrk(extra, "\r\n") != NULL) {
			client_set_error(c, "ERR 400 extra options: contain a line break (not sent)");
			return 400;
		}
		append(&b, " %s", extra);
	}
	if (b.overflow)
		return line_too_long(c);

	rc = client_exchange(c, b.text, NULL, NULL, final, sizeof final);
	if (rc == 0 && granted_ttl != NULL)
		*granted_ttl = granted_ttl_of(final);
	return rc;
}

int svcdns_renew(struct svcdns_client *c, const char *service, const char *instance, unsigned ttl,
		 unsigned *granted_ttl)
{
	struct line_builder b = { .len = 0 };
	char final[CLIENT_FINAL_LINE_MAX];
	int rc;

	if ((rc = check_field(c, "service", service, NAME_MAX_LEN)) != 0 ||
	    (rc = check_field(c, "instance", instance, NAME_MAX_LEN)) != 0)
		return rc;
	append(&b, "RENEW %s %s", service, instance);
	if (ttl > 0)
		append(&b, " ttl=%u", ttl);
	if (b.overflow)
		return line_too_long(c);

	rc = client_exchange(c, b.text, NULL, NULL, final, sizeof final);
	if (rc == 0 && granted_ttl != NULL)
		*granted_ttl = granted_ttl_of(final);
	return rc;
}

int svcdns_deregister(struct svcdns_client *c, const char *service, const char *instance)
{
	struct line_builder b = { .len = 0 };
	int rc;

	if ((rc = check_field(c, "service", service, NAME_MAX_LEN)) != 0 ||
	    (rc = check_field(c, "instance", instance, NAME_MAX_LEN)) != 0)
		return rc;
	append(&b, "DEREGISTER %s %s", service, instance);
	if (b.overflow)
		return line_too_long(c);

	rc = client_exchange(c, b.text, NULL, NULL, NULL, 0);
	/* Over UDP a datagram that went unanswered may have been carried out, its reply lost;
	 * then the retry finds nothing to remove. The instance is gone either way. */
	if (rc == 404 && c->unanswered_sends > 0) {
		client_set_error(c, "%s", "");
		rc = 0;
	}
	return rc;
}

int svcdns_split(struct svcdns_client *c, const char *service, const char *shares)
{
	struct line_builder b = { .len = 0 };
	int rc;
	if ((rc = check_field(c, "service", service, NAME_MAX_LEN)) != 0)
		return rc;
	append(&b, "SPLIT %s", service);
	if (shares && *shares) {
		if (strpbrk(shares, "\t\r\n") || shares[0] == ' ' || strstr(shares, "  ") ||
		    shares[strlen(shares) - 1] == ' ') {
			client_set_error(c, "ERR 400 shares: separate TAG=PERCENT with single spaces (not sent)");
			return 400;
		}
		append(&b, " %s", shares);
	}
	if (b.overflow)
		return line_too_long(c);
	return client_exchange(c, b.text, NULL, NULL, NULL, 0);
}

int svcdns_ping(struct svcdns_client *c)
{
	return client_exchange(c, "PING", NULL, NULL, NULL, 0);
}

/* LIST's state while its lines stream in. */
struct list_context {
	void (*fn)(const struct svcdns_instance *inst, void *arg);
	void *arg;
	unsigned malformed;          /* lines that did not parse */
	char first_malformed[128];   /* the first of them, for the error message */
};

static int copy_field(char *out, size_t out_size, const char *value)
{
	size_t len = strlen(value);
	if (len == 0 || len >= out_size)
		return -1;
	memcpy(out, value, len + 1);
	return 0;
}

static int parse_number(const char *text, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	if (text[0] < '0' || text[0] > '9')
		return -1;
	*out = strtoul(text, &end, 10);
	return *end == '\0' && *out <= max ? 0 : -1;
}

/* Parses "<service> <instance> <address> <port> ttl=<n> [proto=udp] [priority=<n>]
 * [weight=<n>] [txt=<k=v>]... [static]" in place; txt points into line. Options this
 * client does not know are skipped, so a newer server's lines still parse. */
static int parse_instance_line(char *line, struct svcdns_instance *inst)
{
	char *save = NULL;
	char *fields[4];
	unsigned long number = 0;
	int txt_count = 0, addr_count = 0;

	memset(inst, 0, sizeof *inst);
	for (int i = 0; i < 4; i++) {
		fields[i] = strtok_r(i == 0 ? line : NULL, " ", &save);
		if (fields[i] == NULL)
			return -1;
	}
	if (copy_field(inst->service, sizeof inst->service, fields[0]) < 0 ||
	    copy_field(inst->instance, sizeof inst->instance, fields[1]) < 0 ||
	    copy_field(inst->address, sizeof inst->address, fields[2]) < 0 ||
	    parse_number(fields[3], 65535, &number) < 0)
		return -1;
	inst->port = (uint16_t)number;
	for (char *opt = strtok_r(NULL, " ", &save); opt != NULL; opt = strtok_r(NULL, " ", &save)) {
		if (strncmp(opt, "ttl=", 4) == 0) {
			if (parse_number(opt + 4, 0xffffffffUL, &number) < 0)
				return -1;
			inst->ttl = (unsigned)number;
		} else if (strncmp(opt, "proto=", 6) == 0) {
			if (copy_field(inst->proto, sizeof inst->proto, opt + 6) < 0)
				return -1;
		} else if (strncmp(opt, "priority=", 9) == 0) {
			if (parse_number(opt + 9, 65535, &number) < 0)
				return -1;
			inst->priority = (uint16_t)number;
		} else if (strncmp(opt, "weight=", 7) == 0) {
			if (parse_number(opt + 7, 65535, &number) < 0)
				return -1;
			inst->weight = (uint16_t)number;
			inst->weight_set = 1;
		} else if (strncmp(opt, "tags=", 5) == 0) {
			inst->tags = opt + 5;
		} else if (strncmp(opt, "addr=", 5) == 0) {
			if (addr_count < SVCDNS_MAX_ADDRS)
				inst->addrs[addr_count++] = opt + 5;
		} else if (strncmp(opt, "network=", 8) == 0) {
			inst->network = opt + 8;
		} else if (strncmp(opt, "networks=", 9) == 0) {
			inst->networks = opt + 9;
		} else if (strncmp(opt, "effective-weight=", 17) == 0) {
			inst->effective_weight = opt + 17;
		} else if (strncmp(opt, "txt=", 4) == 0) {
			if (txt_count < SVCDNS_MAX_TXT)
				inst->txt[txt_count++] = opt + 4;
		} else if (strncmp(opt, "check=", 6) == 0) {
			inst->check = opt + 6;
		} else if (strncmp(opt, "interval=", 9) == 0) {
			inst->interval = opt + 9;
		} else if (strncmp(opt, "timeout=", 8) == 0) {
			inst->timeout = opt + 8;
		} else if (strncmp(opt, "fall=", 5) == 0 || strncmp(opt, "rise=", 5) == 0) {
			if (parse_number(opt + 5, 100, &number) < 0)
				return -1;
			*(opt[0] == 'f' ? &inst->fall : &inst->rise) = (unsigned)number;
		} else if (strncmp(opt, "health=", 7) == 0) {
			inst->health = opt + 7;
		} else if (strcmp(opt, "static") == 0) {
			inst->is_static = 1;
		}
	}
	return 0;
}

static void on_instance_line(char *line, void *arg)
{
	struct list_context *ctx = arg;
	struct svcdns_instance inst;

	/* Parsing cuts the line apart; keep it whole for the message until one has failed. */
	if (ctx->malformed == 0)
		snprintf(ctx->first_malformed, sizeof ctx->first_malformed, "%s", line);
	if (parse_instance_line(line, &inst) < 0) {
		ctx->malformed++;
		return;
	}
	if (ctx->fn != NULL)
		ctx->fn(&inst, ctx->arg);
}

int svcdns_list(struct svcdns_client *c, const char *service,
		void (*fn)(const struct svcdns_instance *inst, void *arg), void *arg, unsigned *count)
{
	struct list_context ctx = { .fn = fn, .arg = arg };
	struct line_builder b = { .len = 0 };
	char final[CLIENT_FINAL_LINE_MAX];
	int rc;

	if (service != NULL) {
		if ((rc = check_field(c, "service", service, NAME_MAX_LEN)) != 0)
			return rc;
		append(&b, "LIST %s", service);
	} else {
		append(&b, "LIST");
	}
	if (b.overflow)
		return line_too_long(c);

	rc = client_exchange(c, b.text, on_instance_line, &ctx, final, sizeof final);
	if (rc == 0 && count != NULL)
		*count = (unsigned)strtoul(final + 2, NULL, 10);
	if (rc == 0 && ctx.malformed > 0) {
		client_set_error(c, "%u LIST line%s did not parse, the first: '%.100s'", ctx.malformed,
				 ctx.malformed == 1 ? "" : "s", ctx.first_malformed);
		return -1;
	}
	return rc;
}
