# steer: multi-CDN traffic steering DNS authority and edge cache.
#
#   make            release build: bin/steerd, bin/edged (and tools)
#   make asan       ASan+UBSan build under build/asan/ (the test run uses it)
#   make test       installs dependencies, builds asan, runs tests/run.sh
#   make demo       installs dependencies, builds, runs the loopback demo
#   make fuzz       libFuzzer targets (clang) under build/fuzz/
#   make deps       installs missing Debian packages (apt-get, needs root)
#
# Each subsystem directory becomes one archive (lib<dir>.a) of all its .c
# files except daemon mains (main_*.c); adding a module needs no Makefile edit.
# A program or test links its own directory plus DEPS_<dir>.
# Unit tests: tests/unit/test_<dir>_*.c. Test tools: tests/tools/<dir>_*.c.

CC       ?= cc
CSTD      = -std=c11 -D_GNU_SOURCE
WARN      = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wno-unused-parameter -Wno-format-truncation
OPT      ?= -O2 -g
CFLAGS_BASE = $(CSTD) $(WARN) -I. -pthread -fno-strict-aliasing
PKGS      = ldns libcares libmaxminddb libevent libevent_pthreads libevent_openssl openssl libfyaml jansson liburcu-memb
LIBS      = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
PKGCFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)

SUBDIRS   = common dns geo steering health edge rum control steerd
# link dependencies of each subsystem (besides itself)
DEPS_common   =
DEPS_dns      = common
DEPS_geo      = common
DEPS_steering = rum geo common
DEPS_health   = common
DEPS_edge     = common
DEPS_rum      = geo common
DEPS_control  = steering health geo rum common
DEPS_steerd   = control dns steering rum health geo common

REL  = build/release
ASAN = build/asan
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

