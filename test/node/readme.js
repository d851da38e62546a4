// readme.js: the Node.js example of README.md, run as written. Its two
// files (worker.js and main.js, one code block split at "// main.js")
// are read from the README, written into build/node/readme-example (so
// that require('better-sqlite3') finds build/node/node_modules), and
// main.js is run there with cancel.so beside it, as a newcomer would.
// It must print what the README's comments say.
//
//   node test/node/readme.js EXT     last line "N passed, N failed"
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const top = path.resolve(__dirname, '..', '..');
const ext = process.argv[2];
let nPass = 0, nFail = 0;
function check(name, got, want) {
  if (got === want) { nPass++; console.log(`ok ${name}`); }
  else { nFail++; console.log(`FAIL ${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`); }
}

const readme = fs.readFileSync(path.join(top, 'README.md'), 'utf8');
const at = readme.indexOf('A synchronous query on a Node.js worker thread');
const block = at < 0 ? null : /```js\n([\s\S]*?)```/.exec(readme.slice(at));
check('1.0 README has the Node example', block !== null, true);
if (block) {
  const split = block[1].indexOf('// main.js');
  check('1.1 it has worker.js and main.js', split > 0, true);
  const dir = path.join(top, 'build', 'node', 'readme-example');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'worker.js'), block[1].slice(0, split));
  fs.writeFileSync(path.join(dir, 'main.js'), block[1].slice(split));
  fs.copyFileSync(ext + '.so', path.join(dir, 'cancel.so'));
  const run = spawnSync('node', ['main.js'], { cwd: dir, encoding: 'utf8', timeout: 60000 });
  const out = (run.stdout || '') + (run.stderr || '');
  if (out) console.log(out.replace(/\n$/, '').replace(/^/gm, '  | '));
  check('1.2 main.js exits with status 0', run.status, 0);
  // the comments of the README: main prints { ok: 1 }, the worker its error
  check('1.3 pg_cancel_backend returned 1', /^\{ ok: 1 \}$/m.test(out), true);
  check('1.4 the worker\'s query was interrupted', /^worker: SQLITE_INTERRUPT$/m.test(out), true);
}
console.log(`${nPass} passed, ${nFail} failed`);
process.exit(nFail ? 1 : 0);
