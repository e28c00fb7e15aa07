# SPDX-License-Identifier: GPL-2.0
# ambient-redirect: eBPF redirection control plane for an ambient mesh node.
#
#   make              build everything into build/ (never runs apt-get)
#   make test         install what is missing, build, check the format, run
#                     every test suite (unit, BPF, whole-system)
#   make demo         install what is missing, build, bring up a simulated
#                     node, send traffic, show, tear down
#   make deps         install missing Debian packages (called by the two)
#   make test-unit    the tests that need no root: codec, state, CNI logic
#   make check-format / make format   the repo's .clang-format

# A target whose recipe fails leaves no half-written file behind.
.DELETE_ON_ERROR:

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
PROTOC_C  ?= protoc-c
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wno-unused-parameter
CFLAGS    ?= -O2 -g
override CFLAGS += -std=gnu11 -D_GNU_SOURCE $(WARN) -I$(BUILD) -Ibpf/include -Ictl/lib -I$(BUILD)/proto
LDLIBS    := -lbpf -lelf -lz -lprotobuf-c -lmnl
# What needs no BPF (the CNI plugin, the unit tests): the codec only.
LDLIBS_NOBPF := -lprotobuf-c
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
              -I$(BUILD) -Ibpf/include

BPF_SRCS  := bpf/tc/redirect.bpf.c bpf/sockops/sockmap.bpf.c
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS)) \
             $(BUILD)/bpf/tests/foreign_counter.bpf.o \
             $(BUILD)/bpf/tests/foreign_ok.bpf.o \
             $(BUILD)/bpf/tests/peer_deliver.bpf.o
