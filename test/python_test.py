#!/usr/bin/python3
# python_test.py: the extension from Debian's python3 sqlite3 module. A
# thread pool of worker connections runs queries and writes while an
# admin connection lists and cancels them by every method of SPEC section
# 3, and the workers get the exceptions a Python user would see. Each
# worker's statement announces that it has started by calling ready()
# (a Python function registered on its connection), so the admin acts on
# a running statement: a handshake, not a sleep.
#
# Prints "N passed, N failed" last, like the Tcl tests; exits 1 on failure.
import os, sqlite3, sys, threading, time, traceback
from concurrent.futures import ThreadPoolExecutor

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.environ.get("CANCEL_EXT") or os.path.join(TOP, "cancel")
DB = os.path.join(TOP, "build", "tmp", "python_test.db")
LONG = ("WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c "
        "WHERE x<200000000) SELECT count(*) FROM c WHERE x=5 AND ready() OR x<0")

passed = failed = 0

def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f"! python-{name} failed\n!   expected: {want!r}\n!   got:      {got!r}")

def connect(timeout=0.0):
    db = sqlite3.connect(DB, timeout=timeout, isolation_level=None,
                         check_same_thread=False)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    return db

class Worker:
    """A connection used by one pool thread; run() reports the outcome."""
    def __init__(self):
        self.db = connect()
        self.started = threading.Event()
        self.db.create_function("ready", 0, self._ready)
        self.pid = self.db.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.sid = self.db.execute("SELECT session_id()").fetchone()[0]
    def _ready(self):
        self.started.set()
        return 1
    def run(self, sql):
        try:
            return ("ok", self.db.execute(sql).fetchall())
        except sqlite3.Error as e:
            return (type(e).__name__, str(e))

def wait_status(admin, pid, want, timeout=30.0):
    """The status of session pid once it is want, or the last one seen."""
    deadline = time.monotonic() + timeout
    while True:
        st = admin.execute("SELECT status FROM sessions WHERE pid=?", (pid,)).fetchone()[0]
        if st == want or time.monotonic() > deadline: return st
        time.sleep(0.001)

def query_id(admin, pid):
    return admin.execute("SELECT query_id FROM sessions WHERE pid=?", (pid,)).fetchone()[0]

