# benchchart.awk: bench/latency.csv -> an SVG bar chart of p99 cancel
# latency per kind of target and per method, on a log scale (10 us to
# 1 s). Used by tool/bench.sh.
BEGIN { FS = ","; nk = 0
  split("raw inproc xproc postgres", M, " ")
  split("sqlite3_interrupt (floor)|cancel_query in-process|cancel_query cross-process|PostgreSQL pg_cancel_backend", L, "|")
  split("#888888 #2b7bb9 #e07b39 #5a9e4b", C, " ")
}
NR > 1 { if (!($1 in seen)) { seen[$1] = 1; K[++nk] = $1 }; v[$1, $2] = $5 }
function y(us) { if (us < 10) us = 10; return 300 - 250 * (log(us/10)/log(10)) / 5 }
END {
  w = 80 + nk * 120 + 230
  printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"350\" font-family=\"sans-serif\" font-size=\"11\">\n", w
  print "<text x=\"10\" y=\"20\" font-size=\"13\">p99 cancel latency (log scale)</text>"
  split("10 us|100 us|1 ms|10 ms|100 ms|1 s", T, "|")
  for (i = 0; i <= 5; i++) {
    yy = 300 - 50 * i
    printf "<line x1=\"60\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>", 60 + nk * 120, yy, yy
    printf "<text x=\"55\" y=\"%d\" text-anchor=\"end\">%s</text>\n", yy + 4, T[i+1]
  }
  for (k = 1; k <= nk; k++) {
    x0 = 70 + (k-1) * 120
    for (m = 1; m <= 4; m++) {
      if (!((K[k], M[m]) in v)) continue
      yy = y(v[K[k], M[m]])
      printf "<rect x=\"%d\" y=\"%.1f\" width=\"22\" height=\"%.1f\" fill=\"%s\"><title>%s %s: %s us</title></rect>\n", x0 + (m-1) * 25, yy, 300 - yy, C[m], K[k], M[m], v[K[k], M[m]]
    }
    printf "<text x=\"%d\" y=\"318\" text-anchor=\"middle\">%s</text>\n", x0 + 50, K[k]
  }
  for (m = 1; m <= 4; m++) {
    ly = 60 + (m-1) * 20
    printf "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", 80 + nk * 120, ly, C[m], 98 + nk * 120, ly + 10, L[m]
  }
  print "</svg>"
}
