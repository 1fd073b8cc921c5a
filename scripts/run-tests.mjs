// Runs every test file (test/**/*.test.ts) with Node's own test runner through tsx.
// Usage: npm test [-- <file or directory> ...]
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

// The tests start real servers from Debian packages. Install what is missing when we can
// (root with apt-get), and otherwise say exactly which package to install.
const NEEDED = [
  ['pebble', 'pebble'], ['pebble-challtestsrv', 'pebble'], ['openssl', 'openssl'],
  ['named', 'bind9'], ['nsupdate', 'bind9-dnsutils'], ['pdns_server', 'pdns-server'],
  ['/usr/lib/x86_64-linux-gnu/pdns/libgsqlite3backend.so', 'pdns-backend-sqlite3'],
  ['promtool', 'prometheus'],
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
const child = spawn(process.execPath, [
  '--import', 'tsx', '--test', '--test-reporter=spec',
  `--test-concurrency=${process.env.CERTKEEPER_TEST_CONCURRENCY ?? 2}`,
  ...files,
], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
