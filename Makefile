# cancel: a SQLite extension to see and stop sessions and jobs.
#
#   make          build the loadable extension (cancel.so / .dylib / .dll)
#   make demo     a long query in one connection, listed and cancelled
#                 (installs only gcc, make, libsqlite3-dev, tcl, libsqlite3-tcl, tcl-thread)
#   make test     install what is missing, build, run every test
#   make bench    cancel latency, cost, scale, jobs, timeouts, side by side with
#                 plain SQLite and PostgreSQL (tool/bench.sh; bench/*.csv, .svg)
#   make bench-deps  also install PostgreSQL for the benchmark's reference column
#   make install  PREFIX=/usr/local: the library and ext/cancel.h; make uninstall
#   make dll      cancel.dll for Windows (mingw-w64 cross-build)
#   make clean

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror=implicit-function-declaration
UNAME_S := $(shell uname -s 2>/dev/null)

ifeq ($(OS),Windows_NT)
  EXT := dll
else ifeq ($(UNAME_S),Darwin)
  EXT := dylib
else
  EXT := so
endif

LIB      := cancel.$(EXT)
SRC      := ext/cancel.c ext/registry.c ext/regindex.c ext/hooks.c ext/functions.c ext/sessions.c ext/cancellog.c ext/jobs.c ext/jobkinds.c ext/csv.c ext/jobtable.c ext/jobfunctions.c ext/vtab.c ext/port.c ext/sqltext.c ext/shared.c ext/associated.c
HDR      := $(wildcard ext/*.h)
LDLIBS   := -lpthread -ldl

all: $(LIB)

$(LIB): $(SRC) $(HDR)
	$(CC) $(CFLAGS) $(WARN) -fPIC -shared -o $@ $(SRC) $(LDLIBS)

# Sanitizer builds of the stress program: the extension is compiled into
# the binary with the same instrumentation as the program.
STRESS_SRC := test/stress.c $(SRC)
test/stress-asan: $(STRESS_SRC) $(HDR)
	$(CC) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -Iext -o $@ $(STRESS_SRC) -lsqlite3 $(LDLIBS)
test/stress-tsan: $(STRESS_SRC) $(HDR)
	$(CC) -O1 -g $(WARN) -fsanitize=thread -Iext -o $@ $(STRESS_SRC) -lsqlite3 $(LDLIBS)
test/stress: $(STRESS_SRC) $(HDR)
	$(CC) -O2 -g $(WARN) -Iext -o $@ $(STRESS_SRC) -lsqlite3 $(LDLIBS)

test/xstress: test/xstress.c $(SRC) $(HDR)
	$(CC) -O2 -g $(WARN) -Iext -o $@ test/xstress.c $(SRC) -lsqlite3 $(LDLIBS)
test/xstress-asan: test/xstress.c $(SRC) $(HDR)
	$(CC) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -Iext -o $@ test/xstress.c $(SRC) -lsqlite3 $(LDLIBS)

test/jobstress-asan: test/jobstress.c $(SRC) $(HDR)
	$(CC) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -Iext -o $@ test/jobstress.c $(SRC) -lsqlite3 $(LDLIBS)
test/jobstress-tsan: test/jobstress.c $(SRC) $(HDR)
	$(CC) -O1 -g $(WARN) -fsanitize=thread -Iext -o $@ test/jobstress.c $(SRC) -lsqlite3 $(LDLIBS)

# The extension under ASan+UBSan and under TSan, for the Tcl suite
# (test/all.tcl preloads the runtime into tclsh).
build/asan/cancel.so: $(SRC) $(HDR)
	mkdir -p build/asan
	$(CC) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -fno-omit-frame-pointer -fPIC -shared -o $@ $(SRC) $(LDLIBS)
build/tsan/cancel.so: $(SRC) $(HDR)
	mkdir -p build/tsan
	$(CC) -O1 -g $(WARN) -fsanitize=thread -fPIC -shared -o $@ $(SRC) $(LDLIBS)

# Fault injection (test/oom.c, ioerr.c, killtest.c) and the soak (soak.c),
# the extension compiled in.
ASAN := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FAULT := test/oom test/ioerr test/killtest
$(FAULT): test/%: test/%.c test/jobcheck.h $(SRC) $(HDR)
	$(CC) $(ASAN) $(WARN) -Iext -o $@ $< $(SRC) -lsqlite3 $(LDLIBS)
test/soak-asan: test/soak.c $(SRC) $(HDR)
	$(CC) $(ASAN) $(WARN) -Iext -o $@ test/soak.c $(SRC) -lsqlite3 $(LDLIBS)
test/soak: test/soak.c $(SRC) $(HDR)
	$(CC) -O2 -g $(WARN) -Iext -o $@ test/soak.c $(SRC) -lsqlite3 $(LDLIBS)

# libFuzzer targets (clang): the SQL functions' arguments, CSV import, the
# cross-process registry file. test/fuzz/run.sh builds them (build/fuzz)
# and runs each for FUZZ_SECONDS; `make test` runs each for a bounded time.
FUZZ_SECONDS ?= 300
fuzz: deps
	sh test/fuzz/run.sh $(FUZZ_SECONDS)

SOAK_SECONDS ?= 600
soak: deps test/soak
	mkdir -p test/tmp
	test/soak $(SOAK_SECONDS) 4 16

# Windows: cross-built with mingw-w64 (winpthreads linked in), exports as
# listed in cancel.def. Built and checked by `make test`; not run.
MINGW_CC ?= x86_64-w64-mingw32-gcc-posix
build/win/cancel.dll: $(SRC) $(HDR) cancel.def
	mkdir -p build/win/include
	cp /usr/include/sqlite3.h /usr/include/sqlite3ext.h build/win/include/
	$(MINGW_CC) -O2 $(WARN) -shared -static -Ibuild/win/include -o $@ $(SRC) cancel.def -lpthread

dll: build/win/cancel.dll

# The extension compiled into an application with a static SQLite.
SQLITE_A ?= $(firstword $(wildcard /usr/lib/*/libsqlite3.a /usr/lib/libsqlite3.a))
test/static: test/static.c $(SRC) $(HDR)
	$(CC) -O2 -g $(WARN) -DSQLITE_CORE -Iext -o $@ test/static.c $(SRC) $(SQLITE_A) -lm $(LDLIBS)

