// The REST contract without a CA: auth, problem+json, validation of names and fields, import,
// export, delete, pagination and filters, OpenAPI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeChain, makePkcs12, type TestChain } from '../harness/openssl-ca.js';

let ck: CertkeeperHandle;
let chain: TestChain;
let providerId: string;

function assertProblem(res: { status: number; headers: Headers; body: any }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(res.body.type, `urn:certkeeper:problem:${code}`);
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  assert.equal(typeof res.body.title, 'string');
  assert.ok(res.body.detail.length > 10, 'detail says what to fix');
}

before(async () => {
  ck = await startCertkeeper();
  chain = makeChain('shop.example.com', ['www.shop.example.com']);
  // A provider whose CA is unreachable: it ends FAILED, which is enough to test references.
  const p = await ck.api('POST', '/api/v1/providers', { properties: { name: 'nowhere', email: 'ops@example.com', server: 'https://127.0.0.1:1/directory' } });
  assert.equal(p.status, 202, p.text);
  providerId = p.body.id;
});
after(() => ck?.stop());

describe('authentication', () => {
  test('no token, a wrong token: 401 problem with WWW-Authenticate', async () => {
    const res = await fetch(`${ck.url}/api/v1/certificates`);
    const body = await res.json();
    assertProblem({ status: res.status, headers: res.headers, body }, 401, 'unauthorized');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
    const wrong = await ck.api('GET', '/api/v1/certificates', undefined, { authorization: 'Bearer nope' });
    assertProblem(wrong, 401, 'unauthorized');
  });
  test('health and OpenAPI need no token; the OpenAPI document lists every resource', async () => {
    assert.equal((await fetch(`${ck.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${ck.url}/readyz`)).status, 200);
    const doc = await (await fetch(`${ck.url}/api/v1/openapi.json`)).json() as any;
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/api/v1/providers', '/api/v1/auto-certificates', '/api/v1/auto-certificates/{id}/renew', '/api/v1/certificates', '/api/v1/certificates/{id}/export', '/api/v1/certificates/{id}/revoke', '/api/v1/events']) {
      assert.ok(doc.paths[p], `${p} documented`);
    }
  });
  test('the committed docs/openapi.json matches what the server serves (regenerate with npm run openapi)', async () => {
    const served = await (await fetch(`${ck.url}/api/v1/openapi.json`)).json();
    const committed = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
    assert.deepEqual(committed, served);
  });
});

