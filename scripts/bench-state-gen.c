/* bench-state-gen.c -- writes a state file of one PUT per REGISTER line, for the
 * compaction benchmark, through the server's own codec (server/state_codec.c).
 *
 *   bench-state-gen LINES OUT TIP_BYTES
 *
 * LINES holds "REGISTER service instance IPv4 port" lines (bench-gen --leases); every
 * instance gets a lease of a day from now.  The header's image end is set so that the
 * journal behind it is TIP_BYTES short of twice the image: the server starts without
 * wanting a compaction, and the first TIP_BYTES of new records make it compact every
 * instance at once (state_wants_compaction).  Prints bytes= instances= image_end=. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "state_codec.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench-state-gen LINES OUT TIP_BYTES\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r"), *out = fopen(argv[2], "w+");
	long long tip = atoll(argv[3]);
	if (!in || !out) {
		perror("bench-state-gen: open");
		return 1;
	}
	static struct state_crc crc;
	static struct instance_spec spec;
	uint8_t header[STATE_HEADER_SIZE] = { 0 }, rec[STATE_RECORD_MAX];
	struct timeval now;
	gettimeofday(&now, NULL);
	int64_t expires = (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000 + 86400 * 1000LL;
	state_crc_init(&crc);
	fwrite(header, 1, sizeof header, out);   /* filled in at the end */
	long long size = STATE_HEADER_SIZE, count = 0;
	char line[512], addr[64];
	unsigned port;
	while (fgets(line, sizeof line, in)) {
		if (sscanf(line, "REGISTER %63s %63s %63s %u", spec.service, spec.instance, addr, &port) != 4)
			continue;
		spec.family = AF_INET;
		if (inet_pton(AF_INET, addr, spec.addr) != 1) {
			fprintf(stderr, "bench-state-gen: bad address %s\n", addr);
			return 1;
		}
		spec.port = (uint16_t)port;
		spec.proto = PROTO_TCP;
		size_t n = state_encode_put(&crc, rec, &spec, expires, NULL);
		if (n == 0 || fwrite(rec, 1, n, out) != n) {
			fprintf(stderr, "bench-state-gen: cannot write %s", line);
			return 1;
		}
		size += (long long)n;
		count++;
	}
	/* journal = size - image_end must stay tip short of 2 * image_end. */
	long long image_end = (size + tip) / 3;
	if (image_end < STATE_HEADER_SIZE || image_end > size) {
		fprintf(stderr, "bench-state-gen: tip %lld does not fit a file of %lld bytes\n", tip, size);
		return 1;
	}
	state_encode_header(&crc, header, (uint64_t)image_end);
	if (fseek(out, 0, SEEK_SET) != 0 || fwrite(header, 1, sizeof header, out) != sizeof header ||
	    fclose(out) != 0) {
		perror("bench-state-gen: write");
		return 1;
	}
	printf("bytes=%lld instances=%lld image_end=%lld\n", size, count, image_end);
	return 0;
}
