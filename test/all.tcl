# all.tcl: run every test/*.test in its own tclsh, then the C programs
# (build/test/: the C API, stress, faults, fuzzing, soak). Prints each
# file's result and a summary ending in "N passed, N failed"; exits 1 on
# any failure. STRESS_SECONDS sets the length of each stress run (default 10).
#
#   tclsh test/all.tcl             the full run (make test)
#   tclsh test/all.tcl --check     one Tcl pass on the installed SQLite and
#                                  the Python tests (make check)
#   tclsh test/all.tcl --valgrind  every .test file under valgrind (make valgrind)
#
# Each file or program has a time limit (TEST_LIMIT seconds, default 600;
# ten times that under valgrind): one that hangs fails with "timed out"
# instead of holding up the run.
set testdir [file normalize [file dirname [info script]]]
set topdir [file dirname $testdir]
set bindir [file join $topdir build test]
cd $topdir
set mode full
foreach a $argv {
  switch -- $a {
    --check { set mode check }
    --valgrind { set mode valgrind }
    default { puts stderr "usage: tclsh test/all.tcl ?--check|--valgrind?"; exit 2 }
  }
}
set limit [expr {[info exists ::env(TEST_LIMIT)] ? $::env(TEST_LIMIT) : 600}]
set timeoutCmd [expr {[catch {exec which timeout}] ? {} : [list timeout -k 10]}]
set stressSeconds [expr {[info exists ::env(STRESS_SECONDS)] ? $::env(STRESS_SECONDS) : 10}]
set nPass 0
set nFail 0
set failed {}

proc run_one {label cmd parse {limit {}}} {
  global nPass nFail failed timeoutCmd
  if {$limit eq ""} { set limit $::limit }
  if {[llength $timeoutCmd]} { set cmd [list {*}$timeoutCmd $limit {*}$cmd] }
  set t0 [clock milliseconds]
  set rc [catch {exec {*}$cmd 2>@1} out opts]
  set ms [expr {[clock milliseconds] - $t0}]
  set last [lindex [split [string trimright $out] \n] end]
  if {$rc && [lindex [dict get $opts -errorcode] 0] eq "CHILDSTATUS"
      && [lindex [dict get $opts -errorcode] 2] in {124 137}} {
    set last "timed out after $limit s"
    set parse 0
  }
  if {$parse && [regexp {^(\d+) passed, (\d+) failed$} $last -> p f]} {
    incr nPass $p
    incr nFail $f
    if {$f || $rc} { lappend failed $label }
    if {$rc && !$f} { incr nFail; lappend failed "$label (exit status)" }
  } elseif {!$parse && $rc == 0 && ![regexp {Sanitizer|runtime error} $out]} {
    incr nPass
  } else {
    incr nFail
    lappend failed $label
  }
  puts [format "%-28s %6.1fs  %s" $label [expr {$ms/1000.0}] $last]
  if {$label in $failed || "$label (exit status)" in $failed} {
    foreach line [split $out \n] {
      if {[string match "!*" $line] || [regexp {FAIL|ERROR|WARNING|runtime error|SUMMARY} $line]} { puts "    $line" }
    }
  }
}

proc summary {} {
  global failed nPass nFail
  puts ""
  if {[llength $failed]} { puts "FAILED: [join $failed {, }]" }
  puts "$nPass passed, $nFail failed"
  exit [expr {$nFail ? 1 : 0}]
}

if {$mode ne "valgrind"} {
  foreach f [lsort [glob -directory $testdir *.test]] {
    run_one [file tail $f] [list [info nameofexecutable] $f] 1
  }
  run_one python_test.py [list /usr/bin/python3 [file join $testdir python_test.py]] 1
  run_one python_incident.py [list /usr/bin/python3 [file join $testdir python_incident.py]] 1
}
if {$mode eq "check"} summary

# The Tcl suite again against the newest SQLite release, when
# tool/newest-sqlite.sh could build it.
set newest [file join $topdir build newest-sqlite]
if {$mode eq "valgrind"} {
} elseif {[file exists [file join $newest libtclsqlite.so]]} {
  set fd [open [file join $newest VERSION]]; set v [string trim [read $fd]]; close $fd
  set env(CANCEL_TCLSQLITE) [file join $newest libtclsqlite.so]
  set env(CANCEL_EXT) [file join $newest cancel]
  foreach f [lsort [glob -directory $testdir *.test]] {
    run_one "\[$v\] [file tail $f]" [list [info nameofexecutable] $f] 1
  }
  unset env(CANCEL_TCLSQLITE) env(CANCEL_EXT)
} else {
  puts "(the newest SQLite was not built: tool/newest-sqlite.sh said why)"
}

