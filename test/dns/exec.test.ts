// The `exec` provider: the shared conformance suite against a hook program that keeps TXT values
// in a JSON file, and what is particular to running programs: no shell, a clean environment,
// the process group killed on timeout and on abort, failures carrying the program's own words.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DnsProviderError, type DnsProvider } from '../../src/dns/dns-provider.js';
import { manifest } from '../../src/dns/providers/exec/manifest.js';
import { dnsProviderConformance } from './conformance.js';

const fixtures = fileURLToPath(new URL('./fixtures/exec/', import.meta.url));
const fixture = (name: string) => join(fixtures, name);
const ZONE = 'exec.example.test';

const create = (settings: Record<string, unknown>) =>
  manifest.create({ zoneName: ZONE, settings, credentials: {}, allowPrivateAddresses: true }) as Promise<DnsProvider>;

/** The TXT store hook, run as `node txt-store.mjs …` (so `args` is exercised too). */
const storeProvider = (dir: string, extra: Record<string, unknown> = {}) =>
  create({ command: process.execPath, args: [fixture('txt-store.mjs')], environment: { CK_STORE_DIR: dir }, ...extra });

const readStore = (dir: string): Record<string, string[]> => {
  try {
    return JSON.parse(readFileSync(join(dir, 'txt.json'), 'utf8')) as Record<string, string[]>;
  } catch {
    return {};
  }
};

