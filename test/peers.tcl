# peers.tcl: other processes for the tests (test/peer.tcl), driven one
# script per line. Sourced after tester.tcl.
#
#   peer_start A                       ;# a new tclsh running peer.tcl
#   peer A {session_open db $f}        ;# run a script there, wait: {rc result}
#   peer_send A {db eval {...}}        ;# run it, do not wait
#   peer_recv A                        ;# ... then wait for its answer
#   peer_kill A                        ;# kill -9
#
# Scripts are substituted for variables (not commands) in the caller's
# scope first: write \$x for a variable of the peer.

# envlist: VAR=value pairs for the peer's environment.
proc peer_start {name {envlist {}}} {
  set cmd [list [info nameofexecutable] [file join $::testdir peer.tcl]]
  if {[llength $envlist]} { set cmd [list env {*}$envlist {*}$cmd] }
  set ch [open "|$cmd 2>@stderr" r+]
  fconfigure $ch -buffering line -blocking 1
  set ::peerch($name) $ch
  return $name
}

proc peer_pid {name} { lindex [pid $::peerch($name)] 0 }

proc peer_send {name script} {
  # one line per script: the peer reads line by line
  puts $::peerch($name) [string map {"\n" " "} [uplevel 1 [list subst -nocommands $script]]]
}

proc peer_readable {name} {
  set ch $::peerch($name)
  if {[gets $ch line] >= 0} {
    set ::peerans($name) $line
  } elseif {[eof $ch]} {
    set ::peerans($name) EOF
  }
}

# The next answer of the peer, or TIMEOUT after ms (times the slowdown of
# the pass: valgrind runs a peer's statement about 50 times slower).
proc peer_recv {name {ms 30000}} {
  set ch $::peerch($name)
  unset -nocomplain ::peerans($name)
  fileevent $ch readable [list peer_readable $name]
  if {[info exists ::slowdown]} { set ms [expr {$ms * $::slowdown}] }
  set id [after $ms [list set ::peerans($name) TIMEOUT]]
  vwait ::peerans($name)
  after cancel $id
  fileevent $ch readable {}
  return $::peerans($name)
}

proc peer {name script} {
  uplevel 1 [list peer_send $name $script]
  peer_recv $name
}

proc peer_kill {name} {
  catch {exec kill -9 [peer_pid $name]}
  catch {close $::peerch($name)}
  unset -nocomplain ::peerch($name)
}

proc peer_stop {name} {
  catch {peer_send $name {exit}}
  catch {close $::peerch($name)}
  unset -nocomplain ::peerch($name)
}

# Does session pid (of any process) run statement sql now, as connection
# conn sees it? Wait for this rather than for status 'active': a
# statement is listed once it has run a hundred or so VM instructions,
# and another process learns of a statement's end when its process
# looks, so 'active' may still be the previous statement's for a moment
# (doc/hooks.md, "Short statements").
proc runs_sql {conn pid sql} {
  set q [$conn one {SELECT active_query FROM sessions WHERE pid=$pid AND status='active'}]
  expr {[string trim $q] eq [string trim $sql]}
}
