// Installs dependencies and builds when they are missing or stale, so that `npm start` and
// `npm test` each work by themselves on a fresh clone: the server (tsc → dist/) and the web UI
// (Vite → web/dist/, rebuilt when web/ or the versions of Preact or Vite changed).
import { existsSync, statSync, readdirSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && p === join(root, 'web', 'dist')) continue;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

if (!existsSync(join(root, 'node_modules', '.package-lock.json')) ||
    statSync(join(root, 'package.json')).mtimeMs > statSync(join(root, 'node_modules', '.package-lock.json')).mtimeMs) {
  console.error('certkeeper: installing npm dependencies …');
  run('npm install --no-audit --no-fund');
}
const stamp = join(root, 'dist', '.built');
if (!existsSync(stamp) || newest(join(root, 'src')) > statSync(stamp).mtimeMs) {
  console.error('certkeeper: building …');
  run('npx tsc -p tsconfig.build.json');
  run(`node -e "require('fs').writeFileSync('dist/.built', new Date().toISOString())"`);
}
const webBuilt = join(root, 'web', 'dist', 'index.html');
const webInputs = () => Math.max(newest(join(root, 'web')),
  ...['preact', 'vite'].map((m) => join(root, 'node_modules', m, 'package.json')).filter(existsSync).map((p) => statSync(p).mtimeMs));
if (!existsSync(webBuilt) || webInputs() > statSync(webBuilt).mtimeMs) {
  console.error('certkeeper: building the web UI …');
  run('npm run --silent build:web');
}
