# cancel: a SQLite extension to see and stop sessions and jobs.
#
#   make          build the loadable extension (cancel.so / .dylib / .dll)
#   make demo     a long query in one connection, listed and cancelled
#                 (installs only gcc, make, libsqlite3-dev, tcl, libsqlite3-tcl, tcl-thread)
#   make test     install what is missing, build, run every test (CI runs this)
#   make check    the fast loop: build, one Tcl pass and the Python tests on
#                 the installed SQLite
#   make valgrind the Tcl suite under valgrind memcheck, every file
#   make coverage the whole suite on a gcov build: line and branch
#                 coverage per ext/ file (tool/coverage.sh)
#   make bench    cancel latency, cost, scale, jobs, timeouts, side by side with
#                 plain SQLite and PostgreSQL (tool/bench.sh; bench/*.csv, .svg)
#   make bench-deps  also install PostgreSQL for the benchmark's reference column
#   make install  PREFIX=/usr/local: the library and ext/cancel.h; make uninstall
#   make dll      cancel.dll for Windows (mingw-w64 cross-build)
#   make test-windows  cancel.dll loaded and tested under Wine (installs wine64)
#   make test-go  the extension in a Go database/sql pool (installs golang-go)
#   make test-node  the extension in Node.js with better-sqlite3 (npm install)
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
SRC      := $(sort $(wildcard ext/*.c))
HDR      := $(wildcard ext/*.h)
LDLIBS   := -lpthread -ldl
NPROC    := $(shell nproc 2>/dev/null || echo 2)

# Everything generated lands in build/: each ext/ source is compiled once
# per flavour into build/obj/<flavour>/, and every program is linked from
# those objects into build/test/ or build/tool/.
#   plain   $(CFLAGS)                         cancel.so, stress, xstress, soak
#   asan    ASan+UBSan                        build/asan/cancel.so, capi, faults, ...
#   tsan    TSan                              build/tsan/cancel.so, stress-tsan, ...
#   static  -DSQLITE_CORE (SQLite linked in)  static
# The plain and static flavours are release builds (-DNDEBUG): the
# assert()s that check lock-holding rules run in the sanitizer builds.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
TSAN_FLAGS := -O1 -g -fsanitize=thread
OBJ_plain  := $(SRC:ext/%.c=build/obj/plain/%.o)
OBJ_asan   := $(SRC:ext/%.c=build/obj/asan/%.o)
OBJ_tsan   := $(SRC:ext/%.c=build/obj/tsan/%.o)
OBJ_static := $(SRC:ext/%.c=build/obj/static/%.o)

build/obj/plain/%.o: ext/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -DNDEBUG -fPIC -c -o $@ $<
build/obj/asan/%.o: ext/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(ASAN_FLAGS) $(WARN) -fPIC -c -o $@ $<
build/obj/tsan/%.o: ext/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(TSAN_FLAGS) $(WARN) -fPIC -c -o $@ $<
build/obj/static/%.o: ext/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -DNDEBUG -DSQLITE_CORE -c -o $@ $<

all: $(LIB)

$(LIB): $(OBJ_plain)
	$(CC) $(CFLAGS) -shared -o $@ $(OBJ_plain) $(LDLIBS)

# The extension under ASan+UBSan and under TSan, for the Tcl suite
# (test/all.tcl preloads the runtime into tclsh).
build/asan/cancel.so: $(OBJ_asan)
	@mkdir -p $(@D)
	$(CC) $(ASAN_FLAGS) -shared -o $@ $(OBJ_asan) $(LDLIBS)
build/tsan/cancel.so: $(OBJ_tsan)
	@mkdir -p $(@D)
	$(CC) $(TSAN_FLAGS) -shared -o $@ $(OBJ_tsan) $(LDLIBS)

# The C test programs (test/*.c), the extension compiled in. A "-asan" or
# "-tsan" suffix names the build; capi, hostapi and the fault programs
# (oom: out of memory, ioerr: I/O errors, killtest: SIGKILLed writers)
# are ASan+UBSan builds too.
T := build/test
PLAIN_PROGS := $(T)/stress $(T)/xstress $(T)/soak
ASAN_PROGS  := $(T)/stress-asan $(T)/xstress-asan $(T)/jobstress-asan $(T)/soak-asan \
               $(T)/capi $(T)/hostapi $(T)/oom $(T)/ioerr $(T)/killtest
TSAN_PROGS  := $(T)/stress-tsan $(T)/jobstress-tsan $(T)/xstress-tsan $(T)/soak-tsan
PROGS       := $(PLAIN_PROGS) $(ASAN_PROGS) $(TSAN_PROGS) $(T)/static
TESTHDR     := $(HDR) test/jobcheck.h

.SECONDEXPANSION:
$(PLAIN_PROGS): $(T)/%: test/%.c $(OBJ_plain) $(TESTHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -Iext -o $@ $< $(OBJ_plain) -lsqlite3 $(LDLIBS)
$(ASAN_PROGS): $(T)/%: test/$$(subst -asan,,$$*).c $(OBJ_asan) $(TESTHDR)
	@mkdir -p $(@D)
	$(CC) $(ASAN_FLAGS) $(WARN) -Iext -o $@ $< $(OBJ_asan) -lsqlite3 $(LDLIBS)
$(TSAN_PROGS): $(T)/%: test/$$(subst -tsan,,$$*).c $(OBJ_tsan) $(TESTHDR)
	@mkdir -p $(@D)
	$(CC) $(TSAN_FLAGS) $(WARN) -Iext -o $@ $< $(OBJ_tsan) -lsqlite3 $(LDLIBS)
# The extension compiled into an application with a static SQLite.
SQLITE_A ?= $(firstword $(wildcard /usr/lib/*/libsqlite3.a /usr/lib/libsqlite3.a))
$(T)/static: test/static.c $(OBJ_static) $(TESTHDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -DSQLITE_CORE -Iext -o $@ $< $(OBJ_static) $(SQLITE_A) -lm $(LDLIBS)

# libFuzzer targets (clang): the SQL functions' arguments, CSV import, the
# cross-process registry file. test/fuzz/run.sh builds them (build/fuzz)
# and runs each for FUZZ_SECONDS; `make test` runs each for a bounded time.
FUZZ_SECONDS ?= 300
fuzz: deps
	sh test/fuzz/run.sh $(FUZZ_SECONDS)

SOAK_SECONDS ?= 600
soak: deps $(T)/soak
	mkdir -p build/tmp
	$(T)/soak $(SOAK_SECONDS) 4 16

# Windows: cross-built with mingw-w64 (winpthreads linked in), exports as
# listed in cancel.def.
MINGW_CC ?= x86_64-w64-mingw32-gcc-posix
build/win/cancel.dll: $(SRC) $(HDR) cancel.def
	mkdir -p build/win/include
	cp /usr/include/sqlite3.h /usr/include/sqlite3ext.h build/win/include/
	$(MINGW_CC) -O2 $(WARN) -shared -static -Ibuild/win/include -o $@ $(SRC) cancel.def -lpthread

dll: build/win/cancel.dll

# Windows, run under Wine (test/windows.sh): a sqlite3.dll from the newest
# release's amalgamation (tool/sqlite-source.sh puts it in SQLITE_SRC),
# and test/wintest.c, which loads cancel.dll into it.
SQLITE_SRC ?= build/sqlite-src
build/win/sqlite3.dll: $(SQLITE_SRC)/sqlite3.c
	mkdir -p build/win
	$(MINGW_CC) -O2 -shared -static "-DSQLITE_API=__declspec(dllexport)" \
	  -o $@ $< -Wl,--out-implib,build/win/libsqlite3.dll.a
build/win/wintest.exe: test/wintest.c build/win/sqlite3.dll
	$(MINGW_CC) -O2 $(WARN) -I$(SQLITE_SRC) -static -o $@ $< build/win/libsqlite3.dll.a

test-windows:
	@sh test/windows.sh build
	@sh test/windows.sh run

# Go: a database/sql pool with Debian's go-sqlite3 (test/gotest.sh builds
# test/gopool/main.go offline into build/test/gopool).
test-go: $(LIB)
	@sh test/gotest.sh build
	@sh test/gotest.sh run

# Node.js: better-sqlite3 12.11.1 from the npm registry (test/nodetest.sh
# installs it into build/node), test/node/cancel.js.
test-node: $(LIB)
	@sh test/nodetest.sh build
	@sh test/nodetest.sh run

# ---- make coverage ------------------------------------------------------
# The whole suite (Tcl, Python, the C programs, short runs) against a gcov
# build of ext/, then a table of line and branch coverage per ext/ file
# (tool/coverage.sh; doc/testing.md, "Coverage").
#   cov         --coverage -O0         build/cov/cancel.so and build/cov/<program>
#   covstatic   the same, -DSQLITE_CORE build/cov/static
# Counters go to build/obj/<flavour>/*.gcda when a process exits normally;
# -fprofile-update=atomic keeps threads from losing counts.
COV_FLAGS     := -O0 -g --coverage -fprofile-update=atomic
OBJ_cov       := $(SRC:ext/%.c=build/obj/cov/%.o)
OBJ_covstatic := $(SRC:ext/%.c=build/obj/covstatic/%.o)
COV_PROGS     := build/cov/capi build/cov/hostapi build/cov/stress build/cov/jobstress \
                 build/cov/xstress build/cov/oom build/cov/ioerr build/cov/killtest \
                 build/cov/soak

build/obj/cov/%.o: ext/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) $(WARN) -fPIC -c -o $@ $<
build/obj/covstatic/%.o: ext/%.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) $(WARN) -DSQLITE_CORE -c -o $@ $<
build/cov/cancel.so: $(OBJ_cov)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) -shared -o $@ $(OBJ_cov) $(LDLIBS)
$(COV_PROGS): build/cov/%: test/%.c $(OBJ_cov) $(TESTHDR)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) $(WARN) -Iext -o $@ $< $(OBJ_cov) -lsqlite3 $(LDLIBS)
build/cov/static: test/static.c $(OBJ_covstatic) $(TESTHDR)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) $(WARN) -DSQLITE_CORE -Iext -o $@ $< $(OBJ_covstatic) $(SQLITE_A) -lm $(LDLIBS)

