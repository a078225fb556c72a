# cpr-verify build. Every object gets -MMD so header changes rebuild exactly
# what includes them. `make` builds, `make check` runs unit and live tests
# under ASan+UBSan in a separate tree (build/san), so both coexist.

BUILD   ?= build
SAN     ?= 0
CC      ?= cc
CLANG   ?= clang
BPFTOOL ?= bpftool

PKGS    := libbpf libelf zlib json-c
CFLAGS  ?= -O2 -g
# snprintf into fixed message buffers truncates by design, hence no format-truncation.
CFLAGS  += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -D_GNU_SOURCE \
           -MMD -MP -I. -Ilib -Ibpf -I$(BUILD) $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS  += -DCPRV_VERSION='"$(VERSION)"'

# BPF: CO-RE objects against the committed bpf/vmlinux.h (see README).
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Ibpf -I$(BUILD) -Wall \
              -Wno-unused-function -MMD -MP

LIB_SRCS  := $(wildcard lib/*.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libcprv.a

CLI_SRCS  := $(wildcard tools/cpr-verify/*.c)
CLI_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(CLI_SRCS))
RIG_SRCS  := $(wildcard tools/rig/*.c)
RIG_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(RIG_SRCS))

TEST_SRCS := $(wildcard tests/test_*.c)
TESTS     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
LIVE_SRCS := $(wildcard tests/live_*.c)
LIVE      := $(patsubst tests/%.c,$(BUILD)/tests/%,$(LIVE_SRCS))
TEST_HELPERS := $(filter-out tests/test_% tests/live_%,$(wildcard tests/*.c))
TEST_HELPER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_HELPERS))

.PHONY: all setup run check test unit live clean vmlinux accuracy e2e
all: $(BUILD)/cpr-verify $(BUILD)/cprv-rig $(TESTS) $(LIVE)

setup:
	./scenarios/install-deps.sh

run: all
	$(BUILD)/cpr-verify run -o cprv-out

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

# lib/ and tools/ may include skeletons: build them first.
$(BUILD)/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/cpr-verify: $(CLI_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cprv-rig: $(RIG_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -rdynamic -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELPER_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The L2 test guest (tools/guest/README.md): a freestanding 32-bit Multiboot
# kernel for QEMU -kernel. Own flags on purpose: the host CFLAGS (pkg-config,
# _GNU_SOURCE, sanitizers) must not reach it, and nothing links libgcc.
GUEST_SRCS   := $(wildcard tools/guest/*.c) $(wildcard tools/guest/*.S)
GUEST_OBJS   := $(patsubst %,$(BUILD)/%.o,$(GUEST_SRCS))
GUEST_CFLAGS := -m32 -ffreestanding -fno-pic -fno-stack-protector -nostdlib -O2 -g \
                -std=gnu11 -Wall -Wextra -mgeneral-regs-only -fno-asynchronous-unwind-tables \
                -MMD -MP -Itools/guest
all: $(BUILD)/cprv-guest.elf

$(BUILD)/tools/guest/%.c.o: tools/guest/%.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/tools/guest/%.S.o: tools/guest/%.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(BUILD)/cprv-guest.elf: $(GUEST_OBJS) tools/guest/guest.ld
	ld -m elf_i386 -T tools/guest/guest.ld -o $@ $(GUEST_OBJS)

# Unit tests need no root. Live tests need root, BPF and KVM; where this
# kernel has no /dev/kvm they run inside the nested L1 guest (tools/l1-run).
unit: all
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done
	./tests/guest-smoke.sh $(BUILD)
	./tests/html-chromium.sh $(BUILD)

live: all
	./tests/run-live.sh $(BUILD)

test: unit live e2e

# The nested vfio lane end to end: a real vfio-pci device across real
# cpr-transfers of QEMU, and the gate telling 10.0 from 11.1 (tests/e2e.sh).
e2e: all
	./tests/e2e.sh $(BUILD)

# The fault matrix: every fault x both CPR modes (+ MSI-X, failed CPR, 100
# clean cycles), verdict vs the rig's ground truth; prints a table.
accuracy: all
	./tests/run-live.sh $(BUILD) live_accuracy

# `make bench` (issue 7): the recorder's cost on the irqfd path, the
# analysis's speed and memory, a run's wall time; one table, never asserted
# (tools/bench/README.md). Not part of all or check.
BENCH_SRCS := $(wildcard tools/bench/*.c)
BENCH_BINS := $(patsubst tools/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
BENCH_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(BENCH_SRCS))
.PHONY: bench
.SECONDARY: $(BENCH_OBJS)
$(BUILD)/bench/%: $(BUILD)/tools/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: $(BUILD)/cpr-verify $(BUILD)/cprv-rig $(BUILD)/cprv-guest.elf $(BENCH_BINS)
	./tools/bench/bench.sh $(BUILD)

check:
	$(MAKE) BUILD=build/san SAN=1 test

clean:
	rm -rf build cprv-out

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Regenerate the committed vmlinux.h from the running kernel's BTF.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/vmlinux.h
