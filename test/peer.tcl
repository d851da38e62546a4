# peer.tcl: another process for the cross-process tests (xproc.test).
#
#   set p [open "|[list [info nameofexecutable] peer.tcl]" r+]
#   puts $p {db eval {SELECT 1}}; flush $p; gets $p  ;# -> {0 1}
#
# Reads one Tcl script per line from stdin, evaluates it and answers with
# one line: the list {rc result}. Scripts run in order, so a long query
# answers only when it ends: the test reads the answer when it wants it.
# Same bindings as the tests: CANCEL_TCLSQLITE and CANCEL_EXT apply.
if {[info exists ::env(CANCEL_TCLSQLITE)] && $::env(CANCEL_TCLSQLITE) ne ""} {
  load $::env(CANCEL_TCLSQLITE) Sqlite3
} else {
  package require sqlite3
}
set ::testdir [file normalize [file dirname [info script]]]
set ::extpath [expr {[info exists ::env(CANCEL_EXT)] && $::env(CANCEL_EXT) ne ""
                     ? [file normalize $::env(CANCEL_EXT)]
                     : [file join [file dirname $::testdir] cancel]}]

proc session_open {name file args} {
  sqlite3 $name $file -fullmutex 1 {*}$args
  $name enable_load_extension 1
  $name eval {SELECT load_extension($::extpath)}
  return $name
}

fconfigure stdout -buffering line
while {[gets stdin line] >= 0} {
  set rc [catch {uplevel #0 $line} res]
  puts [list $rc $res]
}
