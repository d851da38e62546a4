# workers.tcl: worker threads for the tests (tcl-thread). Each worker
# has one connection `db` with the extension loaded, on the database file
# $::f. A statement run by a worker can announce that it has started by
# calling ready(), which posts to the main thread: a handshake.
package require Thread

# Start worker $name: a thread with connection `db` on $f, busy timeout
# $timeout ms. In the worker, ready() posts "set ::ready($name) 1" to the
# main thread and returns 1; released() returns 1 once the main thread
# called worker_release (a statement can run until the test lets it end).
proc worker_start {name {timeout 0}} {
  tsv::set released $name 0
  set tid [thread::create]
  thread::send $tid [list set ::main [thread::id]]
  thread::send $tid [list set ::name $name]
  thread::send $tid [list set ::extpath $::extpath]
  thread::send $tid [list proc require_sqlite3 {} [info body require_sqlite3]]
  thread::send $tid {
    require_sqlite3
    proc ready {} { thread::send -async $::main [list set ::ready($::name) 1]; return 1 }
    proc released {} { tsv::get released $::name }
  }
  thread::send $tid [list sqlite3 db $::f -fullmutex 1]
  thread::send $tid [list db timeout $timeout]
  thread::send $tid {
    db enable_load_extension 1
    db eval {SELECT load_extension($::extpath)}
    db function ready ready
    db function released released
  }
  set ::tid($name) $tid
  set ::pid($name) [thread::send $tid {db onecolumn {SELECT pg_backend_pid()}}]
  set ::sid($name) [thread::send $tid {db onecolumn {SELECT session_id()}}]
  return $tid
}
# Run $sql in worker $name in the background; its {rc msg} lands in
# ::result($name).
proc worker_run {name sql} {
  unset -nocomplain ::result($name) ::ready($name)
  tsv::set released $name 0
  thread::send -async $::tid($name) [list catch [list db eval $sql] msg] ::rc($name)
  thread::send -async $::tid($name) {set msg} ::result($name)
}
proc worker_wait {name} {
  if {![info exists ::result($name)]} { vwait ::result($name) }
  list $::rc($name) $::result($name)
}
proc worker_sql {name sql} {
  thread::send $::tid($name) [list catch [list db eval $sql] msg] rc
  thread::send $::tid($name) {set msg} msg
  list $rc $msg
}
proc worker_stop {name} {
  thread::send $::tid($name) {db close}
  thread::release $::tid($name)
}
proc worker_release {name} { tsv::set released $name 1; return }
proc wait_ready {name} { if {![info exists ::ready($name)]} { vwait ::ready($name) } }

