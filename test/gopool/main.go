// gopool: the extension from Go, through database/sql and Debian's
// go-sqlite3 (github.com/mattn/go-sqlite3). A driver registered with the
// extension in its Extensions list loads it into every connection the
// pool opens; a goroutine runs a long query on one pooled connection and
// another goroutine, on another pooled connection, finds it in `sessions`
// and stops it with pg_cancel_backend(pid).
//
// Handshakes, not sleeps: the long query calls ready() (a Go function the
// ConnectHook registers on every connection) from inside, and the
// canceller then reads `sessions` until the query is listed as active
// with its text; only then does it cancel.
//
//	gopool EXT DB     EXT: the extension without ".so", DB: a database file
//
// Prints "N passed, N failed" last; exits 1 on any failure. test/gotest.sh
// builds and runs it (make test).
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// LONG runs for minutes unless stopped; it calls ready() once, early.
const LONG = "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c " +
	"WHERE x<2000000000) SELECT count(*) FROM c WHERE x=5 AND ready() OR x<0"

// MEDIUM runs long enough to be listed (tens of milliseconds), then
// returns 300000.
const MEDIUM = "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c " +
	"WHERE x<300000) SELECT count(*) FROM c"

var nPass, nFail int

func check(name string, got, want interface{}) {
	if fmt.Sprint(got) == fmt.Sprint(want) {
		nPass++
		return
	}
	nFail++
	fmt.Printf("! go-%s failed\n!   expected: %v\n!   got:      %v\n", name, want, got)
}

// readyCh receives the pid of each connection whose statement called
// ready(); each connection's hook knows its own pid.
var readyCh = make(chan int64, 16)

// errText is what a Go program sees of an error: the go-sqlite3 code and
// message, or the error's text.
func errText(err error) string {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return fmt.Sprintf("%v: %v", se.Code, err)
	}
	if err == nil {
		return "no error"
	}
	return err.Error()
}

func one(q interface {
	QueryRowContext(context.Context, string, ...interface{}) *sql.Row
}, sqlText string, args ...interface{}) (string, error) {
	var v sql.NullString
	err := q.QueryRowContext(context.Background(), sqlText, args...).Scan(&v)
	if !v.Valid {
		return "NULL", err
	}
	return v.String, err
}

func must(q interface {
	QueryRowContext(context.Context, string, ...interface{}) *sql.Row
}, sqlText string, args ...interface{}) string {
	v, err := one(q, sqlText, args...)
	if err != nil {
		return "error: " + errText(err)
	}
	return v
}

// waitActive reads `sessions` (from the pool, so from a connection other
// than the target's) until a session runs sqlText; returns its pid, or 0
// after 30 s (the run then ends). A listing needs the statement to have run about a hundred
// VM instructions after ready(): the reads repeat until then.
func waitActive(db *sql.DB, sqlText string) int64 {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pid int64
		err := db.QueryRow("SELECT pid FROM sessions WHERE status='active' AND active_query=?",
			sqlText).Scan(&pid)
		if err == nil {
			return pid
		}
		time.Sleep(time.Millisecond)
	}
	giveUp("a statement listed as active within 30 s", "none")
	return 0
}

// waitReady takes the next ready() announcement (after 30 s without one,
// the run ends).
func waitReady() int64 {
	select {
	case pid := <-readyCh:
		return pid
	case <-time.After(30 * time.Second):
		giveUp("ready() called within 30 s", "not called")
		return 0
	}
}

