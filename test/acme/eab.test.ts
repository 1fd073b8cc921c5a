// External Account Binding (RFC 8555 §7.3.4) against Pebble configured to require it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { AcmeClient, AcmeProblemError, generateAccountKey, isAcmeProblem } from '../../src/acme/index.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';

const hmacKey = randomBytes(32).toString('base64url');
let pebble: PebbleHandle;

before(async () => {
  pebble = await startPebble({ httpPort: await freePort(), eab: { 'kid-1': hmacKey } });
});

after(async () => {
  await pebble?.stop();
});

async function client(): Promise<AcmeClient> {
  return new AcmeClient({ directoryUrl: pebble.directoryUrl, accountKey: await generateAccountKey(), caCertificates: pebble.tlsCaPem });
}

test('the directory says an external account is required', async () => {
  const c = await client();
  assert.equal((await c.getMeta()).externalAccountRequired, true);
});

test('a good EAB key creates the account', async () => {
  const c = await client();
  const res = await c.registerAccount({ termsOfServiceAgreed: true, externalAccountBinding: { keyId: 'kid-1', hmacKey } });
  assert.equal(res.created, true);
  assert.equal(res.account.status, 'valid');
  assert.equal((await c.findAccount()).accountUrl, res.accountUrl);
});

test('a wrong HMAC key is refused with a typed problem', async () => {
  const c = await client();
  const wrong = randomBytes(32).toString('base64url');
  await assert.rejects(
    c.registerAccount({ termsOfServiceAgreed: true, externalAccountBinding: { keyId: 'kid-1', hmacKey: wrong } }),
    (err: unknown) => {
      // Pebble: "unauthorized: external account binding JWS verification error".
      assert.ok(isAcmeProblem(err, 'unauthorized'), String(err));
      assert.equal(err.retryable, false);
      assert.ok(err.detail.length > 0);
      assert.ok(!err.message.includes(wrong), 'the error never carries the key');
      return true;
    },
  );
  assert.equal(c.accountUrl, undefined);
});

test('an unknown key id is refused', async () => {
  const c = await client();
  await assert.rejects(
    c.registerAccount({ termsOfServiceAgreed: true, externalAccountBinding: { keyId: 'kid-unknown', hmacKey } }),
    AcmeProblemError,
  );
});

test('no EAB at all: externalAccountRequired', async () => {
  const c = await client();
  await assert.rejects(c.registerAccount({ termsOfServiceAgreed: true }), (err: unknown) => {
    assert.ok(isAcmeProblem(err, 'externalAccountRequired'), String(err));
    return true;
  });
});
