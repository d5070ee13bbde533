# svcdns build. `make` builds bin/svcdns; `make test` installs test tools, builds the
# normal and the sanitizer flavour, and runs every test against both.

PKGS      := ldns libevent yaml-0.1 libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wno-format-truncation
CPPFLAGS := -Iinclude -Iserver -Iclient -D_GNU_SOURCE
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SERVER_SRCS := $(filter-out server/main.c,$(wildcard server/*.c))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
CLIENT_SRCS := $(filter-out client/svcdnsctl.c,$(wildcard client/*.c))
TOOL_SRCS   := $(wildcard tests/tools/*.c)

# $(1) = build directory, $(2) = extra flags
define flavour
$(1)/obj/%.o: %.c $(wildcard server/*.h client/*.h include/svcdns/*.h tests/unit/*.h)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CPPFLAGS) $$(CFLAGS) $(2) $$(WARN) $$(PKG_CFLAGS) -c $$< -o $$@
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
endef

$(eval $(call flavour,build/release,))
$(eval $(call flavour,build/asan,$(SAN)))

UNITS = $(notdir $(UNIT_SRCS:.c=))
TOOLS = $(notdir $(TOOL_SRCS:.c=))

.PHONY: all deps test-deps run test check sanitize clean
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

release-all: bin/svcdns bin/svcdnsctl lib/libsvcdns.a $(UNITS:%=build/release/tests/%) $(TOOLS:%=build/release/tools/%)
asan-all: build/asan/svcdns build/asan/svcdnsctl $(UNITS:%=build/asan/tests/%) $(TOOLS:%=build/asan/tools/%)

# Runs the server with its built-in defaults (port 53 on all addresses).
run: all
	bin/svcdns

# Every test, once against the release build and once under ASan+UBSan.
test: test-deps
	@$(MAKE) --no-print-directory release-all asan-all
	@tests/run-tests.sh build/release build/asan

check: test

sanitize: test-deps
	@$(MAKE) --no-print-directory asan-all
	@tests/run-tests.sh build/asan

clean:
	rm -rf build bin lib