// giveUp ends the run when a handshake fails: what follows would only
// wait out its own 30 s deadlines.
func giveUp(want, got string) {
	check("handshake", got, want)
	fmt.Printf("%d passed, %d failed\n", nPass, nFail)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: gopool EXT DB")
		os.Exit(2)
	}
	ext, dbPath := os.Args[1], os.Args[2]
	for _, f := range []string{dbPath, dbPath + "-journal", dbPath + "-wal", dbPath + "-cancel"} {
		os.Remove(f)
	}

	// Every connection the pool opens loads the extension (go-sqlite3
	// enables loading, loads, and disables it again), then the hook
	// registers ready() with the connection's own pid.
	sql.Register("sqlite3_cancel", &sqlite3.SQLiteDriver{
		Extensions: []string{ext},
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			rows, err := c.Query("SELECT pg_backend_pid()", nil)
			if err != nil {
				return err
			}
			v := make([]driver.Value, 1)
			err = rows.Next(v)
			rows.Close()
			if err != nil {
				return err
			}
			pid := v[0].(int64)
			return c.RegisterFunc("ready", func() int64 {
				readyCh <- pid
				return 1
			}, false)
		},
	})
	db, err := sql.Open("sqlite3_cancel", dbPath)
	if err != nil {
		fmt.Println("! open:", err)
		os.Exit(1)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	ctx := context.Background()

	// 1. The pool: every connection is a session.
	check("version", must(db, "SELECT cancel_version()"), "0.3.0")
	fmt.Println("go-sqlite3 runs SQLite", must(db, "SELECT sqlite_version()"))
	var conns []*sql.Conn
	pids := map[string]bool{}
	for i := 0; i < 4; i++ {
		c, err := db.Conn(ctx)
		if err != nil {
			check("conn", errText(err), "no error")
			break
		}
		conns = append(conns, c)
		pids[must(c, "SELECT pg_backend_pid()")] = true
	}
	check("pool.pids", len(pids), 4)
	check("pool.sessions", must(conns[0], "SELECT count(*) FROM sessions"), 4)
	check("pool.threading", must(conns[0], "SELECT group_concat(DISTINCT threading) FROM sessions"), "serialized")
	// go-sqlite3 turns loading off again once the extension is in: SQL
	// cannot load another library.
	_, err = one(conns[1], "SELECT load_extension('./nosuch')")
	check("pool.load_extension_off", errText(err), "SQL logic error: not authorized")
	for _, c := range conns {
		c.Close()
	}
	_, err = db.Exec("CREATE TABLE t(x); INSERT INTO t VALUES(1),(2),(3)")
	check("create", errText(err), "no error")

	// 2. A query on some pooled connection, found by its text in
	// `sessions` from another goroutine on another pooled connection, and
	// cancelled by pid.
	{
		done := make(chan error, 1)
		go func() {
			var n int64
			done <- db.QueryRow(LONG).Scan(&n)
		}()
		rpid := waitReady()
		pid := waitActive(db, LONG)
		check("pool.listed", pid != 0 && pid == rpid, true)
		check("pool.cancel", must(db, "SELECT pg_cancel_backend(?)", pid), 1)
		err := <-done
		check("pool.interrupted", errText(err), "interrupted: interrupted")
		var se sqlite3.Error
		check("pool.code", errors.As(err, &se) && se.Code == sqlite3.ErrInterrupt, true)
		check("pool.log", must(db, "SELECT action || ' ' || outcome FROM cancel_log "+
			"WHERE target_pid=? ORDER BY id DESC LIMIT 1", pid), "pg_cancel_backend interrupted")
		check("pool.usable", must(db, "SELECT sum(x) FROM t"), 6)
	}

	// 3. A pinned connection (db.Conn): the same connection after the
	// cancel is usable, and its next statements are not hit; 20 rounds,
	// each next statement started right after the failure returns.
	target, _ := db.Conn(ctx)
	tpid := must(target, "SELECT pg_backend_pid()")
	for round := 0; round < 20; round++ {
		done := make(chan error, 1)
		go func() {
			var n int64
			done <- target.QueryRowContext(ctx, LONG).Scan(&n)
		}()
		waitReady()
		pid := waitActive(db, LONG)
		ok := fmt.Sprint(pid) == tpid
		n := must(db, "SELECT pg_cancel_backend(?)", pid)
		err := <-done
		next := must(target, MEDIUM)
		after := must(target, "SELECT sum(x) FROM t")
		if round == 0 || !ok || n != "1" || errText(err) != "interrupted: interrupted" ||
			next != "300000" || after != "6" {
			check(fmt.Sprintf("pinned.%d.listed", round), ok, true)
			check(fmt.Sprintf("pinned.%d.cancel", round), n, 1)
			check(fmt.Sprintf("pinned.%d.interrupted", round), errText(err), "interrupted: interrupted")
			check(fmt.Sprintf("pinned.%d.next", round), next, 300000)
			check(fmt.Sprintf("pinned.%d.after", round), after, 6)
		} else {
			nPass++
		}
	}
	check("pinned.reason", strings.HasPrefix(must(target, "SELECT cancel_reason()"),
		"cancelled by pg_cancel_backend"), true)

	// 4. A cancel of an idle connection is a no-op now and later.
	check("idle.cancel", must(db, "SELECT pg_cancel_backend(?)", tpid), 1)
	check("idle.log", must(db, "SELECT outcome FROM cancel_log WHERE target_pid=? ORDER BY id DESC LIMIT 1", tpid), "idle")
	check("idle.next", must(target, MEDIUM), 300000)

	// 5. A statement timeout set on a pinned connection: set through
	// db.Exec it would land on whichever connection the pool picked.
	check("timeout.set", must(target, "SELECT set_statement_timeout(200)"), 200)
	check("timeout.listed", must(db, "SELECT group_concat(statement_timeout) FROM sessions WHERE pid=?", tpid), 200)
	check("timeout.others", must(db, "SELECT count(*) FROM sessions WHERE pid<>? AND statement_timeout<>0", tpid), 0)
	{
		t0 := time.Now()
		var n int64
		err := target.QueryRowContext(ctx, LONG).Scan(&n)
		ms := time.Since(t0).Milliseconds()
		waitReady()
		check("timeout.interrupted", errText(err), "interrupted: interrupted")
		check("timeout.not_before", ms >= 200, true)
		check("timeout.bounded", ms < 20000, true)
		check("timeout.reason", strings.HasPrefix(must(target, "SELECT cancel_reason()"),
			"cancelled by statement_timeout (200 ms)"), true)
		check("timeout.next", must(target, "SELECT sum(x) FROM t"), 6)
		// another pooled connection has no timeout: MEDIUM and more run
		check("timeout.pool", must(db, MEDIUM), 300000)
	}
	check("timeout.off", must(target, "SELECT set_statement_timeout(0)"), 0)
	check("timeout.off.medium", must(target, MEDIUM), 300000)

	// 6. go-sqlite3's own way: a cancelled context makes it call
	// sqlite3_interrupt on the connection. It needs the goroutine's
	// context; pg_cancel_backend needs only the pid (or query_id) from
	// `sessions`, from any connection of any process on the database.
	{
		logged := must(db, "SELECT count(*) FROM cancel_log")
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			var n int64
			done <- target.QueryRowContext(cctx, LONG).Scan(&n)
		}()
		waitReady()
		check("context.listed", fmt.Sprint(waitActive(db, LONG)), tpid)
		cancel()
		err := <-done
		check("context.error", errors.Is(err, context.Canceled), true)
		check("context.next", must(target, "SELECT sum(x) FROM t"), 6)
		// (the extension did not cancel it: nothing new in its log)
		check("context.log", must(db, "SELECT count(*) FROM cancel_log"), logged)
	}

	// 7. Cancelling by query_id: a query that has ended is not hit, nor
	// is the one after it.
	{
		done := make(chan error, 1)
		go func() {
			var n int64
			done <- target.QueryRowContext(ctx, LONG).Scan(&n)
		}()
		waitReady()
		waitActive(db, LONG)
		qid := must(db, "SELECT query_id FROM sessions WHERE pid=?", tpid)
		check("query_id.cancel", must(db, "SELECT cancel_query(?)", qid), 1)
		check("query_id.interrupted", errText(<-done), "interrupted: interrupted")
		check("query_id.again", must(db, "SELECT cancel_query(?, 1)", qid), 0)
		check("query_id.next", must(target, MEDIUM), 300000)
	}

	// 8. Errors reach Go as errors with the extension's messages.
	_, err = one(db, "SELECT pg_cancel_backend('x')")
	check("error.pid", errText(err), "SQL logic error: pg_cancel_backend: pid must be an integer")
	check("error.nosuch", must(db, "SELECT pg_cancel_backend(2147483647)"), 0)

	// 9. Many goroutines at once, each on its own pooled connection,
	// cancelled in one statement from another.
	{
		target.Close()
		db.SetMaxOpenConns(5)
		var wg sync.WaitGroup
		errs := make([]string, 4)
		for i := range errs {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				var n int64
				errs[i] = errText(db.QueryRow(LONG).Scan(&n))
			}(i)
		}
		for i := 0; i < 4; i++ {
			waitReady()
		}
		deadline := time.Now().Add(30 * time.Second)
		for must(db, "SELECT count(*) FROM sessions WHERE status='active' AND active_query=?", LONG) != "4" &&
			time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		check("bulk.cancel", must(db, "SELECT count(pg_cancel_backend(pid)) FROM sessions "+
			"WHERE status='active' AND active_query=?", LONG), 4)
		wg.Wait()
		check("bulk.errors", strings.Join(errs, ","), strings.Repeat("interrupted: interrupted,", 3)+"interrupted: interrupted")
		check("bulk.usable", must(db, "SELECT sum(x) FROM t"), 6)
	}

	// 10. The race go-sqlite3's users reported (an interrupt meant for one
	// query stopping the next one on the connection): for 2 s a pinned
	// connection runs VICTIM and SAFE in turn while another goroutine
	// cancels each VICTIM it sees by its query_id, often as it ends.
	// SAFE must never be stopped.
	{
		const VICTIM = "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c " +
			"WHERE x<3000) SELECT count(*) FROM c"
		const SAFE = "WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c " +
			"WHERE x<3001) SELECT count(*) FROM c"
		c, _ := db.Conn(ctx)
		pid := must(c, "SELECT pg_backend_pid()")
		stop := make(chan struct{})
		var nCancel int
		cancelled := make(chan struct{})
		go func() {
			defer close(cancelled)
			for {
				select {
				case <-stop:
					return
				default:
				}
				n, err := one(db, "SELECT count(cancel_query(query_id, 1)) FROM sessions "+
					"WHERE pid=? AND active_query=?", pid, VICTIM)
				if err == nil && n == "1" {
					nCancel++
				}
			}
		}()
		var nVictim, nHit, nSafe, nMisfire, nOther int
		var other string
		for t0 := time.Now(); time.Since(t0) < 2*time.Second; {
			for _, q := range []string{VICTIM, SAFE} {
				v, err := one(c, q)
				switch {
				case err == nil && q == SAFE && v == "3001":
					nSafe++
				case err == nil && q == VICTIM && v == "3000":
					nVictim++
				case errText(err) == "interrupted: interrupted" && q == VICTIM:
					nHit++
				case errText(err) == "interrupted: interrupted":
					nMisfire++
				default:
					nOther++
					other = v + " " + errText(err)
				}
			}
		}
		close(stop)
		<-cancelled
		fmt.Printf("race: %d victims stopped, %d finished first, %d safe run, %d cancels asked; the last of them in cancel_log: %s\n",
			nHit, nVictim, nSafe, nCancel, must(db, "SELECT group_concat(n || ' ' || outcome, ', ') FROM "+
				"(SELECT outcome, count(*) AS n FROM cancel_log WHERE target_pid=? GROUP BY outcome)", pid))
		check("race.misfires", nMisfire, 0)
		check("race.other", nOther, 0)
		if nOther > 0 {
			fmt.Println("!   last other result:", other)
		}
		check("race.hit", nHit > 0, true)
		check("race.safe", nSafe > 0, true)
		check("race.usable", must(c, "SELECT sum(x) FROM t"), 6)
		c.Close()
	}

	db.Close()
	fmt.Printf("%d passed, %d failed\n", nPass, nFail)
	if nFail > 0 {
		os.Exit(1)
	}
}
