// cancel.js: the extension in Node.js with better-sqlite3 12.11.1, whose
// SQLite (3.53.2) is built without the progress callback and without
// connection mutexes (SQLITE_OMIT_PROGRESS_CALLBACK, SQLITE_THREADSAFE=2):
// cancels then go by sqlite3_interrupt() (doc/hooks.md).
//
//   node test/node/cancel.js EXT DB     last line "N passed, N failed"
//
// A worker_thread runs synchronous queries; the main thread (and another
// Node process) finds them in `sessions` and stops them. Every handshake
// is a statement the test waits to see listed, or a message; no sleeps.
'use strict';
const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');
const { fork } = require('child_process');
const Database = require(process.env.BETTER_SQLITE3 || 'better-sqlite3');

const LONG = (tag, n) =>
  `WITH RECURSIVE c(x) AS (VALUES(1) UNION ALL SELECT x+1 FROM c WHERE x<${n}) ` +
  `SELECT count(*) AS n, '${tag}' AS tag FROM c`;
const ENDLESS = (tag) => LONG(tag, 2000000000);

function open(ext, file) {
  const db = new Database(file, { timeout: 0 });
  db.loadExtension(ext);
  return db;
}

// ------------------------------------------------------------- the worker
// Runs what the main thread sends, one message at a time, and answers
// {ok, rows} or {error, code}.
if (!isMainThread && workerData && workerData.role === 'worker') {
  const db = open(workerData.ext, workerData.file);
  parentPort.postMessage({ pid: db.prepare('SELECT pg_backend_pid() AS p').get().p });
  parentPort.on('message', (m) => {
    if (m.race) {
      // victim and safe statements in turn; only victims may be stopped
      let victims = 0, stopped = 0, safeHit = 0, safeRun = 0;
      const until = Date.now() + m.race;
      const flag = new Int32Array(m.flag);
      while (Date.now() < until) {
        try { db.prepare(LONG('victim', 30000)).get(); } catch (e) {
          if (e.code === 'SQLITE_INTERRUPT') stopped++; else throw e;
        }
        victims++;
        try { db.prepare(LONG('safe', 20000)).get(); safeRun++; } catch (e) { safeHit++; }
      }
      Atomics.store(flag, 0, 1);
      parentPort.postMessage({ victims, stopped, safeHit, safeRun });
      return;
    }
    try {
      const st = db.prepare(m.sql);
      parentPort.postMessage({ ok: true, rows: st.reader ? st.all() : (st.run(), []) });
    } catch (e) {
      parentPort.postMessage({ error: e.message, code: e.code });
    }
  });
  return;
}

// ------------------------------------------------ another Node process
if (process.argv[2] === '--peer') {
  const db = open(process.argv[3], process.argv[4]);
  process.on('message', (m) => {
    // wait until pid runs the text, then cancel it from this process
    const find = db.prepare('SELECT status, active_query AS q FROM sessions WHERE pid=?');
    const t0 = Date.now();
    for (;;) {
      const r = find.get(m.pid);
      if (r && r.status === 'active' && r.q && r.q.includes(m.tag)) break;
      if (Date.now() - t0 > 60000) { process.send({ r: 'never listed' }); process.exit(1); }
    }
    const r = db.prepare('SELECT pg_cancel_backend(?) AS r').get(m.pid).r;
    process.send({ r, node: db.prepare('SELECT node_id FROM sessions WHERE pid=pg_backend_pid()').get().node_id });
    db.close();
    process.exit(0);
  });
  return;
}

// ---------------------------------- another Node process cancels a job
if (process.argv[2] === '--peer-job') {
  const db = open(process.argv[3], process.argv[4]);
  process.on('message', (m) => {
    let r;
    try { r = db.prepare('SELECT cancel_job(?) AS r').get(m.job).r; } catch (e) { r = e.message; }
    process.send({ r });
    db.close();
    process.exit(0);
  });
  process.send({ ready: true });
  return;
}

