/* tsig.c -- TSIG (RFC 8945) digests, verification and signing with OpenSSL's HMAC. */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "log.h"
#include "tsig.h"

static const struct {
	const char *digest;       /* OpenSSL's name */
	const uint8_t *wire;      /* the algorithm name in TSIG records */
	size_t mac_len;
} algorithms[] = {
	[TSIG_HMAC_SHA224] = { "SHA224", (const uint8_t *)"\13hmac-sha224", 28 },
	[TSIG_HMAC_SHA256] = { "SHA256", (const uint8_t *)"\13hmac-sha256", 32 },
	[TSIG_HMAC_SHA384] = { "SHA384", (const uint8_t *)"\13hmac-sha384", 48 },
	[TSIG_HMAC_SHA512] = { "SHA512", (const uint8_t *)"\13hmac-sha512", 64 },
};

const uint8_t *tsig_algorithm_wire(enum tsig_algorithm a)
{
	return algorithms[a].wire;
}

/* An HMAC in progress: the digest components are fed in one by one. */
struct hmac {
	EVP_MAC_CTX *ctx;
	int failed;
};

static EVP_MAC *hmac_method(void)
{
	static EVP_MAC *mac;
	if (!mac)
		mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	return mac;
}

static int hmac_start(struct hmac *h, const struct tsig_key *key)
{
	EVP_MAC *mac = hmac_method();
	h->ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	h->failed = 0;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)algorithms[key->algorithm].digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!h->ctx || !EVP_MAC_init(h->ctx, key->secret, key->secret_len, params)) {
		EVP_MAC_CTX_free(h->ctx);
		log_warn("tsig: cannot start HMAC-%s", algorithms[key->algorithm].digest);
		return -1;
	}
	return 0;
}

static void hmac_add(struct hmac *h, const void *data, size_t len)
{
	if (!h->failed && len && !EVP_MAC_update(h->ctx, data, len))
		h->failed = 1;
}

static void hmac_u16(struct hmac *h, uint16_t v)
{
	uint8_t b[2];
	wire_write_u16(b, v);
	hmac_add(h, b, 2);
}

static void hmac_time(struct hmac *h, uint64_t time_signed, uint16_t fudge)
{
	uint8_t b[8];
	wire_write_u16(b, (uint16_t)(time_signed >> 32));
	wire_write_u32(b + 2, (uint32_t)time_signed);
	wire_write_u16(b + 6, fudge);
	hmac_add(h, b, 8);
}

/* Ends the HMAC; returns the MAC's length, or 0 on failure. */
static size_t hmac_end(struct hmac *h, uint8_t out[TSIG_MAC_MAX])
{
	size_t len = 0;
	if (h->failed || !EVP_MAC_final(h->ctx, out, &len, TSIG_MAC_MAX))
		len = 0;
	EVP_MAC_CTX_free(h->ctx);
	return len;
}

/* A prior MAC as digest component (RFC 8945 4.3.1, 5.3.1): its size, then it. */
static void hmac_prior_mac(struct hmac *h, const uint8_t *mac, size_t len)
{
	if (!len)
		return;
	hmac_u16(h, (uint16_t)len);
	hmac_add(h, mac, len);
}

/* The message as signed: its header with the original ID and the ARCOUNT without
 * the TSIG, then everything up to the TSIG record. */
static void hmac_message(struct hmac *h, const uint8_t *msg, size_t len, uint16_t original_id,
			 uint16_t arcount)
{
	uint8_t header[DNS_HEADER_SIZE];
	memcpy(header, msg, DNS_HEADER_SIZE);
	wire_write_u16(header + DNS_OFF_ID, original_id);
	wire_write_u16(header + DNS_OFF_ARCOUNT, arcount);
	hmac_add(h, header, DNS_HEADER_SIZE);
	hmac_add(h, msg + DNS_HEADER_SIZE, len - DNS_HEADER_SIZE);
}

/* The TSIG variables (RFC 8945 4.3.3): key name, class, TTL, algorithm (all canonical,
 * lowercase), then times, error and other data. */
static void hmac_variables(struct hmac *h, const struct tsig_key *key, uint64_t time_signed,
			   uint16_t fudge, uint16_t error, const uint8_t *other, uint16_t other_len)
{
	static const uint8_t class_ttl[6] = { 0, CLASS_ANY, 0, 0, 0, 0 };
	const uint8_t *alg = algorithms[key->algorithm].wire;
	hmac_add(h, key->wire, dname_length(key->wire));
	hmac_add(h, class_ttl, sizeof class_ttl);
	hmac_add(h, alg, dname_length(alg));
	hmac_time(h, time_signed, fudge);
	hmac_u16(h, error);
	hmac_u16(h, other_len);
	hmac_add(h, other, other_len);
}

