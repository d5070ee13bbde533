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
bad_config "negative number" $'ttl: -5' "bad.yml:1: ttl: -5 is out of range \\(0\\.\\.2147483647\\)"
bad_config "huge number" $'lease-ttl: 9999999' "bad.yml:1: lease-ttl: 9999999 is out of range \\(1\\.\\.2147483\\)"
bad_config "bad domain" $'domain: "bad_name.internal"' "bad.yml:1: domain: 'bad_name.internal'"
bad_config "bad listen address" $'dns: ["127.0.0.1"]' "bad.yml:1: dns\\[0\\]: '127.0.0.1': expected ADDR:PORT"
bad_config "bad port" $'dns: ["127.0.0.1:99999"]' "bad.yml:1: dns\\[0\\]: .*port must be 1-65535"
bad_config "udp payload too small" $'max-udp-payload: 100' "bad.yml:1: max-udp-payload: 100 is out of range \\(512\\.\\.65535\\)"
bad_config "bad log level" $'log-level: loud' "bad.yml:1: log-level: 'loud'"
bad_config "bad service address" $'services:\n  - service: db\n    instance: db-1\n    address: 10.0.0.500\n    port: 5432' "bad.yml:4: services\\[0\\]\\.address: '10.0.0.500' is not an IPv4 or IPv6 address"
bad_config "bad service name" $'services:\n  - service: "db_1"\n    instance: a\n    address: 10.0.0.5' "bad.yml:2: services\\[0\\]\\.service: 'db_1' is not a valid name"
bad_config "bad proto" $'services:\n  - { service: db, instance: a, address: 10.0.0.5, proto: sctp }' "bad.yml:2: services\\[0\\]\\.proto: 'sctp': use tcp or udp"
bad_config "missing address" $'services:\n  - { service: db, instance: a }' "bad.yml:2: services\\[0\\]: missing key 'address'"
bad_config "duplicate instance" $'services:\n  - { service: db, instance: a, address: 10.0.0.5 }\n  - { service: db, instance: a, address: 10.0.0.6 }' "bad.yml:3: services\\[1\\]: instance a.db is listed twice"
bad_config "static tag that is a static instance's name" $'services:\n  - { service: web, instance: w1, address: 10.0.0.5 }\n  - service: web\n    instance: w2\n    address: 10.0.0.6\n    tags: [v1, w1]' "bad.yml:6: services\\[1\\]\\.tags\\[1\\]: tag 'w1' is the name of instance w1\\.web"
bad_config "static instance named like a static tag" $'services:\n  - { service: web, instance: w1, address: 10.0.0.5, tags: [canary] }\n  - { service: web, instance: canary, address: 10.0.0.6 }' "bad.yml:3: services\\[1\\]\\.instance: instance name 'canary' is a tag of w1\\.web"
bad_config "network= that networks: does not name (networks: after services:)" $'services:\n  - { service: web, instance: w1, address: 10.0.0.5 }\n  - service: web\n    instance: w2\n    address: 192.0.2.9\n    network: nowhere\nnetworks:\n  frontend: [10.0.0.0/24]' "bad.yml:6: services\\[1\\]\\.network: 'nowhere' is not a network of networks:"
# Not only --check-config: the server itself refuses to start on that config, saying why.
printf 'services:\n  - { service: web, instance: w1, address: 10.0.0.5, tags: [canary] }\n  - { service: web, instance: canary, address: 10.0.0.6 }\n' >"$WORK/clash.yml"
out=$(timeout 20 "$SVCDNS_BIN" --config "$WORK/clash.yml" --dns "127.0.0.1:$(free_port)" --register "127.0.0.1:$(free_port)" \
	--http "127.0.0.1:$(free_port)" 2>&1); rc=$?
is "$rc" "2" "a static name clash: the server does not start (exit 2)"
like "$out" "clash.yml:3: services\\[1\\]\\.instance: instance name 'canary' is a tag of w1\\.web" \
	"a static name clash: the server says file:line: key: reason"