// ------------------------------------------------------------- the main
const [ext, file] = process.argv.slice(2);
let nPass = 0, nFail = 0;
function check(name, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g === w) { nPass++; console.log(`ok ${name}`); }
  else { nFail++; console.log(`! ${name}\n!   got:  ${g}\n!   want: ${w}`); }
}

for (const f of [file, file + '-wal', file + '-shm', file + '-cancel']) {
  try { require('fs').unlinkSync(f); } catch (e) { /* none */ }
}
const db = open(ext, file);
db.exec('CREATE TABLE t(x); INSERT INTO t VALUES(1)');
const worker = new Worker(__filename, { workerData: { role: 'worker', ext, file } });
let pending = null;
worker.on('message', (m) => { const p = pending; pending = null; p(m); });
const ask = (m) => new Promise((res) => { pending = res; worker.postMessage(m); });
const answer = () => new Promise((res) => { pending = res; });
const status = db.prepare('SELECT status, active_query AS q, hooks, threading FROM sessions WHERE pid=?');
function waitRunning(pid, tag) {
  const t0 = Date.now();
  for (;;) {
    const r = status.get(pid);
    if (r && r.status === 'active' && r.q && r.q.includes(tag)) return true;
    if (Date.now() - t0 > 60000) return false;
  }
}
const lastLog = () => db.prepare('SELECT action, outcome FROM cancel_log ORDER BY id DESC LIMIT 1').get();

