# demo.tcl: the mission in one minute (run by `make demo`).
#
# A worker thread opens a connection and runs a long query. The main
# thread, on a second connection, lists it in `sessions` and cancels it
# with pg_cancel_backend(); the worker reports the interruption.
package require sqlite3
package require Thread

set top [file normalize [file join [file dirname [info script]] ..]]
set ext [file join $top cancel]
set dbfile [file join $top demo.db]
file delete -force $dbfile $dbfile-cancel   ;# (and the registry file beside it)

proc say {msg} { puts $msg; flush stdout }

# The worker: its query tells us when it has started (ready() posts to
# the main thread from inside the running statement).
set worker [thread::create]
thread::send $worker [list set main [thread::id]]
thread::send $worker [list set ext $ext]
thread::send $worker [list set dbfile $dbfile]
thread::send $worker {
  package require sqlite3
  sqlite3 db $dbfile -fullmutex 1
  db enable_load_extension 1
  db eval {SELECT load_extension($ext)}
  db eval {SELECT set_application_name('report-worker')}
  db function ready {apply {{} { thread::send -async $::main {set ::started 1}; return 1 }}}
}

say "worker: running a long query (a recursive CTE counting to 1e9)..."
thread::send -async $worker {
  set t0 [clock milliseconds]
  set rc [catch {db eval {
    WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<1000000000)
    SELECT count(*) FROM c WHERE x=1 AND ready() OR x<0
  }} msg]
  list $rc $msg [expr {[clock milliseconds]-$t0}]
} ::outcome
vwait ::started

sqlite3 admin $dbfile -fullmutex 1
admin enable_load_extension 1
admin eval {SELECT load_extension($ext)}

# The header is the query itself (it is also the admin's own row). Pids
# and times differ from run to run; test/readme.test compares the rest
# with the README.
set q {SELECT pid, application_name, status, query_start, active_query FROM sessions ORDER BY pid}
say "\nadmin: $q;"
admin eval $q r {
  regsub -all {\s+} [string trim $r(active_query)] { } aq
  say [string trimright [format "  %-6s %-14s %-7s %-24s %s" $r(pid) \
      $r(application_name) $r(status) $r(query_start) [string range $aq 0 59]]]
}
set pid [admin onecolumn {SELECT pid FROM sessions WHERE application_name='report-worker'}]
say "\nadmin: SELECT pg_cancel_backend($pid);"
say "  -> [admin eval {SELECT pg_cancel_backend($pid)}]"

vwait ::outcome
lassign $::outcome rc msg ms
if {$rc} {
  say "\nworker: my query failed with \"$msg\" (it ran $ms ms in all)"
} else {
  say "\nworker: the query finished?! ($msg)"
}
say "worker: and the connection is still usable: [thread::send $worker {db eval {SELECT 'yes'}}]"

thread::send $worker {db close}
admin close
file delete -force $dbfile $dbfile-cancel
exit [expr {$rc ? 0 : 1}]
