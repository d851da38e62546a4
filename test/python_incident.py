#!/usr/bin/python3
# python_incident.py: the incident, from Python. Another process (a child
# python3) holds the database locked with BEGIN EXCLUSIVE and a pending
# write; this process watches the database from an in-memory connection
# (cancel_watch), finds the holder, terminates it, and a writer that was
# waiting goes on. Both journal modes. The child says when it holds the
# lock and when it has seen its termination over a pipe: a handshake, not
# a sleep.
#
# Prints "N passed, N failed" last, like the Tcl tests; exits 1 on failure.
import os, sqlite3, subprocess, sys, threading

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXT = os.environ.get("CANCEL_EXT") or os.path.join(TOP, "cancel")
TMP = os.path.join(TOP, "build", "tmp")

passed = failed = 0

def check(name, got, want):
    global passed, failed
    if got == want:
        passed += 1
    else:
        failed += 1
        print(f"! python-incident-{name} failed\n!   expected: {want!r}\n!   got:      {got!r}")

def connect(path, timeout=0.0):
    db = sqlite3.connect(path, timeout=timeout, isolation_level=None,
                         check_same_thread=False)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    return db

# The holder: loads the extension, takes the write lock, reports its pid,
# then waits for a line on stdin before its next statement.
HOLDER = r"""
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, check_same_thread=False)
db.enable_load_extension(True)
db.load_extension(sys.argv[2])
db.execute("SELECT set_application_name('billing')")
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT INTO orders(item) VALUES('pen')")
print(db.execute("SELECT pg_backend_pid()").fetchone()[0], flush=True)
sys.stdin.readline()
try:
    db.execute("SELECT count(*) FROM orders").fetchall()
    print("still usable", flush=True)
except sqlite3.Error as e:
    print(type(e).__name__, e, flush=True)
"""

def run(mode):
    path = os.path.join(TMP, f"python_incident_{mode}.db")
    for x in ("", "-journal", "-wal", "-shm", "-cancel"):
        if os.path.exists(path + x): os.remove(path + x)
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute(f"PRAGMA journal_mode={mode}")
    setup.execute("CREATE TABLE orders(id INTEGER PRIMARY KEY, item TEXT)")
    setup.execute("INSERT INTO orders(item) VALUES('book')")
    setup.close()

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path, EXT],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = int(holder.stdout.readline())

    # Loading into a new connection of the locked database does not wait
    # for the lock (a one-hour busy timeout would show it).
    late = connect(path, timeout=3600)
    check(f"{mode}.late.cancel", late.execute("SELECT pg_cancel_backend(?)", (pid,)).fetchone()[0], 1)

    watcher = connect(":memory:")
    check(f"{mode}.watch", watcher.execute("SELECT cancel_watch(?)", (path,)).fetchone()[0],
          "watching: shared: " + os.path.realpath(path) + "-cancel")
    check(f"{mode}.listed", watcher.execute(
        "SELECT pid, application_name, status, xact_kind FROM sessions "
        "WHERE node_id<>?", (os.getpid(),)).fetchall(),
        [(pid, "billing", "idle in transaction", "write")])
    # this process's own session on the database is listed too
    check(f"{mode}.listed.own", watcher.execute(
        "SELECT count(*) FROM sessions WHERE node_id=?", (os.getpid(),)).fetchone()[0], 1)

    # A writer waits (a long busy timeout: it is not what ends the wait).
    writer = connect(path)
    writer.execute("SELECT set_busy_timeout(3600000)")
    wpid = writer.execute("SELECT pg_backend_pid()").fetchone()[0]
    result = []
    t = threading.Thread(target=lambda: result.append(
        writer.execute("INSERT INTO orders(item) VALUES('lamp')").rowcount))
    t.start()
    while watcher.execute("SELECT status FROM sessions WHERE pid=?", (wpid,)).fetchone() != ("waiting",):
        pass
    check(f"{mode}.terminate", watcher.execute(
        "SELECT pg_terminate_backend(?, 10000)", (pid,)).fetchone()[0], 1)
    t.join(60)
    check(f"{mode}.writer", result, [1])
    check(f"{mode}.rows", [r[0] for r in writer.execute("SELECT item FROM orders ORDER BY id")],
          ["book", "lamp"])
    check(f"{mode}.gone", watcher.execute(
        "SELECT count(*) FROM sessions WHERE pid=?", (pid,)).fetchone()[0], 0)

    # The holder's application finds out at its next statement.
    holder.stdin.write("go\n"); holder.stdin.flush()
    out = holder.stdout.readline().strip()
    check(f"{mode}.holder", out.startswith("DatabaseError") or out.startswith("OperationalError"), True)
    holder.wait(60)
    for db in (late, watcher, writer): db.close()

def main():
    os.makedirs(TMP, exist_ok=True)
    for mode in ("delete", "wal"):
        run(mode)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)

main()
