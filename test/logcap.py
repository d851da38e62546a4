# logcap.py: a process whose sqlite3_log lines a test can read (the Tcl
# binding has no way to install SQLite's log callback).
#
#   python3 test/logcap.py DB EXTENSION N SQL...
#
# Opens N connections to DB with the extension loaded, then runs each SQL
# on the last one. Prints, in order: "log CODE MESSAGE" for every
# sqlite3_log line, "row A|B|..." for every result row, "error MESSAGE".
import ctypes, sys

lib = ctypes.CDLL("libsqlite3.so.0")
LOG = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
ROW = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                       ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p)

@LOG
def on_log(arg, code, msg):
    print("log %d %s" % (code, msg.decode()), flush=True)

@ROW
def on_row(arg, n, values, names):
    print("row " + "|".join("" if values[i] is None else values[i].decode()
                            for i in range(n)), flush=True)
    return 0

lib.sqlite3_config.argtypes = [ctypes.c_int, LOG, ctypes.c_void_p]
if lib.sqlite3_config(16, on_log, None) != 0:         # SQLITE_CONFIG_LOG
    sys.exit("logcap.py: sqlite3_config failed")
lib.sqlite3_load_extension.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                       ctypes.c_void_p, ctypes.c_void_p]
lib.sqlite3_exec.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ROW,
                             ctypes.c_void_p, ctypes.c_void_p]
lib.sqlite3_errmsg.restype = ctypes.c_char_p

dbfile, ext, n = sys.argv[1].encode(), sys.argv[2].encode(), int(sys.argv[3])
conns = []
for i in range(n):
    db = ctypes.c_void_p()
    if lib.sqlite3_open(dbfile, ctypes.byref(db)) != 0:
        sys.exit("logcap.py: cannot open %s" % sys.argv[1])
    lib.sqlite3_enable_load_extension(db, 1)
    err = ctypes.c_char_p()
    if lib.sqlite3_load_extension(db, ext, None, ctypes.byref(err)) != 0:
        sys.exit("logcap.py: cannot load %s: %s" % (sys.argv[2], err.value))
    conns.append(db)
for sql in sys.argv[4:]:
    if lib.sqlite3_exec(conns[-1], sql.encode(), on_row, None, None) != 0:
        print("error " + lib.sqlite3_errmsg(conns[-1]).decode(), flush=True)
for db in conns:
    lib.sqlite3_close(db)
