# xlb — Layer-4 load balancer on XDP + AF_XDP.
#
#   make            build everything into build/
#   make test       install missing packages, build, run unit + lab tests
#   make demo       run the netns lab demo (MODE=dr|nat|tun|dr6|nat6|tun6|ecmp)
#   make bench      benchmarks
#   make deb        build the Debian package into build/deb/ (dpkg-buildpackage)
#   make deps       install the Debian packages the project needs
#   make install    install xlbd, xlbctl, the decap program, the man pages and
#                   the bash completion (PREFIX, DESTDIR)
#   make install-service  the systemd unit, /etc/default/xlb, /etc/xlb/rules
#                   (part of install when PREFIX=/usr)
#
# Quiet unless V=1.  SAN=1 builds with ASan + UBSan.

# SAN=1 builds into its own tree so instrumented and plain objects never mix.
BUILD   ?= $(if $(filter 1,$(SAN)),build-san,build)
PREFIX  ?= /usr/local
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
V       ?= 0
SAN     ?= 0
MODE    ?= dr

ifeq ($(V),1)
Q =
msg = @true
else
Q = @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine 2>/dev/null)

CFLAGS  ?= -O2 -g
XCFLAGS := $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
           -fno-strict-aliasing -iquote lb -I$(BUILD) -MMD -MP
LDLIBS  := -lxdp -lbpf -lmnl -lelf -lz -lpthread
ifeq ($(SAN),1)
XCFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 \
              -I$(ARCH_INC) -Ibpf -MMD -MP