(async () => {
  const { pid } = await answer();
  console.log('SQLite', db.prepare('SELECT sqlite_version() AS v').get().v,
              '(better-sqlite3', require(path.join(path.dirname(require.resolve(process.env.BETTER_SQLITE3 || 'better-sqlite3')), '..', 'package.json')).version + ')');
  // 1: loaded; how it works here
  const me = status.get(db.prepare('SELECT pg_backend_pid() AS p').get().p);
  check('1.0 hooks', me.hooks, 'no progress handler in this SQLite');
  check('1.1 threading', me.threading, 'multi-thread');
  check('1.2 sessions', db.prepare('SELECT count(*) AS n FROM sessions').get().n, 2);

  // 2: a query on the worker thread, cancelled from the main thread
  let done = ask({ sql: ENDLESS('endless-2') });
  check('2.0 listed', waitRunning(pid, 'endless-2'), true);
  check('2.1 cancel', db.prepare('SELECT pg_cancel_backend(?) AS r').get(pid).r, 1);
  check('2.2 stopped', await done, { error: 'interrupted', code: 'SQLITE_INTERRUPT' });
  check('2.3 log', lastLog(), { action: 'pg_cancel_backend', outcome: 'interrupt sent: this SQLite has no progress handler' });
  check('2.4 next runs', await ask({ sql: 'SELECT 42 AS x' }), { ok: true, rows: [{ x: 42 }] });
  // by query id, the way cancel_query is used
  done = ask({ sql: ENDLESS('endless-2b') });
  check('2.5 listed', waitRunning(pid, 'endless-2b'), true);
  const qid = db.prepare('SELECT query_id FROM sessions WHERE pid=?').get(pid).query_id;
  check('2.6 cancel_query', db.prepare('SELECT cancel_query(?) AS r').get(qid).r, 1);
  check('2.7 stopped', (await done).code, 'SQLITE_INTERRUPT');

  // 3: a statement timeout, enforced by the extension's thread
  await ask({ sql: 'SELECT set_statement_timeout(200)' });
  let t0 = Date.now();
  const r3 = await ask({ sql: ENDLESS('endless-3') });
  check('3.0 timed out', [r3.code, Date.now() - t0 >= 200], ['SQLITE_INTERRUPT', true]);
  const why = (await ask({ sql: 'SELECT cancel_reason() AS w' })).rows[0].w;
  check('3.1 reason', /^cancelled by statement_timeout \(200 ms\) at /.test(why), true);
  await ask({ sql: 'SELECT set_statement_timeout(0)' });

  // 4: a lock wait, cancelled: the worker waits for the write lock the
  // main thread holds (its busy timeout 60 s), and gives up at the cancel
  await ask({ sql: 'PRAGMA busy_timeout=60000' });
  db.exec('BEGIN IMMEDIATE');
  done = ask({ sql: "INSERT INTO t VALUES('waits')" });
  t0 = Date.now();
  let waiting = false;
  while (!waiting && Date.now() - t0 < 60000) waiting = status.get(pid).status === 'waiting';
  check('4.0 waiting', waiting, true);
  check('4.1 cancel', db.prepare('SELECT pg_cancel_backend(?) AS r').get(pid).r, 1);
  check('4.2 gave up', (await done).code, 'SQLITE_BUSY');
  db.exec('ROLLBACK');

  // 5: from another Node process: it waits until the worker's query runs,
  // then cancels it across processes (the registry file)
  const peer = fork(__filename, ['--peer', ext, file]);
  const peerDone = new Promise((res) => peer.on('message', res));
  done = ask({ sql: ENDLESS('endless-5') });
  peer.send({ pid, tag: 'endless-5' });
  const pr = await peerDone;
  check('5.0 peer cancel', [pr.r, pr.node !== process.pid], [1, true]);
  check('5.1 stopped', (await done).code, 'SQLITE_INTERRUPT');
  check('5.2 next runs', await ask({ sql: 'SELECT 7 AS x' }), { ok: true, rows: [{ x: 7 }] });

  // 6: jobs: a backup paused, then resumed to its end; another paused,
  // then cancelled while paused (its partial copy removed)
  db.exec("CREATE TABLE big(x); INSERT INTO big SELECT randomblob(4000) FROM (WITH RECURSIVE c(i) AS (VALUES(1) UNION ALL SELECT i+1 FROM c WHERE i<20000) SELECT i FROM c)");
  const jstat = db.prepare('SELECT status FROM jobs WHERE job_id=?');
  const untilPaused = (jid) => {
    const t1 = Date.now();
    let st = jstat.get(jid).status;
    while (st !== 'paused' && st !== 'succeeded' && Date.now() - t1 < 60000) st = jstat.get(jid).status;
    return st;
  };
  const fs = require('fs');
  const destA = file + '-backup-a.db', destB = file + '-backup-b.db';
  for (const d of [destA, destB]) { try { fs.unlinkSync(d); } catch (e) { /* none */ } }
  const jA = db.prepare('SELECT job_backup(?) AS j').get(destA).j;
  check('6.0 pause', db.prepare('SELECT pause_job(?) AS r').get(jA).r, 1);
  check('6.1 paused', untilPaused(jA), 'paused');
  check('6.2 resume', db.prepare('SELECT resume_job(?) AS r').get(jA).r, 1);
  check('6.3 succeeded', [db.prepare('SELECT job_wait(?, 60000) AS s').get(jA).s, fs.existsSync(destA)], ['succeeded', true]);
  const jB = db.prepare('SELECT job_backup(?) AS j').get(destB).j;
  db.prepare('SELECT pause_job(?)').get(jB);
  check('6.4 paused', untilPaused(jB), 'paused');
  check('6.5 cancel', db.prepare('SELECT cancel_job(?) AS r').get(jB).r, 1);
  check('6.6 canceled', [db.prepare('SELECT job_wait(?, 60000) AS s').get(jB).s, fs.existsSync(destB)], ['canceled', false]);
  // 6.7-6.14: a job_vacuum canceled inside its one statement, VACUUM INTO:
  // here only an interrupt of the job's connection stops it. The handshake: the
  // copy (the part file, which only VACUUM INTO writes) has its first
  // pages. It is kept open, so its size when removed is known: short of
  // half the database, where a VACUUM run to its end writes all of it.
  // Then the same, canceled from another Node process (the registry
  // file; this process's agent thread applies it).
  const full = db.prepare('SELECT page_count*page_size AS n FROM pragma_page_count, pragma_page_size').get().n;
  const peerJob = fork(__filename, ['--peer-job', ext, file]);
  const peerReady = new Promise((res) => peerJob.once('message', res));
  for (const [n, from] of [[7, 'here'], [11, 'another process']]) {
    const destC = `${file}-vacuum-${n}.db`;
    try { fs.unlinkSync(destC); } catch (e) { /* none */ }
    const jC = db.prepare('SELECT job_vacuum(?) AS j').get(destC).j;
    const partC = `${destC}.part-${jC}`;
    let fd = -1;
    for (const t1 = Date.now(); fd < 0 && Date.now() - t1 < 60000;) {
      try { if (fs.statSync(partC).size > 0) fd = fs.openSync(partC, 'r'); } catch (e) { /* not yet */ }
      if (fd < 0 && !['pending', 'running'].includes(jstat.get(jC).status)) break;
    }
    check(`6.${n} copy seen`, fd >= 0, true);
    const tC = process.hrtime.bigint();
    let r;
    if (from === 'here') {
      r = db.prepare('SELECT cancel_job(?) AS r').get(jC).r;
    } else {
      await peerReady;
      const answered = new Promise((res) => peerJob.once('message', res));
      peerJob.send({ job: jC });
      r = (await answered).r;
    }
    check(`6.${n + 1} cancel from ${from}`, r, 1);
    const stC = db.prepare('SELECT job_wait(?, 60000) AS s').get(jC).s;
    const msC = Number(process.hrtime.bigint() - tC) / 1e6;
    const sizeC = fd >= 0 ? fs.fstatSync(fd).size : -1;
    if (fd >= 0) fs.closeSync(fd);
    console.log(`vacuum: canceled from ${from} ${msC.toFixed(1)} ms after cancel_job, its copy at ${sizeC} of ${full} bytes`);
    check(`6.${n + 2} canceled`, [stC, fs.existsSync(destC), fs.existsSync(partC)], ['canceled', false, false]);
    check(`6.${n + 3} inside VACUUM INTO`, sizeC >= 0 && sizeC < full / 2, true);
  }

  // 7: the race a cancel must never lose: for 2 s the worker runs victim
  // and safe statements in turn; the main thread cancels every victim it
  // sees running, by query id. A safe statement is never hit.
  const flag = new SharedArrayBuffer(4);
  const raceDone = ask({ race: 2000, flag });
  const f = new Int32Array(flag);
  const findVictim = db.prepare("SELECT query_id FROM sessions WHERE pid=? AND active_query LIKE '%victim%'");
  const cq = db.prepare('SELECT cancel_query(?, 1) AS r');
  let asked = 0;
  while (Atomics.load(f, 0) === 0) {
    const v = findVictim.get(pid);
    if (v && v.query_id) { cq.get(v.query_id); asked++; }
  }
  const race = await raceDone;
  console.log(`race: ${race.victims} victims, ${race.stopped} stopped, ${race.safeRun} safe run, ${asked} cancels asked`);
  check('7.0 no safe statement hit', race.safeHit, 0);
  check('7.1 victims stopped', race.stopped > 0, true);

  // 8: a session that holds nothing (idle, no transaction) is terminated
  // at once here too, although its connection has no mutex and no
  // progress handler (it returned 0 after its timeout, 'terminating');
  // its next statement is refused
  const idle = open(ext, file);
  const ipid = idle.prepare('SELECT pg_backend_pid() AS p').get().p;
  check('8.0 terminated at once', [db.prepare('SELECT pg_terminate_backend(?, 1000) AS r').get(ipid).r,
    db.prepare('SELECT outcome FROM cancel_log ORDER BY id DESC LIMIT 1').get().outcome], [1, 'terminated']);
  let refused = null;
  try { idle.prepare('SELECT 1').get(); } catch (e) { refused = e.code; }
  check('8.1 next refused', refused !== null, true);
  idle.close();

  await worker.terminate();
  db.close();
  console.log(`${nPass} passed, ${nFail} failed`);
  process.exit(nFail ? 1 : 0);
})().catch((e) => { console.log(`! ${e.stack}`); console.log(`${nPass} passed, ${nFail + 1} failed`); process.exit(1); });