bad_config "unknown nested key" $'soa:\n  minimum: 5\n  serial: 7' "bad.yml:3: soa\\.serial: unknown key"
bad_config "nested out of range" $'soa:\n  ttl: 5\n  minimum: -1' "bad.yml:3: soa\\.minimum: -1 is out of range \\(0\\.\\.86400\\)"
bad_config "duplicate key" $'ttl: 5\nlog-level: info\nttl: 7' "bad.yml:3: ttl: duplicate key \\(first set at line 1\\)"
bad_config "duplicate nested key" $'nameserver:\n  name: ns.svc.internal\n  name: ns2.svc.internal' "bad.yml:3: nameserver\\.name: duplicate key \\(first set at line 2\\)"
bad_config "CIDR with host bits" $'allow-query: ["10.0.0.1/8"]' "bad.yml:1: allow-query\\[0\\]: '10.0.0.1/8' has host bits set: did you mean 10\\.0\\.0\\.0/8\\?"
bad_config "missing zones directory" $'zones: /nonexistent' "bad.yml:1: zones: '/nonexistent': cannot open zones directory: No such file or directory"
bad_config "relative zones directory that is not there" $'zones: zones' "bad.yml:1: zones: '$WORK/zones': cannot open zones directory"
bad_config "yaml syntax" $'ttl: 5\n  domain: [' "bad.yml:[0-9]+: yaml: "
out=$("$SVCDNS_BIN" --config "$WORK/missing.yml" --check-config 2>&1); rc=$?
is "$rc" "2" "missing config file: exit 2"
like "$out" "missing.yml: cannot open: No such file or directory" "missing config file: FILE: cannot open: reason"
out=$("$SVCDNS_BIN" --zones "$WORK/no-such-dir" --check-config 2>&1); rc=$?
is "$rc" "2" "missing --zones directory: exit 2"
like "$out" "--zones: '$WORK/no-such-dir': cannot open zones directory" "missing --zones directory is named"

# A good config passes --check-config, and so does the annotated example.
out=$("$SVCDNS_BIN" --config "$ROOT_DIR/zones/svcdns.example.yml" --check-config 2>&1); rc=$?
is "$rc" "0" "the annotated example config is valid"
like "$out" "configuration OK" "--check-config reports OK"

# Relative paths resolve against the config file's directory, wherever the server starts;
# --check-config lists what would be served.
mkdir -p "$WORK/etc/zones-here"
printf '$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n' \
	>"$WORK/etc/zones-here/rel.internal.zone"
printf 'zones: zones-here\nstate: data.state\ndns: ["127.0.0.1:5399"]\nforward: ["192.0.2.53"]\n' >"$WORK/etc/rel.yml"
out=$(cd / && "$SVCDNS_BIN" --config "$WORK/etc/rel.yml" --check-config 2>&1); rc=$?
is "$rc" "0" "relative zones directory found from another working directory"
like "$out" "zone rel\\.internal\\. from $WORK/etc/zones-here/rel\\.internal\\.zone" "--check-config lists each zone and its file"
like "$out" "dns \\(udp, tcp\\): 127\\.0\\.0\\.1:5399" "--check-config lists the DNS listeners"
like "$out" "forward: 192\\.0\\.2\\.53:53" "--check-config lists the upstreams"
like "$out" "state: $WORK/etc/data\\.state" "--check-config lists the state file, resolved against the config's directory"

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
# The start log names the version, every listener, the upstreams and the state file.
like "$(cat "$SERVER_LOG")" "svcdns [0-9]+\\.[0-9]+\\.[0-9]+, config $WORK/good\\.yml" "start log: version and config file"
like "$(cat "$SERVER_LOG")" "dns \\(udp, tcp\\): 127\\.0\\.0\\.1:$PORT" "start log: DNS listeners"
like "$(cat "$SERVER_LOG")" "register \\(udp, tcp\\): 127\\.0\\.0\\.1:$REGPORT" "start log: registration listeners"
like "$(cat "$SERVER_LOG")" "http: 127\\.0\\.0\\.1:$HTTPPORT" "start log: HTTP listeners"
like "$(cat "$SERVER_LOG")" "forward: none" "start log: upstreams"
like "$(cat "$SERVER_LOG")" "state: none" "start log: state file"

# Binding a port that is taken fails with the address, the reason and what to do.
out=$("$SVCDNS_BIN" --dns "127.0.0.1:$PORT" --zones "$WORK/none" 2>&1); rc=$?
is "$rc" "1" "bind failure: exit 1"
like "$out" "cannot bind udp 127.0.0.1:$PORT: Address already in use \\(another server holds it" "bind failure names address, reason, remedy"
out=$("$SVCDNS_BIN" --dns "192.0.2.77:5353" --zones "$WORK/none" 2>&1)
like "$out" "cannot bind udp 192.0.2.77:5353: Cannot assign requested address" "unavailable address is explained"