# The Tcl suite with the extension built under ASan+UBSan, under TSan
# (build/asan, build/tsan: the runtime is preloaded into tclsh and every
# program the tests start) and under valgrind memcheck. A sanitizer
# report or a valgrind error in any process, peers included, fails the
# file: the runtimes write their reports to files under build/tmp/san.
# The ASan runtime reaches every program a test starts (bash, tr, tmux,
# python), so its leak check is off here: leaks in tclsh, its peers and
# the sqlite3 shell are valgrind's part, and LeakSanitizer checks the C
# programs. windows.test and layers.test do not load the extension.
proc run_checked {tag envs cmdPrefix {skip {}} {limit {}}} {
  global testdir topdir env
  set logdir [file join $topdir build tmp san]
  foreach f [lsort [glob -directory $testdir *.test]] {
    if {[file tail $f] in [list windows.test layers.test {*}$skip]} continue
    file delete -force $logdir
    file mkdir $logdir
    file attributes $logdir -permissions 01777   ;# (xproc.test runs a peer as nobody)
    set saved {}
    foreach {k v} [string map [list @LOG@ $logdir/log] $envs] {
      if {[info exists env($k)]} { lappend saved $k $env($k) } else { lappend saved $k {} }
      set env($k) $v
    }
    run_one "\[$tag\] [file tail $f]" [list {*}[string map [list @LOG@ $logdir/log] $cmdPrefix] [info nameofexecutable] $f] 1 $limit
    foreach {k v} $saved { if {$v eq ""} { unset env($k) } else { set env($k) $v } }
    report_logs "\[$tag\] [file tail $f]" $logdir
  }
}
# Fails the label if a runtime left a report. valgrind logs every
# process: only those with errors count (definite leaks and invalid
# accesses are errors, see VALGRIND below).
proc report_logs {label logdir} {
  global nFail failed
  set bad {}
  foreach log [glob -nocomplain -directory $logdir *] {
    set fd [open $log]; set text [read $fd]; close $fd
    # valgrind's own notes ("--PID-- ...", such as "unhandled syscall"
    # for pidfd_open, which the extension then does without) are not
    # reports; only "==PID==" lines are
    regsub -all -line {^--[0-9]+--.*$} $text {} text
    if {[regexp {ERROR SUMMARY: 0 errors} $text]} continue
    if {[string trim $text] eq ""} continue
    lappend bad $log
    foreach line [lrange [split $text \n] 0 40] { puts "    $line" }
  }
  if {[llength $bad]} {
    incr nFail
    lappend failed "$label (report in [llength $bad] process(es))"
    file mkdir [file join $::topdir build tmp san-failed]
    foreach log $bad { file copy -force $log [file join $::topdir build tmp san-failed] }
  }
}
set san [file join $topdir build]
# valgrind: tclsh, its peers and the sqlite3 shell; not Python, bash or
# tmux (not ours). A definite or indirect leak or any invalid access is
# an error. The full run leaves out the files that take valgrind over a
# minute (their sessions, jobs and timeouts run slowed down ten times);
# ASan+UBSan runs them, and `make valgrind` runs every file.
set valgrindSlow {associated.test hooks.test jobexit.test jobkinds.test jobreport.test
  monitor.test outcomes.test readme.test timeout.test xproc.test}
proc run_valgrind {skip} {
  run_checked valgrind {CANCEL_TEST_SLOWDOWN 10} [list valgrind -q --trace-children=yes \
      --trace-children-skip=*python*,*/make,*/bash,*/sh,*tmux*,*/env,*/id,*/which,*objdump*,*setpriv* \
      --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
      --log-file=@LOG@.%p] $skip [expr {10 * $::limit}]
}
if {$mode eq "valgrind"} {
  run_valgrind {}
  summary
}

set lib [exec gcc -print-file-name=libasan.so]
run_checked asan [list LD_PRELOAD $lib CANCEL_EXT $san/asan/cancel \
    ASAN_OPTIONS "detect_leaks=0:log_path=@LOG@" \
    UBSAN_OPTIONS "print_stacktrace=1:halt_on_error=1:log_path=@LOG@"] {}
set lib [exec gcc -print-file-name=libtsan.so]
set setarch [expr {[catch {exec which setarch}] ? {} : [list setarch [exec uname -m] -R]}]
# Under TSan, dash, tmux and the sqlite3 shell crash with the runtime
# preloaded: the files that drive them run under ASan and valgrind only.
run_checked tsan [list LD_PRELOAD $lib CANCEL_EXT $san/tsan/cancel \
    TSAN_OPTIONS "suppressions=$testdir/tsan.supp:log_path=@LOG@"] $setarch \
    {monitor.test readme.test shell.test}
run_valgrind $valgrindSlow

