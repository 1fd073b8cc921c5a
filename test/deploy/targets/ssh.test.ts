/**
 * The `ssh` target against a real OpenSSH server (Debian's sshd on 127.0.0.1, SFTP through
 * internal-sftp): the conformance suite; the files' contents and modes; the reload command; the
 * pinned host key (whole key or fingerprint; a wrong one refused before logging in); a failed
 * reload putting the previous files back with its output in the error; no key in any message;
 * the probe; servedSerial; symbolic links; encrypted login keys; the private-address rule.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { parseCertificate } from '../../../src/pki/certificate.js';
import { manifest } from '../../../src/deploy/targets/ssh/index.js';
import { DeployError } from '../../../src/deploy/types.js';
import { assertNoSecret, createTarget, deployTargetConformance } from './conformance.js';
import { makeMaterial, type TestMaterial } from './material.js';
import { sshKeygen, startSshd, type TestSshd } from './sshd.js';

const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8).padStart(4, '0');
const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes('.certkeeper-'));

deployTargetConformance('ssh', async () => {
  const sshd = await startSshd();
  const dest = join(sshd.dir, 'conformance');
  mkdirSync(dest);
  const stranger = sshKeygen(sshd.dir, 'stranger');
  const settings = {
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    hostKey: sshd.hostKey.publicKey,
    certificatePath: join(dest, 'cert.pem'),
    fullchainPath: join(dest, 'fullchain.pem'),
    keyPath: join(dest, 'key.pem'),
    reloadCommand: `echo reloaded >> ${join(dest, 'reloads')}`,
    timeoutSeconds: 20,
  };
  return {
    manifest,
    settings,
    credentials: { privateKey: sshd.clientKey.privateKey },
    allowPrivateAddresses: true,
    async deployedSerial() {
      const f = join(dest, 'cert.pem');
      return existsSync(f) ? parseCertificate(readFileSync(f, 'utf8')).serialNumber : undefined;
    },
    bad: { settings, credentials: { privateKey: stranger.privateKey } },
    secrets: [sshd.clientKey.privateKey, stranger.privateKey],
    teardown: () => sshd.stop(),
  };
});

describe('ssh target', () => {
  let sshd: TestSshd;
  let v1: TestMaterial;
  let v2: TestMaterial;
  let n = 0;
  const signal = () => AbortSignal.timeout(60_000);
  /** A fresh destination directory. */
  const freshDir = () => {
    const d = join(sshd.dir, `deploy-${++n}`);
    mkdirSync(d);
    return d;
  };
  const base = (extra: Record<string, unknown>) => ({ host: '127.0.0.1', port: sshd.port, username: sshd.username, hostKey: sshd.hostKey.publicKey, timeoutSeconds: 20, ...extra });
  const creds = () => ({ privateKey: sshd.clientKey.privateKey });
  const allPaths = (d: string) => ({
    certificatePath: join(d, 'cert.pem'),
    chainPath: join(d, 'chain.pem'),
    fullchainPath: join(d, 'fullchain.pem'),
    keyPath: join(d, 'key.pem'),
    combinedPath: join(d, 'combined.pem'),
  });
  const failure = async (p: Promise<unknown>): Promise<DeployError> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError, `expected a DeployError, got ${String(err)}`);
    return err;
  };

  before(async () => {
    sshd = await startSshd();
    v1 = makeMaterial('ssh.deploy.test', ['www.ssh.deploy.test']);
    v2 = makeMaterial('ssh.deploy.test', ['www.ssh.deploy.test']);
  });
  after(() => sshd?.stop());

  test('writes every file with its content and mode, runs the reload command, leaves nothing behind', async () => {
    const d = freshDir();
    const marker = join(d, 'reloaded.marker');
    const target = createTarget(manifest, base({ ...allPaths(d), reloadCommand: `echo "reloading nginx"; echo "$(id -un)" > ${marker}` }), creds(), true);
    const outcome = await target.deploy(v1, signal());
    assert.match(outcome.message, /^ssh: wrote .*cert\.pem, .*chain\.pem, .*fullchain\.pem, .*key\.pem, .*combined\.pem on 127\.0\.0\.1:\d+ and ran the reload command$/);
    assert.equal(outcome.output, 'reloading nginx\n');
    assert.equal(readFileSync(marker, 'utf8').trim(), sshd.username, 'the reload command ran as the SSH user');
    assert.equal(readFileSync(join(d, 'cert.pem'), 'utf8'), v1.certificatePem);
    assert.equal(readFileSync(join(d, 'chain.pem'), 'utf8'), v1.chainPem);
    assert.equal(readFileSync(join(d, 'fullchain.pem'), 'utf8'), v1.fullchainPem);
    assert.equal(readFileSync(join(d, 'key.pem'), 'utf8'), v1.privateKeyPem);
    assert.equal(readFileSync(join(d, 'combined.pem'), 'utf8'), `${v1.privateKeyPem}${v1.fullchainPem}`);
    assert.deepEqual(['cert.pem', 'chain.pem', 'fullchain.pem', 'key.pem', 'combined.pem'].map((f) => modeOf(join(d, f))), ['0644', '0644', '0644', '0600', '0600']);
    assert.deepEqual(leftovers(d), [], 'no staged files or backups remain');

    // A second deployment replaces the files (and keeps no backup either).
    await target.deploy(v2, signal());
    assert.equal(readFileSync(join(d, 'combined.pem'), 'utf8'), `${v2.privateKeyPem}${v2.fullchainPem}`);
    assert.deepEqual(leftovers(d), []);
  });

  test('settings.mode applies to every file', async () => {
    const d = freshDir();
    await createTarget(manifest, base({ certificatePath: join(d, 'cert.pem'), keyPath: join(d, 'key.pem'), mode: '0640' }), creds(), true).deploy(v1, signal());
    assert.equal(modeOf(join(d, 'cert.pem')), '0640');
    assert.equal(modeOf(join(d, 'key.pem')), '0640');
  });

  test('the host key is pinned: a whole key or its fingerprint; another key is refused before logging in', async () => {
    const d = freshDir();
    const paths = { certificatePath: join(d, 'cert.pem') };
    await createTarget(manifest, base({ ...paths, hostKey: sshd.hostKey.fingerprint }), creds(), true).deploy(v1, signal());
    assert.equal(readFileSync(join(d, 'cert.pem'), 'utf8'), v1.certificatePem, 'the fingerprint form works');

    const impostor = sshKeygen(sshd.dir, `impostor-${n}`);
    const logBefore = sshd.log().length;
    for (const hostKey of [impostor.publicKey, impostor.fingerprint]) {
      const err = await failure(createTarget(manifest, base({ ...paths, hostKey }), creds(), true).deploy(v2, signal()));
      assert.equal(err.message, `ssh: 127.0.0.1:${sshd.port} presented host key ssh-ed25519 ${sshd.hostKey.fingerprint}, which does not match settings.hostKey; refusing to connect (no trust on first use). If the server's key was changed on purpose, update settings.hostKey.`);
    }
    assert.equal(readFileSync(join(d, 'cert.pem'), 'utf8'), v1.certificatePem, 'nothing was written');
    assert.doesNotMatch(sshd.log().slice(logBefore), /Accepted publickey|Failed publickey/, 'no authentication was attempted');
  });

  test('a failing reload puts the previous files back and the error carries the command\'s output', async () => {
    const d = freshDir();
    const old = { certificatePath: join(d, 'cert.pem'), keyPath: join(d, 'key.pem'), combinedPath: join(d, 'combined.pem') };
    await createTarget(manifest, base(old), creds(), true).deploy(v1, signal());
    const modesBefore = Object.values(old).map(modeOf);

    const reloadCommand = 'echo "testing configuration"; echo "nginx: [emerg] cannot load certificate key" >&2; exit 1';
    const target = createTarget(manifest, base({ ...old, chainPath: join(d, 'chain.pem'), reloadCommand }), creds(), true);
    const err = await failure(target.deploy(v2, signal()));
    // The previous files are reloaded too; this command fails whatever the files, so that fails as well.
    assert.equal(err.message, `ssh: the reload command on 127.0.0.1:${sshd.port} exited with code 1; the previous files were restored, but reloading them failed too`);
    assert.equal(err.output, 'testing configuration\nnginx: [emerg] cannot load certificate key\n\n--- reload after restoring ---\ntesting configuration\nnginx: [emerg] cannot load certificate key\n');
    assert.equal(readFileSync(old.certificatePath, 'utf8'), v1.certificatePem);
    assert.equal(readFileSync(old.keyPath, 'utf8'), v1.privateKeyPem);
    assert.equal(readFileSync(old.combinedPath, 'utf8'), `${v1.privateKeyPem}${v1.fullchainPem}`);
    assert.deepEqual(Object.values(old).map(modeOf), modesBefore);
    assert.ok(!existsSync(join(d, 'chain.pem')), 'a file that did not exist before is removed again');
    assert.deepEqual(leftovers(d), []);
  });

  test('a reload command that runs too long fails the deployment and restores the files', async () => {
    const d = freshDir();
    const paths = { certificatePath: join(d, 'cert.pem') };
    await createTarget(manifest, base(paths), creds(), true).deploy(v1, signal());
    const err = await failure(createTarget(manifest, base({ ...paths, reloadCommand: 'echo waiting; sleep 10', timeoutSeconds: 2 }), creds(), true).deploy(v2, signal()));
    assert.match(err.message, /^ssh: the reload command on .* did not finish within 2 s \(it was sent SIGKILL and abandoned\); the previous files were restored$/);
    assert.match(err.output ?? '', /waiting/);
    assert.equal(readFileSync(paths.certificatePath, 'utf8'), v1.certificatePem);
  });

  test('a server without the posix-rename and hardlink extensions: backups are copies, renames remove first; a rollback still works', async (t) => {
    // ssh2 throws this before sending when the server did not offer the extension.
    type Ext = (...args: unknown[]) => void;
    const { SFTP } = createRequire(import.meta.url)('ssh2/lib/protocol/SFTP.js') as { SFTP: { prototype: { ext_openssh_rename: Ext; ext_openssh_hardlink: Ext } } };
    const proto = SFTP.prototype;
    const unsupported: Ext = () => {
      throw new Error('Server does not support this extended request');
    };
    const rename = t.mock.method(proto, 'ext_openssh_rename', unsupported);
    const hardlink = t.mock.method(proto, 'ext_openssh_hardlink', unsupported);
    const d = freshDir();
    const paths = { certificatePath: join(d, 'cert.pem'), keyPath: join(d, 'key.pem') };
    await createTarget(manifest, base(paths), creds(), true).deploy(v1, signal());
    assert.equal(readFileSync(paths.certificatePath, 'utf8'), v1.certificatePem);
    await createTarget(manifest, base(paths), creds(), true).deploy(v2, signal());
    assert.equal(readFileSync(paths.keyPath, 'utf8'), v2.privateKeyPem);
    assert.equal(modeOf(paths.keyPath), '0600');
    const err = await failure(createTarget(manifest, base({ ...paths, reloadCommand: 'exit 1' }), creds(), true).deploy(v1, signal()));
    assert.match(err.message, /the previous files were restored, but reloading them failed too$/);
    assert.equal(readFileSync(paths.certificatePath, 'utf8'), v2.certificatePem);
    assert.equal(readFileSync(paths.keyPath, 'utf8'), v2.privateKeyPem);
    assert.equal(modeOf(paths.keyPath), '0600', 'the copied backup kept the mode');
    assert.deepEqual(leftovers(d), []);
    assert.ok(rename.mock.callCount() > 0 && hardlink.mock.callCount() > 0, 'the fallbacks were taken');
  });

  test('an abort during the reload puts the previous files back and rejects with the abort reason', async () => {
    const d = freshDir();
    const paths = { certificatePath: join(d, 'cert.pem'), keyPath: join(d, 'key.pem') };
    await createTarget(manifest, base(paths), creds(), true).deploy(v1, signal());
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 500);
    const err = await createTarget(manifest, base({ ...paths, reloadCommand: 'sleep 5' }), creds(), true).deploy(v2, controller.signal).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof Error && err.message === 'shutting down', `rejects with the reason, got ${String(err)}`);
    assert.equal(readFileSync(paths.certificatePath, 'utf8'), v1.certificatePem);
    assert.equal(readFileSync(paths.keyPath, 'utf8'), v1.privateKeyPem);
    assert.deepEqual(leftovers(d), []);
  });

  test('the private key never shows in a message or output, even when the reload command prints it', async () => {
    const d = freshDir();
    const keyPath = join(d, 'key.pem');
    const err = await failure(createTarget(manifest, base({ keyPath, reloadCommand: `echo start; cat ${keyPath}; echo end; exit 2` }), creds(), true).deploy(v1, signal()));
    assert.match(err.output ?? '', /^start\n\[redacted\]\nend\n\n--- reload after restoring ---\n/);
    assertNoSecret(`${err.message}\n${err.output}`, [v1.privateKeyPem!, sshd.clientKey.privateKey], 'the error', [v1.fullchainPem]);

    const wrongUser = await failure(createTarget(manifest, base({ keyPath, username: 'nobody-here' }), creds(), true).deploy(v1, signal()));
    assert.match(wrongUser.message, /did not accept user nobody-here with credentials\.privateKey/);
    assertNoSecret(wrongUser.message, [v1.privateKeyPem!, sshd.clientKey.privateKey], 'the error', [v1.fullchainPem]);
  });

  test('probe: the deployment reports the serial a TLS server presents, and fails when it is not the new one', async () => {
    const d = freshDir();
    const paths = { fullchainPath: join(d, 'fullchain.pem'), keyPath: join(d, 'key.pem') };
    // A TLS server that loads the deployed files at every handshake (as a reloaded server would).
    const live: TlsServer = createTlsServer({
      SNICallback: (_name, cb) => cb(null, createSecureContext({ cert: readFileSync(paths.fullchainPath), key: readFileSync(paths.keyPath) })),
    });
    const stale: TlsServer = createTlsServer({ cert: v1.fullchainPem, key: v1.privateKeyPem });
    await new Promise<void>((r) => live.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => stale.listen(0, '127.0.0.1', r));
    try {
      const probe = { host: '127.0.0.1', port: (live.address() as AddressInfo).port, timeoutSeconds: 3 };
      const outcome = await createTarget(manifest, base({ ...paths, probe }), creds(), true).deploy(v1, signal());
      assert.equal(outcome.servedSerial, v1.serialNumber.replace(/^0+/, ''));
      const outcome2 = await createTarget(manifest, base({ ...paths, probe }), creds(), true).deploy(v2, signal());
      assert.equal(outcome2.servedSerial, v2.serialNumber.replace(/^0+/, ''));

      const staleProbe = { host: '127.0.0.1', port: (stale.address() as AddressInfo).port, serverName: 'ssh.deploy.test', timeoutSeconds: 1 };
      const err = await failure(createTarget(manifest, base({ ...paths, probe: staleProbe }), creds(), true).deploy(v2, signal()));
      assert.match(err.message, /^ssh: files written and reloaded, but 127\.0\.0\.1:\d+ still serves serial [0-9a-f]+, not [0-9a-f]+$/);
      assert.equal(err.servedSerial, v1.serialNumber.replace(/^0+/, ''));
    } finally {
      live.close();
      stale.close();
    }
  });

  test('servedSerial reads the certificate file on the server (undefined while there is none)', async () => {
    const d = freshDir();
    const target = createTarget(manifest, base({ combinedPath: join(d, 'haproxy.pem') }), creds(), true);
    assert.equal(await target.servedSerial!(v1, signal()), undefined);
    await target.deploy(v1, signal());
    assert.equal(await target.servedSerial!(v1, signal()), v1.serialNumber);
  });

  test('a destination that is a symbolic link: the file it points to is replaced, the link stays', async () => {
    const d = freshDir();
    mkdirSync(join(d, 'archive'));
    writeFileSync(join(d, 'archive', 'cert1.pem'), 'old\n');
    symlinkSync(join(d, 'archive', 'cert1.pem'), join(d, 'cert.pem'));
    await createTarget(manifest, base({ certificatePath: join(d, 'cert.pem') }), creds(), true).deploy(v1, signal());
    assert.ok(lstatSync(join(d, 'cert.pem')).isSymbolicLink());
    assert.equal(readlinkSync(join(d, 'cert.pem')), join(d, 'archive', 'cert1.pem'));
    assert.equal(readFileSync(join(d, 'archive', 'cert1.pem'), 'utf8'), v1.certificatePem);
    assert.deepEqual(leftovers(join(d, 'archive')), []);
  });

  test('an encrypted login key works with its passphrase; without it validation says so; a wrong one fails at connection', async () => {
    const d = freshDir();
    const settings = base({ certificatePath: join(d, 'cert.pem') });
    const enc = sshd.encryptedClientKey.privateKey;
    const started = Date.now();
    assert.deepEqual(manifest.validate(settings, { privateKey: enc, passphrase: sshd.passphrase }), []);
    assert.deepEqual(manifest.validate(settings, { privateKey: enc }).map((e) => e.field), ['credentials.passphrase']);
    assert.ok(Date.now() - started < 500, 'validation does not run the bcrypt KDF of an OpenSSH key');
    await createTarget(manifest, settings, { privateKey: enc, passphrase: sshd.passphrase }, true).deploy(v1, signal());
    assert.equal(readFileSync(join(d, 'cert.pem'), 'utf8'), v1.certificatePem);
    const err = await failure(createTarget(manifest, settings, { privateKey: enc, passphrase: 'wrong passphrase' }, true).deploy(v2, signal()));
    assert.equal(err.message, 'ssh: credentials.privateKey could not be read (not an OpenSSH or PEM private key, or credentials.passphrase is missing or wrong)');
    assert.equal(readFileSync(join(d, 'cert.pem'), 'utf8'), v1.certificatePem);
  });

  test('an encrypted PEM login key: validation checks the passphrase', () => {
    const rsa = sshKeygen(sshd.dir, `pem-${n}`, 'rsa', 'pem passphrase', 'PEM');
    const settings = base({ certificatePath: '/c.pem' });
    assert.deepEqual(manifest.validate(settings, { privateKey: rsa.privateKey, passphrase: 'pem passphrase' }), []);
    assert.deepEqual(manifest.validate(settings, { privateKey: rsa.privateKey, passphrase: 'wrong' }).map((e) => e.field), ['credentials.passphrase']);
  });

  test('a loopback host is refused unless private addresses are allowed', async () => {
    const d = freshDir();
    const err = await failure(createTarget(manifest, base({ certificatePath: join(d, 'cert.pem') }), creds(), false).deploy(v1, signal()));
    assert.match(err.message, /^ssh: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback or private address, which is refused/);
    assert.ok(!existsSync(join(d, 'cert.pem')));
  });

  test('validate names every bad field without echoing secrets', () => {
    const errors = manifest.validate({
      host: 'https://server', port: 70000, username: 'a b', hostKey: 'ssh-ed25519 not-base64!', certificatePath: 'relative/cert.pem', keyPath: '/etc/ssl/../key.pem', mode: '0644', timeoutSeconds: 0, probe: { host: 'x', port: 0 },
    }, { privateKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx2 me@host' });
    assert.deepEqual(errors.map((e) => e.field).sort(), [
      'credentials.privateKey', 'settings.certificatePath', 'settings.host', 'settings.hostKey', 'settings.keyPath', 'settings.port', 'settings.probe.port', 'settings.timeoutSeconds', 'settings.username',
    ]);
    assert.deepEqual(manifest.validate(base({}), creds()).map((e) => e.field), ['settings.certificatePath'], 'at least one path');
    assert.deepEqual(manifest.validate(base({ keyPath: '/k.pem', mode: '0644' }), creds()).map((e) => e.field), ['settings.mode'], 'no world-readable key');
    assert.deepEqual(manifest.validate(base({ keyPath: '/k.pem', combinedPath: '/k.pem' }), creds()).map((e) => e.field), ['settings.combinedPath'], 'no path twice');
    for (const e of manifest.validate(base({ certificatePath: '/c.pem' }), { privateKey: 'garbage' })) assert.ok(!e.message.includes('garbage'));
  });
});