# The libFuzzer targets' seed corpora, replayed (test/fuzz/replay.c):
# fuzz_registry includes ext/shared.c itself and fuzz_csv lowers the CSV
# record limit, so those two compile into their own objects (covfuzz).
build/obj/covfuzz/fuzz_registry.o: test/fuzz/fuzz_registry.c test/fuzz/fuzzutil.h $(HDR)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) -Iext -Itest/fuzz -c -o $@ $<
build/obj/covfuzz/csv.o: ext/csv.c $(HDR)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) $(WARN) -DCSV_MAX_RECORD=1000 -c -o $@ $<
build/cov/fuzz_registry: build/obj/covfuzz/fuzz_registry.o test/fuzz/replay.c $(OBJ_cov)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) -o $@ test/fuzz/replay.c $< $(filter-out build/obj/cov/shared.o,$(OBJ_cov)) -lsqlite3 $(LDLIBS)
build/cov/fuzz_csv: test/fuzz/fuzz_csv.c test/fuzz/replay.c build/obj/covfuzz/csv.o $(OBJ_cov)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) -Iext -Itest/fuzz -o $@ test/fuzz/replay.c $< build/obj/covfuzz/csv.o $(filter-out build/obj/cov/csv.o,$(OBJ_cov)) -lsqlite3 $(LDLIBS)
build/cov/fuzz_functions: test/fuzz/fuzz_functions.c test/fuzz/replay.c $(OBJ_cov)
	@mkdir -p $(@D)
	$(CC) $(COV_FLAGS) -Iext -Itest/fuzz -o $@ test/fuzz/replay.c $< $(OBJ_cov) -lsqlite3 $(LDLIBS)

