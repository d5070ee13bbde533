/* sign.c -- HMAC-SHA256 request signing with OpenSSL's one-shot HMAC(). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#include "sign.h"

int sign_request(const char *body, const char *key_name, const unsigned char *secret, size_t secret_len,
		 time_t ts, char *out, size_t out_size)
{
	static const char hex_digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char mac_hex[SIGN_MAC_HEX_SIZE];

	/* The signed part goes into out first, so the MAC is computed over exactly the
	 * bytes that are sent. */
	int signed_len = snprintf(out, out_size, "%s key=%s ts=%lld", body, key_name, (long long)ts);
	if (signed_len < 0 || (size_t)signed_len >= out_size)
		return -1;
	if (HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)out, (size_t)signed_len,
		 mac, &mac_len) == NULL)
		return -1;
	if (2 * (size_t)mac_len + 1 > sizeof mac_hex)
		return -1;
	for (unsigned int i = 0; i < mac_len; i++) {
		mac_hex[2 * i] = hex_digits[mac[i] >> 4];
		mac_hex[2 * i + 1] = hex_digits[mac[i] & 0x0f];
	}
	mac_hex[2 * mac_len] = '\0';

	int total_len = snprintf(out + signed_len, out_size - (size_t)signed_len, " mac=%s", mac_hex);
	if (total_len < 0 || (size_t)total_len >= out_size - (size_t)signed_len)
		return -1;
	return signed_len + total_len;
}
