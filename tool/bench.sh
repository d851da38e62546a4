#!/bin/sh
# bench.sh: `make bench`. The timeouts of SPEC section 7: how far
# past its limit a statement timeout stops a CPU-bound statement and a
# lock wait (p50/p99/max overshoot), and what the extension and its
# timers cost a loop of tiny statements, as ratios to plain SQLite
# measured side by side in one run (median of interleaved rounds), and
# as instruction counts (callgrind; repeatable on a noisy machine).
# Then the jobs: throughput against doing the same work directly, and
# the time from cancel_job to status 'canceled'. Writes bench/*.csv.
set -e
cd "$(dirname "$0")/.."
B=tool/bench_timeouts
mkdir -p bench
csv=bench/timeouts.csv
echo "kind,what,n,a,b,c,d" > $csv

echo "Statement timeout accuracy (limit 20 ms; overshoot = elapsed - limit, ms)"
printf "  %-28s %8s %8s %8s %8s\n" "" trials p50 p99 max
$B accuracy 200 | tee -a $csv | while IFS=, read k what n t p50 p99 max; do
  printf "  %-28s %8s %8s %8s %8s\n" "$what" "$n" "$p50" "$p99" "$max"
done

echo
echo "Cost per statement (ns, median of 7 interleaved rounds of 200000)"
$B cost 200000 7 > bench/cost.tmp
cat bench/cost.tmp >> $csv
base_sel=$(awk -F, '$2=="plain"{print $4}' bench/cost.tmp)
base_ins=$(awk -F, '$2=="insert_plain"{print $4}' bench/cost.tmp)
have_vg=0
command -v valgrind >/dev/null 2>&1 && have_vg=1
printf "  %-44s %10s %8s %14s %8s\n" mode ns/stmt ratio "instr/stmt" ratio
for mode in plain loaded stmt_timeout insert_plain insert_loaded idle_timeout; do
  ns=$(awk -F, -v m=$mode '$2==m{print $4}' bench/cost.tmp)
  case $mode in insert*|idle*) base=$base_ins; label="INSERT in one transaction: $mode";;
                *) base=$base_sel; label="SELECT ?1+1: $mode";; esac
  ratio=$(awk -v a=$ns -v b=$base 'BEGIN{printf "%.2f", a/b}')
  ir="-"; irr="-"
  if [ $have_vg = 1 ]; then
    n=20000
    ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $B loop $mode $n 2>&1 \
         | awk '/Collected/{print $NF}')
    ir=$(awk -v a=$ir -v n=$n 'BEGIN{printf "%.0f", a/n}')
    echo "instructions,$mode,$n,$ir" >> $csv
    case $mode in plain) ir_sel=$ir;; insert_plain) ir_ins=$ir;; esac
    case $mode in insert*|idle*) irb=$ir_ins;; *) irb=$ir_sel;; esac
    irr=$(awk -v a=$ir -v b=$irb 'BEGIN{printf "%.2f", a/b}')
  fi
  printf "  %-44s %10s %8s %14s %8s\n" "$label" "$ns" "$ratio" "$ir" "$irr"
done
rm -f bench/cost.tmp bench/tmp-timeouts.db*
[ $have_vg = 1 ] || echo "  (valgrind not installed: no instruction counts)"
echo
echo "(instr/stmt includes opening the connection, spread over 20000 statements)"

echo
echo "Jobs against the same work done directly (60000 rows of 1 KB; median of 3 alternating rounds)"
jcsv=bench/jobs.csv
tool/bench_jobs 60000 3 20 > $jcsv
printf "  %-10s %12s %12s %8s\n" kind "direct ms" "job ms" ratio
awk -F, '$1=="throughput"{printf "  %-10s %12s %12s %8s\n", $2, $3, $4, $5}' $jcsv
echo
echo "From cancel_job to status 'canceled', cleanup done (ms)"
printf "  %-10s %8s %8s %8s %8s\n" kind trials p50 p99 max
awk -F, '$1=="cancel"{printf "  %-10s %8s %8s %8s %8s\n", $2, $3, $4, $5, $6}' $jcsv
echo
echo "written: $csv, $jcsv"