SKELS     := $(BUILD)/redirect.skel.h $(BUILD)/sockmap.skel.h
BPF_HDRS  := $(wildcard bpf/include/*.h bpf/tc/*.h)

LIB_SRCS  := ctl/lib/log.c ctl/lib/datapath.c ctl/lib/wire.c \
             ctl/lib/state.c ctl/lib/journal.c ctl/lib/client.c \
             ctl/lib/nl.c ctl/lib/netns.c ctl/lib/link.c ctl/lib/tc.c \
             ctl/lib/ztunnel_routing.c ctl/lib/sockmap.c \
             ctl/lib/cleanup.c ctl/lib/probe.c ctl/lib/hooks.c ctl/lib/tcx.c \
             ctl/lib/upgrade.c ctl/lib/addr.c ctl/lib/coverage.c \
             ctl/lib/closer.c ctl/lib/nsopen.c ctl/lib/paths.c \
             ctl/lib/exclusions.c ctl/lib/packet.c ctl/lib/explain.c \
             ctl/lib/findings.c
PROTO_C   := $(BUILD)/proto/redirect.pb-c.c
PROTO_H   := $(BUILD)/proto/redirect.pb-c.h
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(BUILD)/proto/redirect.pb-c.o
LIB       := $(BUILD)/libredirect.a

CUNIT_RUN := tests/lib/cunit_run.h
# tests/lib: what the C tests and test tools share, as the kernel's BPF
# selftests share network_helpers.h: sockets, namespaces and veths
# (net_helpers). Frames for BPF_PROG_TEST_RUN (packet) are the library's:
# redirectd's explain builds them too.
TEST_LIB_SRCS := tests/lib/net_helpers.c
TEST_LIB_HDRS := $(wildcard tests/lib/*.h)
TEST_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_LIB_SRCS))
# Every tests/bpf/test_*.c and tests/unit/test_*.c is a suite binary.
TEST_PRIV := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))
TEST_UNIT := $(filter-out $(BUILD)/tests/test_cni, \
             $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c)))
# The pure-logic objects the unit tests need (not nl.o, not client.o).
UNIT_OBJS := $(BUILD)/ctl/lib/wire.o $(BUILD)/ctl/lib/state.o \
             $(BUILD)/ctl/lib/journal.o $(BUILD)/ctl/lib/addr.o \
             $(BUILD)/ctl/lib/log.o $(BUILD)/ctl/lib/exclusions.o \
             $(BUILD)/proto/redirect.pb-c.o
ZTSIM     := $(BUILD)/ztunnel-sim
SOCKCHECK := $(BUILD)/sockcheck
TCXATTACH := $(BUILD)/tcxattach
SOCKLOAD  := $(BUILD)/bench/sockmap_load
BINS      := $(BUILD)/redirectd $(BUILD)/redirectctl
CNI       := $(BUILD)/redirect-cni
TEST_CNI  := $(BUILD)/tests/test_cni
BENCH_BINS := $(BUILD)/bench/prog_cost $(BUILD)/bench/rr \
              $(BUILD)/bench/ctlplane $(BUILD)/bench/attach_cost

.PHONY: all deps test test-unit check-format clean demo format
.PHONY: install uninstall cni-static asan fuzz fuzz-build fuzz-corpus

all: $(BPF_OBJS) $(SKELS) $(LIB) $(BINS) $(TEST_PRIV) \
     $(TEST_UNIT) $(CNI) $(TEST_CNI) $(ZTSIM) $(SOCKCHECK) $(SOCKLOAD) \
     $(TCXATTACH) $(BUILD)/redirectd-alt-layout $(BENCH_BINS)

deps:
	@sh scripts/deps.sh

$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp
	mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BUILD)/vmlinux.h $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Test fixture: a foreign owner's counting filter.
$(BUILD)/bpf/tests/%.bpf.o: tests/bpf/%.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/redirect.skel.h: $(BUILD)/bpf/tc/redirect.bpf.o
	$(BPFTOOL) gen skeleton $< name redirect_bpf > $@.tmp
	mv $@.tmp $@

$(BUILD)/sockmap.skel.h: $(BUILD)/bpf/sockops/sockmap.bpf.o
	$(BPFTOOL) gen skeleton $< name sockmap_bpf > $@.tmp
	mv $@.tmp $@

$(PROTO_C) $(PROTO_H): proto/redirect.proto
	@mkdir -p $(BUILD)/proto
	$(PROTOC_C) --c_out=$(BUILD)/proto -Iproto $<

$(BUILD)/proto/redirect.pb-c.o: $(PROTO_C)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(BUILD)/ctl/%.o: ctl/%.c $(SKELS) $(PROTO_H) $(wildcard ctl/*.h ctl/lib/*.h) $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

DAEMON_SRCS := ctl/daemon.c ctl/daemon_hooks.c ctl/daemon_pods.c \
               ctl/daemon_ztunnel.c ctl/daemon_query.c ctl/daemon_explain.c \
               ctl/daemon_doctor.c \
               ctl/daemon_reconcile.c ctl/daemon_watch.c ctl/daemon_coverage.c \
               ctl/daemon_errors.c ctl/daemon_maps.c ctl/daemon_netns.c
DAEMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(DAEMON_SRCS))

# redirectd's event loop and what it serves, above the core
SERVER_SRCS := ctl/redirectd.c ctl/metrics.c ctl/options.c ctl/peers.c \
               ctl/ownership.c
SERVER_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(SERVER_SRCS))

$(BUILD)/redirectd: $(SERVER_OBJS) $(DAEMON_OBJS) $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# A redirectd whose pinned maps have another layout, for the upgrade test
# (tests/e2e/test_upgrade.sh): another layout version and a frag_value of
# another size; only the datapath's object and its loaders differ.
ALT       := $(BUILD)/alt
ALT_DEFS  := -DREDIRECT_LAYOUT_TEST -DREDIRECT_LAYOUT_VERSION=99
ALT_OBJS  := $(ALT)/datapath.o $(ALT)/sockmap.o $(ALT)/explain.o

$(ALT)/redirect.bpf.o: bpf/tc/redirect.bpf.c $(BUILD)/vmlinux.h $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(ALT_DEFS) -c $< -o $@

$(ALT)/redirect.skel.h: $(ALT)/redirect.bpf.o
	$(BPFTOOL) gen skeleton $< name redirect_bpf > $@.tmp
	mv $@.tmp $@

$(ALT)/%.o: ctl/lib/%.c $(ALT)/redirect.skel.h $(SKELS) $(wildcard ctl/lib/*.h) $(BPF_HDRS)
	$(CC) -I$(ALT) $(CFLAGS) $(ALT_DEFS) -c $< -o $@

# The library with the other layout's loaders in place of this one's: a
# link that cannot pick the wrong ones, whatever the order.
ALT_LIB   := $(ALT)/libredirect.a
$(ALT_LIB): $(filter-out $(BUILD)/ctl/lib/datapath.o $(BUILD)/ctl/lib/sockmap.o $(BUILD)/ctl/lib/explain.o,$(LIB_OBJS)) $(ALT_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/redirectd-alt-layout: $(SERVER_OBJS) $(DAEMON_OBJS) $(ALT_LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/redirectctl: $(BUILD)/ctl/redirectctl.o $(BUILD)/ctl/ctl_output.o \
		$(BUILD)/ctl/ctl_doctor.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -ljson-c

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(TEST_LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/lib -c $< -o $@
# Kept: otherwise make takes them for intermediates and deletes them.
.SECONDARY: $(TEST_LIB_OBJS)

# The privileged C suites (root, BPF, namespaces): one binary per
# tests/bpf/test_X.c, linked with tests/lib and, when there is a folder
# tests/bpf/X/, with its files (one suite a file, and their fixture).
.SECONDEXPANSION:
$(TEST_PRIV): $(BUILD)/tests/test_%: tests/bpf/test_%.c $$(wildcard tests/bpf/$$*/*.[ch]) \
		$(TEST_LIB_OBJS) $(TEST_LIB_HDRS) $(LIB) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/lib $(if $(wildcard tests/bpf/$*),-Itests/bpf/$*) \
		-o $@ $< \
		$(wildcard tests/bpf/$*/*.c) $(TEST_LIB_OBJS) $(LIB) \
		$(LDLIBS) -lcunit

# Pure logic, no privileges: one binary per tests/unit/test_X.c on the
# objects that need no BPF (test_cni, below, builds on the CNI's logic),
# linked, when there is a folder tests/unit/X/, with its files (one suite
# a file, and their fixture).
$(TEST_UNIT): $(BUILD)/tests/test_%: tests/unit/test_%.c \
		$$(wildcard tests/unit/$$*/*.[ch]) $(UNIT_OBJS) $(CUNIT_RUN) \
		$(BPF_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< $(wildcard tests/unit/$*/*.c) $(UNIT_OBJS) \
		$(LDLIBS_NOBPF) -lcunit

# The chained CNI plugin; cni.c is its pure logic, unit tested alone.
CNI_SRCS  := cni-hook/redirect-cni.c cni-hook/cni.c
$(BUILD)/redirect-cni: $(CNI_SRCS) cni-hook/cni.h $(LIB) $(PROTO_H)
	$(CC) $(CFLAGS) -Icni-hook -o $@ $(CNI_SRCS) $(LIB) $(LDLIBS_NOBPF) \
		-ljson-c

# the CNI's logic checks CIDRs with redirectd's own parser (exclusions.c)
CNI_PURE  := cni-hook/cni.c ctl/lib/exclusions.c ctl/lib/addr.c
$(BUILD)/tests/test_cni: tests/unit/test_cni.c $(CNI_PURE) cni-hook/cni.h \
		$(CUNIT_RUN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Icni-hook -o $@ tests/unit/test_cni.c $(CNI_PURE) \
		-ljson-c -lcunit

# Test fixture standing in for ztunnel (see tests/tools/README.md): the
# files of its folder, one concern a file, ztsim.h what they share.
ZTSIM_SRCS := $(wildcard tests/tools/ztunnel-sim/*.c)
$(ZTSIM): $(ZTSIM_SRCS) $(wildcard tests/tools/ztunnel-sim/*.h) \
		bpf/include/redirect_abi.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(ZTSIM_SRCS)

# Test fixture standing in for a CNI's TCX program (tests/tools/tcxattach.c).
$(TCXATTACH): tests/tools/tcxattach.c
	$(CC) $(CFLAGS) -o $@ $< -lbpf -lelf -lz

# Socket semantics under sockmap acceleration (tests/e2e/test_sockmap.sh):
# the files of its folder, one concern a file, sockcheck.h what they share.
SOCKCHECK_SRCS := $(wildcard tests/tools/sockcheck/*.c)
$(SOCKCHECK): $(SOCKCHECK_SRCS) $(wildcard tests/tools/sockcheck/*.h) \
		$(BUILD)/tests/lib/net_helpers.o $(TEST_LIB_HDRS) $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $(SOCKCHECK_SRCS) \
		$(BUILD)/tests/lib/net_helpers.o -lbpf -lcrypto -lpthread

# The load of bench/sockmap.sh (acceleration on and off, side by side).
$(SOCKLOAD): bench/sockmap_load.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

# The README's two commands set the machine up first; plain make does not.
test: deps
	$(MAKE) all
	$(MAKE) check-format
	sh tests/run.sh $(BUILD)

demo: deps
	$(MAKE) all
	sh scripts/demo.sh $(BUILD)

test-unit: $(TEST_UNIT) $(TEST_CNI)
	@for t in $^; do $$t || exit 1; done

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null || \
		find bpf ctl cni-hook tests bench -name '*.[ch]')

check-format:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) || \
		{ echo "check-format: run 'make format'" >&2; exit 1; }

# Benchmarks (docs/performance.md): make bench [BENCH_SMOKE=1]
BENCH_SMOKE ?= 0
.PHONY: bench

bench: all
	BENCH_SMOKE=$(BENCH_SMOKE) sh bench/run.sh $(BUILD)

# Every benchmark program links the library; what one does not use the
# linker leaves out.
$(BUILD)/bench/%: bench/%.c $(LIB) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(LIB) $(LDLIBS)

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $(FORMAT_SRCS)

# --- hardening: sanitizers and fuzzing (docs/hacking.md, "Hardening") -------------
# make asan: everything again, built by clang with ASan and UBSan, into
# $(BUILD)/asan; tests/e2e/test_asan.sh runs suites against it.
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=all

asan:
	$(MAKE) BUILD=$(BUILD)/asan CC=$(CLANG) CFLAGS="$(SAN_CFLAGS)" all

# make fuzz-build: the libFuzzer harnesses of tests/fuzz into $(BUILD)/fuzz.
# make fuzz: run each for FUZZ_TIME seconds (tests/e2e/test_fuzz.sh runs
# them briefly); make fuzz-corpus: rewrite the seeds in tests/fuzz/corpus.
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_OBJ    := $(FUZZ_DIR)/obj
FUZZ_TIME   ?= 600
FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined \
               -fno-omit-frame-pointer -fno-sanitize-recover=all \
               -std=gnu11 -D_GNU_SOURCE $(WARN) -I$(BUILD) -Ibpf/include \
               -Ictl -Ictl/lib -I$(BUILD)/proto -Icni-hook -Itests/fuzz
FUZZERS     := $(FUZZ_DIR)/fuzz_request $(FUZZ_DIR)/fuzz_journal \
               $(FUZZ_DIR)/fuzz_cni
FUZZ_CORE   := $(addprefix $(FUZZ_OBJ)/,ctl/lib/wire.o ctl/lib/state.o \
               ctl/lib/journal.o ctl/lib/log.o ctl/lib/datapath.o \
               ctl/lib/upgrade.o ctl/lib/addr.o ctl/lib/exclusions.o \
               $(BUILD)/proto/redirect.pb-c.o)
# fuzz_request drives ctl/daemon.c on the fake kernel of
# tests/fuzz/fake_kernel.h: the netlink modules (nl.c, netns.c, link.c,
# tc.c, ztunnel_routing.c) are left out (fake_kernel.c and fake_tc.c define
# their headers), and datapath.c's BPF functions are wrapped at link time
# (fake_datapath.c); sockmap.c is left out too (tests/fuzz/fake_sockmap.c:
# acceleration off).
FUZZ_WRAP   := dp_load dp_close dp_prog_fd dp_spare_fd dp_unpin \
               dp_pod_put dp_pod_get dp_pod_del dp_ztunnel_set \
               dp_ztunnel_get dp_node_addr_add dp_node_addr_del \
               dp_settings_set dp_pod_for_each dp_node_addr_for_each \
               dp_node_addr_list_set dp_node_addr_list_get \
               dp_pod_capacity dp_counters_read dp_counters_reset \
               dp_excl_cidr_set dp_excl_port_set dp_excl_sweep \
               dp_excl_flows_forget dp_excl_cidr_match dp_excl_port_has \
               dp_explain_load bpffs_prepare
comma       := ,

$(FUZZ_OBJ)/%.o: %.c $(SKELS) $(PROTO_H) $(BPF_HDRS) \
		$(wildcard ctl/*.h ctl/lib/*.h cni-hook/*.h tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_OBJ)/$(BUILD)/proto/redirect.pb-c.o: FUZZ_CFLAGS += -Wno-missing-prototypes

$(FUZZ_DIR)/fuzz_request: $(addprefix $(FUZZ_OBJ)/,tests/fuzz/fuzz_request.o \
		tests/fuzz/fake_kernel.o tests/fuzz/fake_tc.o \
		tests/fuzz/fake_datapath.o tests/fuzz/fake_sockmap.o \
		ctl/lib/hooks.o ctl/lib/tcx.o ctl/lib/coverage.o \
		ctl/lib/explain.o ctl/lib/packet.o ctl/lib/findings.o \
		$(DAEMON_SRCS:.c=.o)) \
		$(FUZZ_CORE)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ \
		$(addprefix -Wl$(comma)--wrap=,$(FUZZ_WRAP)) \
		-lbpf -lelf -lz -lprotobuf-c

$(FUZZ_DIR)/fuzz_journal: $(FUZZ_OBJ)/tests/fuzz/fuzz_journal.o $(FUZZ_CORE)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ -lbpf -lelf -lz -lprotobuf-c

$(FUZZ_DIR)/fuzz_cni: $(addprefix $(FUZZ_OBJ)/,tests/fuzz/fuzz_cni.o \
		$(CNI_PURE:.c=.o))
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ -ljson-c

$(FUZZ_DIR)/gen_corpus: tests/fuzz/gen_corpus.c $(UNIT_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

fuzz-build: $(FUZZERS)

fuzz-corpus: $(FUZZ_DIR)/gen_corpus
	$< tests/fuzz/corpus

fuzz: $(FUZZERS)
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_KEEP=1 sh tests/e2e/test_fuzz.sh $(BUILD)

# --- install (deploy/README.md) ---------------------------------------------
#   make install [PREFIX=/usr/local] [DESTDIR=] [CNI_BIN_DIR=/opt/cni/bin]
# The unit goes under $(PREFIX)/lib/systemd/system, which systemd reads for
# /usr/local and /usr alike, and make uninstall removes exactly what this
# put there; /lib/systemd/system is the package manager's.
PREFIX      ?= /usr/local
SBINDIR     ?= $(PREFIX)/sbin
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
DATADIR     ?= $(PREFIX)/share/ambient-redirect
CNI_BIN_DIR ?=
INSTALLED   := $(SBINDIR)/redirectd $(SBINDIR)/redirect-cni \
               $(BINDIR)/redirectctl $(UNITDIR)/redirectd.service \
               $(DATADIR)/install-cni.sh $(DATADIR)/redirectd.default \
               $(DATADIR)/README.md \
               $(if $(CNI_BIN_DIR),$(CNI_BIN_DIR)/redirect-cni)

install: $(BINS) $(CNI)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 $(BUILD)/redirectd $(CNI) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(BUILD)/redirectctl $(DESTDIR)$(BINDIR)/
	sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
		-e 's|/usr/local/share/ambient-redirect/|$(DATADIR)/|g' \
		deploy/redirectd.service >$(DESTDIR)$(UNITDIR)/redirectd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/redirectd.service
	install -m 0755 deploy/install-cni.sh $(DESTDIR)$(DATADIR)/
	install -m 0644 deploy/redirectd.default deploy/README.md \
		$(DESTDIR)$(DATADIR)/
	$(if $(CNI_BIN_DIR),install -D -m 0755 $(CNI) \
		$(DESTDIR)$(CNI_BIN_DIR)/redirect-cni)

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	rmdir $(DESTDIR)$(DATADIR) 2>/dev/null || true

# The CNI plugin runs on the node, outside the image, where our libraries
# may be missing: the image installs this static build of it.
CNI_STATIC := $(BUILD)/redirect-cni.static
$(CNI_STATIC): $(CNI_SRCS) cni-hook/cni.h $(LIB) $(PROTO_H)
	$(CC) $(CFLAGS) -static -Icni-hook -o $@ $(CNI_SRCS) $(LIB) \
		$(LDLIBS_NOBPF) -ljson-c

cni-static: $(CNI_STATIC)