test/capi: test/capi.c $(SRC) $(HDR)
	$(CC) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -Iext -o $@ test/capi.c $(SRC) -lsqlite3 $(LDLIBS)

# Loading into a SQLite that lacks routine-table entries the extension
# calls (test/hostapi.c: the extension compiled in, fed tables with
# entries taken away; test/omithost.sh: real SQLite builds with
# SQLITE_OMIT_* options, from the newest release's source when it can be
# fetched, tool/sqlite-source.sh).
test/hostapi: test/hostapi.c $(SRC) $(HDR)
	$(CC) -O1 -g $(WARN) -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	  -Iext -o $@ test/hostapi.c $(SRC) -lsqlite3 $(LDLIBS)
omithosts: $(LIB)
	@sh test/omithost.sh build

# Benchmark drivers (tool/bench.sh): the extension compiled in.
BENCH := tool/bench_latency tool/bench_cost tool/bench_scale tool/bench_jobs tool/bench_timeouts
$(BENCH): tool/%: tool/%.c tool/benchutil.h $(SRC) $(HDR)
	$(CC) -O2 -g $(WARN) -Iext -o $@ $< $(SRC) -lsqlite3 $(LDLIBS)

# PostgreSQL's side of the latency table: needs libpq (make bench-deps).
tool/bench_pg: tool/bench_pg.c tool/benchutil.h
	$(CC) -O2 -g $(WARN) -I$$(pg_config --includedir) -o $@ tool/bench_pg.c -lpq -lpthread

bench: deps $(BENCH)
	@sh tool/deps.sh bench
	sh tool/bench.sh

bench-deps: deps
	@sh tool/deps.sh bench postgres

# make install PREFIX=/usr/local (DESTDIR works too); make uninstall
PREFIX  ?= /usr/local
LIBDIR  := $(DESTDIR)$(PREFIX)/lib
INCDIR  := $(DESTDIR)$(PREFIX)/include
BINDIR  := $(DESTDIR)$(PREFIX)/bin

install: $(LIB)
	install -d $(LIBDIR) $(INCDIR)
	install -m 0755 $(LIB) $(LIBDIR)/$(LIB)
	install -m 0644 ext/cancel.h $(INCDIR)/cancel.h
	install -d $(BINDIR)
	install -m 0755 tool/cancel-monitor $(BINDIR)/cancel-monitor

uninstall:
	rm -f $(LIBDIR)/$(LIB) $(INCDIR)/cancel.h $(BINDIR)/cancel-monitor

# SQLite's Tcl binding built from the newest release (npm registry)
newest: deps
	@sh tool/newest-sqlite.sh

deps:
	@sh tool/deps.sh

# The demo installs only what it needs (tool/deps.sh demo), first.
demo: demo-deps $(LIB)
	@tclsh tool/demo.tcl
demo-deps:
	@sh tool/deps.sh demo

test: deps newest $(LIB) build/win/cancel.dll test/capi test/static test/stress test/stress-asan test/stress-tsan \
      test/jobstress-asan test/jobstress-tsan test/xstress test/xstress-asan build/asan/cancel.so build/tsan/cancel.so \
      $(FAULT) test/soak test/soak-asan test/hostapi omithosts
	tclsh test/all.tcl

clean:
	rm -f cancel.so cancel.dylib cancel.dll test/capi test/static test/stress test/stress-asan test/stress-tsan \
	  test/jobstress-asan test/jobstress-tsan test/xstress test/xstress-asan $(FAULT) test/soak test/soak-asan \
	  test/hostapi
	rm -rf test/tmp $(BENCH) tool/bench_pg bench/tmp-* build

.PHONY: all bench bench-deps deps demo demo-deps dll fuzz newest omithosts soak test clean install uninstall
