# xlb — Layer-4 load balancer on XDP + AF_XDP.
#
#   make            build everything into build/
#   make test       install missing packages, build, run unit + lab tests
#   make demo       run the netns lab demo (MODE=dr|nat|tun)
#   make bench      benchmarks
#   make deb        build the Debian package into build/deb/ (dpkg-buildpackage)
#   make deps       install the Debian packages the project needs
#   make install    install xlbd, xlbctl and the decap program (PREFIX, DESTDIR)
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
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_OBJS  := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
BENCH_BPF_SRCS := $(wildcard tests/bench/*.bpf.c)
BENCH_BPF_OBJS := $(BENCH_BPF_SRCS:tests/bench/%.bpf.c=$(BUILD)/bench/%.bpf.o)
BENCH_SRCS := $(filter-out %.bpf.c,$(BENCH_SRCS))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)

LIBXLB := $(BUILD)/libxlb.a
PROGS  := $(if $(wildcard lb/xlbd.c),$(BUILD)/xlbd) \
          $(if $(CLI_SRCS),$(BUILD)/xlbctl)
UNIT   := $(BUILD)/xlb-unit-tests

.PHONY: all test unit lab demo bench deps clean install check-deps
.DEFAULT_GOAL := all

all: $(BPF_OBJS) $(LIBXLB) $(PROGS) $(UNIT) $(BENCH_BINS) $(BENCH_BPF_OBJS)

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

$(UNIT): $(UNIT_OBJS) $(LIBXLB)
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

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Fuzzing (libFuzzer): targets and `make fuzz` live in tests/fuzz/fuzz.mk.
-include tests/fuzz/fuzz.mk

# Skeletons and benchmark objects are intermediates make would delete.
.SECONDARY:
