// RFC 9773 ARI and the profiles extension, against a small in-process ACME endpoint (Pebble 2.4
// has neither).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AcmeClient,
  AcmeProtocolError,
  AcmeStateError,
  ACME_ERROR,
  ariCertificateId,
  generateAccountKey,
  isAcmeProblem,
  parseRenewalInfo,
} from '../../src/acme/index.js';
import { fakeDirectory, fakeHttp, startFakeAcmeServer, type FakeResponse, type RecordedRequest } from './fake-acme.js';

const execFileAsync = promisify(execFile);
let dir: string;
let ca: Awaited<ReturnType<typeof startFakeAcmeServer>>;
const RFC_CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';

function handle(req: RecordedRequest, base: string): FakeResponse {
  const path = req.url.slice(base.length);
  const nonce = { 'Replay-Nonce': `n${Math.random().toString(36).slice(2)}` };
  if (req.method === 'GET' && path === '/dir') {
    return {
      status: 200,
      json: fakeDirectory(base, {
        renewalInfo: `${base}/renewal-info`,
        meta: {
          termsOfService: `${base}/tos`,
          website: 'https://ca.example',
          caaIdentities: ['ca.example'],
          profiles: { classic: 'The same profile as always', shortlived: 'Six-day certificates' },
        },
      }),
    };
  }
  if (req.method === 'HEAD' && path === '/new-nonce') return { status: 200, headers: nonce };
  if (req.method === 'POST' && path === '/new-account') {
    return { status: 201, headers: { ...nonce, Location: `${base}/acct/1` }, json: { status: 'valid' } };
  }
  if (req.method === 'POST' && path === '/new-order') {
    const p = req.payload as { identifiers: unknown[]; profile?: string; replaces?: string };
    if (p.replaces === 'already.replaced') {
      return { status: 409, headers: nonce, json: { type: ACME_ERROR.alreadyReplaced, detail: 'certificate already replaced', status: 409 } };
    }
    return {
      status: 201,
      headers: { ...nonce, Location: `${base}/order/1` },
      json: { status: 'pending', identifiers: p.identifiers, authorizations: [`${base}/authz/1`], finalize: `${base}/order/1/finalize`, profile: p.profile, replaces: p.replaces },
    };
  }
  if (req.method === 'GET' && path === `/renewal-info/${RFC_CERT_ID}`) {
    return {
      status: 200,
      headers: { 'Retry-After': '21600' },
      json: { suggestedWindow: { start: '2025-01-02T04:00:00Z', end: '2025-01-03T04:00:00Z' }, explanationURL: 'https://ca.example/why' },
    };
  }
  if (req.method === 'GET' && path.startsWith('/renewal-info/')) {
    return { status: 404, json: { type: ACME_ERROR.malformed, detail: 'unknown certificate' } };
  }
  return { status: 404, json: { type: ACME_ERROR.malformed, detail: `no route ${req.method} ${path}` } };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-ari-test-'));
  ca = await startFakeAcmeServer(handle);
});

after(async () => {
  await ca?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('ariCertificateId matches the RFC 9773 §4.1 example (serial 0x87654321 keeps its 0x00)', async () => {
  const pemFile = join(dir, 'ari.pem');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ari.key'),
    '-out', pemFile, '-days', '2', '-subj', '/CN=ari.example', '-set_serial', '0x87654321',
    '-addext', 'subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4',
    '-addext', 'authorityKeyIdentifier=keyid:always',
  ]);
  const pem = await readFile(pemFile, 'utf8');
  assert.equal(ariCertificateId(pem), RFC_CERT_ID);
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  assert.equal(ariCertificateId(der), RFC_CERT_ID);
});

test('ariCertificateId of a serial without the high bit has no leading zero', async () => {
  const pemFile = join(dir, 'ari2.pem');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ari2.key'),
    '-out', pemFile, '-days', '2', '-subj', '/CN=ari.example', '-set_serial', '0x0102',
    '-addext', 'authorityKeyIdentifier=keyid:always',
  ]);
  const id = ariCertificateId(await readFile(pemFile, 'utf8'));
  assert.equal(id.split('.')[1], Buffer.from([1, 2]).toString('base64url'));
});

test('directory meta exposes profiles, caaIdentities, website and renewalInfo', async () => {
  const client = new AcmeClient({ directoryUrl: `${ca.base}/dir`, accountKey: await generateAccountKey() });
  const d = await client.getDirectory();
  assert.equal(d.renewalInfo, `${ca.base}/renewal-info`);
  assert.deepEqual(d.meta?.profiles, { classic: 'The same profile as always', shortlived: 'Six-day certificates' });
  assert.deepEqual(d.meta?.caaIdentities, ['ca.example']);
  assert.equal(d.meta?.website, 'https://ca.example');
  assert.equal(await client.getTermsOfService(), `${ca.base}/tos`);
});

test('getRenewalInfo: unauthenticated GET, window, explanation and Retry-After', async () => {
  const client = new AcmeClient({ directoryUrl: `${ca.base}/dir`, accountKey: await generateAccountKey() });
  const before = Date.now();
  const info = await client.getRenewalInfo(RFC_CERT_ID);
  assert.deepEqual(info.suggestedWindow, { start: new Date('2025-01-02T04:00:00Z'), end: new Date('2025-01-03T04:00:00Z') });
  assert.equal(info.explanationURL, 'https://ca.example/why');
  assert.ok(info.retryAfter);
  assert.ok(Math.abs(info.retryAfter.getTime() - (before + 21600_000)) < 5000);
  const last = ca.requests.at(-1);
  assert.equal(last?.method, 'GET');
  assert.equal(last?.protected, undefined, 'not a JWS');
  await assert.rejects(client.getRenewalInfo('unknown.AQ'), (e: unknown) => isAcmeProblem(e, 'malformed'));
});

test('newOrder sends profile and replaces; alreadyReplaced is typed', async () => {
  const client = new AcmeClient({ directoryUrl: `${ca.base}/dir`, accountKey: await generateAccountKey() });
  await client.registerAccount({ termsOfServiceAgreed: true });
  const { url, order } = await client.newOrder({
    identifiers: [{ type: 'dns', value: 'www.example.org' }], profile: 'shortlived', replaces: RFC_CERT_ID,
    notAfter: new Date('2030-01-01T00:00:00Z'),
  });
  assert.equal(url, `${ca.base}/order/1`);
  assert.equal(order.profile, 'shortlived');
  const sent = ca.requests.filter((r) => r.url.endsWith('/new-order')).at(-1)?.payload;
  assert.deepEqual(sent, {
    identifiers: [{ type: 'dns', value: 'www.example.org' }], notAfter: '2030-01-01T00:00:00.000Z', profile: 'shortlived', replaces: RFC_CERT_ID,
  });
  await assert.rejects(
    client.newOrder({ identifiers: [{ type: 'dns', value: 'www.example.org' }], replaces: 'already.replaced' }),
    (e: unknown) => isAcmeProblem(e, 'alreadyReplaced') && e.status === 409,
  );
});

test('a CA without renewalInfo: getRenewalInfo throws AcmeStateError', async () => {
  const http = fakeHttp(() => ({ status: 200, json: fakeDirectory('https://plain.test') }));
  const client = new AcmeClient({ directoryUrl: 'https://plain.test/dir', accountKey: await generateAccountKey(), http });
  await assert.rejects(client.getRenewalInfo(RFC_CERT_ID), AcmeStateError);
});

test('parseRenewalInfo rejects a missing or inverted window', () => {
  assert.throws(() => parseRenewalInfo({}, 'u'), AcmeProtocolError);
  assert.throws(() => parseRenewalInfo({ suggestedWindow: { start: '2025-01-03T00:00:00Z', end: '2025-01-02T00:00:00Z' } }, 'u'), AcmeProtocolError);
});