file mkdir [file join $topdir build tmp]
set env(TSAN_OPTIONS) "halt_on_error=1 exitcode=66"
set env(ASAN_OPTIONS) "detect_leaks=1 abort_on_error=0"
set env(UBSAN_OPTIONS) "print_stacktrace=1 halt_on_error=1"
run_one "capi (ASan+UBSan)" [list [file join $bindir capi] [file join $topdir build tmp capi.db]] 0
run_one "static (-DSQLITE_CORE)" [list [file join $bindir static]] 0
# A SQLite lacking routine-table entries the extension calls: refused
# with a message, never a crash (each entry taken away in turn; real
# SQLITE_OMIT_* builds of the newest release when its source was fetched).
run_one "hostapi (ASan+UBSan)" [list [file join $bindir hostapi]] 1
if {[file exists [file join $topdir build omithost VERSION]]} {
  run_one "omithost (SQLITE_OMIT_*)" [list sh [file join $testdir omithost.sh] run] 1
} else {
  puts "(the SQLITE_OMIT_* hosts were not built: no SQLite source, tool/sqlite-source.sh said why)"
}
# The Windows build run under Wine: cancel.dll in a sqlite3.dll of the
# newest release (test/windows.sh; make test builds it).
if {[file exists [file join $topdir build win wintest.exe]]} {
  run_one "windows (Wine)" [list sh [file join $testdir windows.sh] run] 1
} else {
  puts "(the Windows test was not built: test/windows.sh build said why)"
}
# Go: a database/sql pool with Debian's go-sqlite3, a query cancelled from
# another goroutine (test/gotest.sh; make test builds it).
if {[file exists [file join $bindir gopool]]} {
  run_one "gopool (Go)" [list sh [file join $testdir gotest.sh] run] 1
} else {
  puts "(the Go test was not built: test/gotest.sh build said why)"
}
# Node.js: better-sqlite3 (its SQLite has no progress handler), a query
# on a worker_thread cancelled from the main thread and from another
# process (test/nodetest.sh; make test installs better-sqlite3).
if {[file exists [file join $topdir build node node_modules better-sqlite3 build Release better_sqlite3.node]]} {
  run_one "node (better-sqlite3)" [list sh [file join $testdir nodetest.sh] run] 1
} else {
  puts "(the Node test was not built: test/nodetest.sh build said why)"
}
# TSan needs a memory layout that newer kernels' address randomization
# can break ("unexpected memory mapping"): run it with randomization off.
proc sanitized {bin} {
  set cmd [list [file join $::bindir $bin]]
  if {[string match *tsan $bin] && ![catch {exec which setarch}]} {
    set cmd [list setarch [exec uname -m] -R {*}$cmd]
  }
  return $cmd
}
foreach {bin} {stress stress-asan stress-tsan} {
  run_one "$bin ${stressSeconds}s" [list {*}[sanitized $bin] $stressSeconds [file join $topdir build tmp $bin.db]] 0
}
foreach {bin} {jobstress-asan jobstress-tsan} {
  run_one "$bin ${stressSeconds}s" [list {*}[sanitized $bin] $stressSeconds [file join $topdir build tmp $bin]] 0
}
# The same on a SQLite without a progress handler, built with
# better-sqlite3's options (test/omithost.sh): cancels by sqlite3_interrupt.
# (sanitized takes a path too: file join keeps an absolute one)
foreach flavour {plain tsan} {
  set bin [file join $topdir build omithost stress-better-sqlite3-$flavour]
  if {![file exists $bin]} continue
  run_one "stress-$flavour (no progress handler) ${stressSeconds}s" \
      [list {*}[sanitized $bin] $stressSeconds [file join $topdir build tmp stress-omit-$flavour.db]] 0
}
# Several processes on one database (one killed half-way).
foreach {bin} {xstress xstress-asan xstress-tsan} {
  run_one "$bin ${stressSeconds}s" [list {*}[sanitized $bin] $stressSeconds 3] 0
}

# Faults (ASan+UBSan builds): out of memory at every allocation point
# (N = 1..30, then every 10th), I/O errors and disk full under every job
# kind (8 fault points per case), writers SIGKILLed at random (50 trials).
run_one "oom (ASan)" [list [file join $bindir oom] 10] 0
run_one "ioerr (ASan)" [list [file join $bindir ioerr] 8] 0
run_one "killtest 50 (ASan)" [list [file join $bindir killtest] 50] 0
# Fuzzing (libFuzzer, ASan+UBSan), a bounded run of each target on its
# seed corpus and what earlier runs found (make fuzz runs them longer).
foreach {target secs} {fuzz_csv 20 fuzz_functions 45 fuzz_registry 30} {
  run_one "$target ${secs}s" [list sh [file join $testdir fuzz run.sh] $secs $target] 0
}
# The soak: 64 sessions, 4 processes x 16 threads, cancelling each other,
# memory watched; 20 s in each build (make soak runs it longer).
foreach {bin} {soak soak-asan soak-tsan} {
  run_one "$bin 20s 4x16" [list {*}[sanitized $bin] 20 4 16] 0
}
summary
