#!/usr/bin/env bash
# Command line and YAML configuration: errors name file, line and key (exit 2);
# flags override the file; bind failures say what to do.
. "$(dirname "$0")/../lib.sh"

bad_config() {  # description, yaml text, expected message regex
	printf '%s\n' "$2" >"$WORK/bad.yml"
	local out rc
	out=$("$SVCDNS_BIN" --config "$WORK/bad.yml" --check-config 2>&1); rc=$?
	is "$rc" "2" "$1: --check-config exits 2"
	like "$out" "$3" "$1: says file:line: key: reason"
}
bad_config "unknown key" $'domain: svc.internal\nttl: 5\nbogus: 1' "bad.yml:3: bogus: unknown key"
bad_config "wrong type" $'ttl: [1, 2]' "bad.yml:1: ttl: expected a single value"
bad_config "not a number" $'ttl: five' "bad.yml:1: ttl: 'five' is not a number"
bad_config "negative number" $'ttl: -5' "bad.yml:1: ttl: '-5' is not a number"
bad_config "bad domain" $'domain: "bad_name.internal"' "bad.yml:1: domain: 'bad_name.internal'"
bad_config "bad listen address" $'dns: ["127.0.0.1"]' "bad.yml:1: dns: '127.0.0.1': expected ADDR:PORT"
bad_config "bad port" $'dns: ["127.0.0.1:99999"]' "bad.yml:1: dns: .*port must be 1-65535"
bad_config "udp payload too small" $'max-udp-payload: 100' "bad.yml:1: max-udp-payload: 100 is out of range 512-65535"
bad_config "bad log level" $'log-level: loud' "bad.yml:1: log-level: 'loud'"
bad_config "bad service address" $'services:\n  - service: db\n    instance: db-1\n    address: 10.0.0.500\n    port: 5432' "bad.yml:4: address: '10.0.0.500' is not an IPv4 or IPv6 address"
bad_config "bad service name" $'services:\n  - service: "db_1"\n    instance: a\n    address: 10.0.0.5' "bad.yml:2: service: 'db_1' is not a valid name"
bad_config "bad proto" $'services:\n  - { service: db, instance: a, address: 10.0.0.5, proto: sctp }' "bad.yml:2: proto: 'sctp': use tcp or udp"
bad_config "missing address" $'services:\n  - { service: db, instance: a }' "bad.yml:2: services\\[0\\]: missing key 'address'"
bad_config "duplicate instance" $'services:\n  - { service: db, instance: a, address: 10.0.0.5 }\n  - { service: db, instance: a, address: 10.0.0.6 }' "bad.yml:3: services\\[1\\]: instance a.db is listed twice"
bad_config "unknown nested key" $'soa:\n  minimum: 5\n  serial: 7' "bad.yml:3: serial: unknown key"
bad_config "yaml syntax" $'ttl: 5\n  domain: [' "bad.yml:[0-9]+: yaml: "
out=$("$SVCDNS_BIN" --config "$WORK/missing.yml" --check-config 2>&1); rc=$?
is "$rc" "2" "missing config file: exit 2"
like "$out" "missing.yml:0: config: cannot open" "missing config file is named"

# A good config passes --check-config, and so does the annotated example.
out=$("$SVCDNS_BIN" --config "$ROOT_DIR/zones/svcdns.example.yml" --zones "$ROOT_DIR/zones" --check-config 2>&1); rc=$?
is "$rc" "0" "the annotated example config is valid"
like "$out" "configuration OK" "--check-config reports OK"

# Flags.
like "$("$SVCDNS_BIN" --version)" "^svcdns [0-9]+\.[0-9]+\.[0-9]+" "--version"
like "$("$SVCDNS_BIN" --help)" "--dns ADDR:PORT" "--help lists the flags"
"$SVCDNS_BIN" --frobnicate >/dev/null 2>&1; is "$?" "2" "unknown flag: exit 2"
out=$("$SVCDNS_BIN" --dns 127.0.0.1 --check-config 2>&1); rc=$?
is "$rc" "2" "bad --dns: exit 2"
like "$out" "--dns: '127.0.0.1': expected ADDR:PORT" "bad --dns explains the form"
out=$("$SVCDNS_BIN" --log-level chatty --check-config 2>&1); is "$?" "2" "bad --log-level: exit 2"

# Flags override the file: domain and listen address.
cat >"$WORK/good.yml" <<'YML'
domain: file.internal
dns: ["127.0.0.1:1"]
services:
  - { service: api, instance: a1, address: 10.2.0.1, port: 80 }
YML
DOMAIN=cli.internal start_server --config "$WORK/good.yml" --domain cli.internal --zones "$WORK/none" || exit 1
is "$(qs api.cli.internal A)" "10.2.0.1" "--domain overrides the file's domain"
is "$(rcode api.file.internal A)" "REFUSED" "the file's domain is no longer served"

# Binding a port that is taken fails with the address, the reason and what to do.
out=$("$SVCDNS_BIN" --dns "127.0.0.1:$PORT" --zones "$WORK/none" 2>&1); rc=$?
is "$rc" "1" "bind failure: exit 1"
like "$out" "cannot bind udp 127.0.0.1:$PORT: Address already in use \\(another server holds it" "bind failure names address, reason, remedy"
out=$("$SVCDNS_BIN" --dns "192.0.2.77:5353" --zones "$WORK/none" 2>&1)
like "$out" "cannot bind udp 192.0.2.77:5353: Cannot assign requested address" "unavailable address is explained"
