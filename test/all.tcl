# all.tcl: run every test/*.test in its own tclsh, then the C stress
# program in its plain, ASan+UBSan and TSan builds, and the C API test. Prints each file's
# result and a summary ending in "N passed, N failed"; exits 1 on any
# failure. STRESS_SECONDS sets the length of each stress run (default 10).
set testdir [file normalize [file dirname [info script]]]
set topdir [file dirname $testdir]
cd $topdir
set stressSeconds [expr {[info exists ::env(STRESS_SECONDS)] ? $::env(STRESS_SECONDS) : 10}]
set nPass 0
set nFail 0
set failed {}

proc run_one {label cmd parse} {
  global nPass nFail failed
  set t0 [clock milliseconds]
  set rc [catch {exec {*}$cmd 2>@1} out opts]
  set ms [expr {[clock milliseconds] - $t0}]
  set last [lindex [split [string trimright $out] \n] end]
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

foreach f [lsort [glob -directory $testdir *.test]] {
  run_one [file tail $f] [list [info nameofexecutable] $f] 1
}

run_one python_test.py [list /usr/bin/python3 [file join $testdir python_test.py]] 1

# The Tcl suite again against the newest SQLite release, when
# tool/newest-sqlite.sh could build it.
set newest [file join $topdir build newest-sqlite]
if {[file exists [file join $newest libtclsqlite.so]]} {
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

file mkdir [file join $testdir tmp]
set env(TSAN_OPTIONS) "halt_on_error=1 exitcode=66"
set env(ASAN_OPTIONS) "detect_leaks=1 abort_on_error=0"
set env(UBSAN_OPTIONS) "print_stacktrace=1 halt_on_error=1"
run_one "capi (ASan+UBSan)" [list [file join $testdir capi] [file join $testdir tmp capi.db]] 0
run_one "static (-DSQLITE_CORE)" [list [file join $testdir static]] 0
# TSan needs a memory layout that newer kernels' address randomization
# can break ("unexpected memory mapping"): run it with randomization off.
proc sanitized {bin} {
  set cmd [list [file join $::testdir $bin]]
  if {[string match *tsan $bin] && ![catch {exec which setarch}]} {
    set cmd [list setarch [exec uname -m] -R {*}$cmd]
  }
  return $cmd
}
foreach {bin} {stress stress-asan stress-tsan} {
  run_one "$bin ${stressSeconds}s" [list {*}[sanitized $bin] $stressSeconds [file join $testdir tmp $bin.db]] 0
}
foreach {bin} {jobstress-asan jobstress-tsan} {
  run_one "$bin ${stressSeconds}s" [list {*}[sanitized $bin] $stressSeconds [file join $testdir tmp $bin]] 0
}
# Several processes on one database (one killed half-way).
foreach {bin} {xstress xstress-asan} {
  run_one "$bin ${stressSeconds}s" [list [file join $testdir $bin] $stressSeconds 3] 0
}

puts ""
if {[llength $failed]} { puts "FAILED: [join $failed {, }]" }
puts "$nPass passed, $nFail failed"
exit [expr {$nFail ? 1 : 0}]
