# sshterm build. `make` builds everything, `make test` installs what the tests
# need and runs them all, `make asan` runs the unit tests under ASan+UBSan.

PKGS      := libdpdk libcrypto numa
# Empty (and silent) before `make deps` installed pkg-config: the recipes re-run make.
PKG_CONFIG := $(shell command -v pkg-config 2>/dev/null)
PKG_CFLAGS := $(if $(PKG_CONFIG),$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS   := $(if $(PKG_CONFIG),$(shell pkg-config --libs $(PKGS) 2>/dev/null))

CC       ?= cc
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lpthread -lm

B        ?= build

# Every .c under the library folders is library code, except program mains (*_main.c).
LIB_SRCS := $(filter-out %_main.c,$(wildcard crypto/*.c dataplane/*.c dataplane/*/*.c control/*.c control/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB      := $(B)/libsshterm.a

BENCH    := $(B)/sshterm-bench
RECTOOL  := $(B)/st-record-tool
MLKEMTOOL := $(B)/st-mlkem-tool
CTL      := $(B)/sshtermctl
DAEMON   := $(B)/sshterm
PROGS    := $(BENCH) $(RECTOOL) $(MLKEMTOOL) $(CTL) $(DAEMON)

TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(B)/tests/%)
TEST_LIB  := $(B)/obj/tests/unit/testlib.o $(B)/obj/tests/unit/sshclient.o

.SECONDARY:
.PHONY: all tests test unit asan bench bench-crypto clean deps deps-run run stop
all: $(LIB) $(PROGS) tests

# V=1 shows full command lines.
Q := $(if $(V),,@)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The checksum loop is written for the vectorizer (dataplane/csum.c).
$(B)/obj/dataplane/csum.o: CFLAGS += -O3

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BENCH): $(B)/obj/scripts/bench/bench_main.o $(B)/obj/scripts/bench/loadgen.o \
          $(B)/obj/scripts/bench/loadgen_sock.o $(B)/obj/scripts/bench/loadgen_dpdk.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(DAEMON): $(B)/obj/dataplane/sshterm_main.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(CTL): $(B)/obj/control/sshtermctl_main.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(RECTOOL): $(B)/obj/tests/crosscheck/record_tool_main.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The ML-KEM test tool (tests/crosscheck/mlkem_tool_main.c) links its own copy of
# crypto/mlkem.c built with the valgrind declassification hook (a no-op natively).
$(B)/obj/crypto/mlkem_ct.o: crypto/mlkem.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $< (ST_MLKEM_CT_CHECK)")
	$(Q)$(CC) $(CFLAGS) -DST_MLKEM_CT_CHECK -c $< -o $@

$(MLKEMTOOL): $(B)/obj/tests/crosscheck/mlkem_tool_main.o $(B)/obj/crypto/mlkem_ct.o \
              $(B)/obj/crypto/mlkem_evp.o $(B)/obj/crypto/err.o $(B)/obj/crypto/secmem.o
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

tests: $(TEST_BINS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(TEST_LIB) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

deps:
	scripts/install-deps.sh

deps-run:
	scripts/install-deps.sh --run

# The full suite: dependencies, build, unit tests, end-to-end tests.
test: deps
	$(MAKE) all
	tests/run.sh $(B)

# Unit tests only (no dependency install), for the edit-compile loop.
unit: all
	tests/run.sh --unit-only $(B)

asan:
	$(MAKE) B=build-asan OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 tests/run.sh --unit-only build-asan

# The one-command demo: sshterm on a TAP port in the network namespace sshterm-demo.
# It installs only what building and running need (not the test toolchain).
run: deps-run
	$(MAKE) all
	scripts/demo.sh start $(B)

stop:
	scripts/demo.sh stop

bench: bench-crypto

bench-crypto: $(BENCH)
	scripts/bench-crypto.sh $(B)

clean:
	rm -rf build build-asan

# ---- install: binaries, man pages, an example configuration, the systemd unit, a fail2ban filter ----
# `make install [PREFIX=/usr/local] [DESTDIR=...]`. An existing /etc/sshterm/sshterm.conf
# or /etc/default/sshterm is never overwritten. The unit goes where systemd looks for
# local units ($(PREFIX)/lib/systemd/system; /lib/systemd/system with PREFIX=/usr).
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR    := $(PREFIX)/sbin
BINDIR     := $(PREFIX)/bin
MANDIR     := $(PREFIX)/share/man
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
MANPAGES   := docs/man/sshterm.8 docs/man/sshterm.conf.5 docs/man/sshtermctl.8

.PHONY: install
install: $(DAEMON) $(CTL) $(BENCH)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/sshterm \
		$(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d
	install -m 755 $(DAEMON) $(DESTDIR)$(SBINDIR)/sshterm
	install -m 755 $(CTL) $(DESTDIR)$(BINDIR)/sshtermctl
	install -m 755 $(BENCH) $(DESTDIR)$(BINDIR)/sshterm-bench
	install -m 644 docs/man/sshterm.8 docs/man/sshtermctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 docs/man/sshterm.conf.5 $(DESTDIR)$(MANDIR)/man5/
	sed -e 's#@SBINDIR@#$(SBINDIR)#g' -e 's#@SYSCONFDIR@#$(SYSCONFDIR)#g' \
		scripts/install/sshterm.service > $(DESTDIR)$(UNITDIR)/sshterm.service
	chmod 644 $(DESTDIR)$(UNITDIR)/sshterm.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/sshterm/sshterm.conf ] || \
		install -m 644 scripts/install/sshterm.conf $(DESTDIR)$(SYSCONFDIR)/sshterm/sshterm.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/sshterm ] || \
		install -m 644 scripts/install/default.sshterm $(DESTDIR)$(SYSCONFDIR)/default/sshterm
	install -m 644 scripts/install/fail2ban/sshterm.conf $(DESTDIR)$(SYSCONFDIR)/fail2ban/filter.d/


# ---- fuzzing (clang + libFuzzer): harnesses for every parser that sees peer input ----
# `make fuzz` builds build-fuzz/fuzz_*; `make fuzz-smoke` runs each for a bounded time.
FUZZ_B      := build-fuzz
FUZZ_CFLAGS  = -O1 -g -std=gnu11 -Wall -Wextra -Werror -I. $(shell pkg-config --cflags libcrypto 2>/dev/null) \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -MMD -MP
FUZZ_SRCS   := $(wildcard crypto/*.c) dataplane/ssh/record.c dataplane/ssh/planes.c
FUZZ_OBJS   := $(FUZZ_SRCS:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-smoke
fuzz: $(FUZZ_BINS)

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG $<")
	$(Q)clang $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	@$(if $(Q),echo "  FUZZ  $@")
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(shell pkg-config --libs libcrypto)

# The control-plane harness also needs control/ and the test client.
FUZZ_CTL_SRCS := control/config.c control/conn.c control/kex.c control/kex_common.c control/version.c control/proxyhdr.c control/conn_proxy.c \
                 control/userauth.c control/usercert.c control/revoked.c control/channels.c control/authkeys.c control/readfile.c control/match.c \
                 control/conn_akc.c control/akc_pool.c control/akc_run.c control/akc_cache.c control/akcmd.c \
                 control/conn_kex.c control/kex_pool.c \
                 dataplane/ssh/wsess.c dataplane/ssh/channel.c dataplane/ssh/service.c \
                 control/client/sshc_kex.c control/client/sshc_auth.c tests/unit/sshclient.c
$(FUZZ_B)/fuzz_ctl: $(FUZZ_CTL_SRCS:%.c=$(FUZZ_B)/obj/%.o)
# The PROXY protocol header parser (control/proxyhdr.h).
$(FUZZ_B)/fuzz_proxyhdr: $(FUZZ_B)/obj/control/proxyhdr.o
# MetricsListen's request head and top's parsers (control/http_req.h, ctl_top.h).
$(FUZZ_B)/fuzz_http: $(FUZZ_B)/obj/control/http_req.o $(FUZZ_B)/obj/control/ctl_top.o \
                     $(FUZZ_B)/obj/control/ctlsock.o
# AuthorizedKeysCommand's command line (control/akcmd.h).
$(FUZZ_B)/fuzz_akcmd: $(FUZZ_B)/obj/control/akcmd.o
# The client engine's harness: the same, plus the engine itself.
$(FUZZ_B)/fuzz_sshc: $(FUZZ_CTL_SRCS:%.c=$(FUZZ_B)/obj/%.o) $(FUZZ_B)/obj/control/client/sshc.o \
                     $(FUZZ_B)/obj/control/client/hostkey_check.o

# The dataplane input harness: the worker, ARP, IPv4/ICMP and TCP against DPDK (EAL with
# --no-huge and a looped-back net_ring port), so these objects also get DPDK's flags.
FUZZ_DP_SRCS := $(filter-out %_main.c dataplane/port.c,$(wildcard dataplane/*.c)) \
                $(wildcard dataplane/tcp/*.c) crypto/err.c
FUZZ_DP_OBJS := $(FUZZ_DP_SRCS:%.c=$(FUZZ_B)/obj-dp/%.o)
FUZZ_DP_CFLAGS = $(FUZZ_CFLAGS) $(shell pkg-config --cflags libdpdk 2>/dev/null)
$(FUZZ_B)/obj-dp/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CLANG $< (dpdk)")
	$(Q)clang $(FUZZ_DP_CFLAGS) -c $< -o $@
$(FUZZ_B)/fuzz_dpinput: tests/fuzz/fuzz_dpinput.c $(FUZZ_B)/obj-dp/tests/fuzz/checked_pool.o $(FUZZ_DP_OBJS)
	@$(if $(Q),echo "  FUZZ  $@")
	$(Q)clang $(FUZZ_DP_CFLAGS) -fsanitize=fuzzer -o $@ $(filter %.c %.o,$^) $(shell pkg-config --libs libdpdk libcrypto numa) -lm

fuzz-smoke: fuzz
	tests/fuzz/smoke.sh $(FUZZ_B) 15

# ---- worker session, channels, services: test harness (tests/harness/) ----
# sshterm-harness is a TEST-ONLY program (control + worker session in one
# process on kernel sockets, 127.0.0.1); it is not the product daemon.
HARNESS := $(B)/sshterm-harness
HARNESS_OBJS := $(B)/obj/tests/harness/harness_main.o $(B)/obj/tests/harness/sockconn.o
PROGS += $(HARNESS)
all: $(HARNESS)

$(HARNESS): $(HARNESS_OBJS) $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
# ---- test TCP service program and TCP benchmark ----
TCPSVC := $(B)/sshterm-tcpsvc
all: $(TCPSVC)
$(TCPSVC): $(B)/obj/tests/e2e/tcpsvc_main.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
.PHONY: bench-tcp
bench-tcp: $(TCPSVC)
	scripts/bench-tcp.sh $(B)


# ---- cryptodev benchmark (sshterm-bench-cryptodev) ----
# Not a test: `make bench-cryptodev` prints the table for docs/PERFORMANCE.md.
BENCH_CD := $(B)/sshterm-bench-cryptodev
all: $(BENCH_CD)

$(BENCH_CD): $(B)/obj/scripts/bench/cryptodev_bench_main.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-cryptodev
bench-cryptodev: $(BENCH_CD)
	scripts/bench-cryptodev.sh $(B)

# ---- libssh test client (tests/e2e/libssh_client.c, used by tests/e2e/ssh_libssh.sh) ----
# Built only where libssh is installed (scripts/install-deps.sh installs libssh-dev), so the
# rest of the build does not need it; without it ssh_libssh.sh fails, naming what is missing.
LIBSSH_CLIENT := $(B)/libssh-client
ifeq ($(shell pkg-config --exists libssh 2>/dev/null && echo yes),yes)
all: $(LIBSSH_CLIENT)
PROGS += $(LIBSSH_CLIENT)
endif

$(LIBSSH_CLIENT): $(B)/obj/tests/e2e/libssh_client.o
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(shell pkg-config --libs libssh)

# Header dependencies of every build (after all variables are defined).
-include $(shell find $(B) $(FUZZ_B) -name '*.d' 2>/dev/null)