def main():
    os.makedirs(os.path.dirname(DB), exist_ok=True)
    for f in (DB, DB + "-journal"):
        if os.path.exists(f): os.remove(f)
    admin = connect()
    admin.execute("CREATE TABLE t(x)")
    check("version", admin.execute("SELECT cancel_version()").fetchone()[0], "0.3.0")

    pool = ThreadPoolExecutor(max_workers=4)

    # each cancelling method against a running query of a pool worker
    methods = {
        "cancel_query":      lambda w: admin.execute("SELECT cancel_query(?)", (query_id(admin, w.pid),)).fetchone()[0],
        "pg_cancel_backend": lambda w: admin.execute("SELECT pg_cancel_backend(?)", (w.pid,)).fetchone()[0],
    }
    for name, cancel in methods.items():
        w = Worker()
        fut = pool.submit(w.run, LONG)
        w.started.wait(30)
        # (a statement is listed once it has run about a hundred VM
        # instructions: ready() is called before that)
        check(name + ".status", wait_status(admin, w.pid, "active"), "active")
        check(name + ".result", cancel(w), 1)
        check(name + ".worker", fut.result(30), ("OperationalError", "interrupted"))
        check(name + ".usable", w.run("SELECT 1"), ("ok", [(1,)]))
        w.db.close()

    # terminating methods: the running query is interrupted, later
    # statements are refused
    terminators = {
        "cancel_session":       lambda w: admin.execute("SELECT cancel_session(?)", (w.sid,)).fetchone()[0],
        "cancel_sessions":      lambda w: admin.execute("SELECT cancel_sessions('SELECT session_id FROM sessions WHERE pid=' || ?)", (w.pid,)).fetchone()[0],
        "pg_terminate_backend": lambda w: admin.execute("SELECT pg_terminate_backend(?)", (w.pid,)).fetchone()[0],
        "DELETE FROM sessions": lambda w: admin.execute("DELETE FROM sessions WHERE pid=?", (w.pid,)).rowcount,
    }
    for name, terminate in terminators.items():
        w = Worker()
        fut = pool.submit(w.run, LONG)
        w.started.wait(30)
        check(name + ".result", terminate(w), 1)
        # (or "not authorized", if the termination's rollback came between
        # the failure and the reading of its message)
        check(name + ".worker", fut.result(30) in (("OperationalError", "interrupted"),
                                                   ("DatabaseError", "not authorized")), True)
        admin.execute("SELECT pg_terminate_backend(?, 10000)", (w.pid,))
        check(name + ".refused", pool.submit(w.run, "INSERT INTO t VALUES(0)").result(30),
              ("DatabaseError", "not authorized"))
        w.db.close()

    # a worker idle in a transaction holding the write lock: terminating
    # it lets another writer in at once; its write is gone
    w = Worker()
    pool.submit(w.run, "BEGIN").result()
    pool.submit(w.run, "INSERT INTO t VALUES('lost')").result()
    writer = connect()
    try:
        writer.execute("INSERT INTO t VALUES('blocked')")
        check("locked", "no error", "database is locked")
    except sqlite3.OperationalError as e:
        check("locked", str(e), "database is locked")
    check("terminate.idle", admin.execute("SELECT cancel_session(?)", (w.sid,)).fetchone()[0], 1)
    writer.execute("INSERT INTO t VALUES('other')")
    check("terminate.rows", [r[0] for r in admin.execute("SELECT x FROM t")], ["other"])
    check("terminate.commit", pool.submit(w.run, "COMMIT").result(),
          ("DatabaseError", "not authorized"))
    # what a connection pool does with a failed statement: ask
    # cancel_reason() whether the connection was terminated (discard it)
    # or the statement simply failed (keep it)
    import re
    def pool_check(db, sql):
        try:
            return ("ok", db.execute(sql).fetchall())
        except sqlite3.Error as e:
            why = db.execute("SELECT cancel_reason()").fetchone()[0]
            if why and why.startswith("terminated"):
                return ("discard", str(e), re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$", "T", why))
            return ("keep", str(e), why)
    apid = admin.execute("SELECT pg_backend_pid()").fetchone()[0]
    user = admin.execute("SELECT user_name FROM sessions WHERE pid=?", (apid,)).fetchone()[0]
    check("reason.terminated", pool.submit(pool_check, w.db, "SELECT x FROM t").result(),
          ("discard", "access to t.x is prohibited",
           f"terminated by cancel_session: user {user}, pid {apid}, at T"))
    w.db.close()
    w = Worker()
    check("reason.real_error", pool.submit(pool_check, w.db, "SELECT * FROM nosuch").result(),
          ("keep", "no such table: nosuch", None))
    w.db.execute("SELECT set_statement_timeout(20)")
    r = pool.submit(pool_check, w.db, LONG).result()
    check("reason.timeout", (r[0], r[1], re.sub(r"at .*", "at T", r[2] or "")),
          ("keep", "interrupted", "cancelled by statement_timeout (20 ms) at T"))
    w.db.close()

    # many workers at once, cancelled in bulk by SELECT
    ws = [Worker() for _ in range(4)]
    for w in ws:
        w.db.execute("SELECT set_application_name('batch')")
    futs = [pool.submit(w.run, LONG) for w in ws]
    for w in ws:
        w.started.wait(30)
    n = admin.execute("SELECT count(pg_cancel_backend(pid)) FROM sessions WHERE application_name='batch'").fetchone()[0]
    check("bulk.count", n, 4)
    check("bulk.workers", [f.result(30) for f in futs], [("OperationalError", "interrupted")] * 4)
    for w in ws:
        w.db.close()

    # errors surface as Python exceptions with the extension's messages
    try:
        admin.execute("SELECT cancel_query('nope')")
        check("error", "no error", "invalid")
    except sqlite3.OperationalError as e:
        check("error", str(e), "invalid query ID 'nope': expected 32 hex digits")

    # a job from Python
    job = admin.execute("SELECT job_exec('INSERT INTO t VALUES(1); INSERT INTO t VALUES(2);')").fetchone()[0]
    check("job", admin.execute("SELECT job_wait(?)", (job,)).fetchone()[0], "succeeded")

    # hooks taken over by the application (doc/hooks.md)
    MEDIUM = ("WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c "
              "WHERE x<1500000) SELECT count(*) FROM c")
    def hooks(w):
        return admin.execute("SELECT hooks FROM sessions WHERE pid=?", (w.pid,)).fetchone()[0]
    def outcome():
        return admin.execute("SELECT outcome FROM cancel_log ORDER BY id DESC LIMIT 1").fetchone()[0]
    # set_progress_handler: detected after a long statement; a cancel is
    # then delivered by sqlite3_interrupt and stops the statement
    w = Worker()
    w.db.set_progress_handler(lambda: 0, 1000)
    check("progress.before", hooks(w), "ok")
    check("progress.medium", w.run(MEDIUM), ("ok", [(1500000,)]))
    check("progress.hooks", hooks(w), "progress taken")
    fut = pool.submit(w.run, LONG)
    w.started.wait(30)
    check("progress.cancel", admin.execute("SELECT pg_cancel_backend(?)", (w.pid,)).fetchone()[0], 1)
    check("progress.worker", fut.result(30), ("OperationalError", "interrupted"))
    check("progress.outcome", outcome(), "interrupt sent: progress handler taken over by the application")
    check("progress.usable", w.run("SELECT 1"), ("ok", [(1,)]))
    w.db.close()
    # set_trace_callback: detected; a cancel is not delivered and says so
    w = Worker()
    traced = []
    w.db.set_trace_callback(traced.append)
    check("trace.medium", w.run(MEDIUM), ("ok", [(1500000,)]))
    check("trace.hooks", hooks(w), "trace taken")
    check("trace.cancel", admin.execute("SELECT pg_cancel_backend(?)", (w.pid,)).fetchone()[0], 0)
    check("trace.outcome", outcome(), "not delivered: trace taken over by the application")
    check("trace.app", MEDIUM in traced, True)       # the application's own trace works
    w.db.close()
    # PRAGMA busy_timeout after loading: adopted, the wait shows 'waiting'
    # and a cancel ends it
    w = Worker()
    w.db.execute("PRAGMA busy_timeout=60000")
    writer.execute("BEGIN IMMEDIATE")
    fut = pool.submit(w.run, "INSERT INTO t VALUES('waits')")
    status = None
    for _ in range(10000):
        status = admin.execute("SELECT status FROM sessions WHERE pid=?", (w.pid,)).fetchone()[0]
        if status == "waiting": break
        threading.Event().wait(0.002)
    check("busy.status", status, "waiting")
    check("busy.cancel", admin.execute("SELECT pg_cancel_backend(?)", (w.pid,)).fetchone()[0], 1)
    check("busy.worker", fut.result(30), ("OperationalError", "database is locked"))
    writer.execute("COMMIT")
    w.db.close()

    pool.shutdown()
    writer.close()
    admin.close()

try:
    main()
except Exception:
    traceback.print_exc()
    failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
