# tester.tcl: a small test harness in the style of SQLite's own.
#
#   source [file join [file dirname [info script]] tester.tcl]
#   do_execsql_test 1.0 {SELECT 1+1} {2}
#   do_catchsql_test 1.1 {SELECT nosuch()} {1 {no such function: nosuch}}
#   do_test 1.2 { expr {2*2} } 4
#   finish_test
#
# `db` is a connection with the extension loaded (see session_open).
# finish_test prints "N passed, N failed" and exits 1 on any failure.

# CANCEL_TCLSQLITE names another SQLite Tcl binding to test against (a
# newer SQLite than the system's; see tool/newest-sqlite.sh).
proc require_sqlite3 {} {
  if {[info exists ::env(CANCEL_TCLSQLITE)] && $::env(CANCEL_TCLSQLITE) ne ""} {
    load $::env(CANCEL_TCLSQLITE) Sqlite3
  } else {
    package require sqlite3
  }
}
require_sqlite3

set ::testdir [file normalize [file dirname [info script]]]
set ::topdir  [file dirname $::testdir]
# CANCEL_EXT names another build of the extension (the one compiled with
# the newest SQLite's headers; see tool/newest-sqlite.sh).
set ::extpath [expr {[info exists ::env(CANCEL_EXT)] && $::env(CANCEL_EXT) ne ""
                     ? [file normalize $::env(CANCEL_EXT)] : [file join $::topdir cancel]}]
# CANCEL_TEST_TMPDIR: a directory of its own, to run copies of one file at once
set ::tmpdir  [expr {[info exists ::env(CANCEL_TEST_TMPDIR)] && $::env(CANCEL_TEST_TMPDIR) ne ""
                     ? [file normalize $::env(CANCEL_TEST_TMPDIR)] : [file join $::topdir build tmp]}]
file mkdir $::tmpdir
set ::nPass 0
set ::nFail 0
set ::testfile [file rootname [file tail [info script]]]
if {[info exists ::argv0]} { set ::testfile [file rootname [file tail $::argv0]] }

# Open connection $name on $file and load the extension into it. Tcl's
# binding opens connections with SQLITE_OPEN_NOMUTEX unless told
# otherwise; the tests use SQLite's default serialized mode, which is what
# the sqlite3 shell, Python and C programs get (see
# doc/threading.md). Pass -nomutex 1 to test the other mode.
proc session_open {name {file :memory:} args} {
  sqlite3 $name $file -fullmutex 1 {*}$args
  $name enable_load_extension 1
  $name eval {SELECT load_extension($::extpath)}
  return $name
}

# The registry file's layout version this build writes (ext/shfile.h).
proc registry_version {} {
  set fd [open [file join $::topdir ext shfile.h]]
  set text [read $fd]
  close $fd
  regexp {#define SH_VERSION +([0-9]+)} $text -> v
  return $v
}

# A fresh database file under build/tmp for this test file.
proc testdb {{suffix ""}} {
  set f [file join $::tmpdir $::testfile$suffix.db]
  foreach x [list $f $f-journal $f-wal $f-shm $f-cancel] { file delete -force $x }
  return $f
}

proc do_test {name script expected} {
  set rc [catch {uplevel #0 $script} result]
  if {$rc != 0} { set result "ERROR: $result" }
  if {[string match $expected $result] || $result eq $expected} {
    incr ::nPass
  } else {
    incr ::nFail
    puts "! $::testfile-$name failed"
    puts "!   expected: \[$expected\]"
    puts "!   got:      \[$result\]"
  }
}

# Like do_test, but $expected is a script evaluated after $script ran, for
# expectations that name what the script created (ids, pids).
proc do_late_test {name script expected} {
  set rc [catch {uplevel #0 $script} result]
  if {$rc != 0} { set result "ERROR: $result" }
  set want [uplevel #0 [list subst $expected]]
  if {$result eq $want || [string match $want $result]} {
    incr ::nPass
  } else {
    incr ::nFail
    puts "! $::testfile-$name failed"
    puts "!   expected: \[$want\]"
    puts "!   got:      \[$result\]"
  }
}

proc execsql {sql {db db}} { uplevel #0 [list $db eval $sql] }

proc catchsql {sql {db db}} {
  set rc [catch {uplevel #0 [list $db eval $sql]} msg]
  list $rc $msg
}

proc do_execsql_test {name sql expected {db db}} {
  do_test $name [list execsql $sql $db] [list {*}$expected]
}

proc do_catchsql_test {name sql expected {db db}} {
  do_test $name [list catchsql $sql $db] $expected
}

# Wait until $cond (a Tcl expression) holds, processing events, for at
# most $ms milliseconds. For states that another thread reaches and
# cannot announce (a statement blocked inside SQLite's busy handler):
# this is a bounded condition wait, never a sleep standing for a
# handshake.
# test/all.tcl's valgrind pass sets CANCEL_TEST_SLOWDOWN: the bound grows.
set ::slowdown [expr {[info exists ::env(CANCEL_TEST_SLOWDOWN)] ? $::env(CANCEL_TEST_SLOWDOWN) : 1}]
proc wait_for {cond {ms 20000}} {
  set deadline [expr {[clock milliseconds] + $ms * $::slowdown}]
  while {![uplevel #0 [list expr $cond]]} {
    if {[clock milliseconds] > $deadline} { return 0 }
    after 2
    update
  }
  return 1
}

# Did {rc msg} fail the way a statement of a terminated session fails?
# The first statement after a termination that is still being finished
# is interrupted; once finished, statements are refused at prepare.
proc is_refused {res} {
  expr {[lindex $res 0] == 1 && [lindex $res 1] in {interrupted {not authorized}}}
}

# Did {rc msg} fail the way a statement stopped by a termination fails?
# With $orig ("interrupted", or "database is locked" for a lock wait); or
# with "not authorized" when the statement started only after the
# termination was finished (it is refused at prepare).
proc terminated_with {res {orig interrupted}} {
  expr {[lindex $res 0] == 1 && [lindex $res 1] in [list $orig {not authorized}]}
}

# Run under test/all.tcl's TSan pass? (The runtime is preloaded into
# every program started; python3, dash and tmux crash with it.)
proc under_tsan {} {
  expr {[info exists ::env(LD_PRELOAD)] && [string match *libtsan* $::env(LD_PRELOAD)]}
}

proc finish_test {} {
  puts "$::nPass passed, $::nFail failed"
  exit [expr {$::nFail ? 1 : 0}]
}