/** True while `pid` runs (a zombie left for a reaper counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitForPids(file: string): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.trim().split(/\s+/).length === 2) return text.trim().split(/\s+/).map(Number);
    await sleep(50);
  }
  throw new Error('the hang fixture did not start');
}

const rec = (fqdn: string, value: string) => ({ zone: ZONE, fqdn, value, ttl: 60 });

dnsProviderConformance('exec', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ck-exec-'));
  return {
    provider: await storeProvider(dir),
    zone: ZONE,
    lookup: async (fqdn) => readStore(dir)[fqdn] ?? [],
    badProvider: await create({ command: fixture('failing-hook.sh') }),
    secrets: [],
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('exec: running the program', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-exec-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('arguments reach the program literally, without a shell', async () => {
    const provider = await storeProvider(dir);
    const marker = join(dir, 'pwned');
    const nasty = `$(touch ${marker}); touch ${marker} && echo \`touch ${marker}\` | "quoted" 'single' * ~ \\`;
    const fqdn = `_acme-challenge.shell.${ZONE}`;
    await provider.appendTxt(rec(fqdn, nasty));
    assert.deepEqual(readStore(dir)[fqdn], [nasty]);
    assert.equal(existsSync(marker), false, 'nothing in the value was run');
    await provider.deleteTxt(rec(fqdn, nasty));
    assert.equal(readStore(dir)[fqdn], undefined);
  });

  test('argv and a clean environment: PATH, HOME, LANG, CERTKEEPER_*, and the zone\'s environment only', async () => {
    const dump = join(dir, 'dump.json');
    process.env.CK_PARENT_SECRET = 'must-not-leak';
    try {
      const provider = await create({
        command: fixture('env-dump.mjs'),
        args: ['--first', 'two words'],
        environment: ['CK_DUMP_FILE=' + dump, 'CK_EXTRA=a=b'],
      });
      await provider.appendTxt(rec(`_acme-challenge.env.${ZONE}`, 'v1'));
      const seen = JSON.parse(await readFile(dump, 'utf8')) as { argv: string[]; env: Record<string, string> };
      assert.deepEqual(seen.argv, ['--first', 'two words', 'present', `_acme-challenge.env.${ZONE}`, 'v1']);
      assert.equal(seen.env.CERTKEEPER_ZONE, ZONE);
      assert.equal(seen.env.CERTKEEPER_FQDN, `_acme-challenge.env.${ZONE}`);
      assert.equal(seen.env.CERTKEEPER_VALUE, 'v1');
      assert.equal(seen.env.CERTKEEPER_TTL, '60');
      assert.equal(seen.env.CK_EXTRA, 'a=b');
      assert.equal(seen.env.CK_PARENT_SECRET, undefined, 'certkeeper\'s own environment is not passed on');
      const allowed = new Set(['PATH', 'HOME', 'LANG', 'CK_DUMP_FILE', 'CK_EXTRA', 'CERTKEEPER_ZONE', 'CERTKEEPER_FQDN', 'CERTKEEPER_VALUE', 'CERTKEEPER_TTL']);
      // The dynamic loader or node itself may add a variable or two (e.g. PWD is not one we set).
      const unexpected = Object.keys(seen.env).filter((k) => !allowed.has(k) && k !== 'PWD' && k !== 'SHLVL' && k !== '_');
      assert.deepEqual(unexpected, []);

      await provider.check(ZONE);
      const checked = JSON.parse(await readFile(dump, 'utf8')) as { argv: string[]; env: Record<string, string> };
      assert.deepEqual(checked.argv, ['--first', 'two words', 'check', ZONE]);
      assert.equal(checked.env.CERTKEEPER_ZONE, ZONE);
      assert.equal(checked.env.CERTKEEPER_FQDN, undefined);
    } finally {
      delete process.env.CK_PARENT_SECRET;
    }
  });

  test('a timeout kills the program and its children, and fails retryably', async () => {
    const pidFile = join(dir, 'timeout.pids');
    const provider = await create({ command: '/bin/sh', args: [fixture('hang.sh')], timeoutSeconds: 1, environment: { CK_PID_FILE: pidFile } });
    const started = Date.now();
    const err = await provider.appendTxt(rec(`_acme-challenge.slow.${ZONE}`, 'v')).then(() => null, (e: unknown) => e);
    const elapsed = Date.now() - started;
    assert.ok(err instanceof DnsProviderError, String(err));
    assert.match(err.message, /^exec: .*hang\.sh|^exec: \/bin\/sh present/);
    assert.match(err.message, /did not finish within 1 s and was killed/);
    assert.equal(err.retryable, true);
    assert.ok(elapsed >= 900 && elapsed < 5000, `took ${elapsed} ms`);
    const pids = await waitForPids(pidFile);
    await sleep(100);
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still runs`);
  });

  test('aborting kills the program and its children and rejects with the abort reason', async () => {
    const pidFile = join(dir, 'abort.pids');
    const provider = await create({ command: '/bin/sh', args: [fixture('hang.sh')], timeoutSeconds: 60, environment: { CK_PID_FILE: pidFile } });
    const ac = new AbortController();
    const call = provider.deleteTxt(rec(`_acme-challenge.abort.${ZONE}`, 'v'), ac.signal).then(() => null, (e: unknown) => e);
    const pids = await waitForPids(pidFile);
    const reason = new Error('the job was cancelled');
    const started = Date.now();
    ac.abort(reason);
    assert.equal(await call, reason);
    assert.ok(Date.now() - started < 3000, 'the abort was prompt');
    await sleep(100);
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} still runs`);
    await assert.rejects(provider.check(ZONE, ac.signal), (e) => e === reason, 'an aborted signal runs nothing');
  });

  test('a failing program: exit code and the last 500 characters of its stderr', async () => {
    const provider = await create({ command: '/bin/sh', args: [fixture('noisy-fail.sh')] });
    const err = await provider.appendTxt(rec(`_acme-challenge.noisy.${ZONE}`, 'v')).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof DnsProviderError);
    assert.match(err.message, new RegExp(`^exec: /bin/sh present _acme-challenge\\.noisy\\.${ZONE.replace(/\./g, '\\.')} exited with code 3: …`));
    assert.match(err.message, /THE-LAST-WORDS$/);
    assert.doesNotMatch(err.message, /line 00/, 'the start of stderr is cut');
    const tail = err.message.slice(err.message.indexOf('…') + 1);
    assert.equal(tail.length, 500);
    assert.equal(err.retryable, false);
  });

  test('settings are checked when the provider is made', async () => {
    const refused = async (settings: Record<string, unknown>, pattern: RegExp) => {
      await assert.rejects(create(settings), (e: unknown) => e instanceof DnsProviderError && pattern.test(e.message));
    };
    await refused({}, /settings\.command must be the absolute path/);
    await refused({ command: 'txt-store.mjs' }, /absolute path/);
    await refused({ command: join(dir, 'missing') }, /is not an executable file/);
    await refused({ command: fixtures }, /is not an executable file/);
    await refused({ command: '/bin/sh', timeoutSeconds: 0 }, /timeoutSeconds must be an integer/);
    await refused({ command: '/bin/sh', args: 'x' }, /args must be a list/);
    await refused({ command: '/bin/sh', environment: { CERTKEEPER_VALUE: 'x' } }, /CERTKEEPER_VALUE is reserved/);
    await refused({ command: '/bin/sh', environment: ['NOEQUALS'] }, /NAME=value/);
    await refused({ command: '/bin/sh', environment: { 'BAD-NAME': 'x' } }, /not a valid environment variable name/);
    await refused({ command: '/bin/sh', environment: { LD_PRELOAD: '/tmp/x.so' } }, /reserved/);
  });
});