coverage-build: $(LIB) $(if $(shell command -v $(MINGW_CC)),build/win/cancel.dll) build/cov/cancel.so $(COV_PROGS) $(if $(SQLITE_A),build/cov/static) \
                build/cov/fuzz_registry build/cov/fuzz_csv build/cov/fuzz_functions

coverage:
	$(MAKE) -j$(NPROC) coverage-build
	sh tool/coverage.sh
# ---- end of make coverage -----------------------------------------------

# Loading into real SQLite builds with SQLITE_OMIT_* options, from the
# newest release's source when it can be fetched (test/omithost.sh,
# tool/sqlite-source.sh).
omithosts: $(LIB)
	@sh test/omithost.sh build

# Benchmark drivers (tool/bench.sh): the extension compiled in.
BENCH := build/tool/bench_latency build/tool/bench_cost build/tool/bench_scale \
         build/tool/bench_jobs build/tool/bench_timeouts
$(BENCH): build/tool/%: tool/%.c tool/benchutil.h $(OBJ_plain)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) -Iext -o $@ $< $(OBJ_plain) -lsqlite3 $(LDLIBS)

# PostgreSQL's side of the latency table: needs libpq (make bench-deps).
build/tool/bench_pg: tool/bench_pg.c tool/benchutil.h
	@mkdir -p $(@D)
	$(CC) -O2 -g $(WARN) -I$$(pg_config --includedir) -o $@ tool/bench_pg.c -lpq -lpthread

bench: deps
	@sh tool/deps.sh bench
	$(MAKE) -j$(NPROC) $(BENCH)
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

# make test: the full run (installs what is missing, the newest SQLite,
# every build, test/all.tcl). make check: the edit-test loop (the plain
# build and one Tcl pass against the installed SQLite; no installs, no
# downloads). make valgrind: the Tcl suite under valgrind memcheck, every
# file (make test runs the files that take valgrind under a minute).
TEST_BUILD := $(LIB) build/asan/cancel.so build/tsan/cancel.so build/win/cancel.dll $(PROGS) omithosts

test: deps newest
	$(MAKE) -j$(NPROC) test-build
	sh test/windows.sh build
	sh test/gotest.sh build
	sh test/nodetest.sh build
	tclsh test/all.tcl

test-build: $(TEST_BUILD)

# (cancel.dll too when mingw-w64 is installed: windows.test inspects it)
check: $(LIB) $(if $(shell command -v $(MINGW_CC) 2>/dev/null),build/win/cancel.dll)
	tclsh test/all.tcl --check

valgrind: deps $(LIB)
	tclsh test/all.tcl --valgrind

clean:
	rm -f cancel.so cancel.dylib cancel.dll
	rm -rf build/tmp bench/tmp-* build

.PHONY: all bench bench-deps check coverage coverage-build deps demo demo-deps dll fuzz newest omithosts soak test test-build test-go test-node test-windows valgrind clean install uninstall
