/**
 * The `script` target: the conformance suite, then the command's view of the world (environment,
 * private files, working directory), its failures (non-zero exit, timeout with the whole process
 * group killed) and the clean-up of the temporary directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseCertificate } from '../../../src/pki/certificate.js';
import { manifest } from '../../../src/deploy/targets/script/index.js';
import { DeployError } from '../../../src/deploy/types.js';
import { assertNoSecret, createTarget, deployTargetConformance } from './conformance.js';
import { makeMaterial, type TestMaterial } from './material.js';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

deployTargetConformance('script', async () => {
  const out = mkdtempSync(join(tmpdir(), 'ck-script-conf-'));
  return {
    manifest,
    settings: { command: `cp "$CERTKEEPER_FULLCHAIN_FILE" ${q(join(out, 'fullchain.pem'))} && echo copied`, timeoutSeconds: 10 },
    credentials: {},
    allowPrivateAddresses: false,
    async deployedSerial() {
      const f = join(out, 'fullchain.pem');
      return existsSync(f) ? parseCertificate(readFileSync(f, 'utf8')).serialNumber : undefined;
    },
    bad: { settings: { command: 'echo "cannot reload" >&2; exit 1' }, credentials: {} },
    secrets: [],
    async teardown() {
      rmSync(out, { recursive: true, force: true });
    },
  };
});

describe('script target', () => {
  let out: string;
  let material: TestMaterial;
  const signal = () => AbortSignal.timeout(30_000);
  before(() => {
    out = mkdtempSync(join(tmpdir(), 'ck-script-'));
    material = makeMaterial('script.deploy.test', ['www.script.deploy.test', 'api.script.deploy.test']);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  test('the command sees the CERTKEEPER_* variables, private files, and nothing of certkeeper\'s environment; the directory is removed after', async () => {
    process.env.CERTKEEPER_TEST_LEAK = 'must-not-be-inherited';
    try {
      const command = [
        `env > ${q(join(out, 'env.txt'))}`,
        `cp "$CERTKEEPER_CERTIFICATE_FILE" "$CERTKEEPER_CHAIN_FILE" "$CERTKEEPER_FULLCHAIN_FILE" "$CERTKEEPER_KEY_FILE" ${q(out)}/`,
        `stat -c %a "$CERTKEEPER_KEY_FILE" > ${q(join(out, 'key.mode'))}`,
        `stat -c %a "$(dirname "$CERTKEEPER_KEY_FILE")" > ${q(join(out, 'dir.mode'))}`,
        `pwd > ${q(join(out, 'pwd.txt'))}`,
        'echo deployed',
      ].join(' && ');
      const target = createTarget(manifest, { command }, {}, false);
      const outcome = await target.deploy(material, signal());
      assert.match(outcome.message, /^script: the command succeeded/);
      assert.equal(outcome.output?.trim(), 'deployed');

      const env = Object.fromEntries(readFileSync(join(out, 'env.txt'), 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      assert.equal(env.CERTKEEPER_CERTIFICATE_ID, material.certificateId);
      assert.equal(env.CERTKEEPER_CERTIFICATE_NAME, material.name);
      assert.equal(env.CERTKEEPER_COMMON_NAME, 'script.deploy.test');
      assert.equal(env.CERTKEEPER_NAMES, 'script.deploy.test www.script.deploy.test api.script.deploy.test');
      assert.equal(env.CERTKEEPER_SERIAL_NUMBER, material.serialNumber);
      assert.equal(env.CERTKEEPER_NOT_AFTER, material.notAfter);
      const dir = dirname(env.CERTKEEPER_CERTIFICATE_FILE!);
      assert.equal(env.CERTKEEPER_CERTIFICATE_FILE, join(dir, 'cert.pem'));
      assert.equal(env.CERTKEEPER_CHAIN_FILE, join(dir, 'chain.pem'));
      assert.equal(env.CERTKEEPER_FULLCHAIN_FILE, join(dir, 'fullchain.pem'));
      assert.equal(env.CERTKEEPER_KEY_FILE, join(dir, 'key.pem'));
      assert.equal(env.CERTKEEPER_TEST_LEAK, undefined, 'the parent environment is not inherited');
      assert.ok(env.PATH, 'PATH is passed');

      assert.equal(readFileSync(join(out, 'cert.pem'), 'utf8'), material.certificatePem);
      assert.equal(readFileSync(join(out, 'chain.pem'), 'utf8'), material.chainPem);
      assert.equal(readFileSync(join(out, 'fullchain.pem'), 'utf8'), material.fullchainPem);
      assert.equal(readFileSync(join(out, 'key.pem'), 'utf8'), material.privateKeyPem);
      assert.equal(readFileSync(join(out, 'key.mode'), 'utf8').trim(), '600');
      assert.equal(readFileSync(join(out, 'dir.mode'), 'utf8').trim(), '700');
      assert.equal(readFileSync(join(out, 'pwd.txt'), 'utf8').trim(), dir, 'runs in the temporary directory by default');
      assert.ok(!existsSync(dir), 'the temporary directory is removed afterwards');
    } finally {
      delete process.env.CERTKEEPER_TEST_LEAK;
    }
  });

  test('without a key in the material there is no key file and no CERTKEEPER_KEY_FILE; workingDirectory is honoured', async () => {
    const { privateKeyPem: _omit, ...noKey } = material;
    const command = `echo "key=[\${CERTKEEPER_KEY_FILE-unset}]"; ls "$(dirname "$CERTKEEPER_CERTIFICATE_FILE")"; pwd`;
    const target = createTarget(manifest, { command, workingDirectory: out }, {}, false);
    const outcome = await target.deploy(noKey, signal());
    const lines = outcome.output!.trim().split('\n');
    assert.equal(lines[0], 'key=[unset]');
    assert.deepEqual(lines.slice(1, -1).sort(), ['cert.pem', 'chain.pem', 'fullchain.pem']);
    assert.equal(lines.at(-1), out);
  });

  test('a non-zero exit is a DeployError carrying stdout and stderr, interleaved; the directory is removed', async () => {
    const command = `echo "$CERTKEEPER_CERTIFICATE_FILE" > ${q(join(out, 'path-fail.txt'))}; echo first on stdout; echo then on stderr >&2; echo last on stdout; exit 7`;
    const target = createTarget(manifest, { command }, {}, false);
    const err = await target.deploy(material, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.equal(err.message, 'script: the command exited with code 7');
    assert.equal(err.output, 'first on stdout\nthen on stderr\nlast on stdout\n');
    assert.ok(!existsSync(dirname(readFileSync(join(out, 'path-fail.txt'), 'utf8').trim())));
  });

  test('a command that runs too long is killed with its whole process group', async () => {
    const pidFile = join(out, 'child.pid');
    const command = `echo "$CERTKEEPER_CERTIFICATE_FILE" > ${q(join(out, 'path-timeout.txt'))}; sleep 30 & echo $! > ${q(pidFile)}; echo started; wait`;
    const target = createTarget(manifest, { command, timeoutSeconds: 1 }, {}, false);
    const started = Date.now();
    const err = await target.deploy(material, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.equal(err.message, 'script: the command did not finish within 1 s and was killed');
    assert.match(err.output ?? '', /started/);
    assert.ok(Date.now() - started < 10_000, 'gave up at the time limit');
    const child = Number(readFileSync(pidFile, 'utf8').trim());
    await new Promise((r) => setTimeout(r, 200));
    // Gone, or a zombie waiting for a reaper (a container's PID 1 may never reap it): not running.
    const state = existsSync(`/proc/${child}/stat`) ? readFileSync(`/proc/${child}/stat`, 'utf8').replace(/^.*\) /s, '')[0] : 'gone';
    assert.ok(state === 'gone' || state === 'Z' || state === 'X', `the background child was killed too (state ${state})`);
    assert.ok(!existsSync(dirname(readFileSync(join(out, 'path-timeout.txt'), 'utf8').trim())));
  });

  test('a command that prints the key: the output is redacted', async () => {
    const target = createTarget(manifest, { command: 'echo before; cat "$CERTKEEPER_KEY_FILE"; echo after; exit 1' }, {}, false);
    const err = await target.deploy(material, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.output ?? '', /before[\s\S]*\[redacted\][\s\S]*after/);
    assertNoSecret(err.output, [material.privateKeyPem!], 'the output', [material.fullchainPem]);
  });

  test('validate names bad fields', () => {
    const errors = manifest.validate({ command: '', timeoutSeconds: 0, workingDirectory: 'relative/dir' }, {});
    assert.deepEqual(errors.map((e) => e.field).sort(), ['settings.command', 'settings.timeoutSeconds', 'settings.workingDirectory']);
    assert.deepEqual(manifest.validate({ command: 'true', timeoutSeconds: '30' }, {}), []);
  });
});
