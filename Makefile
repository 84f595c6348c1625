# sshterm build. `make` builds everything, `make test` installs what the tests
# need and runs them all, `make asan` runs the unit tests under ASan+UBSan.

PKGS      := libdpdk libcrypto numa
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC       ?= cc
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -I. $(PKG_CFLAGS) -MMD -MP
LDLIBS   += $(PKG_LIBS) -lpthread -lm

B        ?= build

# Every .c under the library folders is library code, except program mains (*_main.c).
LIB_SRCS := $(filter-out %_main.c,$(wildcard crypto/*.c dataplane/*.c dataplane/*/*.c control/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIB      := $(B)/libsshterm.a

BENCH    := $(B)/sshterm-bench
PROGS    := $(BENCH)

TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(B)/tests/%)
TEST_LIB  := $(B)/obj/tests/unit/testlib.o

.SECONDARY:
.PHONY: all tests test unit asan bench bench-crypto clean deps
all: $(LIB) $(PROGS) tests

# V=1 shows full command lines.
Q := $(if $(V),,@)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC    $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BENCH): $(B)/obj/scripts/bench/bench_main.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

tests: $(TEST_BINS)

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(TEST_LIB) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

deps:
	scripts/install-deps.sh

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

bench: bench-crypto

bench-crypto: $(BENCH)
	scripts/bench-crypto.sh $(B)

clean:
	rm -rf build build-asan

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# ---- issue 6: cryptodev benchmark (sshterm-bench-cryptodev) ----
# Not a test: `make bench-cryptodev` prints the table for docs/PERFORMANCE.md.
BENCH_CD := $(B)/sshterm-bench-cryptodev
all: $(BENCH_CD)

$(BENCH_CD): $(B)/obj/scripts/bench/cryptodev_bench_main.o $(LIB)
	@$(if $(Q),echo "  LINK  $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: bench-cryptodev
bench-cryptodev: $(BENCH_CD)
	scripts/bench-cryptodev.sh $(B)
# ---- end issue 6 ----
