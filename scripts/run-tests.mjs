// Runs every test file (test/**/*.test.ts) with Node's own test runner through tsx.
// Usage: npm test [-- <file or directory> ...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

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