describe('providers', () => {
  test('an unreachable CA makes the provider FAILED with a message; secrets are write-only', async () => {
    const p = await ck.waitFor(`/api/v1/providers/${providerId}`, (b: any) => b.metadata.state !== 'PROVISIONING', 30_000);
    assert.equal(p.metadata.state, 'FAILED');
    assert.match(p.metadata.message, /127\.0\.0\.1:1|ECONNREFUSED|connect/i);
    const eab = await ck.api('POST', '/api/v1/providers', { properties: { name: 'with-eab', server: 'https://127.0.0.1:1/dir', externalAccountBinding: { keyId: 'kid-1', keySecret: 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W' } } });
    assert.equal(eab.status, 202);
    assert.deepEqual(eab.body.properties.externalAccountBinding, { keyId: 'kid-1' });
    assert.ok(!eab.text.includes('zWNDZM6e'));
    const list = await ck.api('GET', '/api/v1/providers?filter.name=with-eab');
    assert.equal(list.body.total, 1);
    assert.ok(!list.text.includes('zWNDZM6e'));
    await ck.waitFor(`/api/v1/providers/${eab.body.id}`, (b: any) => b.metadata.state === 'FAILED', 30_000);
    assert.ok(!ck.logs().includes('zWNDZM6e'), 'the EAB secret is not logged, even when registration fails');
  });
  test('duplicate names, bad URLs and unknown fields are refused', async () => {
    assertProblem(await ck.api('POST', '/api/v1/providers', { properties: { name: 'nowhere', server: 'https://127.0.0.1:1/directory' } }), 409, 'conflict');
    const bad = await ck.api('POST', '/api/v1/providers', { properties: { name: 'x', server: 'not a url', color: 'red' } });
    assertProblem(bad, 400, 'validation_failed');
    assert.ok(bad.body.errors.some((e: any) => e.field === 'properties.color' && /unknown/.test(e.message)));
  });
  test('private addresses are refused unless allowed', async () => {
    const strict = await startCertkeeper({ CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '0' });
    try {
      const res = await strict.api('POST', '/api/v1/providers', { properties: { name: 'local', server: 'https://127.0.0.1:14000/dir' } });
      assertProblem(res, 400, 'private_address_refused');
      assert.match(res.body.detail, /CERTKEEPER_ALLOW_PRIVATE_ADDRESSES/);
      assert.equal((await strict.api('GET', '/api/v1/providers')).body.total, 0, 'nothing stored');
    } finally {
      await strict.stop();
    }
  });
  test('a provider in use cannot be deleted; an unused one can', async () => {
    const p = await ck.api('POST', '/api/v1/providers', { properties: { name: 'temp', server: 'https://127.0.0.1:1/x' } });
    assert.equal((await ck.api('DELETE', `/api/v1/providers/${p.body.id}`)).status, 204);
    assertProblem(await ck.api('GET', `/api/v1/providers/${p.body.id}`), 404, 'not_found');
  });
});

describe('auto certificate names are checked at once', () => {
  // A CA that accepts connections and never answers keeps its provider PROVISIONING (usable).
  const silent = createNetServer((socket) => socket.on('error', () => undefined));
  before(async () => {
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const res = await ck.api('POST', '/api/v1/providers', { properties: { name: 'silent', server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}/dir` } });
    assert.equal(res.status, 202);
  });
  after(() => {
    silent.close();
  });
  const create = (props: Record<string, unknown>) => ck.api('POST', '/api/v1/auto-certificates', { properties: { name: `n-${Math.random()}`, provider: 'silent', commonName: 'ok.example.com', ...props } });
  test('each bad name is listed with its field', async () => {
    const res = await create({ subjectAlternativeNames: ['fine.example.com', 'bad..example.com', 'a.*.example.com', '-x.example.com'] });
    assertProblem(res, 400, 'invalid_names');
    const fields = res.body.errors.map((e: any) => e.field);
    assert.deepEqual(fields, ['properties.subjectAlternativeNames[1]', 'properties.subjectAlternativeNames[2]', 'properties.subjectAlternativeNames[3]']);
    assert.equal(res.body.errors[1].value, 'a.*.example.com');
  });
  test('wildcards need dns-01; more than 100 names are refused; IDNA becomes punycode', async () => {
    const wild = await create({ commonName: '*.example.com' });
    assertProblem(wild, 400, 'invalid_names');
    assert.match(wild.body.errors[0].message, /dns-01/);
    const many = await create({ subjectAlternativeNames: Array.from({ length: 100 }, (_, i) => `h${i}.example.com`) });
    assert.equal(many.status, 400);
    const idn = await create({ commonName: 'Bücher.Example', subjectAlternativeNames: ['bücher.example', 'www.bücher.example'] });
    assert.equal(idn.status, 202, idn.text);
    assert.equal(idn.body.properties.commonName, 'xn--bcher-kva.example');
    assert.deepEqual(idn.body.properties.subjectAlternativeNames, ['www.xn--bcher-kva.example'], 'duplicates removed');
  });
  test('an unknown provider, a FAILED provider and an unknown key algorithm are refused', async () => {
    const unknown = await create({ provider: 'missing' });
    assertProblem(unknown, 400, 'validation_failed');
    assert.equal(unknown.body.errors[0].field, 'properties.provider');
    await ck.waitFor(`/api/v1/providers/${providerId}`, (b: any) => b.metadata.state === 'FAILED', 30_000);
    assertProblem(await create({ provider: 'nowhere' }), 409, 'provider_not_available');
    const alg = await create({ keyAlgorithm: 'rsa1024' });
    assertProblem(alg, 400, 'validation_failed');
    assert.ok(alg.body.errors.some((e: any) => e.field.startsWith('properties.keyAlgorithm')));
  });
  test('malformed JSON and wrong content type are problems too', async () => {
    assertProblem(await ck.api('POST', '/api/v1/auto-certificates', '{"properties": ', { 'content-type': 'application/json' }), 400, 'malformed_request');
    assertProblem(await ck.api('POST', '/api/v1/auto-certificates', 'name=x', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    assertProblem(await ck.api('GET', '/api/v1/nothing-here'), 404, 'not_found');
  });
});

describe('certificate import, export and delete', () => {
  test('PEM import with the chain in any order; the chain is put in order; expired imports are EXPIRED', async () => {
    const res = await ck.api('POST', '/api/v1/certificates', { properties: { name: 'shop', certificate: chain.leafPem, certificateChain: chain.rootPem + chain.intermediatePem, privateKey: chain.leafKeyPem } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.metadata.state, 'AVAILABLE');
    assert.equal(res.body.metadata.source, 'imported');
    assert.equal(res.body.metadata.commonName, 'shop.example.com');
    assert.ok(res.body.properties.certificateChain.indexOf(chain.intermediatePem.trim().slice(30, 90)) < res.body.properties.certificateChain.indexOf(chain.rootPem.trim().slice(30, 90)), 'intermediate first');
    assert.equal(res.body.properties.privateKey, undefined);
    const fp = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: chain.leafPem, encoding: 'utf8' }).split('=')[1]!.trim();
    assert.equal(res.body.metadata.fingerprintSha256, fp);
    const old = makeChain('old.example.com', [], { expired: true });
    const exp = await ck.api('POST', '/api/v1/certificates', { properties: { certificate: old.leafPem + old.intermediatePem, privateKey: old.leafKeyPem } });
    assert.equal(exp.status, 201, exp.text);
    assert.equal(exp.body.metadata.state, 'EXPIRED');
    assert.equal(exp.body.metadata.expired, true);
  });

  test('PKCS#12 import, modern and legacy (RC2/3DES)', async () => {
    for (const legacy of [false, true]) {
      const c = makeChain(`p12-${legacy ? 'legacy' : 'modern'}.example.com`, [], { keyType: 'rsa' });
      const res = await ck.api('POST', '/api/v1/certificates', { properties: { pkcs12: makePkcs12(c, 'secret-pw', legacy).toString('base64'), password: 'secret-pw' } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.metadata.commonName, `p12-${legacy ? 'legacy' : 'modern'}.example.com`);
      assert.equal(res.body.metadata.keyAlgorithm, 'rsa2048');
    }
  });

  test('bad input is refused with the field at fault, and nothing is stored', async () => {
    const before = (await ck.api('GET', '/api/v1/certificates')).body.total;
    const cases: [Record<string, unknown>, string][] = [
      [{ certificate: 'garbage', privateKey: chain.leafKeyPem }, 'properties.certificate'],
      [{ certificate: chain.leafPem, certificateChain: chain.intermediatePem, privateKey: chain.otherKeyPem }, 'properties.privateKey'],
      [{ certificate: chain.leafPem, certificateChain: makeChain('x.example').intermediatePem, privateKey: chain.leafKeyPem }, 'properties.certificateChain'],
      [{ pkcs12: makePkcs12(chain, 'right').toString('base64'), password: 'wrong' }, 'properties.password'],
      [{ pkcs12: Buffer.from('not a pfx').toString('base64'), password: 'x' }, 'properties.pkcs12'],
    ];
    for (const [props, field] of cases) {
      const res = await ck.api('POST', '/api/v1/certificates', { properties: props });
      assertProblem(res, 422, 'invalid_certificate_input');
      assert.equal(res.body.errors[0].field, field, `${field}: ${res.body.detail}`);
      assert.ok(!res.text.includes('PRIVATE KEY'), 'the key is not echoed');
    }
    const big = await ck.api('POST', '/api/v1/certificates', { properties: { certificate: 'A'.repeat(300_000), privateKey: 'x' } });
    assertProblem(big, 400, 'validation_failed');
    assert.equal((await ck.api('GET', '/api/v1/certificates')).body.total, before, 'nothing stored');
  });

  test('export PEM (with and without key) and PKCS#12 that OpenSSL reads; every key export is audited', async () => {
    const list = await ck.api('GET', '/api/v1/certificates?filter.commonName=shop.example.com');
    assert.equal(list.body.total, 1);
    const id = list.body.items[0].id;
    const noKey = await ck.api('POST', `/api/v1/certificates/${id}/export`, { format: 'pem' });
    assert.equal(noKey.status, 200);
    assert.equal(noKey.body.privateKey, undefined);
    assert.ok(noKey.body.fullchain.startsWith(noKey.body.certificate.trim()));
    const withKey = await ck.api('POST', `/api/v1/certificates/${id}/export`, { format: 'pem', includePrivateKey: true });
    assert.match(withKey.body.privateKey, /BEGIN PRIVATE KEY/);
    assert.equal(withKey.headers.get('cache-control'), 'no-store');
    const p12 = await fetch(`${ck.url}/api/v1/certificates/${id}/export`, { method: 'POST', headers: { authorization: `Bearer ${ck.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ format: 'pkcs12', password: 'export-pw' }) });
    assert.equal(p12.headers.get('content-type'), 'application/x-pkcs12');
    const file = join(chain.dir, 'export.p12');
    writeFileSync(file, Buffer.from(await p12.arrayBuffer()));
    const info = execFileSync('openssl', ['pkcs12', '-in', file, '-passin', 'pass:export-pw', '-nodes'], { encoding: 'utf8' });
    assert.match(info, /BEGIN PRIVATE KEY/);
    assert.equal((info.match(/BEGIN CERTIFICATE/g) ?? []).length, 3, 'leaf, intermediate, root');
    assertProblem(await ck.api('POST', `/api/v1/certificates/${id}/export`, { format: 'pkcs12' }), 400, 'validation_failed');
    const audit = await ck.api('GET', `/api/v1/events?filter.type=certificate.private_key_exported&filter.subjectId=${id}`);
    assert.equal(audit.body.total, 2);
    assert.equal(audit.body.items[0].properties.actor, 'admin');
    assert.equal(audit.body.items[0].properties.source, '127.0.0.1');
  });

  test('pagination and filters; delete removes without revoking', async () => {
    const page1 = await ck.api('GET', '/api/v1/certificates?limit=2&offset=0');
    const page2 = await ck.api('GET', '/api/v1/certificates?limit=2&offset=2');
    assert.equal(page1.body.type, 'collection');
    assert.equal(page1.body.limit, 2);
    assert.equal(page1.body.items.length, 2);
    assert.ok(page1.body.total >= 4);
    assert.notEqual(page1.body.items[0].id, page2.body.items[0].id);
    assertProblem(await ck.api('GET', '/api/v1/certificates?filter.color=red'), 400, 'validation_failed');
    const expired = await ck.api('GET', '/api/v1/certificates?filter.state=EXPIRED');
    assert.equal(expired.body.total, 1);
    const id = expired.body.items[0].id;
    assert.equal((await ck.api('DELETE', `/api/v1/certificates/${id}`)).status, 204);
    assertProblem(await ck.api('GET', `/api/v1/certificates/${id}`), 404, 'not_found');
    assertProblem(await ck.api('DELETE', `/api/v1/certificates/${id}`), 404, 'not_found');
  });
});

describe('IP addresses', () => {
  test('refused without a CA profile, with a message naming the fix; accepted with one', async () => {
    const res = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'ip-no-profile', provider: 'silent', commonName: '192.0.2.10' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.errors[0].field, 'properties.commonName');
    assert.match(res.body.errors[0].message, /profile/);
    const ok = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'ip-profile', provider: 'silent', commonName: 'ip.example.com', subjectAlternativeNames: ['192.0.2.10', '2001:DB8::1'], profile: 'shortlived' } });
    assert.equal(ok.status, 202, ok.text);
    assert.deepEqual(ok.body.properties.subjectAlternativeNames, ['192.0.2.10', '2001:db8::1']);
  });
});