static const struct tsig_key *find_key(const struct config *cfg, const struct dns_tsig *t)
{
	uint8_t name[DNAME_MAX_WIRE], alg[DNAME_MAX_WIRE];
	memcpy(name, t->key, t->key_len);
	memcpy(alg, t->algorithm, t->algorithm_len);
	dname_to_lower(name);
	dname_to_lower(alg);
	for (size_t i = 0; i < cfg->tsig_key_count; i++) {
		const struct tsig_key *k = &cfg->tsig_keys[i];
		const uint8_t *kalg = algorithms[k->algorithm].wire;
		if (dname_length(k->wire) == t->key_len && memcmp(k->wire, name, t->key_len) == 0 &&
		    dname_length(kalg) == t->algorithm_len && memcmp(kalg, alg, t->algorithm_len) == 0)
			return k;
	}
	return NULL;
}

int tsig_verify(const struct config *cfg, const uint8_t *msg, size_t len, const struct dns_tsig *t,
		int64_t now, struct tsig_session *s)
{
	(void)len;
	const struct tsig_key *key = find_key(cfg, t);
	if (!key)
		return TSIG_BADKEY;
	struct hmac h;
	uint8_t mac[TSIG_MAC_MAX];
	if (hmac_start(&h, key) < 0)
		return TSIG_BADSIG;
	hmac_message(&h, msg, t->offset, t->original_id,
		     (uint16_t)(wire_read_u16(msg + DNS_OFF_ARCOUNT) - 1));
	hmac_variables(&h, key, t->time_signed, t->fudge, t->error, t->other, t->other_len);
	size_t mac_len = hmac_end(&h, mac);
	/* A truncated MAC (RFC 8945 5.2.2.1) is not accepted: only the full length. */
	if (mac_len == 0 || t->mac_len != mac_len || CRYPTO_memcmp(mac, t->mac, mac_len) != 0)
		return TSIG_BADSIG;
	s->key = key;
	memcpy(s->mac, mac, mac_len);
	s->mac_len = mac_len;
	s->signed_count = 0;
	int64_t skew = now - (int64_t)t->time_signed;
	return skew > t->fudge || -skew > t->fudge ? TSIG_BADTIME : 0;
}

void tsig_session_start(struct tsig_session *s, const struct tsig_key *key)
{
	s->key = key;
	s->mac_len = 0;
	s->signed_count = 0;
}

size_t tsig_signed_size(const struct tsig_key *key)
{
	/* owner, type/class/TTL/rdlength, algorithm, times, MAC size and MAC, original ID,
	 * error, other length and at most six bytes of other data. */
	return dname_length(key->wire) + 10 + dname_length(algorithms[key->algorithm].wire) + 8 + 2 +
	       TSIG_MAC_MAX + 6 + 6;
}

int tsig_sign(struct tsig_session *s, uint8_t *msg, size_t *len, size_t cap, uint16_t error,
	      int64_t now)
{
	const struct tsig_key *key = s->key;
	uint16_t id = wire_read_u16(msg + DNS_OFF_ID);
	uint16_t arcount = wire_read_u16(msg + DNS_OFF_ARCOUNT);
	uint8_t other[6];
	uint16_t other_len = 0;
	if (error == TSIG_BADTIME) {
		wire_write_u16(other, (uint16_t)((uint64_t)now >> 32));
		wire_write_u32(other + 2, (uint32_t)now);
		other_len = 6;
	}
	if (*len + tsig_signed_size(key) > cap)
		return -1;
	struct hmac h;
	if (hmac_start(&h, key) < 0)
		return -1;
	hmac_prior_mac(&h, s->mac, s->mac_len);
	hmac_message(&h, msg, *len, id, arcount);
	if (s->signed_count == 0)
		hmac_variables(&h, key, (uint64_t)now, TSIG_FUDGE, error, other, other_len);
	else
		hmac_time(&h, (uint64_t)now, TSIG_FUDGE);  /* RFC 8945 5.3.1: timers only */
	uint8_t mac[TSIG_MAC_MAX];
	size_t mac_len = hmac_end(&h, mac);
	if (mac_len == 0)
		return -1;

	struct wire_writer w;
	wire_init(&w, msg, cap);
	w.len = *len;
	const uint8_t *alg = algorithms[key->algorithm].wire;
	wire_put_bytes(&w, key->wire, dname_length(key->wire));
	wire_put_u16(&w, TYPE_TSIG);
	wire_put_u16(&w, CLASS_ANY);
	wire_put_u32(&w, 0);
	size_t rdlength = w.len;
	wire_put_u16(&w, 0);
	wire_put_bytes(&w, alg, dname_length(alg));
	wire_put_u16(&w, (uint16_t)((uint64_t)now >> 32));
	wire_put_u32(&w, (uint32_t)now);
	wire_put_u16(&w, TSIG_FUDGE);
	wire_put_u16(&w, (uint16_t)mac_len);
	wire_put_bytes(&w, mac, mac_len);
	wire_put_u16(&w, id);
	wire_put_u16(&w, error);
	wire_put_u16(&w, other_len);
	wire_put_bytes(&w, other, other_len);
	wire_end_rr(&w, rdlength);
	if (w.full)
		return -1;
	wire_write_u16(msg + DNS_OFF_ARCOUNT, (uint16_t)(arcount + 1));
	*len = w.len;
	memcpy(s->mac, mac, mac_len);
	s->mac_len = mac_len;
	s->signed_count++;
	return 0;
}
