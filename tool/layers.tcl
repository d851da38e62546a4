# layers.tcl: the layers of ext/, drawn from the code. Reads which
# functions each object file of build/obj/plain defines and which it
# calls (nm), and prints one line per file: its floor (0: calls no other
# file of ext/; otherwise one above the highest file it calls) and the
# files it calls. Circles, if any, are printed as "circle: a -> b -> a".
#
#   tclsh tool/layers.tcl [objdir]      (make builds build/obj/plain)
#
# A call through a function pointer registered at start-up (cancel.c's
# wiring block) is not a link-time reference, so it does not show here:
# that is the point of registering it.
set objdir [expr {[llength $argv] ? [lindex $argv 0] : "build/obj/plain"}]
set objs [lsort [glob -nocomplain -directory $objdir *.o]]
if {![llength $objs]} { puts stderr "layers.tcl: no objects in $objdir (run make)"; exit 2 }
foreach o $objs {
  set f [file rootname [file tail $o]]
  set calls($f) {}
  foreach line [split [exec nm $o] \n] {
    if {[regexp {^\s+U (\S+)$} $line -> sym]} { lappend used($f) $sym }
    if {[regexp {^\S+ [TDBR] (\S+)$} $line -> sym]} { set owner($sym) $f }
  }
}
foreach f [array names calls] {
  set out {}
  foreach sym [expr {[info exists used($f)] ? $used($f) : {}}] {
    if {$sym eq "sqlite3_api" || ![info exists owner($sym)]} continue
    if {$owner($sym) ne $f && $owner($sym) ni $out} { lappend out $owner($sym) }
  }
  set calls($f) [lsort $out]
}
# floors by depth-first search; a file met again while on the stack is a circle
set circles {}
proc floor {f stack} {
  global calls floorOf circles
  if {[info exists floorOf($f)]} { return $floorOf($f) }
  if {$f in $stack} {
    lappend circles [join [concat [lrange $stack [lsearch $stack $f] end] $f] " -> "]
    return 0
  }
  set fl 0
  foreach g $calls($f) {
    set h [expr {[floor $g [concat $stack $f]] + 1}]
    if {$h > $fl} { set fl $h }
  }
  return [set floorOf($f) $fl]
}
foreach f [lsort [array names calls]] { floor $f {} }
foreach f [lsort [array names calls]] { lappend rows [list $floorOf($f) $f] }
foreach r [lsort -integer -decreasing -index 0 [lsort -index 1 $rows]] {
  lassign $r fl f
  puts [format "%2d  %-13s %s" $fl $f [join $calls($f) " "]]
}
foreach c [lsort -unique $circles] { puts "circle: $c" }
