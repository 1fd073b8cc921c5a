// Runs the test files (test/**/*.test.ts) with Node's own test runner through tsx, in two passes:
//   1. every file, with the servers the tests start on SQLite (the store tests cover both back ends);
//   2. the files of PG_SUITES that start a server or open a store, again with
//      CERTKEEPER_TEST_DATABASE=postgres: each server gets its own fresh PostgreSQL database.
// The passes run one after the other (test/e2e/dns01.test.ts binds ports 53 and 80), and the exit
// code fails when either fails.
// Usage: npm test [-- <file or directory> ...]
//   CERTKEEPER_TEST_DATABASE=sqlite|postgres npm test   runs one pass only, on that back end.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import pg from 'pg';

// The tests start real servers from Debian packages. Install what is missing when we can
// (root with apt-get), and otherwise say exactly which package to install.
const NEEDED = [
  ['pebble', 'pebble'], ['pebble-challtestsrv', 'pebble'], ['openssl', 'openssl'],
  ['named', 'bind9'], ['nsupdate', 'bind9-dnsutils'], ['pdns_server', 'pdns-server'],
  ['/usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so', 'pdns-backend-sqlite3'],
  ['promtool', 'prometheus'], ['/usr/bin/chromium', 'chromium'],
  ['/usr/sbin/nginx', 'nginx'], ['/usr/sbin/sshd', 'openssh-server'], ['ssh-keygen', 'openssh-client'],
];
const onPath = (cmd) => (cmd.startsWith('/') ? existsSync(cmd) : spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${cmd}`], { stdio: 'ignore' }).status === 0);
let missing = [...new Set(NEEDED.filter(([cmd]) => !onPath(cmd)).map(([, pkg]) => pkg))];
if (missing.length && process.getuid?.() === 0 && onPath('apt-get')) {
  console.error(`certkeeper tests: installing Debian packages ${missing.join(' ')} …`);
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  missing = [...new Set(NEEDED.filter(([cmd]) => !onPath(cmd)).map(([, pkg]) => pkg))];
}
if (missing.length) {
  console.error(`certkeeper tests need the Debian package(s): ${missing.join(' ')}\n  install them with: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`);
  process.exit(1);
}

const root = new URL('..', import.meta.url).pathname;
function collect(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) if (e !== 'node_modules') collect(join(p, e), out);
  } else if (p.endsWith('.test.ts')) out.push(relative(root, p));
  return out;
}
const args = process.argv.slice(2);
const files = (args.length ? args : ['test']).flatMap((a) => collect(join(root, a), []));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

// The suites that exercise the store through the server. Within them, the PostgreSQL pass takes
// the files that start a server or open a store (the others would only run twice unchanged).
const PG_SUITES = ['test/api/', 'test/access/', 'test/lifecycle/', 'test/e2e/', 'test/notify/'];
const USES_STORE = /from '\.\.\/harness\/(certkeeper|serve-process|databases)\.js'/;
// Files that stay SQLite-only, and why.
/** Files that must run on SQLite only, with the reason (none today: keep the mechanism). */
const SQLITE_ONLY = {};
const usesStore = (f) => USES_STORE.test(readFileSync(join(root, f), 'utf8'));

const chosen = (process.env.CERTKEEPER_TEST_DATABASE ?? '').trim().toLowerCase();
const passes = [];
if (chosen === 'postgres' || chosen === 'postgresql' || chosen === 'pg') {
  passes.push({ name: 'PostgreSQL', backend: 'postgres', files });
} else if (chosen === '' || chosen === 'sqlite') {
  passes.push({ name: 'SQLite', backend: 'sqlite', files });
  if (chosen === '') {
    const pgFiles = files.filter((f) => PG_SUITES.some((s) => f.startsWith(s)) && !(f in SQLITE_ONLY) && usesStore(f));
    if (pgFiles.length) passes.push({ name: 'PostgreSQL', backend: 'postgres', files: pgFiles });
  }
} else {
  console.error(`CERTKEEPER_TEST_DATABASE=${process.env.CERTKEEPER_TEST_DATABASE}: expected sqlite or postgres (or unset for both passes)`);
  process.exit(1);
}

// The PostgreSQL pass needs a server: say so before anything runs, not after the SQLite pass.
if (passes.some((p) => p.backend === 'postgres')) {
  const url = process.env.CERTKEEPER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
  } catch (err) {
    console.error(`certkeeper tests: the PostgreSQL pass needs a PostgreSQL server (superuser, trust or password in the URL) at ${url}: ${err.message}\n` +
      '  start one (Debian: sudo apt-get install -y postgresql), point CERTKEEPER_TEST_PG_URL at one,\n' +
      '  or run the SQLite pass only: CERTKEEPER_TEST_DATABASE=sqlite npm test');
    process.exit(1);
  } finally {
    await c.end().catch(() => undefined);
  }
}

function run(pass) {
  return new Promise((resolve) => {
    const env = { ...process.env, CERTKEEPER_TEST_DATABASE: pass.backend };
    // The servers of the tests pick their own database; an inherited URL would share one.
    delete env.CERTKEEPER_DATABASE_URL;
    delete env.CERTKEEPER_DATABASE_URL_FILE;
    const child = spawn(process.execPath, [
      '--import', 'tsx', '--test', '--test-reporter=spec',
      `--test-concurrency=${process.env.CERTKEEPER_TEST_CONCURRENCY ?? 2}`,
      ...pass.files,
    ], { cwd: root, stdio: 'inherit', env });
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const results = [];
for (const [i, pass] of passes.entries()) {
  const rule = '='.repeat(100);
  console.log(`\n${rule}\ncertkeeper tests, pass ${i + 1}/${passes.length}: ${pass.name} (CERTKEEPER_TEST_DATABASE=${pass.backend}), ${pass.files.length} file(s)\n${rule}`);
  if (pass.backend === 'postgres' && passes.length > 1) {
    console.log(`PostgreSQL pass: ${PG_SUITES.join(' ')} (files that start a server or open a store)`);
    for (const [f, why] of Object.entries(SQLITE_ONLY)) if (files.includes(f)) console.log(`  SQLite only: ${f}: ${why}`);
  }
  const started = Date.now();
  const code = await run(pass);
  results.push({ pass, code, seconds: Math.round((Date.now() - started) / 1000) });
}
console.log('\ncertkeeper tests, summary:');
for (const { pass, code, seconds } of results) {
  console.log(`  ${pass.name.padEnd(10)} ${String(pass.files.length).padStart(3)} file(s)  ${code === 0 ? 'passed' : `FAILED (exit ${code})`}  ${seconds} s`);
}
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
