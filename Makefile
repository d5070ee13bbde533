# svcdns build. `make` builds bin/svcdns; `make test` installs test tools, builds the
# normal and the sanitizer flavour, and runs every test against both.

PKGS      := ldns libevent libevent_openssl yaml-0.1 libssl libcrypto jansson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-format-truncation
CPPFLAGS := -Iinclude -Iserver -Iclient -D_GNU_SOURCE
DEPFLAGS := -MMD -MP
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SERVER_SRCS := $(filter-out server/main.c,$(wildcard server/*.c))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
CLIENT_SRCS := $(filter-out client/svcdnsctl.c,$(wildcard client/*.c))
TOOL_SRCS   := $(wildcard tests/tools/*.c)
DNSPROBE_SRCS := $(wildcard tests/tools/dnsprobe/*.c)

# `make` with no goal builds `all`, not the first pattern rule the flavours define.
.DEFAULT_GOAL := all

# $(1) = build directory, $(2) = extra flags. Header dependencies come from the compiler
# (-MMD -MP writes obj/*.d next to each object; they are included below).
define flavour
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(DEPFLAGS) $$(CFLAGS) $(2) $$(WARN) $$(PKG_CFLAGS) -c $$< -o $$@
$(1)/libsvcdnsd.a: $(SERVER_SRCS:%.c=$(1)/obj/%.o)
	@rm -f $$@; ar rcs $$@ $$^
$(1)/svcdns: $(1)/obj/server/main.o $(1)/libsvcdnsd.a
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(PKG_LIBS) -lm
$(1)/libsvcdns.a: $(CLIENT_SRCS:%.c=$(1)/obj/%.o)
	@rm -f $$@; ar rcs $$@ $$^
$(1)/svcdnsctl: $(1)/obj/client/svcdnsctl.o $(1)/libsvcdns.a
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(PKG_LIBS) -lm
$(1)/tests/%: $(1)/obj/tests/unit/%.o $(1)/libsvcdnsd.a $(1)/libsvcdns.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(PKG_LIBS) -lm
$(1)/tools/%: $(1)/obj/tests/tools/%.o $(1)/libsvcdns.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(PKG_LIBS) -lm
$(1)/tools/dnsprobe: $(DNSPROBE_SRCS:%.c=$(1)/obj/%.o) $(1)/libsvcdns.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(PKG_LIBS) -lm
endef

$(eval $(call flavour,build/release,))
$(eval $(call flavour,build/asan,$(SAN)))

# Fuzz targets (libFuzzer, clang): the server's and client's code under ASan+UBSan, fed by the fuzzer.
FUZZ_CC    := clang
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS    := $(notdir $(FUZZ_SRCS:.c=))
FUZZ_SECONDS ?= 60

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(DEPFLAGS) $(FUZZ_FLAGS) $(WARN) -Wno-unknown-warning-option -Wno-gnu-variable-sized-type-not-at-end $(PKG_CFLAGS) -c $< -o $@
build/fuzz/libsvcdnsd.a: $(SERVER_SRCS:%.c=build/fuzz/obj/%.o)
	@rm -f $@; ar rcs $@ $^
build/fuzz/libsvcdns.a: $(CLIENT_SRCS:%.c=build/fuzz/obj/%.o)
	@rm -f $@; ar rcs $@ $^
build/fuzz/%: build/fuzz/obj/tests/fuzz/%.o build/fuzz/libsvcdnsd.a build/fuzz/libsvcdns.a
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS) -lm

# Header dependencies the compiler wrote (absent before the first build).
-include $(shell find build -name '*.d' 2>/dev/null)

UNITS = $(notdir $(UNIT_SRCS:.c=))
TOOLS = $(notdir $(TOOL_SRCS:.c=)) dnsprobe

.PHONY: all deps test-deps run try test check sanitize clean fuzz fuzz-all quick unit
.SECONDARY:

all: deps bin/svcdns bin/svcdnsctl lib/libsvcdns.a

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

bin/svcdns: build/release/svcdns
	@mkdir -p bin; cp $< $@

bin/svcdnsctl: build/release/svcdnsctl
	@mkdir -p bin; cp $< $@

lib/libsvcdns.a: build/release/libsvcdns.a
	@mkdir -p lib; cp $< $@

release-all: build/release/svcdns build/release/svcdnsctl bin/svcdns bin/svcdnsctl lib/libsvcdns.a $(UNITS:%=build/release/tests/%) $(TOOLS:%=build/release/tools/%)
asan-all: build/asan/svcdns build/asan/svcdnsctl $(UNITS:%=build/asan/tests/%) $(TOOLS:%=build/asan/tools/%)

# Runs the server with its built-in defaults (port 53 on all addresses) plus ARGS:
# make run ARGS="--dns 127.0.0.1:5353 --config zones/svcdns.example.yml"
ARGS ?=
run: all
	bin/svcdns $(ARGS)

# Runs it unprivileged on loopback with the annotated example config: DNS on
# 127.0.0.1:5353, registration on 127.0.0.1:8053, HTTP on 127.0.0.1:8054 (plus ARGS).
TRY_FLAGS := --config zones/svcdns.example.yml --dns 127.0.0.1:5353 \
	--register 127.0.0.1:8053 --http 127.0.0.1:8054
try: all
	bin/svcdns $(TRY_FLAGS) $(ARGS)

# Installs binaries, library, header, man pages, bash completion, the example config
# in $(SYSCONFDIR)/svcdns/ (kept when it exists) and the systemd unit. As root with no
# DESTDIR it also creates the system user svcdns the unit runs as.
PREFIX     ?= /usr/local
DESTDIR    ?=
SYSCONFDIR ?= /etc
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,/etc/systemd/system)
VERSION    := $(shell sed -n 's/^\#define SVCDNS_VERSION "\(.*\)"/\1/p' server/version.h)
MANPAGES   := man/svcdns.8 man/svcdnsctl.1 man/svcdns.yml.5

.PHONY: install deb
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/svcdns \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/doc/svcdns \
		$(DESTDIR)$(SYSCONFDIR)/svcdns/zones $(DESTDIR)$(UNITDIR)
	install -m 755 bin/svcdns bin/svcdnsctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 lib/libsvcdns.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/svcdns/client.h $(DESTDIR)$(PREFIX)/include/svcdns/
	install -m 644 man/svcdnsctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/svcdns.yml.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/svcdns.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 644 dist/svcdnsctl.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/svcdnsctl
	install -m 644 zones/svcdns.example.yml README.md docs/protocol.md $(DESTDIR)$(PREFIX)/share/doc/svcdns/
	[ -e $(DESTDIR)$(SYSCONFDIR)/svcdns/svcdns.yml ] || install -m 644 dist/svcdns.yml $(DESTDIR)$(SYSCONFDIR)/svcdns/svcdns.yml
	sed 's|@BINDIR@|$(PREFIX)/bin|g' dist/svcdns.service >$(DESTDIR)$(UNITDIR)/svcdns.service
	chmod 644 $(DESTDIR)$(UNITDIR)/svcdns.service
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! getent passwd svcdns >/dev/null; then \
		useradd --system --user-group --home-dir /var/lib/svcdns --no-create-home \
			--shell /usr/sbin/nologin svcdns && echo "created system user svcdns"; fi
	@if [ -z "$(DESTDIR)" ]; then echo "installed; start it with: systemctl daemon-reload && systemctl enable --now svcdns"; fi

# build/svcdns_VERSION_amd64.deb: the same files under /usr, the unit in /lib/systemd/system;
# installing it creates the system user and enables the unit (scripts/make-deb).
deb: all
	@scripts/make-deb $(VERSION)

fuzz-all: $(FUZZERS:%=build/fuzz/%)

# Every test, once against the release build and once under ASan+UBSan, plus a short
# fixed run of every fuzz target over its corpus.
test: test-deps
	@$(MAKE) --no-print-directory release-all asan-all fuzz-all
	@tests/run-tests.sh build/release build/asan

# Runs every fuzz target for FUZZ_SECONDS (default 60) each; new inputs that raise
# coverage land in tests/fuzz/corpus/TARGET, crashes in tests/fuzz/crashes/.
fuzz: test-deps
	@$(MAKE) --no-print-directory fuzz-all
	@for f in $(FUZZERS); do tests/fuzz/run-fuzzer.sh build/fuzz/$$f long $(FUZZ_SECONDS) || exit 1; done

check: test

# The fast loop while working: the release flavour only (binaries, unit tests, tools), its
# unit and integration tests once, without the 30-second soak and the fuzz targets.
quick: test-deps
	@$(MAKE) --no-print-directory release-all
	@SVCDNS_QUICK=1 TEST_JOBS=3 tests/run-tests.sh build/release

unit: quick

sanitize: test-deps
	@$(MAKE) --no-print-directory asan-all
	@tests/run-tests.sh build/asan

# svcdns against NSD, Knot DNS and a do-nothing responder, and registration load: about
# 10 minutes; not part of `make test`. Options: scripts/bench --help, docs/benchmarks.md.
.PHONY: bench
bench: release-all
	scripts/bench $(BENCH_ARGS)

# The unit and integration tests again, svcdns and every unit test running under valgrind
# memcheck: any memory error or definitely/indirectly lost block fails (still-reachable
# ones do not; svcdns frees everything at exit, so no suppressions are needed).
# build/valgrind/ holds wrappers around the release binaries; reports land in
# build/valgrind/logs/PID.log. Slow (about 7 minutes); not part of `make test`.
VALGRIND := valgrind --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=1 --num-callers=30 \
	$(addprefix --suppressions=$(CURDIR)/,$(wildcard tests/valgrind.supp)) \
	--log-file=$(CURDIR)/build/valgrind/logs/%p.log
VALGRIND_ERRORS := ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|Syscall param|Mismatched free|overlap|(definitely|indirectly) lost in|Process terminating

.PHONY: valgrind
valgrind: release-all
	@scripts/install-deps valgrind
	@rm -rf build/valgrind; mkdir -p build/valgrind/tests build/valgrind/logs
	@ln -s ../release/tools build/valgrind/tools; ln -s ../release/svcdnsctl build/valgrind/svcdnsctl
	@for b in svcdns $(UNITS:%=tests/%); do \
		printf '#!/bin/sh\nexec %s %s "$$@"\n' '$(VALGRIND)' $(CURDIR)/build/release/$$b >build/valgrind/$$b; \
		chmod +x build/valgrind/$$b; done
	@SVCDNS_START_TIMEOUT=60 tests/run-tests.sh build/valgrind; rc=$$?; \
	bad=$$(grep -lE '$(VALGRIND_ERRORS)' build/valgrind/logs/*.log); \
	for f in $$bad; do echo "--- valgrind: $$f"; grep -A30 -m3 -E '$(VALGRIND_ERRORS)' $$f | head -60; done; \
	echo "valgrind: $$(ls build/valgrind/logs | wc -l) runs, $$(echo $$bad | wc -w) with errors or leaks"; \
	[ $$rc -eq 0 ] && [ -z "$$bad" ]

clean:
	rm -rf build bin lib