# lb/*.c is libxlb.a (everything but the daemon's main), shared by xlbd,
# xlbctl, the tests and the benchmarks.
LIB_SRCS   := $(filter-out lb/xlbd.c,$(wildcard lb/*.c))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_SRCS   := $(wildcard cli/*.c)
CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/%.o)
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.bpf.o)
BPF_SKELS  := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
UNIT_SRCS  := $(filter-out %.bpf.c,$(wildcard tests/unit/*.c))
UNIT_OBJS  := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
# Test-only XDP programs (e.g. tests/unit/rw6.bpf.c), each a skeleton the
# unit tests include as "tests/unit/NAME.skel.h".
UNIT_BPF_SRCS  := $(wildcard tests/unit/*.bpf.c)
UNIT_BPF_SKELS := $(UNIT_BPF_SRCS:tests/unit/%.bpf.c=$(BUILD)/tests/unit/%.skel.h)
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
BENCH_BPF_SRCS := $(wildcard tests/bench/*.bpf.c)
BENCH_BPF_OBJS := $(BENCH_BPF_SRCS:tests/bench/%.bpf.c=$(BUILD)/bench/%.bpf.o)
BENCH_SRCS := $(filter-out %.bpf.c,$(BENCH_SRCS))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

# Man pages: doc/NAME.8.scd (scdoc) -> $(BUILD)/man/NAME.8.
SCDOC     ?= scdoc
MAN_SRCS  := $(wildcard doc/*.scd)
MAN_PAGES := $(MAN_SRCS:doc/%.scd=$(BUILD)/man/%)

LIBXLB := $(BUILD)/libxlb.a
PROGS  := $(if $(wildcard lb/xlbd.c),$(BUILD)/xlbd) \
          $(if $(CLI_SRCS),$(BUILD)/xlbctl)
UNIT   := $(BUILD)/xlb-unit-tests

.PHONY: all test unit lab demo bench deps clean install install-service check-deps man
.DEFAULT_GOAL := all

all: $(BPF_OBJS) $(LIBXLB) $(PROGS) $(UNIT) $(BENCH_BINS) $(BENCH_BPF_OBJS) $(MAN_PAGES)

man: $(MAN_PAGES)

# scdoc reads stdin; a missing scdoc is named, with the fix, not a bare
# "command not found" from the shell.
$(BUILD)/man/%: doc/%.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)command -v $(SCDOC) >/dev/null 2>&1 || { \
		echo "make: $(SCDOC) not found: it builds the man pages from doc/*.scd;" \
		     "install it with 'make deps' (scripts/deps.sh) or 'apt-get install scdoc'" >&2; \
		exit 1; }
	$(Q)$(SCDOC) < $< > $@.tmp && mv $@.tmp $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.bpf.o: tests/bench/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/unit/%.bpf.o: tests/unit/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/unit/%.skel.h: $(BUILD)/tests/unit/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

$(UNIT_OBJS): | $(UNIT_BPF_SKELS)

# Userspace objects may include skeletons: build them first.
$(BUILD)/%.o: %.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(XCFLAGS) -c $< -o $@

$(LIBXLB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/xlbd: $(BUILD)/lb/xlbd.o $(LIBXLB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/xlbctl: $(CLI_OBJS) $(LIBXLB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# cli/json.o: xlbctl's JSON writer, unit-tested on its own; cli/list.o and
# list_json.o: its -L / -S / --json printers, run against an in-process xlbd.
$(UNIT): $(UNIT_OBJS) $(BUILD)/cli/json.o $(BUILD)/cli/list.o $(BUILD)/cli/list_json.o $(LIBXLB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS) -lm

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(LIBXLB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

check-deps:
	$(Q)scripts/deps.sh -q

# The README's test command: installs what is missing, builds, runs it all.
test: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit fuzz-short lab

# SAN=1: tests/san/run.sh sets the sanitizer options and fails on any report;
# one Criterion job, as its parallel runner itself leaks under LSan.
SANRUN := $(if $(filter 1,$(SAN)),tests/san/run.sh)

unit: $(UNIT)
	$(Q)$(SANRUN) tests/unit/unit.sh $(UNIT) --jobs=$(if $(SANRUN),1,2)

# The lab tests take their binaries from XLB_BUILD (tests/lab/lib.sh).
lab: all
	$(Q)XLB_BUILD=$(abspath $(BUILD)) $(SANRUN) tests/lab/run.sh

demo: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)netns-lab/demo.sh $(MODE)

bench: check-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/bench.sh

deps:
	$(Q)scripts/deps.sh

# debian/ drives `make install` from a copy of the tree (scripts/deb.sh).
.PHONY: deb
deb:
	$(Q)scripts/deb.sh $(BUILD)/deb

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib/xlb
	$(if $(PROGS),install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/sbin/)
	$(if $(wildcard $(BUILD)/xlb_decap.bpf.o),install -m 0644 $(BUILD)/xlb_decap.bpf.o $(DESTDIR)$(PREFIX)/lib/xlb/)
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	$(if $(MAN_PAGES),install -m 0644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man8/)
	install -m 0644 dist/xlbctl.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/xlbctl
	ln -sf xlbctl $(DESTDIR)$(PREFIX)/share/bash-completion/completions/xlbd
	$(if $(filter /usr,$(PREFIX)),$(MAKE) --no-print-directory install-service)

# The unit runs $(PREFIX)/sbin/xlbd; the configuration files are examples
# an operator edits: never overwritten once there.
SYSCONFDIR ?= /etc
install-service:
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSCONFDIR)/xlb
	sed -e 's|/usr/sbin/xlbd|$(PREFIX)/sbin/xlbd|' -e 's|/etc/|$(SYSCONFDIR)/|g' dist/xlbd.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/xlbd.service.tmp
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/xlbd.service.tmp
	mv $(DESTDIR)$(PREFIX)/lib/systemd/system/xlbd.service.tmp $(DESTDIR)$(PREFIX)/lib/systemd/system/xlbd.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/xlb ] || install -m 0644 dist/xlb.default $(DESTDIR)$(SYSCONFDIR)/default/xlb
	[ -e $(DESTDIR)$(SYSCONFDIR)/xlb/rules ] || install -m 0644 dist/rules $(DESTDIR)$(SYSCONFDIR)/xlb/rules

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Fuzzing (libFuzzer): targets and `make fuzz` live in tests/fuzz/fuzz.mk.
-include tests/fuzz/fuzz.mk

# Skeletons and benchmark objects are intermediates make would delete.
.SECONDARY:
