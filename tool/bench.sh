#!/bin/sh
# bench.sh: `make bench`. Every figure beside its reference, measured in
# the same run:
#   1. cancel latency (build/tool/bench_latency, build/tool/bench_pg): five kinds of
#      target statement, each stopped by plain sqlite3_interrupt (the
#      floor), by cancel_query in-process and across processes, and by
#      PostgreSQL's pg_cancel_backend (a throw-away cluster on loopback,
#      when a server is installed: make bench-deps);
#   2. cost to running work (build/tool/bench_cost): instructions per statement
#      (callgrind, repeatable on a noisy machine) and time, against plain
#      SQLite;
#   3. scale (build/tool/bench_scale): 1,000 and 10,000 sessions;
#   4. jobs (build/tool/bench_jobs): throughput against the direct way, and
#      cancel to `canceled` with cleanup done;
#   5. timeouts (build/tool/bench_timeouts): how far past the limit they stop.
# Prints the tables and a summary with each target PASS or MISS; writes
# bench/*.csv, bench/summary.csv, bench/summary.md and bench/latency.svg.
# BENCH_SCALE=0.2 (say) runs fewer trials, for a quick look.
set -e
cd "$(dirname "$0")/.."
mkdir -p bench
S=${BENCH_SCALE:-1}
n() { awk -v a="$1" -v s="$S" 'BEGIN{x=int(a*s); if(x<3)x=3; print x}'; }
sum=bench/summary.csv
echo "section,what,measured,reference,target,verdict" > $sum
# verdict SECTION WHAT MEASURED REFERENCE TARGET OK(1/0)
verdict() {
  v=MISS; [ "$6" = 1 ] && v=PASS
  echo "$1,$2,$3,$4,$5,$v" >> $sum
}
le() { awk -v a="$1" -v b="$2" 'BEGIN{print (a<=b)?1:0}'; }

echo "machine: $(nproc) cores, $(uname -sr), SQLite $(sqlite3 --version | cut -d' ' -f1), $(date -u '+%Y-%m-%d')"
echo

# ------------------------------------------------------------ latency
lat=bench/latency.csv
echo "kind,method,trials,p50_us,p99_us,max_us,missed" > $lat
build/tool/bench_latency setup bench/tmp-latency.db 1000000
pgdir=$(mktemp -d /tmp/cancel-bench-pg.XXXXXX)
pg=""
if conninfo=$(tool/pgcluster.sh start "$pgdir" 54329 2>bench/pg.log) \
   && make -s build/tool/bench_pg >>bench/pg.log 2>&1 \
   && build/tool/bench_pg "$conninfo" setup 1000000 >>bench/pg.log 2>&1; then
  pg=1
else
  echo "(PostgreSQL column skipped: $(tail -1 bench/pg.log); make bench-deps installs it)"
fi
trap 'tool/pgcluster.sh stop "$pgdir" >/dev/null 2>&1 || true' EXIT
for kind in cte lock write orderby groupby; do
  case $kind in cte|lock) t=$(n 300);; write|orderby) t=$(n 60);; groupby) t=$(n 25);; esac
  ms="raw inproc xproc"
  # the floor across processes: a shared-memory flag the target's
  # progress handler polls (the CTE: a statement that runs VM code); and
  # the same flag set from an SQL function (a cancel issued as SQL)
  [ $kind = cte ] && ms="raw xfloor xfloorsql inproc xproc"
  for m in $ms; do
    build/tool/bench_latency run bench/tmp-latency.db $kind $m $t | cut -d, -f2- >> $lat
  done
  [ -z "$pg" ] || build/tool/bench_pg "$conninfo" run $kind $t | cut -d, -f2- >> $lat
done
rm -f bench/tmp-latency.db*
tool/pgcluster.sh stop "$pgdir" >/dev/null 2>&1 || true

echo "Cancel latency, us: from the cancel call to the target's step returning (p50 / p99)"
echo "  (cte across processes, the floor: a shared-memory flag polled by the progress handler: $(awk -F, '$1=="cte" && $2=="xfloor"{print $4" / "$5}' $lat);"
echo "   the same flag set by an SQL function the canceller calls: $(awk -F, '$1=="cte" && $2=="xfloorsql"{print $4" / "$5}' $lat))"
printf "  %-8s %18s %18s %18s %18s\n" kind "sqlite3_interrupt" "in-process" "cross-process" "PostgreSQL"
for kind in cte lock write orderby groupby; do
  awk -F, -v k=$kind '$1==k{v[$2]=$4" / "$5} END{
    printf "  %-8s %18s %18s %18s %18s\n", k, v["raw"], v["inproc"], v["xproc"], (v["postgres"]==""?"-":v["postgres"])}' $lat
done
p99() { awk -F, -v k=$1 -v m=$2 '$1==k && $2==m{print $5}' $lat; }
p50() { awk -F, -v k=$1 -v m=$2 '$1==k && $2==m{print $4}' $lat; }
# The cross-process row beside both floors, with the ratio to each; judged
# against 1.5 times the second: a cancel issued as SQL pays its own
# statement first, which no extension can beat (doc/benchmarks.md).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{if(b>0) printf "%.2f", a/b; else print "-"}'; }
for q in p50 p99; do
  f=$($q cte xfloor); fs=$($q cte xfloorsql); v=$($q cte xproc)
  lim=$(awk -v f=$fs 'BEGIN{print f*1.5}')
  echo "  cte cross-process $q: $v us; x$(ratio $v $f) the shared-memory flag ($f), x$(ratio $v $fs) the flag set by an SQL function ($fs)"
  verdict latency "cte xproc $q vs floors (us)" $v \
    "flag $f (x$(ratio $v $f)); flag by SQL function $fs (x$(ratio $v $fs))" "<= $lim (1.5 x SQL floor)" $(le $v $lim)
done
pgc=$(p99 cte postgres)
for m in inproc xproc; do
  v=$(p99 cte $m)
  if [ -n "$pgc" ]; then lim=$(awk -v p=$pgc 'BEGIN{l=p/5; print (l<100)?l:100}'); ref="postgres p99 $pgc"
  else lim=100; ref="postgres not measured"; fi
  verdict latency "cte $m p99 (us)" $v "$ref" "<= $lim" $(le $v $lim)
  v=$(p99 lock $m)
  verdict latency "lock $m p99 (us)" $v "raw $(p99 lock raw)" "<= 1000" $(le $v 1000)
  for kind in write orderby groupby; do
    r=$(p99 $kind raw); v=$(p99 $kind $m)
    lim=$(awk -v r=$r 'BEGIN{a=r*1.10; b=r+200; print (a>b)?a:b}')
    verdict latency "$kind $m p99 (us)" $v "raw $r" "<= $lim" $(le $v $lim)
  done
done

# --------------------------------------------------------------- cost
echo
cost=bench/cost.csv
echo "work,mode,instr_per_unit,instr_ratio,ns_per_unit,time_ratio" > $cost
build/tool/bench_cost time $(n 1000000) 3 > bench/tmp-time.csv
have_vg=0
command -v valgrind >/dev/null 2>&1 && have_vg=1
echo "Cost to running work (per statement; cpu: per CTE row). Instructions: callgrind, the loop only"
printf "  %-8s %-8s %12s %8s %10s %8s\n" work mode "instr" ratio ns ratio
for w in select insert cpu point; do
  base_ir=""; base_ns=""
  for m in plain trace local shared timeout xact blocker; do
    ns=$(awk -F, -v w=$w -v m=$m '$2==w && $3==m{print $5}' bench/tmp-time.csv)
    [ -n "$base_ns" ] || base_ns=$ns
    ir=-; irr=-
    if [ $have_vg = 1 ]; then
      ir=$(valgrind --tool=callgrind --toggle-collect=costLoop --callgrind-out-file=/dev/null \
           build/tool/bench_cost loop $w $m 100000 2>&1 | awk '/Collected/{printf "%.1f", $NF/100000}')
      [ -n "$base_ir" ] || base_ir=$ir
      irr=$(awk -v a=$ir -v b=$base_ir 'BEGIN{printf "%.3f", a/b}')
    fi
    nsr=$(awk -v a=$ns -v b=$base_ns 'BEGIN{printf "%.3f", a/b}')
    echo "$w,$m,$ir,$irr,$ns,$nsr" >> $cost
    printf "  %-8s %-8s %12s %8s %10s %8s\n" $w $m $ir $irr $ns $nsr
    case $w/$m in
      cpu/local|cpu/shared) verdict cost "$w $m instructions" $irr "plain 1" "<= 1.01" $(le $irr 1.01);;
      select/local|select/shared|insert/local|insert/shared|point/shared)
        verdict cost "$w $m instructions" $irr "plain 1; trace $(awk -F, -v w=$w '$1==w && $2=="trace"{print $4}' $cost)" \
          "<= 1.05" $(le $irr 1.05);;
    esac
  done
done
rm -f bench/tmp-time.csv bench/tmp-cost.db*
[ $have_vg = 1 ] || echo "  (valgrind not installed: no instruction counts)"

# -------------------------------------------------------------- scale
echo
sc=bench/scale.csv
echo "sessions,scan_ms,cancel_all_ms,terminate_all_ms" > $sc
for k in 1000 10000; do build/tool/bench_scale sessions $k | cut -d, -f2- >> $sc; done
build/tool/bench_scale open 2000 5 > bench/tmp-open.csv
rm -f bench/tmp-scale.db*
echo "Scale: idle sessions in one process (ms, median of 7)"
printf "  %-9s %10s %14s %16s\n" sessions scan "cancel all" "terminate all"
awk -F, 'NR>1{printf "  %-9s %10s %14s %16s\n", $1, $2, $3, $4}' $sc
v=$(awk -F, '$1==10000{print $2}' $sc); verdict scale "scan 10000 sessions (ms)" $v - "<= 20" $(le $v 20)
v=$(awk -F, '$1==10000{print $3}' $sc); verdict scale "cancel 10000 by SELECT (ms)" $v - "<= 100" $(le $v 100)
# Open + close: plain SQLite; the floor (plain, then a no-op registration
# of the functions and modules the extension adds, learned from
# pragma_function_list and pragma_module_list: what SQLite charges any
# extension with this interface); the extension by sqlite3_auto_extension.
# The target is against the floor.
echo "Open + close a connection: instructions (callgrind, per pair) and us (median of 5 rounds of 2000)"
printf "  %-8s %-8s %10s %8s %8s %8s %8s %8s\n" where mode instr "/plain" "/floor" us "/plain" "/floor"
echo "open,where,mode,instr,instr_vs_plain,instr_vs_floor,us,us_vs_plain,us_vs_floor" >> $sc
for w in memory file; do
  for m in plain floor loaded; do
    us=$(awk -F, -v w=$w -v m=$m '$2==w && $3==m{print $5}' bench/tmp-open.csv)
    ir=-
    if [ $have_vg = 1 ]; then
      ir=$(valgrind --tool=callgrind --toggle-collect=openLoop --callgrind-out-file=/dev/null \
           build/tool/bench_scale openloop $w $m 200 2>&1 | awk '/Collected/{printf "%.0f", $NF/201}')
    fi
    eval "ir_$m=$ir; us_$m=$us"
  done
  for m in plain floor loaded; do
    eval "ir=\$ir_$m; us=\$us_$m"
    rp=-; rf=-
    if [ $have_vg = 1 ]; then
      rp=$(awk -v a=$ir -v b=$ir_plain 'BEGIN{printf "%.3f", a/b}')
      rf=$(awk -v a=$ir -v b=$ir_floor 'BEGIN{printf "%.3f", a/b}')
    fi
    tp=$(awk -v a=$us -v b=$us_plain 'BEGIN{printf "%.3f", a/b}')
    tf=$(awk -v a=$us -v b=$us_floor 'BEGIN{printf "%.3f", a/b}')
    printf "  %-8s %-8s %10s %8s %8s %8s %8s %8s\n" $w $m $ir $rp $rf $us $tp $tf
    echo "open,$w,$m,$ir,$rp,$rf,$us,$tp,$tf" >> $sc
  done
  if [ $have_vg = 1 ]; then
    verdict scale "open+close $w instructions (/floor)" $rf "plain $ir_plain; floor $ir_floor" "<= 1.10" $(le $rf 1.10)
  fi
  verdict scale "open+close $w time (/floor)" $tf "plain $us_plain us; floor $us_floor us" "<= 1.10" $(le $tf 1.10)
done
rm -f bench/tmp-open.csv

# --------------------------------------------------------------- jobs
echo
jcsv=bench/jobs.csv
build/tool/bench_jobs $(n 250000) 3 $(n 20) > $jcsv
echo "Jobs on a $(n 250) MB database, against the same work done directly (ms, median of 3)"
printf "  %-10s %12s %12s %8s\n" kind "direct" "job" ratio
awk -F, '$1=="throughput"{printf "  %-10s %12s %12s %8s\n", $2, $3, $4, $5}' $jcsv
echo "From cancel_job to status 'canceled', cleanup done (ms)"
printf "  %-10s %8s %8s %8s %8s\n" kind trials p50 p99 max
awk -F, '$1=="cancel"{printf "  %-10s %8s %8s %8s %8s\n", $2, $3, $4, $5, $6}' $jcsv
for k in BACKUP VACUUM IMPORT; do
  r=$(awk -F, -v k=$k '$1=="throughput" && $2==k{print $5}' $jcsv)
  verdict jobs "$k throughput (job/direct)" $r - ">= 0.95" $(le 0.95 $r)
  v=$(awk -F, -v k=$k '$1=="cancel" && $2==k{print $5}' $jcsv)
  verdict jobs "$k cancel to canceled p99 (ms)" $v - "<= 50" $(le $v 50)
done

# ----------------------------------------------------------- timeouts
echo
tcsv=bench/timeouts.csv
build/tool/bench_timeouts accuracy $(n 200) > $tcsv
echo "Statement timeouts (limit 20 ms): overshoot past the limit, ms"
printf "  %-10s %8s %8s %8s %8s\n" "" trials p50 p99 max
awk -F, '{printf "  %-10s %8s %8s %8s %8s\n", $2, $3, $5, $6, $7}' $tcsv
build/tool/bench_timeouts xact $(n 100) > bench/tmp-xact.csv
echo "Transaction and idle-blocker timeouts (limit 20 ms, a writer waiting on"
echo "the idle transaction): how long after the limit it was rolled back, ms"
printf "  %-13s %8s %8s %8s %8s\n" "" trials p50 p99 max
awk -F, '{printf "  %-13s %8s %8s %8s %8s\n", $2, $3, $5, $6, $7}' bench/tmp-xact.csv
for k in transaction idle-blocker; do
  v=$(awk -F, -v k=$k '$2==k{print $5}' bench/tmp-xact.csv)
  verdict timeouts "$k timeout overshoot p50 (ms)" $v "limit 20" "<= 2" $(le $v 2)
done
cat bench/tmp-xact.csv >> $tcsv
rm -f bench/tmp-timeouts.db* bench/tmp-xact.csv

# ------------------------------------------------------------ summary
echo
echo "Summary"
awk -F, 'NR>1{printf "  %-4s %-8s %-38s %10s  %s  (%s)\n", $6, $1, $2, $3, $5, $4}' $sum
{
  echo "| section | what | measured | target | reference | |"
  echo "|---|---|---|---|---|---|"
  awk -F, 'NR>1{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $5, $4, $6}' $sum
} > bench/summary.md
awk -f tool/benchchart.awk $lat > bench/latency.svg
echo
echo "written: bench/summary.csv bench/summary.md bench/latency.csv bench/latency.svg"
echo "         bench/cost.csv bench/scale.csv bench/jobs.csv bench/timeouts.csv"
