/**
 * The `kubernetes-secret` target against a fake API server (HTTPS on 127.0.0.1, its self-signed
 * certificate given as caCertificate) that follows the documented Secret API: the conformance
 * suite, the request bodies, create then replace with resourceVersion, the retry after one 409,
 * what is kept of an existing Secret, and the failures (bad token, untrusted server, wrong type).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { manifest } from '../../../src/deploy/targets/kubernetes-secret/index.js';
import { DeployError } from '../../../src/deploy/types.js';
import { assertNoSecret, createTarget, deployTargetConformance } from './conformance.js';
import { startFakeKubeApi, type FakeKubeApi } from './fake-kube-api.js';
import { makeMaterial, type TestMaterial } from './material.js';

const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.fake-service-account-token.c2lnbmF0dXJl';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

deployTargetConformance('kubernetes-secret', async () => {
  const api = await startFakeKubeApi(TOKEN);
  const settings = { apiUrl: api.url, namespace: 'web', secretName: 'conformance-tls', caCertificate: api.caCertificate };
  return {
    manifest,
    settings,
    credentials: { token: TOKEN },
    allowPrivateAddresses: true,
    async deployedSerial() {
      return api.secrets.get('web/conformance-tls')?.metadata.annotations?.['certkeeper.io/serial-number'];
    },
    bad: { settings, credentials: { token: 'not-the-token-0123456789' } },
    secrets: [TOKEN, 'not-the-token-0123456789'],
    teardown: () => api.close(),
  };
});

describe('kubernetes-secret target', () => {
  let api: FakeKubeApi;
  let v1: TestMaterial;
  let v2: TestMaterial;
  const signal = () => AbortSignal.timeout(30_000);
  const settingsFor = (secretName: string, extra: Record<string, unknown> = {}) => ({ apiUrl: api.url, namespace: 'shop', secretName, caCertificate: api.caCertificate, ...extra });
  before(async () => {
    api = await startFakeKubeApi(TOKEN);
    v1 = makeMaterial('shop.deploy.test');
    v2 = makeMaterial('shop.deploy.test');
  });
  after(() => api.close());

  test('create, then replace: the documented calls, a kubernetes.io/tls Secret with base64 data, resourceVersion on PUT', async () => {
    const target = createTarget(manifest, settingsFor('shop-tls', { labels: { tier: 'frontend' }, annotations: { 'example.com/owner': 'shop-team' } }), { token: TOKEN }, true);
    const from = api.requests.length;
    const created = await target.deploy(v1, signal());
    assert.match(created.message, /^kubernetes-secret: created Secret shop\/shop-tls \(resourceVersion \d+\) on 127\.0\.0\.1:\d+$/);
    const calls = api.requests.slice(from);
    assert.deepEqual(calls.map((r) => `${r.method} ${r.path}`), ['GET /api/v1/namespaces/shop/secrets/shop-tls', 'POST /api/v1/namespaces/shop/secrets']);
    for (const r of calls) assert.equal(r.authorization, `Bearer ${TOKEN}`);
    assert.equal(calls[1]!.contentType, 'application/json');
    const posted = calls[1]!.body as { apiVersion: string; kind: string; type: string; metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string>; resourceVersion?: string }; data: Record<string, string> };
    assert.equal(posted.apiVersion, 'v1');
    assert.equal(posted.kind, 'Secret');
    assert.equal(posted.type, 'kubernetes.io/tls');
    assert.equal(posted.metadata.name, 'shop-tls');
    assert.equal(posted.metadata.namespace, 'shop');
    assert.equal(posted.metadata.resourceVersion, undefined);
    assert.deepEqual(posted.metadata.labels, { 'app.kubernetes.io/managed-by': 'certkeeper', tier: 'frontend' });
    assert.deepEqual(posted.metadata.annotations, { 'example.com/owner': 'shop-team', 'certkeeper.io/certificate-id': v1.certificateId, 'certkeeper.io/serial-number': v1.serialNumber });
    assert.deepEqual(Object.keys(posted.data).sort(), ['tls.crt', 'tls.key']);
    assert.equal(posted.data['tls.crt'], b64(v1.fullchainPem));
    assert.equal(unb64(posted.data['tls.key']), v1.privateKeyPem);
    assert.equal(await target.servedSerial!(v1, signal()), v1.serialNumber);

    const rv = api.secrets.get('shop/shop-tls')!.metadata.resourceVersion;
    const from2 = api.requests.length;
    const replaced = await target.deploy(v2, signal());
    assert.match(replaced.message, /^kubernetes-secret: replaced Secret shop\/shop-tls/);
    const calls2 = api.requests.slice(from2);
    assert.deepEqual(calls2.map((r) => `${r.method} ${r.path}`), ['GET /api/v1/namespaces/shop/secrets/shop-tls', 'PUT /api/v1/namespaces/shop/secrets/shop-tls']);
    const put = calls2[1]!.body as typeof posted;
    assert.equal(put.metadata.resourceVersion, rv, 'the PUT carries the resourceVersion that was read');
    assert.equal(put.type, 'kubernetes.io/tls');
    assert.equal(unb64(put.data['tls.crt']), v2.fullchainPem);
    assert.equal(unb64(put.data['tls.key']), v2.privateKeyPem);
    assert.equal(put.metadata.annotations['certkeeper.io/serial-number'], v2.serialNumber);
    const stored = api.secrets.get('shop/shop-tls')!;
    assert.equal(unb64(stored.data?.['tls.crt']), v2.fullchainPem);
    assert.equal(await target.servedSerial!(v2, signal()), v2.serialNumber);
  });

  test('replacing keeps what others put on the Secret (labels, annotations, other data keys)', async () => {
    api.seed({ metadata: { name: 'kept-tls', namespace: 'shop', labels: { team: 'payments' }, annotations: { 'reflector.v1.k8s.emberstack.com/reflection-allowed': 'true' } }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64('old'), 'tls.key': b64('old'), 'ca.crt': b64('a ca') } });
    await createTarget(manifest, settingsFor('kept-tls'), { token: TOKEN }, true).deploy(v1, signal());
    const s = api.secrets.get('shop/kept-tls')!;
    assert.equal(s.metadata.labels?.team, 'payments');
    assert.equal(s.metadata.labels?.['app.kubernetes.io/managed-by'], 'certkeeper');
    assert.equal(s.metadata.annotations?.['reflector.v1.k8s.emberstack.com/reflection-allowed'], 'true');
    assert.equal(unb64(s.data?.['ca.crt']), 'a ca');
    assert.equal(unb64(s.data?.['tls.crt']), v1.fullchainPem);
  });

  test('a change between read and write (409 Conflict): re-read once and retry; twice: a DeployError', async () => {
    await createTarget(manifest, settingsFor('busy-tls'), { token: TOKEN }, true).deploy(v1, signal());
    api.beforePut(1, (key) => api.touch(key));
    const from = api.requests.length;
    await createTarget(manifest, settingsFor('busy-tls'), { token: TOKEN }, true).deploy(v2, signal());
    assert.deepEqual(api.requests.slice(from).map((r) => r.method), ['GET', 'PUT', 'GET', 'PUT']);
    assert.equal(api.secrets.get('shop/busy-tls')!.metadata.annotations?.['certkeeper.io/serial-number'], v2.serialNumber);

    api.beforePut(2, (key) => api.touch(key));
    const err = await createTarget(manifest, settingsFor('busy-tls'), { token: TOKEN }, true).deploy(v1, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /HTTP 409 \(Conflict: Operation cannot be fulfilled/);
    assert.equal(api.secrets.get('shop/busy-tls')!.metadata.annotations?.['certkeeper.io/serial-number'], v2.serialNumber, 'unchanged');
  });

  test('a bad token: 401 surfaces as a clear DeployError that does not carry the token', async () => {
    const wrong = 'wrong-token-with-enough-length-42';
    const err = await createTarget(manifest, settingsFor('shop-tls'), { token: wrong }, true).deploy(v1, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /^kubernetes-secret: 127\.0\.0\.1:\d+ refused to read Secret shop\/shop-tls: HTTP 401 \(Unauthorized: Unauthorized\); the token is not valid/);
    assertNoSecret(`${err.message}\n${err.output ?? ''}`, [wrong, TOKEN, v1.privateKeyPem!], 'the error', [v1.fullchainPem]);
  });

  test('without caCertificate the self-signed API server is not trusted, and the message says what to set', async () => {
    const { caCertificate: _ca, ...noCa } = settingsFor('shop-tls');
    const err = await createTarget(manifest, noCa, { token: TOKEN }, true).deploy(v1, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /not trusted; set settings\.caCertificate/);
  });

  test('an existing Secret of another type is not replaced', async () => {
    api.seed({ metadata: { name: 'opaque', namespace: 'shop' }, type: 'Opaque', data: { password: b64('x') } });
    const err = await createTarget(manifest, settingsFor('opaque'), { token: TOKEN }, true).deploy(v1, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /exists with type Opaque/);
    assert.equal(api.secrets.get('shop/opaque')!.type, 'Opaque');
  });

  test('the loopback API server is refused unless private addresses are allowed', async () => {
    const from = api.requests.length;
    const err = await createTarget(manifest, settingsFor('shop-tls'), { token: TOKEN }, false).deploy(v1, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /loopback or private address/);
    assert.equal(api.requests.length, from);
  });

  test('material without a key is refused before any call', async () => {
    const { privateKeyPem: _k, ...noKey } = v1;
    const err = await createTarget(manifest, settingsFor('shop-tls'), { token: TOKEN }, true).deploy(noKey, signal()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof DeployError);
    assert.match(err.message, /no private key/);
  });

  test('validate: names, URL, CA, labels and annotations', () => {
    const fields = (settings: Record<string, unknown>) => manifest.validate(settings, { token: TOKEN }).map((e) => e.field).sort();
    assert.deepEqual(fields({ apiUrl: 'https://k8s.example.net:6443', namespace: 'web', secretName: 'www.example.net-tls' }), []);
    assert.deepEqual(fields({ apiUrl: 'http://127.0.0.1:8001', namespace: 'web', secretName: 'x' }), []);
    assert.deepEqual(fields({ apiUrl: 'http://k8s.example.net', namespace: 'Web', secretName: 'Bad_Name' }), ['settings.apiUrl', 'settings.namespace', 'settings.secretName']);
    assert.deepEqual(fields({ apiUrl: 'https://k8s.example.net', namespace: 'web', secretName: 'x', caCertificate: 'not a pem', labels: { 'bad key!': 'v', ok: 'bad value!' }, annotations: { 'certkeeper.io/serial-number': 'x' } }),
      ['settings.annotations.certkeeper.io/serial-number', 'settings.caCertificate', 'settings.labels.bad key!', 'settings.labels.ok']);
    assert.deepEqual(manifest.validate({ apiUrl: 'https://k8s.example.net', namespace: 'web', secretName: 'x' }, {}).map((e) => e.field), ['credentials.token']);
  });
});
