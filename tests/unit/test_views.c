/* Unit tests for views.c, split.c, weights.c and their protocol and config faces:
 * CIDR placement, split parsing and arithmetic, the weighted draw's distribution,
 * tags=/addr=/network= and SPLIT through reg_proto.c. */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "reg_proto.h"
#include "registrar.h"
#include "split.h"
#include "state_codec.h"
#include "reg_exec.h"
#include "tap.h"
#include "views.h"
#include "weights.h"

static struct config cfg;
static struct registry reg;
static struct registrar registrar;
static char reply[8192];

static const char *run_from(const char *line, const char *source)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, source, &sa.sin_addr);
	return reg_exec(&registrar, line, (const struct sockaddr *)&sa, reply, sizeof reply);
}

static const char *run(const char *line)
{
	return run_from(line, "127.0.0.1");
}

static uint32_t source_view(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	inet_pton(AF_INET, addr, &sa.sin_addr);
	return views_of_source(&cfg, (const struct sockaddr *)&sa);
}

static const char *view_addr(const char *service, const char *instance, const char *source,
			     char out[INET6_ADDRSTRLEN])
{
	struct instance *inst = registry_lookup(&reg, service, instance);
	uint32_t view = source_view(source);
	if (!inst || !instance_visible(inst, view))
		return "unseen";
	return inet_ntop(AF_INET, instance_view_addr(inst, view), out, INET6_ADDRSTRLEN);
}

static int load_config(const char *yaml, char err[CONFIG_ERROR_MAX])
{
	char path[] = "/tmp/test_views_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, yaml, strlen(yaml)) != (ssize_t)strlen(yaml))
		return -1;
	close(fd);
	config_free(&cfg);
	config_defaults(&cfg);
	int rc = config_load_file(&cfg, path, err);
	config_finish(&cfg);
	unlink(path);
	return rc;
}

static void test_split_parsing(void)
{
	struct split sp;
	char reason[160];
	ok(split_parse_text("v1=90 v2=10", &sp, reason, sizeof reason) == 0 && sp.count == 2 &&
	   sp.shares[0].percent == 90 && strcmp(sp.shares[1].tag, "v2") == 0 && sp.limit == 0,
	   "split: v1=90 v2=10");
	ok(split_parse_text("V1=50 v2=50 limit=1", &sp, reason, sizeof reason) == 0 && sp.limit == 1 &&
	   strcmp(sp.shares[0].tag, "v1") == 0, "split: limit=1, tags lowercased");
	ok(split_parse_text("v1=90 v2=11", &sp, reason, sizeof reason) < 0, "split: a sum of 101 refused");
	is_str(reason, "percents sum to 101, not 100", "split: the reason names the sum");
	ok(split_parse_text("v1=50 v1=50", &sp, reason, sizeof reason) < 0, "split: a tag twice refused");
	ok(split_parse_text("v_1=100", &sp, reason, sizeof reason) < 0, "split: a non-LDH tag refused");
	ok(split_parse_text("v1=1e2", &sp, reason, sizeof reason) < 0, "split: a non-integer percent refused");
	ok(split_parse_text("v1=101", &sp, reason, sizeof reason) < 0, "split: a percent above 100 refused");
	ok(split_parse_text("limit=1", &sp, reason, sizeof reason) < 0, "split: limit= alone refused");
	ok(split_parse_text("v1=100 limit=0", &sp, reason, sizeof reason) < 0, "split: limit=0 refused");
	ok(split_parse_text("v1", &sp, reason, sizeof reason) < 0, "split: a share without '=' refused");
	char text[SPLIT_TEXT_MAX];
	split_parse_text("a=60 b=40 limit=2", &sp, reason, sizeof reason);
	split_format(&sp, text, sizeof text);
	is_str(text, "a=60 b=40 limit=2", "split: formatted as SPLIT takes it");
}

/* Instances for the split arithmetic: name, tags, weight (-1: none given). */
static struct instance *make_instance(const char *name, const char *tags, int weight)
{
	struct instance_spec s;
	memset(&s, 0, sizeof s);
	strcpy(s.service, "calc");
	snprintf(s.instance, sizeof s.instance, "%s", name);
	s.family = AF_INET;
	s.addr[0] = 10;
	for (const char *p = tags; *p; ) {
		size_t len = strcspn(p, ",");
		memcpy(s.extras.tags[s.extras.tag_count++], p, len);
		p += len + (p[len] == ',');
	}
	if (weight >= 0) {
		s.weight = (uint16_t)weight;
		s.extras.weight_set = true;
	}
	struct instance *inst = NULL;
	registry_put(&reg, &s, &inst);
	return inst;
}

