# libFuzzer targets (included at the end of the top Makefile).
#
#   make fuzz          build, replay the regressions, run each target for
#                      FUZZ_TIME seconds (default 60)
#   make fuzz-short    the same for FUZZ_SHORT seconds (default 20): what
#                      `make test` runs
#   make fuzz-regress  replay tests/fuzz/regress/<target>/* and the seeds
#   make fuzz-build    only build build/fuzz/fuzz_*
#   make fuzz-seeds    regenerate tests/fuzz/corpus/ (committed)
#
# Built with clang (libFuzzer + ASan + UBSan) from the project's sources:
# the lb/*.c the targets need are compiled again into build/fuzz/, never
# taken from libxlb.a (gcc, no sanitizers). Any crash, leak, UBSan report
# or invariant violation fails the run; its input is left under
# build/fuzz/artifacts/<target>/ (keep it in tests/fuzz/regress/<target>/).

FUZZ_TIME  ?= 60
FUZZ_SHORT ?= 20
FUZZ_CC    ?= $(firstword $(shell command -v clang-14 clang 2>/dev/null) clang)
FUZZ_DIR   := $(BUILD)/fuzz

FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) -std=gnu11 -Wall -Wextra -D_GNU_SOURCE \
               -fno-strict-aliasing -iquote lb -I$(BUILD) -MMD -MP
# Others' files get the same warnings, but a clang-only warning in them must
# not break `make test` (gcc's -Werror build guards them).
FUZZ_LIB_CFLAGS := $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link

# What the targets reach, and nothing with BPF, AF_XDP or netlink
# sockets in it.
FUZZ_LIB_SRCS := $(wildcard $(addprefix lb/,pkt.c csum.c xmit_dr.c xmit_nat.c \
                   xmit_tun.c icmp_gen.c log.c ctl.c ctl_server.c tables.c \
                   ring.c hash.c ipvsadm.c keepalived.c check.c \
                   sha256.c sync_msg.c)) \
                 $(wildcard lb/sched.c lb/sched_*.c)
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_DIR)/%.o)
# The ring's build loops (up to 2^20 points) are not what these targets
# explore and, with coverage callbacks on every compare, took two thirds of
# fuzz_ctl's time: sanitizers yes, coverage no.
FUZZ_NOCOV_SRCS := lb/ring.c lb/hash.c lb/sched_mh.c
FUZZ_LIB      := $(FUZZ_DIR)/libxlb-fuzz.a
FUZZ_SRCS     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS  := $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_BINS     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

# fuzz_rules must not ask DNS for the host names it makes up.
FUZZ_LDFLAGS_fuzz_rules := -Wl,--wrap=getaddrinfo,--wrap=freeaddrinfo,--wrap=getservbyname

.PHONY: fuzz fuzz-short fuzz-regress fuzz-build fuzz-seeds
.PRECIOUS: $(FUZZ_DIR)/tests/fuzz/%.o

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/lb/%.o: lb/%.c
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(if $(filter $<,$(FUZZ_NOCOV_SRCS)),$(FUZZ_CFLAGS) -O2,$(FUZZ_LIB_CFLAGS)) \
		-c $< -o $@

$(FUZZ_DIR)/tests/fuzz/%.o: tests/fuzz/%.c
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $(FUZZ_LDFLAGS_fuzz_$*) -o $@ $^ \
		-lmnl -lpthread

fuzz-regress: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh -b $(FUZZ_DIR) -r $(FUZZ_TARGETS)

fuzz-short: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh -b $(FUZZ_DIR) -r -t $(FUZZ_SHORT) $(FUZZ_TARGETS)

fuzz: check-deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/fuzz/run.sh -b $(FUZZ_DIR) -r -t $(FUZZ_TIME) $(FUZZ_TARGETS)

# The seeds are committed; this remakes them (frames: python3 without
# scapy; control messages: lb/ctl.c's own builders; rules: a shell here-doc).
fuzz-seeds: $(FUZZ_DIR)/gen_ctl_seeds $(FUZZ_DIR)/gen_sync_seeds
	$(Q)python3 tests/fuzz/gen_pkt_seeds.py tests/fuzz/corpus/fuzz_pkt
	$(Q)$(FUZZ_DIR)/gen_ctl_seeds tests/fuzz/corpus/fuzz_ctl
	$(Q)mkdir -p tests/fuzz/corpus/fuzz_sync
	$(Q)$(FUZZ_DIR)/gen_sync_seeds tests/fuzz/corpus/fuzz_sync
	$(Q)tests/fuzz/gen_rules_seeds.sh tests/fuzz/corpus/fuzz_rules

$(FUZZ_DIR)/gen_ctl_seeds: $(BUILD)/tests/fuzz/gen_ctl_seeds.o $(LIBXLB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(FUZZ_DIR)/gen_sync_seeds: $(BUILD)/tests/fuzz/gen_sync_seeds.o $(LIBXLB)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
