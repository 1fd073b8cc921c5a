/**
 * The `webhook` target against a local HTTP receiver: the conformance suite, the signature checked
 * with the notification webhooks' own verifier, the key only on request, non-2xx answers and
 * redirects, and the private-address rule.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../../src/demo/free-port.js';
import { manifest } from '../../../src/deploy/targets/webhook/index.js';
import { DeployError } from '../../../src/deploy/types.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from '../../../src/notify/webhook-signature.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../notify/webhook-receiver.js';
import { assertNoSecret, createTarget, deployTargetConformance } from './conformance.js';
import { makeMaterial, type TestMaterial } from './material.js';

const SECRET = 'whsec-test-3f9a1c2e8b7d4a6f';

deployTargetConformance('webhook', async () => {
  const receiver = await startWebhookReceiver();
  const deadPort = await freePort();
  return {
    manifest,
    settings: { url: `${receiver.url}/deploy?token=url-token-abc123` },
    credentials: { secret: SECRET },
    allowPrivateAddresses: true,
    async deployedSerial() {
      const last = receiver.at('/deploy?token=url-token-abc123').at(-1);
      return last ? (JSON.parse(last.body) as { serialNumber: string }).serialNumber : undefined;
    },
    bad: { settings: { url: `http://127.0.0.1:${deadPort}/deploy?token=url-token-abc123` }, credentials: { secret: SECRET } },
    secrets: [SECRET, 'url-token-abc123'],
    teardown: () => receiver.close(),
  };
});

describe('webhook target', () => {
  let receiver: WebhookReceiver;
  let material: TestMaterial;
  const signal = () => AbortSignal.timeout(30_000);
  before(async () => {
    receiver = await startWebhookReceiver();
    material = makeMaterial('hook.deploy.test', ['www.hook.deploy.test']);
  });
  after(() => receiver.close());

  test('POSTs the documented JSON, signed as notification webhooks are; no key by default', async () => {
    const target = createTarget(manifest, { url: `${receiver.url}/plain` }, { secret: SECRET }, true);
    const outcome = await target.deploy(material, signal());
    assert.match(outcome.message, /^webhook: 127\.0\.0\.1:\d+ answered HTTP 200$/);
    const [req] = await receiver.waitFor('/plain', 1);
    assert.equal(req!.method, 'POST');
    assert.equal(req!.headers['content-type'], 'application/json');
    const ts = req!.headers[TIMESTAMP_HEADER] as string;
    const sig = req!.headers[SIGNATURE_HEADER] as string;
    assert.ok(verifyWebhookSignature({ secret: SECRET, body: req!.body, timestamp: ts, signature: sig }), 'the project\'s verifier accepts it');
    assert.ok(!verifyWebhookSignature({ secret: 'another-secret', body: req!.body, timestamp: ts, signature: sig }), 'another secret does not');
    assert.ok(!verifyWebhookSignature({ secret: SECRET, body: `${req!.body} `, timestamp: ts, signature: sig }), 'a changed body does not');
    const body = JSON.parse(req!.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['certificate', 'certificateChain', 'certificateId', 'commonName', 'fullchain', 'name', 'names', 'notAfter', 'serialNumber'].sort());
    assert.deepEqual(body, {
      certificateId: material.certificateId,
      name: material.name,
      commonName: 'hook.deploy.test',
      names: ['hook.deploy.test', 'www.hook.deploy.test'],
      serialNumber: material.serialNumber,
      notAfter: material.notAfter,
      certificate: material.certificatePem,
      certificateChain: material.chainPem,
      fullchain: material.fullchainPem,
    });
    assertNoSecret(req!.body, [material.privateKeyPem!], 'the body', [material.fullchainPem]);
  });

  test('includePrivateKey: true sends the key', async () => {
    const target = createTarget(manifest, { url: `${receiver.url}/with-key`, includePrivateKey: true }, { secret: SECRET }, true);
    await target.deploy(material, signal());
    const [req] = await receiver.waitFor('/with-key', 1);
    assert.equal((JSON.parse(req!.body) as { privateKey?: string }).privateKey, material.privateKeyPem);
  });

  test('a non-2xx answer is a DeployError with the status and the (redacted, bounded) body', async () => {
    receiver.script('/refuse', { status: 422, body: `certificate rejected; you sent ${material.privateKeyPem}` });
    const target = createTarget(manifest, { url: `${receiver.url}/refuse`, includePrivateKey: true }, { secret: SECRET }, true);
    const err = await target.deploy(material, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /^webhook: 127\.0\.0\.1:\d+ answered HTTP 422$/);
    assert.match(err.output ?? '', /^certificate rejected; you sent \[redacted\]/);
    assertNoSecret(err.output, [material.privateKeyPem!], 'the output', [material.fullchainPem]);

    receiver.script('/big', { status: 500, body: `${'x'.repeat(20_000)}THE END` });
    const big = await createTarget(manifest, { url: `${receiver.url}/big` }, { secret: SECRET }, true).deploy(material, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(big instanceof DeployError);
    assert.ok((big.output ?? '').length < 8300 && big.output!.endsWith('THE END'), 'bounded, keeping the tail');
  });

  test('a redirect is not followed', async () => {
    receiver.script('/moved', { status: 302, headers: { location: `${receiver.url}/elsewhere` } });
    const target = createTarget(manifest, { url: `${receiver.url}/moved` }, { secret: SECRET }, true);
    const err = await target.deploy(material, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /HTTP 302; redirects are not followed/);
    assert.equal(receiver.at('/elsewhere').length, 0);
  });

  test('loopback is refused unless private addresses are allowed', async () => {
    const before = receiver.requests.length;
    const target = createTarget(manifest, { url: `${receiver.url}/private` }, { secret: SECRET }, false);
    const err = await target.deploy(material, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /^webhook: .*loopback or private address/);
    assert.match(err.message, /CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1/);
    assert.equal(receiver.requests.length, before, 'nothing was sent');
  });

  test('validate: https only (http to loopback), a secret, sane options; URLs are not echoed', () => {
    const fields = (settings: Record<string, unknown>, credentials: Record<string, string> = { secret: SECRET }) => manifest.validate(settings, credentials).map((e) => e.field);
    assert.deepEqual(fields({ url: 'https://hooks.example.net/deploy' }), []);
    assert.deepEqual(fields({ url: 'http://127.0.0.1:9000/deploy' }), []);
    assert.deepEqual(fields({ url: 'http://hooks.example.net/deploy?token=abc' }), ['settings.url']);
    assert.deepEqual(fields({ url: 'ftp://hooks.example.net/' }), ['settings.url']);
    assert.deepEqual(fields({ url: 'https://user:pw@hooks.example.net/' }), ['settings.url']);
    assert.deepEqual(fields({ url: 'https://hooks.example.net/', includePrivateKey: 'yes', timeoutSeconds: 9999 }), ['settings.includePrivateKey', 'settings.timeoutSeconds']);
    assert.deepEqual(fields({ url: 'https://hooks.example.net/' }, {}), ['credentials.secret']);
    for (const e of manifest.validate({ url: 'http://hooks.example.net/deploy?token=abc' }, {})) assert.ok(!e.message.includes('token=abc'));
    assert.equal(manifest.needsPrivateKey, false);
  });
});