static void test_split_weights(void)
{
	struct split sp;
	char reason[160];
	struct instance *c[4];
	uint32_t w[4];
	c[0] = make_instance("u1", "v1", -1);
	c[1] = make_instance("u2", "v1", -1);
	c[2] = make_instance("u3", "v2", -1);
	c[3] = make_instance("u4", "", -1);
	split_parse_text("v1=90 v2=10", &sp, reason, sizeof reason);
	weights_effective(&sp, c, 4, w);
	ok(w[0] == 45 && w[1] == 45 && w[2] == 10 && w[3] == 0, "split weights 45/45/10, untagged 0");
	weights_effective(&sp, c, 2, w);
	ok(w[0] == 50 && w[1] == 50, "a tag with nothing answerable passes its share on");
	struct instance *heavy = make_instance("u5", "v1", 3);
	struct instance *d[3] = { c[0], heavy, c[2] };
	weights_effective(&sp, d, 3, w);
	ok(w[0] == 23 && w[1] == 68 && w[2] == 10, "PERCENT x weight / the tag's weights, rounded");
	split_parse_text("v1=99 v2=1", &sp, reason, sizeof reason);
	struct instance *many[4] = { c[0], c[1], heavy, c[2] };
	weights_effective(&sp, many, 4, w);
	ok(w[3] == 1, "a share rounded below 1 is at least 1");
	uint32_t plain[3];
	ok(!weights_effective(NULL, c, 3, plain) && plain[0] == 1 && plain[2] == 1,
	   "no split, no weight=: equal draw weights of 1 (a uniform shuffle)");
	struct instance *zero = make_instance("z0", "", 0);
	struct instance *e[2] = { c[0], zero };
	ok(weights_effective(NULL, e, 2, plain) && plain[0] == 1 && plain[1] == 0,
	   "weight=0 given is a draw weight of 0");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Pearson's chi-square of observed counts against weights over draws. */
static double chi_square(const unsigned *seen, const uint32_t *w, size_t n, unsigned draws)
{
	uint64_t total = 0;
	double chi = 0;
	for (size_t i = 0; i < n; i++)
		total += w[i];
	for (size_t i = 0; i < n; i++) {
		double want = (double)draws * w[i] / (double)total;
		chi += (seen[i] - want) * (seen[i] - want) / want;
	}
	return chi;
}

/* One draw from a tree over w[0..n) (built for it: the draw without any taken). */
static size_t draw_once(const uint32_t *w, size_t n)
{
	static uint64_t storage[WEIGHT_TREE_STORAGE(8)];
	struct weight_tree t;
	weight_tree_build(&t, storage, w, n);
	return weight_tree_draw(&t, next_random());
}

static void test_draw_distribution(void)
{
	enum { DRAWS = 100000 };
	const uint32_t w[3] = { 45, 45, 10 };
	unsigned seen[3] = { 0, 0, 0 };
	for (int i = 0; i < DRAWS; i++)
		seen[draw_once(w, 3)]++;
	double chi = chi_square(seen, w, 3, DRAWS);
	printf("# 45/45/10 over %d draws: %u %u %u, chi-square %.2f\n", DRAWS, seen[0], seen[1], seen[2], chi);
	ok(chi < 13.816, "45/45/10 draw: chi-square below 13.816 (2 degrees of freedom, p = 0.001)");
	ok(seen[2] > 9500 && seen[2] < 10500, "the 10% instance drawn 10% +- 0.5 points");

	const uint32_t skewed[5] = { 1, 2, 3, 4, 90 };
	unsigned seen5[5] = { 0 };
	for (int i = 0; i < DRAWS; i++)
		seen5[draw_once(skewed, 5)]++;
	chi = chi_square(seen5, skewed, 5, DRAWS);
	printf("# 1/2/3/4/90: chi-square %.2f\n", chi);
	ok(chi < 18.467, "1/2/3/4/90 draw: chi-square below 18.467 (4 degrees of freedom, p = 0.001)");

	const uint32_t with_zero[3] = { 0, 5, 0 };
	unsigned zero_first = 0;
	for (int i = 0; i < DRAWS; i++)
		zero_first += draw_once(with_zero, 3) != 1;
	is_int(zero_first, 0, "weight 0 is never drawn while another is above 0");

	/* The draw is that of a uniform shuffle when the weights are equal: a control that
	 * the 45/45/10 test can fail. */
	const uint32_t equal[3] = { 1, 1, 1 };
	unsigned seen_equal[3] = { 0 };
	for (int i = 0; i < DRAWS; i++)
		seen_equal[draw_once(equal, 3)]++;
	ok(chi_square(seen_equal, w, 3, DRAWS) > 13.816, "equal weights fail the 45/45/10 test");
}

/* The index a linear scan over w (taken ones at 0) draws for a random number: the
 * RFC 2782 selection written out, what the tree must agree with draw for draw. */
static size_t linear_draw(const uint32_t *w, size_t n, uint64_t total, uint64_t random)
{
	uint64_t point = (uint64_t)(((unsigned __int128)random * total) >> 64);
	for (size_t i = 0; i < n; i++) {
		if (point < w[i])
			return i;
		point -= w[i];
	}
	return n - 1;
}

/* The tree against the linear selection: the same candidate for the same random number
 * at every step of whole draws without replacement, sizes 1 to 200, weights 0 included;
 * and the second place's distribution after the first. */
static void test_weight_tree(void)
{
	static uint64_t storage[WEIGHT_TREE_STORAGE(200)];
	uint32_t w[200], left[200];
	int agree = 1, each_once = 1;
	for (size_t n = 1; n <= 200; n += (n < 20 ? 1 : 15)) {
		for (int round = 0; round < 20; round++) {
			uint64_t total = 0;
			for (size_t i = 0; i < n; i++) {
				w[i] = next_random() % 4 == 0 ? 0 : (uint32_t)(next_random() % 1000);
				left[i] = w[i];
				total += w[i];
			}
			struct weight_tree t;
			weight_tree_build(&t, storage, w, n);
			agree &= t.total == total;
			while (t.total > 0) {
				uint64_t random = next_random();
				size_t got = weight_tree_draw(&t, random);
				agree &= got == linear_draw(left, n, total, random) && left[got] > 0;
				weight_tree_take(&t, got, left[got]);
				total -= left[got];
				each_once &= left[got] != 0;
				left[got] = 0;
			}
			for (size_t i = 0; i < n; i++)
				each_once &= left[i] == 0;
		}
	}
	ok(agree, "weight tree: the same draw as a linear scan, step by step, 1 to 200 candidates (1 to 3 levels)");
	ok(each_once, "weight tree: a whole draw takes every weighted candidate exactly once");

	const uint32_t w3[3] = { 45, 45, 10 };
	unsigned first0 = 0, then1 = 0;
	for (int i = 0; i < 100000; i++) {
		struct weight_tree t;
		weight_tree_build(&t, storage, w3, 3);
		size_t first = weight_tree_draw(&t, next_random());
		weight_tree_take(&t, first, w3[first]);
		if (first == 0) {
			first0++;
			then1 += weight_tree_draw(&t, next_random()) == 1;
		}
	}
	ok(then1 > first0 * 79 / 100 && then1 < first0 * 85 / 100,
	   "after 45 of 45/45/10, the other 45 comes second 45/55 = 82% of the time (+- 3 points)");

	/* 200 candidates of weights 1..10: the first draw's chi-square (199 degrees of freedom). */
	uint32_t w200[200];
	unsigned seen[200] = { 0 };
	for (size_t i = 0; i < 200; i++)
		w200[i] = 1 + (uint32_t)(i % 10);
	struct weight_tree t;
	weight_tree_build(&t, storage, w200, 200);
	for (int i = 0; i < 200000; i++)
		seen[weight_tree_draw(&t, next_random())]++;
	double chi = chi_square(seen, w200, 200, 200000);
	printf("# 200 candidates, weights 1..10, 200,000 draws: chi-square %.1f\n", chi);
	ok(chi < 266.0, "200 weighted candidates: chi-square below 266 (199 degrees of freedom, p = 0.001)");
}

static void test_networks(void)
{
	char err[CONFIG_ERROR_MAX], a[INET6_ADDRSTRLEN];
	ok(load_config("networks:\n  frontend: [10.201.0.0/24]\n  user-backend: 10.202.0.0/24\n", err) == 0,
	   "config: networks: loads");
	is_int((long)cfg.network_count, 2, "config: two networks");
	ok(source_view("127.0.0.1") == VIEW_ALL, "loopback sees everything by default (see-all)");
	is_int(source_view("10.201.0.9"), 1, "a frontend source is on frontend");
	is_int(source_view("10.202.0.9"), 2, "a backend source is on user-backend");
	is_int(source_view("10.203.0.9"), 0, "a source on no network has an empty view");
	is_int(source_view("10.201.1.9"), 0, "CIDR /24: 10.201.1.9 lies outside");
	uint8_t v6[16];
	inet_pton(AF_INET6, "fd00::1", v6);
	is_int(views_of_address(&cfg, AF_INET6, v6), 0, "an IPv6 address is in no IPv4 network");

	registrar_configure(&registrar, &cfg);
	is_str(run("REGISTER user-service u1 10.201.0.11 8080 tags=v1 addr=10.202.0.11"), "OK ttl=30",
	       "REGISTER with tags= and addr=");
	is_str(run("REGISTER user-db db1 10.202.0.21 5432"), "OK ttl=30", "REGISTER on user-backend");
	is_str(run("REGISTER outside o1 192.0.2.5 80 network=frontend"), "OK ttl=30",
	       "network= places an outside address");
	is_str(run("REGISTER nowhere n1 192.0.2.6 80"), "OK ttl=30", "an instance on no network");
	is_str(view_addr("user-service", "u1", "10.201.0.9", a), "10.201.0.11", "frontend gets u1's frontend address");
	is_str(view_addr("user-service", "u1", "10.202.0.9", a), "10.202.0.11", "backend gets u1's backend address");
	is_str(view_addr("user-db", "db1", "10.201.0.9", a), "unseen", "frontend does not see user-db");
	is_str(view_addr("user-db", "db1", "10.202.0.9", a), "10.202.0.21", "backend sees user-db");
	is_str(view_addr("user-db", "db1", "127.0.0.1", a), "10.202.0.21", "loopback sees user-db");
	is_str(view_addr("outside", "o1", "10.201.0.9", a), "192.0.2.5", "network=frontend: seen on frontend");
	is_str(view_addr("outside", "o1", "10.202.0.9", a), "unseen", "network=frontend: unseen on user-backend");
	is_str(view_addr("nowhere", "n1", "10.203.0.9", a), "192.0.2.6", "an instance on no network is seen by all");
	ok(starts_with(run("REGISTER x x1 192.0.2.7 80 network=nope"), "ERR 400 network: 'nope'"),
	   "network= of an unknown network: 400");
	ok(starts_with(run("REGISTER x x1 192.0.2.7 80 addr=::1"), "ERR 400 addr:"),
	   "addr= of the other family: 400");
	ok(starts_with(run("REGISTER x x1 192.0.2.7 80 addr=1.1.1.1 addr=1.1.1.2 addr=1.1.1.3 addr=1.1.1.4 addr=1.1.1.5"),
		       "ERR 400 addr: at most 4"), "at most 4 addr=");
	const char *list = run_from("LIST", "10.201.0.9");
	ok(strstr(list, "u1 10.201.0.11") != NULL && !strstr(list, "user-db") && strstr(list, "networks=frontend,user-backend") != NULL,
	   "LIST from frontend: u1 with its networks, no user-db");
	ok(strstr(run("LIST user-db"), "db1") != NULL, "LIST from loopback: user-db");
	ok(load_config("networks:\n  a: [10.0.0.0/33]\n", err) < 0 && strstr(err, "networks.a"),
	   "config: a bad CIDR names networks.a");
	ok(load_config("networks:\n  a: [10.0.0.1/8]\n", err) < 0 && strstr(err, "host bits"),
	   "config: host bits refused");
	ok(load_config("splits:\n  web: \"v1=60 v2=30\"\n", err) < 0 && strstr(err, "splits.web") &&
	   strstr(err, "sum to 90"), "config: a split that does not sum to 100 names splits.web");
	ok(load_config("networks:\n  a: 10.1.0.0/16\nservices:\n  - {service: s, instance: i, address: 192.0.2.1, network: b}\n", err) < 0 &&
	   strstr(err, "services[0].network: 'b' is not a network"), "config: services[].network of an unknown network");
	ok(load_config("services:\n  - {service: s, instance: i, addrs: [10.0.0.2], address: 10.0.0.1}\n", err) < 0 &&
	   strstr(err, "services[0].addrs[0]: write address before addrs"), "config: addrs before address");
	ok(load_config("services:\n  - {service: s, instance: i, address: 10.0.0.1, tags: [v1, V1]}\n", err) < 0 &&
	   strstr(err, "'v1' appears twice"), "config: a tag twice");
	ok(load_config("services:\n  - {service: s, instance: i, address: 10.0.0.1, tags: v1, addrs: 10.0.0.2, weight: 0}\n", err) == 0 &&
	   cfg.services[0].extras.tag_count == 1 && cfg.services[0].extras.addr_count == 1 &&
	   cfg.services[0].extras.weight_set, "config: services[] tags, addrs and weight: 0");
	/* Static instances clash as REGISTER's do (ERR 409): FILE:LINE: and the key of the later one. */
	ok(load_config("services:\n  - {service: web, instance: a, address: 10.0.0.1}\n"
		       "  - service: web\n    instance: b\n    address: 10.0.0.2\n    tags: [v1, A]\n", err) < 0 &&
	   strstr(err, ":6: services[1].tags[1]: tag 'a' is the name of instance a.web"),
	   "config: a static tag that is an earlier static instance's name, at its line and key");
	ok(load_config("services:\n  - {service: web, instance: a, address: 10.0.0.1, tags: canary}\n"
		       "  - service: web\n    address: 10.0.0.2\n    instance: canary\n", err) < 0 &&
	   strstr(err, ":5: services[1].instance: instance name 'canary' is a tag of a.web"),
	   "config: a static instance named like an earlier one's tag, at its line and key");
	ok(load_config("services:\n  - {service: web, instance: a, address: 10.0.0.1, tags: [a]}\n", err) < 0 &&
	   strstr(err, ":2: services[0].tags[0]: tag 'a' is the name of instance a.web"),
	   "config: a static tag equal to its own instance's name");
	ok(load_config("services:\n  - {service: web, instance: a, address: 10.0.0.1, tags: canary}\n"
		       "  - {service: db, instance: canary, address: 10.0.0.2, tags: a}\n", err) == 0,
	   "config: the same names in another service do not clash");
	ok(load_config("see-all: [10.9.0.0/16]\nnetworks:\n  a: 10.1.0.0/16\n", err) == 0 &&
	   source_view("10.9.1.1") == VIEW_ALL && source_view("127.0.0.1") == 0,
	   "config: see-all: replaces loopback");
	registrar_configure(&registrar, &cfg);
}

static void test_tags_and_split_verb(void)
{
	is_str(run("REGISTER web w1 10.0.0.1 80 tags=v1,Canary"), "OK ttl=30", "tags=v1,Canary");
	struct instance *w1 = registry_lookup(&reg, "web", "w1");
	ok(w1 && w1->extras && w1->extras->tag_count == 2 && strcmp(w1->extras->tags[1], "canary") == 0,
	   "tags stored lowercase");
	ok(starts_with(run("REGISTER web w2 10.0.0.2 80 tags=a,b,c,d,e,f,g,h,i"), "ERR 400 tags: at most 8"),
	   "at most 8 tags");
	ok(starts_with(run("REGISTER web w2 10.0.0.2 80 tags=v1,v1"), "ERR 400 tags: 'v1' appears twice"),
	   "a tag twice: 400");
	ok(starts_with(run("REGISTER web w2 10.0.0.2 80 tags=bad_tag"), "ERR 400 tags:"), "a non-LDH tag: 400");
	ok(starts_with(run("REGISTER web w2 10.0.0.2 80 tags=limit"), "ERR 400 tags: 'limit' is reserved"),
	   "tag 'limit' reserved");
	ok(starts_with(run("REGISTER web w2 10.0.0.2 80 tags=w1"), "ERR 409 tag 'w1' is the name of instance w1.web"),
	   "a tag that names an instance: 409");
	ok(starts_with(run("REGISTER web canary 10.0.0.3 80"), "ERR 409 instance name 'canary' is a tag of w1.web"),
	   "an instance named like a tag: 409");
	is_str(run("REGISTER web w1 10.0.0.1 80 tags=v1,canary weight=0"), "OK ttl=30", "re-registering keeps its tags");
	ok(strstr(run("LIST web"), "weight=0 tags=v1,canary") != NULL, "LIST shows weight=0 and the tags");
	is_str(run("SPLIT web v1=90 v2=10"), "OK", "SPLIT web v1=90 v2=10");
	ok(split_find(&reg.splits, (const uint8_t *)"\3web") != NULL, "the split is in force");
	ok(strstr(run("LIST web"), "effective-weight=100") != NULL, "LIST: w1 takes v2's share (no v2 answerable)");
	ok(starts_with(run("SPLIT web v1=90 v2=20"), "ERR 400 percents sum to 110"), "SPLIT summing to 110: 400");
	ok(starts_with(run("SPLIT bad_name v1=100"), "ERR 400 service:"), "SPLIT of a bad service name: 400");
	ok(starts_with(run("SPLIT"), "ERR 400 missing field: service"), "SPLIT alone: 400");
	is_str(run("SPLIT web"), "OK", "SPLIT web clears");
	ok(split_find(&reg.splits, (const uint8_t *)"\3web") == NULL, "the split is gone");
	ok(!strstr(run("LIST web"), "effective-weight"), "LIST: no effective weight without a split");
}

/* PUTX and SPLIT records: what goes in comes back, and a plain PUT stays a PUT. */
static void test_state_records(void)
{
	struct state_crc crc;
	uint8_t rec[STATE_RECORD_MAX];
	struct state_record got;
	const char *kind;
	struct instance_spec spec;
	state_crc_init(&crc);
	memset(&spec, 0, sizeof spec);
	strcpy(spec.service, "user-service");
	strcpy(spec.instance, "u1");
	spec.family = AF_INET;
	inet_pton(AF_INET, "10.201.0.11", spec.addr);
	spec.port = 8080;
	size_t plain = state_encode_put(&crc, rec, &spec, 5000, NULL);
	ok(plain && rec[4] == STATE_RECORD_PUT, "a plain instance is written as PUT");
	spec.extras.tag_count = 2;
	strcpy(spec.extras.tags[0], "v1");
	strcpy(spec.extras.tags[1], "canary");
	spec.extras.addr_count = 1;
	inet_pton(AF_INET, "10.202.0.11", spec.extras.addrs[0]);
	spec.extras.network_count = 1;
	strcpy(spec.extras.networks[0], "frontend");
	spec.extras.weight_set = true;
	size_t n = state_encode_put(&crc, rec, &spec, 5000, "k");
	ok(n > plain && rec[4] == STATE_RECORD_PUTX, "tags, addr=, network=, weight=: written as PUTX");
	ok(state_decode_record(rec + 4, n - 8, &got, &kind) == 0 && got.kind == STATE_RECORD_PUT &&
	   got.spec.extras.tag_count == 2 && strcmp(got.spec.extras.tags[1], "canary") == 0 &&
	   got.spec.extras.addr_count == 1 && got.spec.extras.addrs[0][2] == 0 && got.spec.extras.addrs[0][1] == 202 &&
	   strcmp(got.spec.extras.networks[0], "frontend") == 0 && got.spec.extras.weight_set &&
	   strcmp(got.key_name, "k") == 0, "PUTX decodes to what was put");
	struct split sp;
	char reason[160];
	memset(&sp, 0, sizeof sp);
	split_parse_text("v1=90 v2=10 limit=1", &sp, reason, sizeof reason);
	split_set_service(&sp, "user-service");
	n = state_encode_split(&crc, rec, &sp);
	ok(state_decode_record(rec + 4, n - 8, &got, &kind) == 0 && got.kind == STATE_RECORD_SPLIT &&
	   got.split.count == 2 && got.split.limit == 1 && got.split.shares[1].percent == 10 &&
	   memcmp(got.split.wire_label, "\14user-service", 13) == 0, "SPLIT decodes to what was set");
	rec[4 + 1 + 1 + 12 + 2 + 1 + 1 + 2] = 11;  /* v1's 90 becomes 11: no longer 100 in all */
	ok(state_decode_record(rec + 4, n - 8, &got, &kind) < 0, "a SPLIT not summing to 100 is malformed");
}

int main(void)
{
	char err[512];
	log_set_level(LOG_ERROR);
	config_defaults(&cfg);
	config_finish(&cfg);
	registry_init(&reg, 1);
	registrar_init(&registrar, &reg, &cfg, err);

	test_split_parsing();
	test_split_weights();
	test_draw_distribution();
	test_weight_tree();
	test_tags_and_split_verb();
	test_networks();
	test_state_records();

	registrar_free(&registrar);
	registry_free(&reg);
	config_free(&cfg);
	return done_testing();
}