MAIN_FILES = $(wildcard */main_*.c)
BIN_NAMES  = $(patsubst main_%.c,%,$(notdir $(MAIN_FILES)))
UNIT_SRC   = $(wildcard tests/unit/test_*.c)
UNIT_NAMES = $(patsubst tests/unit/%.c,%,$(UNIT_SRC))
TOOL_SRC   = $(wildcard tests/tools/*.c)
TOOL_NAMES = $(patsubst tests/tools/%.c,%,$(TOOL_SRC))

# dir of a unit test or tool: test_dns_wire -> dns ; dns_query -> dns
unit_dir = $(word 2,$(subst _, ,$(1)))
tool_dir = $(word 1,$(subst _, ,$(1)))
archives = $(foreach d,$(1) $(DEPS_$(1)),$(2)/lib$(d).a)

# $(1) = build dir, $(2) = flags
define build_rules
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_BASE) $(2) $$(PKGCFLAGS) -MMD -MP -c $$< -o $$@

$(foreach d,$(SUBDIRS),
$(1)/lib$(d).a: $$(patsubst %.c,$(1)/obj/%.o,$$(filter-out $$(wildcard $(d)/main_*.c),$$(wildcard $(d)/*.c)))
	@rm -f $$@
	ar rcs $$@ $$^
)

$(foreach f,$(MAIN_FILES),
$(1)/bin/$(patsubst main_%.c,%,$(notdir $(f))): $(1)/obj/$(f:.c=.o) $(call archives,$(patsubst %/,%,$(dir $(f))),$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -pthread -o $$@ $$< -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group $$(LIBS)
)

$(foreach t,$(UNIT_NAMES),
$(1)/tests/$(t): $(1)/obj/tests/unit/$(t).o $(call archives,$(call unit_dir,$(t)),$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -pthread -o $$@ $$< -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group $$(LIBS) -lcmocka
)

$(foreach t,$(TOOL_NAMES),
$(1)/tools/$(t): $(1)/obj/tests/tools/$(t).o $(call archives,$(call tool_dir,$(t)),$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $(2) -pthread -o $$@ $$< -Wl,--start-group $$(filter %.a,$$^) -Wl,--end-group $$(LIBS)
)
endef

$(eval $(call build_rules,$(REL),$(OPT)))
$(eval $(call build_rules,$(ASAN),$(ASAN_FLAGS)))
-include $(shell find build -name '*.d' 2>/dev/null)

# Status page (control/status.c): control/assets/* embedded as C arrays.
CONTROL_ASSETS = $(sort $(wildcard control/assets/*))
build/gen/control_assets.h: $(CONTROL_ASSETS)
	@mkdir -p $(dir $@)
	@for f in $(CONTROL_ASSETS); do printf 'static const unsigned char asset_%s[] = {\n' \
	  $$(basename $$f | tr -c 'A-Za-z0-9\n' _); xxd -i < $$f; printf '};\n'; done > $@.tmp && mv $@.tmp $@
$(REL)/obj/control/status.o $(ASAN)/obj/control/status.o: build/gen/control_assets.h

.PHONY: all asan test demo deps fuzz clean
.DEFAULT_GOAL := all

all: $(addprefix bin/,$(BIN_NAMES)) $(addprefix $(REL)/tools/,$(TOOL_NAMES))

bin/%: $(REL)/bin/%
	@mkdir -p bin
	cp $< $@

asan: $(addprefix $(ASAN)/bin/,$(BIN_NAMES)) $(addprefix $(ASAN)/tests/,$(UNIT_NAMES)) \
      $(addprefix $(ASAN)/tools/,$(TOOL_NAMES))

deps:
	@sh tools/deps.sh

test: deps
	$(MAKE) asan all
	sh tests/run.sh

demo: deps
	$(MAKE) all
	bash tools/demo.sh

# libFuzzer targets: tests/fuzz/fuzz_<dir>_*.c, built with clang from sources
FUZZ_SRC   = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES = $(patsubst tests/fuzz/%.c,%,$(FUZZ_SRC))
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined
fuzz_srcs  = $(foreach d,$(1) $(DEPS_$(1)),$(filter-out $(wildcard $(d)/main_*.c),$(wildcard $(d)/*.c)))
$(foreach t,$(FUZZ_NAMES),$(eval \
build/fuzz/$(t): tests/fuzz/$(t).c $(call fuzz_srcs,$(call unit_dir,$(t))) ; \
	@mkdir -p build/fuzz && clang $(CSTD) -Wall -Wextra -Werror -Wno-unused-parameter -I. -pthread $(PKGCFLAGS) $(FUZZ_FLAGS) -o $$@ $$^ $(LIBS)))
fuzz: $(addprefix build/fuzz/,$(FUZZ_NAMES))
$(addprefix build/fuzz/,$(FUZZ_NAMES)): | build/gen/control_assets.h

clean:
	rm -rf build bin

# ---- install: make install [PREFIX=/usr/local] [DESTDIR=/staging]; make uninstall
# Release builds of the daemons to sbin, steerctl to bin, man pages, systemd units and the
# sysusers.d entry for the `steer` user (paths substituted into the units),
# and example configs to $(SYSCONFDIR)/steer/, never over existing files.
# uninstall removes what install put there; configs only while unmodified.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR  ?= /etc
INSTALL     ?= install
INST_SBIN    = steerd edged origind
INST_MAN     = man1/steerctl.1 man5/steerd.yaml.5 man8/steerd.8 man8/edged.8 man8/origind.8
INST_UNITS   = steerd.service edged.service
INST_CONF    = steerd.yaml edged.yaml example.test.zone

.PHONY: install uninstall
install: $(addprefix $(REL)/bin/,$(INST_SBIN) steerctl)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)/steer
	$(INSTALL) -m 0755 $(addprefix $(REL)/bin/,$(INST_SBIN)) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0755 $(REL)/bin/steerctl $(DESTDIR)$(BINDIR)/
	for m in $(INST_MAN); do $(INSTALL) -m 0644 man/$${m#*/} $(DESTDIR)$(MANDIR)/$$m || exit 1; done
	for u in $(INST_UNITS); do \
	  sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' dist/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	$(INSTALL) -m 0644 dist/steer.sysusers $(DESTDIR)$(SYSUSERSDIR)/steer.conf
	for f in $(INST_CONF); do \
	  if [ -e $(DESTDIR)$(SYSCONFDIR)/steer/$$f ]; then echo "install: keeping existing $(DESTDIR)$(SYSCONFDIR)/steer/$$f"; \
	  else $(INSTALL) -m 0644 dist/$$f $(DESTDIR)$(SYSCONFDIR)/steer/$$f || exit 1; fi; done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(SBINDIR)/,$(INST_SBIN)) $(DESTDIR)$(BINDIR)/steerctl \
	  $(addprefix $(DESTDIR)$(MANDIR)/,$(INST_MAN)) $(addprefix $(DESTDIR)$(UNITDIR)/,$(INST_UNITS)) \
	  $(DESTDIR)$(SYSUSERSDIR)/steer.conf
	for f in $(INST_CONF); do \
	  if cmp -s dist/$$f $(DESTDIR)$(SYSCONFDIR)/steer/$$f; then rm -f $(DESTDIR)$(SYSCONFDIR)/steer/$$f; \
	  elif [ -e $(DESTDIR)$(SYSCONFDIR)/steer/$$f ]; then echo "uninstall: keeping modified $(DESTDIR)$(SYSCONFDIR)/steer/$$f"; fi; done
	-rmdir $(DESTDIR)$(SYSCONFDIR)/steer 2>/dev/null
