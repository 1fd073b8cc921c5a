/**
 * `certkeeper admin rotate-master-key`: every secret re-wrapped under a new key; after a restart
 * every private key still exports and matches its certificate, and channel credentials still work.
 * A wrong key for the database changes nothing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeChain } from '../harness/openssl-ca.js';
import { startWebhookReceiver } from '../notify/webhook-receiver.js';
import { verifyWebhookSignature } from '../../src/notify/webhook-signature.js';
import { cliRunner } from './run-cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ck-rotate-'));
const token = 'rotation-test-admin-token';
let ck: CertkeeperHandle | undefined;
const receiver = await startWebhookReceiver();
after(async () => {
  await ck?.stop();
  await receiver.close();
});
const cli = cliRunner(() => ({ CERTKEEPER_DATA_DIR: dataDir }));
const start = () => startCertkeeper({ CERTKEEPER_DATA_DIR: dataDir, CERTKEEPER_ADMIN_TOKEN: token });

test('rotate, restart: every private key exports and matches, every credential opens', async () => {
  ck = await start();
  const chains = [makeChain('rsa.rotate.example', [], { keyType: 'rsa' }), makeChain('ec.rotate.example', [], { keyType: 'ec' })];
  const ids: string[] = [];
  for (const c of chains) {
    const r: { status: number; text: string; body: any } = await ck.api('POST', '/api/v1/certificates', { properties: { certificate: c.leafPem, certificateChain: c.intermediatePem + c.rootPem, privateKey: c.leafKeyPem } });
    assert.equal(r.status, 201, r.text);
    ids.push(r.body.id);
  }
  const ch = await ck.api('POST', '/api/v1/notification-channels', { properties: { name: 'hook', type: 'webhook', settings: { url: `${receiver.url}/hook` }, credentials: { secret: 'a-webhook-secret-of-32-characters!!' } } });
  assert.equal(ch.status, 201, ch.text);
  await ck.stop();
  ck = undefined;
  const oldKey = readFileSync(join(dataDir, 'master.key'), 'utf8');

  // A key that is not the database's fails at the first envelope and changes nothing.
  const strayDir = mkdtempSync(join(tmpdir(), 'ck-stray-'));
  writeFileSync(join(strayDir, 'master.key'), Buffer.alloc(32, 7).toString('base64'));
  const wrong = await cli(['admin', 'rotate-master-key', '--new-key-file', join(strayDir, 'new.key'), '--generate'], { CERTKEEPER_MASTER_KEY_FILE: join(strayDir, 'master.key') });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /nothing changed: envelope was sealed with master key/);

  const newKeyFile = join(mkdtempSync(join(tmpdir(), 'ck-newkey-')), 'new.key');
  const rotated = await cli(['admin', 'rotate-master-key', '--new-key-file', newKeyFile, '--generate', '--json']);
  assert.equal(rotated.code, 0, rotated.stderr);
  const out = JSON.parse(rotated.stdout);
  assert.equal(out.rewrapped['certificates.private_key_enc'], 2);
  assert.equal(out.rewrapped['notification_channels.credentials_enc'], 1);
  assert.equal(out.dataDirKeyReplaced, true);
  assert.equal(readFileSync(join(dataDir, 'master.key'), 'utf8'), readFileSync(newKeyFile, 'utf8'), 'the data dir holds the new key');
  assert.equal(readFileSync(out.oldKeyBackup, 'utf8'), oldKey, 'the old key is kept beside it');
  const again = await cli(['admin', 'rotate-master-key', '--new-key-file', newKeyFile]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /the new master key is the current one/);

  ck = await start();
  for (const [i, id] of ids.entries()) {
    const exp: { status: number; text: string; body: any } = await ck.api('POST', `/api/v1/certificates/${id}/export`, { format: 'pem', includePrivateKey: true });
    assert.equal(exp.status, 200, exp.text);
    const cert = new X509Certificate(exp.body.certificate);
    assert.ok(cert.checkPrivateKey(createPrivateKey(exp.body.privateKey)), `key ${i} matches its certificate`);
    assert.equal(cert.serialNumber, new X509Certificate(chains[i]!.leafPem).serialNumber);
  }
  const sent = await ck.api('POST', `/api/v1/notification-channels/${ch.body.id}/test`);
  assert.ok(sent.status < 300, sent.text);
  const [req] = await receiver.waitFor('/hook', 1);
  assert.ok(verifyWebhookSignature({ secret: 'a-webhook-secret-of-32-characters!!', body: req!.body, timestamp: String(req!.headers['x-certkeeper-timestamp']), signature: String(req!.headers['x-certkeeper-signature']) }));
  assert.ok(!ck.logs().includes(readFileSync(newKeyFile, 'utf8').trim()), 'the key is never logged');
});
