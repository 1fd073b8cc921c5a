// The agent's deployment executor against a real nginx (Debian package): files written
// atomically, reload, probe, rollback on failure, skip when already served, modes, owners,
// combined and PKCS#12 files, and agent-kept keys.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { executeDeployment, BACKUP_SUFFIX } from '../../src/agent/deploy-files.js';
import { createAgentCsr } from '../../src/agent/keys.js';
import { probeServedSerial, sameSerial, normaliseSerial } from '../../src/deploy/probe.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { captureLogger, deploymentWork, makeCert, scratch, startNginx, type TestCert, type TestNginx } from './fixtures.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;
const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { encoding: 'utf8', ...(input ? { input } : {}) });

describe('sameSerial / normaliseSerial', () => {
  it('ignores case, colons and leading zeros', () => {
    assert.equal(normaliseSerial('00:0A:FF'), 'aff');
    assert.equal(normaliseSerial('0x00ff'), 'ff');
    assert.equal(normaliseSerial('0000'), '0');
    assert.ok(sameSerial('0A:BC', 'abc'));
    assert.ok(!sameSerial('abc', 'abd'));
  });
});

describe('executeDeployment with nginx', () => {
  const s = scratch();
  const certDir = join(s.dir, 'certs');
  const stateDir = join(s.dir, 'state');
  const fullchainPath = join(certDir, 'fullchain.pem');
  const keyPath = join(certDir, 'privkey.pem');
  const certificatePath = join(certDir, 'cert.pem');
  let a: TestCert;
  let b: TestCert;
  let nginx: TestNginx;
  const log = captureLogger();

  const settings = (overrides: Record<string, unknown> = {}) => ({
    certificatePath, fullchainPath, keyPath,
    reloadCommand: nginx.reloadCommand,
    reloadTimeoutSeconds: 20,
    probe: { host: '127.0.0.1', port: nginx.port, timeoutSeconds: 5 },
    ...overrides,
  });
  const served = () => probeServedSerial({ host: '127.0.0.1', port: nginx.port }, 'a.test', AbortSignal.timeout(5000));
  const assertFilesAre = (c: TestCert) => {
    assert.equal(readFileSync(certificatePath, 'utf8'), c.material.certificatePem);
    assert.equal(readFileSync(fullchainPath, 'utf8'), c.material.fullchainPem);
    assert.equal(readFileSync(keyPath, 'utf8'), c.material.privateKeyPem);
  };
  const leftovers = () => readdirSync(certDir).filter((f) => f.endsWith(BACKUP_SUFFIX) || f.endsWith('.tmp'));

  before(async () => {
    a = makeCert('a.test');
    b = makeCert('b.test');
    assert.notEqual(a.serial, b.serial);
    // nginx needs files to start with: a placeholder pair, replaced by the first deployment.
    const placeholder = makeCert('placeholder.test');
    execFileSync('mkdir', ['-p', certDir]);
    writeFileSync(fullchainPath, placeholder.material.fullchainPem);
    writeFileSync(keyPath, placeholder.material.privateKeyPem!);
    nginx = await startNginx(s.dir, fullchainPath, keyPath);
  });
  after(async () => {
    await nginx?.stop();
    s.remove();
  });

  it('deploys A: files written, nginx reloaded, the probe sees A', async () => {
    const result = await executeDeployment(deploymentWork(a.material, settings()), { stateDir, logger: log.logger });
    assert.equal(result.state, 'DEPLOYED', result.message);
    assert.equal(result.servedSerial, normaliseSerial(a.serial));
    assert.match(result.message, /wrote 3 files, reloaded, serial/);
    assert.ok(sameSerial(await served(), a.serial));
    assertFilesAre(a);
    assert.equal(modeOf(certificatePath), 0o644);
    assert.equal(modeOf(fullchainPath), 0o644);
    assert.equal(modeOf(keyPath), 0o600);
    assert.deepEqual(leftovers(), [], 'backups are removed after success');
  });

  it('deploys B over A: the probe sees B', async () => {
    const result = await executeDeployment(deploymentWork(b.material, settings()), { stateDir, logger: log.logger });
    assert.equal(result.state, 'DEPLOYED', result.message);
    assert.ok(sameSerial(await served(), b.serial));
    assertFilesAre(b);
    assert.deepEqual(leftovers(), []);
  });

  it('skips when the probe already sees the serial', async () => {
    const before = statSync(fullchainPath).mtimeMs;
    const result = await executeDeployment(deploymentWork(b.material, settings({ reloadCommand: 'exit 9' })), { stateDir, logger: log.logger });
    assert.equal(result.state, 'DEPLOYED');
    assert.equal(result.skipped, true);
    assert.equal(result.message, 'already served');
    assert.equal(result.servedSerial, normaliseSerial(b.serial));
    assert.equal(statSync(fullchainPath).mtimeMs, before, 'nothing was written');
  });

  it('a failing reload restores the previous files, reloads them, and reports the output', async () => {
    const marker = join(s.dir, 'reload-runs');
    // Fails on the deployment's run, succeeds on the rollback's run (CERTKEEPER_ROLLBACK=1).
    const reloadCommand = `echo run >> ${marker}; if [ -n "$CERTKEEPER_ROLLBACK" ]; then ${nginx.reloadCommand}; else echo boom >&2; exit 3; fi`;
    const result = await executeDeployment(deploymentWork(a.material, settings({ reloadCommand })), { stateDir, logger: log.logger });
    assert.equal(result.state, 'FAILED');
    assert.match(result.message, /reload command exited with code 3: boom/);
    assert.match(result.message, /previous files were restored/);
    assert.match(result.output ?? '', /boom/);
    assert.equal(readFileSync(marker, 'utf8'), 'run\nrun\n', 'the reload ran again after the restore');
    assertFilesAre(b);
    assert.deepEqual(leftovers(), []);
    assert.ok(sameSerial(await served(), b.serial));
  });

  it('a reload that changes nothing fails the probe: files restored, FAILED naming both serials', async () => {
    const result = await executeDeployment(deploymentWork(a.material, settings({ reloadCommand: 'true', probe: { host: '127.0.0.1', port: nginx.port, timeoutSeconds: 1 } })), { stateDir, logger: log.logger });
    assert.equal(result.state, 'FAILED');
    assert.match(result.message, new RegExp(`probe saw serial ${normaliseSerial(b.serial)}, expected ${a.serial}`));
    assert.equal(result.servedSerial, normaliseSerial(b.serial));
    assertFilesAre(b);
    assert.deepEqual(leftovers(), []);
  });

  it('a timed-out reload kills its whole process group and rolls back', async () => {
    const pidFile = join(s.dir, 'sleeper.pid');
    const reloadCommand = `if [ -n "$CERTKEEPER_ROLLBACK" ]; then exit 0; fi; sleep 60 & echo $! > ${pidFile}; wait`;
    const t0 = Date.now();
    const result = await executeDeployment(deploymentWork(a.material, settings({ reloadCommand, reloadTimeoutSeconds: 1 })), { stateDir, logger: log.logger });
    assert.ok(Date.now() - t0 < 15_000);
    assert.equal(result.state, 'FAILED');
    assert.match(result.message, /timed out after 1 s/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((r) => setTimeout(r, 200));
    // Gone, or a zombie waiting for a PID 1 that does not reap (containers): either way not running.
    const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    assert.ok(state === 'gone' || state === 'Z', `the background sleep was killed with the group (state ${state})`);
    assertFilesAre(b);
  });

  it('new files that fail are removed, not left behind', async () => {
    const extra = join(certDir, 'new-chain.pem');
    const reloadCommand = "sh -c 'echo boom >&2; exit 3'";
    const result = await executeDeployment(deploymentWork(a.material, settings({ chainPath: extra, reloadCommand, probe: undefined })), { stateDir, logger: log.logger });
    assert.equal(result.state, 'FAILED');
    assert.match(result.message, /reload command exited with code 3: boom; the previous files were restored, but reloading on them exited with code 3/);
    assert.match(result.output ?? '', /boom[\s\S]*reload after restoring the previous files: exited with code 3[\s\S]*boom/);
    assert.ok(!existsSync(extra));
    assertFilesAre(b);
  });
});

describe('executeDeployment file layout', () => {
  const s = scratch();
  const stateDir = join(s.dir, 'state');
  const log = captureLogger();
  let c: TestCert;
  before(() => {
    c = makeCert('files.test');
  });
  after(() => s.remove());

  it('writes combined (key, leaf, chain) and PKCS#12 files that openssl reads, 0600 by default', async () => {
    const combinedPath = join(s.dir, 'out', 'combined.pem');
    const pkcs12Path = join(s.dir, 'out', 'bundle.p12');
    const chainPath = join(s.dir, 'out', 'chain.pem');
    const result = await executeDeployment(
      deploymentWork(c.material, { combinedPath, pkcs12Path, chainPath }, { pkcs12Password: 'p12 secret' }),
      { stateDir, logger: log.logger },
    );
    assert.equal(result.state, 'DEPLOYED', result.message);
    assert.equal(result.servedSerial, undefined);
    assert.equal(modeOf(combinedPath), 0o600);
    assert.equal(modeOf(pkcs12Path), 0o600);
    assert.equal(modeOf(chainPath), 0o644);
    const combined = readFileSync(combinedPath, 'utf8');
    assert.ok(combined.indexOf('PRIVATE KEY') < combined.indexOf('BEGIN CERTIFICATE'), 'key first');
    assert.equal(combined, c.material.privateKeyPem! + c.material.certificatePem + c.material.chainPem);
    // openssl: the key and the first certificate of the combined file belong together.
    const keyPub = openssl(['pkey', '-in', combinedPath, '-pubout']);
    const certPub = openssl(['x509', '-in', combinedPath, '-noout', '-pubkey']);
    assert.equal(keyPub, certPub);
    const p12 = openssl(['pkcs12', '-in', pkcs12Path, '-passin', 'pass:p12 secret', '-nodes']);
    assert.match(p12, /subject=CN = files\.test/);
    assert.match(p12, /subject=CN = certkeeper test intermediate/);
    assert.match(p12, /BEGIN PRIVATE KEY/);
    const leafFromP12 = openssl(['x509', '-noout', '-serial'], p12);
    assert.ok(sameSerial(leafFromP12.split('=')[1]!, c.serial));
    assert.equal(readFileSync(chainPath, 'utf8'), c.material.chainPem);
    // Secrets never appear in the log.
    assert.ok(!log.text().includes('p12 secret'));
    assert.ok(!log.text().includes(c.material.privateKeyPem!.split('\n')[1]!));
  });

  it('gives the reload command the deployment facts and never reports the key or the PKCS#12 password', async () => {
    const keyPath = join(s.dir, 'redact', 'key.pem');
    const pkcs12Path = join(s.dir, 'redact', 'bundle.p12');
    const reloadCommand = `cat ${keyPath}; echo "pw=$CERTKEEPER_PKCS12_PASSWORD serial=$CERTKEEPER_SERIAL_NUMBER name=$CERTKEEPER_CERTIFICATE_NAME"; exit 4`;
    const result = await executeDeployment(
      deploymentWork(c.material, { keyPath, pkcs12Path, reloadCommand }, { pkcs12Password: 'hunter2-p12' }),
      { stateDir, logger: log.logger },
    );
    assert.equal(result.state, 'FAILED');
    assert.match(result.output ?? '', new RegExp(`pw=\\[redacted\\] serial=${c.serial} name=files\\.test_`));
    assert.match(result.output ?? "", /^\[redacted\]\npw=/);
    const keyBody = c.material.privateKeyPem!.split('\n')[1]!;
    for (const text of [result.output ?? '', result.message, log.text()]) {
      assert.ok(!text.includes('hunter2-p12'));
      assert.ok(!text.includes(keyBody));
    }
    assert.ok(!existsSync(keyPath), 'new files removed on failure');
  });

  it('creates missing directories 0755 even under a umask of 0077', async () => {
    const previous = process.umask(0o077);
    try {
      const certificatePath = join(s.dir, 'nested', 'deeper', 'cert.pem');
      const result = await executeDeployment(deploymentWork(c.material, { certificatePath }), { stateDir, logger: log.logger });
      assert.equal(result.state, 'DEPLOYED', result.message);
      assert.equal(modeOf(join(s.dir, 'nested')), 0o755);
      assert.equal(modeOf(join(s.dir, 'nested', 'deeper')), 0o755);
      assert.equal(modeOf(certificatePath), 0o644);
    } finally {
      process.umask(previous);
    }
  });

  it('applies mode, owner and group (names and numbers)', { skip: process.getuid?.() !== 0 && 'needs root for chown' }, async () => {
    const certificatePath = join(s.dir, 'owned', 'cert.pem');
    const keyPath = join(s.dir, 'owned', 'key.pem');
    const r1 = await executeDeployment(
      deploymentWork(c.material, { certificatePath, keyPath, owner: 'nobody', group: 'nogroup', mode: '0640' }),
      { stateDir, logger: log.logger },
    );
    assert.equal(r1.state, 'DEPLOYED', r1.message);
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const nogroup = Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]);
    for (const p of [certificatePath, keyPath]) {
      const st = statSync(p);
      assert.equal(st.mode & 0o777, 0o640);
      assert.equal(st.uid, nobody);
      assert.equal(st.gid, nogroup);
    }
    const r2 = await executeDeployment(deploymentWork(c.material, { certificatePath, owner: '0', group: '0' }), { stateDir, logger: log.logger });
    assert.equal(r2.state, 'DEPLOYED', r2.message);
    assert.equal(statSync(certificatePath).uid, 0);
    assert.equal(statSync(certificatePath).mode & 0o777, 0o644);
    const r3 = await executeDeployment(deploymentWork(c.material, { certificatePath, owner: 'no-such-user-ck' }), { stateDir, logger: log.logger });
    assert.equal(r3.state, 'FAILED');
    assert.match(r3.message, /owner "no-such-user-ck": no such user/);
  });

  it('uses the agent-kept key named by agentKeyId', async () => {
    // The agent generates the key and a CSR; the test CA signs it.
    const csrPem = await createAgentCsr(stateDir, { kind: 'csr', id: 'csr-1', keyId: 'key-1', keyAlgorithm: 'ecdsa256', commonName: 'kept.test', names: ['kept.test'] });
    const dir = c.chain.dir;
    writeFileSync(join(dir, 'kept.csr'), csrPem);
    execFileSync('openssl', ['x509', '-req', '-in', 'kept.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-days', '30', '-out', 'kept.pem'], { cwd: dir, stdio: 'ignore' });
    const leafPem = readFileSync(join(dir, 'kept.pem'), 'utf8');
    const material = {
      ...c.material, commonName: 'kept.test', names: ['kept.test'], serialNumber: parseCertificate(leafPem).serialNumber,
      certificatePem: leafPem, fullchainPem: leafPem + c.material.chainPem, privateKeyPem: undefined, agentKeyId: 'key-1',
    };
    const keyPath = join(s.dir, 'kept', 'key.pem');
    const result = await executeDeployment(deploymentWork(material, { keyPath, fullchainPath: join(s.dir, 'kept', 'fullchain.pem') }), { stateDir, logger: log.logger });
    assert.equal(result.state, 'DEPLOYED', result.message);
    assert.equal(readFileSync(keyPath, 'utf8'), readFileSync(join(stateDir, 'keys', 'key-1.pem'), 'utf8'));

    const missing = await executeDeployment(deploymentWork({ ...material, agentKeyId: 'key-unknown' }, { keyPath }), { stateDir, logger: log.logger });
    assert.equal(missing.state, 'FAILED');
    assert.match(missing.message, /keyPath need the private key key-unknown, which this agent does not have/);
  });

  it('fails clearly when a key file is asked but no key is available, writing nothing', async () => {
    const certificatePath = join(s.dir, 'nokey', 'cert.pem');
    const keyPath = join(s.dir, 'nokey', 'key.pem');
    const result = await executeDeployment(deploymentWork({ ...c.material, privateKeyPem: undefined }, { certificatePath, keyPath }), { stateDir, logger: log.logger });
    assert.equal(result.state, 'FAILED');
    assert.match(result.message, /keyPath need the private key, but the deployment carries none/);
    assert.ok(!existsSync(certificatePath));
  });

  it('refuses bad settings: relative paths, a key of another certificate, pkcs12 without password', async () => {
    const other = makeCert('other.test');
    const rel = await executeDeployment(deploymentWork(c.material, { certificatePath: 'relative.pem' }), { stateDir, logger: log.logger });
    assert.match(rel.message, /not an absolute path/);
    const mismatch = await executeDeployment(deploymentWork({ ...c.material, privateKeyPem: other.material.privateKeyPem }, { keyPath: join(s.dir, 'mm.pem') }), { stateDir, logger: log.logger });
    assert.match(mismatch.message, /does not belong to certificate/);
    const noPass = await executeDeployment(deploymentWork(c.material, { pkcs12Path: join(s.dir, 'x.p12') }), { stateDir, logger: log.logger });
    assert.match(noPass.message, /no pkcs12Password/);
    const none = await executeDeployment(deploymentWork(c.material, {}), { stateDir, logger: log.logger });
    assert.match(none.message, /names no file/);
    for (const r of [rel, mismatch, noPass, none]) assert.equal(r.state, 'FAILED');
  });
});
