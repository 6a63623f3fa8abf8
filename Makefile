# One non-recursive Makefile for libsweep, the programs, tests and benches.
#
#   make            libsweep.a and every program into bin/
#   make test       install missing deps, build, run every test
#   make asan       the same suite built with address + undefined sanitizers
#   make bench      benchmarks, printed as tables
#   make fuzz       build the libFuzzer targets (clang); FUZZ_SECONDS=N runs them
#   make demo       install deps, build, run a real sweep locally
#   make install PREFIX=/usr/local

PREFIX   ?= /usr/local
O        ?= build
BINDIR   ?= bin
CC       ?= cc
PKGS     := yaml-0.1 jansson gsl rdkafka hiredis avro-c libcrypto libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
# GSL's BLAS calls go to OpenBLAS, not GSL's reference CBLAS.
PKG_LIBS := $(filter-out -lgslcblas,$(shell pkg-config --libs $(PKGS))) \
            $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Werror
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -MMD -MP $(WARN) $(CFLAGS) $(SAN_FLAGS) \
             -Ilib $(PKG_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SAN_FLAGS)
LIBS     = $(PKG_LIBS) -lm

ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
endif

LIB_SRCS   := $(wildcard lib/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(O)/%.o)
# The Avro schemas, compiled in: no program reads schemas/ at run time.
SCHEMAS    := $(wildcard schemas/*.avsc)
LIB_OBJS   += $(O)/gen/schemas.o
LIBSWEEP   := $(O)/libsweep.a

SWEEP_SRCS := $(wildcard producer/*.c)
SWEEP_OBJS := $(SWEEP_SRCS:%.c=$(O)/%.o) $(O)/gen/assets.o
# The dashboard's files, compiled into `sweep` gzip-compressed.
UI_ASSETS  := $(shell find producer/ui -type f 2>/dev/null)
CTL_OBJS   := $(patsubst %.c,$(O)/%.o,$(wildcard controller/*.c))
WRK_OBJS   := $(patsubst %.c,$(O)/%.o,$(wildcard worker/*.c))
PROGRAMS   := $(BINDIR)/sweep $(BINDIR)/sweep-controller $(BINDIR)/sweep-worker

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(O)/bench/%)

.PHONY: all test check asan bench demo deps install clean fuzz format-check \
        unit-bins bench-bins

all: $(LIBSWEEP) $(PROGRAMS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/gen/schemas.c: scripts/embed-schemas.sh $(SCHEMAS)
	@mkdir -p $(dir $@)
	sh scripts/embed-schemas.sh $(SCHEMAS) > $@.tmp && mv $@.tmp $@

$(O)/gen/schemas.o: $(O)/gen/schemas.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O)/gen/assets.c: scripts/embed-assets.sh $(UI_ASSETS)
	@mkdir -p $(dir $@)
	sh scripts/embed-assets.sh producer/ui > $@.tmp && mv $@.tmp $@

$(O)/gen/assets.o: $(O)/gen/assets.c producer/ui_assets.h
	$(CC) $(ALL_CFLAGS) -Iproducer -c -o $@ $<

$(LIBSWEEP): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/sweep: $(SWEEP_OBJS) $(LIBSWEEP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(SWEEP_OBJS) $(LIBSWEEP) $(LIBS)

$(BINDIR)/sweep-controller: $(CTL_OBJS) $(LIBSWEEP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CTL_OBJS) $(LIBSWEEP) $(LIBS)

$(BINDIR)/sweep-worker: $(WRK_OBJS) $(LIBSWEEP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $(WRK_OBJS) $(LIBSWEEP) $(LIBS)

$(O)/tests/%: $(O)/tests/unit/%.o $(LIBSWEEP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBSWEEP) $(LIBS)

$(O)/bench/%: $(O)/tests/bench/%.o $(LIBSWEEP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBSWEEP) $(LIBS)

# Each fuzz target's checked-in corpus, replayed by the normal build (make
# test): the target linked with replay.c instead of libFuzzer.
FUZZ_TARGETS := config codec runs metrics handlers
FUZZ_REPLAYS := $(FUZZ_TARGETS:%=$(O)/tests/test_fuzz_%)

$(O)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(LIBSWEEP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/replay.c $(LIBSWEEP) $(LIBS)

unit-bins: $(UNIT_BINS) $(FUZZ_REPLAYS)
bench-bins: $(BENCH_BINS)

deps:
	@scripts/install-deps.sh

# Runs the suite on whatever this build (O, BINDIR) produced.
check: all unit-bins
	@O=$(O) BINDIR=$(BINDIR) scripts/run-tests.sh

test: deps
	@$(MAKE) --no-print-directory check

asan: deps
	@$(MAKE) --no-print-directory O=build/asan BINDIR=build/asan/bin \
	    SANITIZE=1 CFLAGS="-O1 -g" check

bench: deps
	@$(MAKE) --no-print-directory all bench-bins
	@O=$(O) BINDIR=$(BINDIR) scripts/run-bench.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

# libFuzzer needs clang; the fuzz build has its own object directory.
# FUZZ_SECONDS=N runs each target N seconds, new inputs going to
# build/fuzz/corpus-TARGET (tests/fuzz keeps the minimised, checked-in ones).
FUZZ_SECONDS ?= 0
FUZZ_FLAGS_config = -max_len=4096 -dict=tests/fuzz/yaml.dict
FUZZ_FLAGS_codec = -max_len=2048
FUZZ_FLAGS_runs = -max_len=8192
FUZZ_FLAGS_metrics = -max_len=4096
FUZZ_FLAGS_handlers = -max_len=1024 -detect_leaks=0
FUZZ_CORPUS_config = tests/fuzz/corpus
FUZZ_CORPUS_codec = tests/fuzz/codec
FUZZ_CORPUS_runs = tests/fuzz/runs
FUZZ_CORPUS_metrics = tests/fuzz/metrics
FUZZ_CORPUS_handlers = tests/fuzz/handlers
fuzz:
	@$(MAKE) --no-print-directory O=build/fuzz CC=clang \
	    SAN_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
	    CFLAGS="-O1 -g" build/fuzz/libsweep.a
	@for t in $(FUZZ_TARGETS); do \
	    echo "clang ... -o build/fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c"; \
	    clang -std=c11 -D_GNU_SOURCE -O1 -g -Ilib -Itests/fuzz $(PKG_CFLAGS) \
	        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	        -o build/fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c build/fuzz/libsweep.a \
	        $(LIBS) || exit 1; \
	done
	@if [ "$(FUZZ_SECONDS)" -gt 0 ]; then \
	    $(foreach t,$(FUZZ_TARGETS),mkdir -p build/fuzz/corpus-$(t) && \
	    build/fuzz/fuzz_$(t) -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        $(FUZZ_FLAGS_$(t)) build/fuzz/corpus-$(t) $(FUZZ_CORPUS_$(t)) && ) \
	    true; \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/include/sweep
	install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIBSWEEP) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 lib/*.h $(DESTDIR)$(PREFIX)/include/sweep/

format-check:
	clang-format --dry-run --Werror lib/*.[ch] producer/*.[ch] tests/unit/*.[ch]

clean:
	rm -rf build bin

-include $(LIB_OBJS:.o=.d) $(SWEEP_OBJS:.o=.d) $(CTL_OBJS:.o=.d) $(WRK_OBJS:.o=.d) \
         $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%.d) \
         $(BENCH_SRCS:tests/bench/%.c=$(O)/tests/bench/%.d)
