// Hostile input at every route of the OpenAPI document: malformed, truncated, non-object,
// oversized and deeply nested JSON, prototype-pollution keys, wrong content types, bad ids and
// queries, hostile certificate names, broken PEM and PKCS#12. Every answer must be a 4xx
// application/problem+json with `code` and `detail`, never a 5xx, and the database must be
// exactly as it was before.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { sql } from 'kysely';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeChain, makePkcs12, type TestChain } from '../harness/openssl-ca.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';

let ck: CertkeeperHandle;
let pebble: PebbleHandle;
let chain: TestChain;
let certificateId: string;
let providerId: string;
const routes: { method: string; path: string }[] = [];
let snapshot: Record<string, string>;

/** One raw answer. */
interface Raw {
  status: number;
  contentType: string;
  text: string;
  body: any;
}

/** Sends exactly what it is given (no URL normalisation, any content type, any body). */
function raw(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}, opts: { chunked?: boolean } = {}): Promise<Raw> {
  const url = new URL(ck.url);
  return new Promise<Raw>((resolve, reject) => {
    const h: Record<string, string> = { authorization: `Bearer ${ck.token}`, ...headers };
    if (body !== undefined && !opts.chunked) h['content-length'] = String(Buffer.byteLength(body));
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any;
        try { parsed = JSON.parse(text); } catch { parsed = undefined; }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, body: parsed });
      });
    });
    // The server may answer (413) and close before the whole body is written: the answer counts.
    req.on('error', (err) => setTimeout(() => reject(err), 50));
    if (body !== undefined && opts.chunked) {
      const buf = Buffer.from(body);
      for (let i = 0; i < buf.length; i += 64 * 1024) req.write(buf.subarray(i, i + 64 * 1024));
      req.end();
    } else {
      req.end(body);
    }
  });
}

const failures: string[] = [];

/** Records (instead of throwing at once) an answer that is not a 4xx problem, so one run lists them all. */
function expectProblem(what: string, res: Raw, status?: number | RegExp): void {
  const ok = res.status >= 400 && res.status < 500
    && /^application\/problem\+json/.test(res.contentType)
    && typeof res.body?.code === 'string' && typeof res.body?.detail === 'string' && res.body.detail.length > 0
    && res.body.status === res.status
    && (status === undefined || (typeof status === 'number' ? res.status === status : status.test(String(res.status))));
  if (!ok) failures.push(`${what}: ${res.status} ${res.contentType} ${res.text.slice(0, 300)}`);
}

function assertNoFailures(): void {
  const list = failures.splice(0);
  assert.deepEqual(list, [], `${list.length} answer(s) were not 4xx problems:\n${list.join('\n')}`);
}

/** A hash of every row of every table. */
async function dbSnapshot(): Promise<Record<string, string>> {
  const db = ck.server.ctx.db.kysely;
  const out: Record<string, string> = {};
  for (const t of await db.introspection.getTables({ withInternalKyselyTables: true })) {
    let rows = (await sql<Record<string, unknown>>`select * from ${sql.table(t.name)}`.execute(db)).rows;
    // The dispatcher stamps its cursor on every pass, events or not: housekeeping, not a change.
    if (t.name === 'notification_cursor') rows = rows.map(({ updated_at: _, ...r }) => r);
    const lines = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : typeof v === 'bigint' ? String(v) : v))).sort();
    out[t.name] = `${rows.length}:${createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16)}`;
  }
  return out;
}

/** A snapshot once two taken 300 ms apart agree (at most 15 s). */
async function settledSnapshot(): Promise<Record<string, string>> {
  // The dispatcher reads the event log on its own timer: bring its cursor up to date first.
  await ck.server.notifications.dispatcher.runOnce();
  let last = await dbSnapshot();
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const next = await dbSnapshot();
    if (JSON.stringify(next) === JSON.stringify(last)) return next;
    last = next;
  }
  return last;
}

/** `path` of the OpenAPI document with its parameters filled in. */
function fill(path: string, id: (resource: string) => string): string {
  const resource = path.split('/')[3] ?? '';
  return path.replace('{id}', encodeURIComponent(id(resource))).replace('{deliveryId}', 'no-such-delivery');
}

/** A real id where there is one (so the request reaches the handler), else an unknown one. */
const realId = (resource: string) => (resource === 'certificates' ? certificateId : resource === 'providers' ? providerId : 'no-such-id');
const bodyRoutes = () => routes.filter((r) => r.method === 'POST' || r.method === 'PATCH');

before(async () => {
  pebble = await startPebble({ httpPort: await freePort(), env: { PEBBLE_VA_ALWAYS_VALID: '1' } });
  ck = await startCertkeeper();
  const p = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'ops@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal(p.status, 202, p.text);
  providerId = p.body.id;
  await ck.waitFor(`/api/v1/providers/${providerId}`, (b: any) => b.metadata.state === 'AVAILABLE', 30_000);
  chain = makeChain('fuzz.example.com', ['www.fuzz.example.com']);
  const c = await ck.api('POST', '/api/v1/certificates', { properties: { name: 'fuzz', certificate: chain.leafPem, certificateChain: chain.intermediatePem, privateKey: chain.leafKeyPem } });
  assert.equal(c.status, 201, c.text);
  certificateId = c.body.id;
  const doc = (await ck.api('GET', '/api/v1/openapi.json')).body;
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(ops)) if (['get', 'post', 'patch'].includes(method)) routes.push({ method: method.toUpperCase(), path });
  }
  assert.ok(routes.length > 30, `${routes.length} routes`);
  // Background work (the notification cursor follows the events) settles, then the reference is taken.
  snapshot = await settledSnapshot();
});

after(async () => {
  await ck?.stop();
  await pebble?.stop();
});

describe('request bodies', () => {
  const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const bodies: [string, string][] = [
    ['malformed JSON', '{"properties": {"name": x}}'],
    ['truncated JSON', '{"properties": {"name": "abc", "server": "https://'],
    ['a lone brace', '{'],
    ['an array', '[]'],
    ['an array of objects', '[{"properties": {}}]'],
    ['a number', '42'],
    ['a string', '"properties"'],
    ['null', 'null'],
    ['true', 'true'],
    ['an empty body', ''],
    ['white space', '   \n'],
    ['a BOM and bad JSON', '\ufeff{"properties":'],
    ['a BOM and an unknown field', '\ufeff{"unknown": 1}'],
    ['deeply nested objects (10k levels)', deep(10_000)],
    ['deeply nested arrays (10k levels)', '['.repeat(10_000) + ']'.repeat(10_000)],
    ['deep nesting under properties', `{"properties":${deep(10_000)}}`],
    ['__proto__ at the top', '{"__proto__": {"polluted": true}, "properties": {}}'],
    ['__proto__ in properties', '{"properties": {"__proto__": {"polluted": true}}}'],
    ['constructor.prototype', '{"constructor": {"prototype": {"polluted": true}}}'],
    ['constructor.prototype in properties', '{"properties": {"constructor": {"prototype": {"polluted": true}}}}'],
    ['duplicate keys', '{"properties": {}, "properties": []}'],
    ['a lone surrogate', '{"properties": {"name": "\\ud800"}}'],
    ['NUL bytes', '{"properties": {"name": "a\\u0000b", "commonName": "x\\u0000.example.com"}}'],
  ];
  test('malformed, truncated, non-object, nested and polluting JSON at every POST and PATCH route', async () => {
    for (const r of bodyRoutes()) {
      for (const [what, body] of bodies) {
        const res = await raw(r.method, fill(r.path, realId), body, { 'content-type': 'application/json' });
        expectProblem(`${r.method} ${r.path} with ${what}`, res);
      }
    }
    assert.equal(({} as any).polluted, undefined, 'Object.prototype is untouched');
    assertNoFailures();
  });

  test('wrong content types at every POST and PATCH route', async () => {
    const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/xml', 'application/octet-stream', 'application/jsonx', 'text/json', 'application/json; charset=utf-16', 'application/json, text/plain', 'invalid'];
    for (const r of bodyRoutes()) {
      for (const type of types) {
        expectProblem(`${r.method} ${r.path} as ${type}`, await raw(r.method, fill(r.path, realId), '{"properties":{}}', { 'content-type': type }));
      }
      expectProblem(`${r.method} ${r.path} without a content type`, await raw(r.method, fill(r.path, realId), '{"properties":{}}'));
    }
    assertNoFailures();
  });

  test('an oversized body (3 MiB) is a 413 problem, with and without Content-Length', async () => {
    const big = JSON.stringify({ properties: { name: 'x', certificate: 'A'.repeat(3 * 1024 * 1024) } });
    for (const r of [{ method: 'POST', path: '/api/v1/certificates' }, { method: 'POST', path: '/api/v1/providers' }, { method: 'PATCH', path: `/api/v1/providers/${providerId}` }, { method: 'POST', path: '/api/v1/sessions' }]) {
      expectProblem(`${r.method} ${r.path} 3 MiB`, await raw(r.method, r.path, big, { 'content-type': 'application/json' }), 413);
      expectProblem(`${r.method} ${r.path} 3 MiB chunked`, await raw(r.method, r.path, big, { 'content-type': 'application/json' }, { chunked: true }), 413);
    }
    assertNoFailures();
  });
});

describe('paths and queries', () => {
  const badIds = ['a'.repeat(5000), 'a'.repeat(201), '..', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%00', 'a%00b', '%', '%ff', '%E2%80%AE', '%20', "x'%20OR%201=1--", '%7B%7B7*7%7D%7D', '__proto__', 'constructor'];
  test('bad ids in paths at every GET, POST and PATCH route', async () => {
    for (const r of routes.filter((x) => x.path.includes('{id}'))) {
      for (const id of badIds) {
        const path = r.path.replace('{id}', id).replace('{deliveryId}', 'no-such-delivery');
        const res = await raw(r.method, path, r.method === 'GET' ? undefined : '{}', r.method === 'GET' ? {} : { 'content-type': 'application/json' });
        expectProblem(`${r.method} ${path.slice(0, 80)}`, res);
      }
    }
    assertNoFailures();
  });

  const badQueries = ['limit=-1', 'limit=abc', 'limit=0', 'limit=1.5', 'limit=99999999999999999999999', 'offset=1e99', 'offset=-1', 'offset=abc', 'offset=1&offset=2', 'filter.nope=x', 'filter.=x', `filter.name=${'x'.repeat(5000)}`, '__proto__=x', 'constructor=x', 'unknown=1'];
  test('bad queries at every GET, POST and PATCH route', async () => {
    for (const r of routes) {
      for (const q of badQueries) {
        const path = `${fill(r.path, realId)}?${q}`;
        const res = await raw(r.method, path, r.method === 'GET' ? undefined : '{}', r.method === 'GET' ? {} : { 'content-type': 'application/json' });
        expectProblem(`${r.method} ${path.slice(0, 100)}`, res);
      }
    }
    assertNoFailures();
  });
});

describe('hostile content', () => {
  const create = (props: Record<string, unknown>) => raw('POST', '/api/v1/auto-certificates', JSON.stringify({ properties: { name: `fuzz-${randomBytes(4).toString('hex')}`, provider: 'pebble', commonName: 'ok.example.com', ...props } }), { 'content-type': 'application/json' });
  test('hostile names in auto certificate creation', async () => {
    const names = [
      'ex\u0430mple.com', // Cyrillic а: a look-alike of example.com
      'xn--exmple-4nf.com', // the same, already in punycode
      'p\u0430yp\u0430l.com',
      `${'a'.repeat(300)}.com`,
      `${'a'.repeat(296)}.com`,
      `${'a'.repeat(64)}.example.com`,
      `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`,
      '*.*.example.com', 'a.*.example.com', '*', '*.com', 'a..b.com', '.example.com', 'example..com',
      'exa\u0000mple.com', 'example.com\u0000.evil.com', 'exa mple.com', ' ', '', 'example.com\n', 'a\tb.com',
      'xn--zz.com', 'xn--.com', 'xn--a.com', 'ex\u200dample.com', '\u202eexample.com', 'a\u0661b.com',
      '127.0.0.1', '[::1]', '::1', '10.0.0.1', 'localhost', 'example', '-example.com', 'example-.com', 'ab--cd.example.com',
      'exam_ple.com', 'example.com/path', 'user@example.com', 'example.com:443', 'https://example.com', '%65xample.com', 'e\\xample.com',
    ];
    for (const n of names) {
      expectProblem(`commonName ${JSON.stringify(n).slice(0, 60)}`, await create({ commonName: n }));
      expectProblem(`subjectAlternativeNames [${JSON.stringify(n).slice(0, 60)}]`, await create({ subjectAlternativeNames: [n] }));
    }
    expectProblem('101 names', await create({ subjectAlternativeNames: Array.from({ length: 100 }, (_, i) => `h${i}.example.com`) }));
    expectProblem('1000 names', await create({ subjectAlternativeNames: Array.from({ length: 1000 }, (_, i) => `h${i}.example.com`) }));
    expectProblem('a wildcard with http-01', await create({ commonName: '*.example.com', challengeType: 'http-01' }));
    expectProblem('a name that is not a string', await create({ commonName: { toString: 'x' } }));
    expectProblem('names that are not strings', await create({ subjectAlternativeNames: [1, null, {}] }));
    assertNoFailures();
  });

  test('malformed PEM and PKCS#12 at POST /certificates', async () => {
    const b64 = (n: number) => randomBytes(n).toString('base64');
    const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body.replace(/.{64}/g, '$&\n')}\n-----END ${label}-----\n`;
    const leafBody = chain.leafPem.split('\n').filter((l) => l && !l.startsWith('-----'));
    const mid = Math.floor(leafBody.length / 2);
    const garbageInside = ['-----BEGIN CERTIFICATE-----', ...leafBody.slice(0, mid), '!!garbage!!', ...leafBody.slice(mid), '-----END CERTIFICATE-----', ''].join('\n');
    const flipped = ['-----BEGIN CERTIFICATE-----', ...leafBody.slice(0, mid), `${leafBody[mid]!.slice(0, 10)}AAAA${leafBody[mid]!.slice(14)}`, ...leafBody.slice(mid + 1), '-----END CERTIFICATE-----', ''].join('\n');
    const p12 = makePkcs12(chain, 'pw-fuzz');
    const keyLines = chain.leafKeyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    const cases: [string, Record<string, unknown>][] = [
      ['random base64 as a certificate', { certificate: pem('CERTIFICATE', b64(900)), privateKey: chain.leafKeyPem }],
      ['random base64 as a key', { certificate: chain.leafPem, privateKey: pem('PRIVATE KEY', b64(120)) }],
      ['random base64 as an EC key', { certificate: chain.leafPem, privateKey: pem('EC PRIVATE KEY', b64(120)) }],
      ['random base64 as an RSA key', { certificate: chain.leafPem, privateKey: pem('RSA PRIVATE KEY', b64(1200)) }],
      ['random base64 as an encrypted key', { certificate: chain.leafPem, privateKey: pem('ENCRYPTED PRIVATE KEY', b64(300)) }],
      ['random base64 as a chain', { certificate: chain.leafPem, certificateChain: pem('CERTIFICATE', b64(900)), privateKey: chain.leafKeyPem }],
      ['a truncated certificate', { certificate: chain.leafPem.slice(0, Math.floor(chain.leafPem.length / 2)), privateKey: chain.leafKeyPem }],
      ['a certificate without END', { certificate: chain.leafPem.replace(/-----END CERTIFICATE-----\s*$/, ''), privateKey: chain.leafKeyPem }],
      ['a truncated key', { certificate: chain.leafPem, privateKey: chain.leafKeyPem.slice(0, Math.floor(chain.leafKeyPem.length / 2)) }],
      ['garbage inside a valid PEM', { certificate: garbageInside, privateKey: chain.leafKeyPem }],
      ['a flipped byte inside a valid PEM', { certificate: flipped, privateKey: chain.leafKeyPem }],
      ['a key as the certificate', { certificate: chain.leafKeyPem, privateKey: chain.leafKeyPem }],
      ['a certificate as the key', { certificate: chain.leafPem, privateKey: chain.leafPem }],
      ['the wrong key', { certificate: chain.leafPem, privateKey: chain.otherKeyPem }],
      ['no key', { certificate: chain.leafPem }],
      ['only a key', { privateKey: chain.leafKeyPem }],
      ['nothing', {}],
      ['empty strings', { certificate: '', privateKey: '' }],
      ['an empty PEM', { certificate: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', privateKey: chain.leafKeyPem }],
      ['a certificate with NUL bytes', { certificate: chain.leafPem.replace('\n', '\n\u0000'), privateKey: chain.leafKeyPem }],
      ['two BEGINs', { certificate: `-----BEGIN CERTIFICATE-----\n${chain.leafPem}`, privateKey: chain.leafKeyPem }],
      ['PEM and PKCS#12 together', { certificate: chain.leafPem, privateKey: chain.leafKeyPem, pkcs12: p12.toString('base64'), password: 'pw-fuzz' }],
      ['random bytes as PKCS#12', { pkcs12: b64(2000), password: 'x' }],
      ['random bytes as PKCS#12 without a password', { pkcs12: b64(2000) }],
      ['a truncated PKCS#12', { pkcs12: p12.subarray(0, Math.floor(p12.length / 2)).toString('base64'), password: 'pw-fuzz' }],
      ['a PKCS#12 with a flipped byte', { pkcs12: Buffer.concat([p12.subarray(0, 200), Buffer.from([p12[200]! ^ 0xff]), p12.subarray(201)]).toString('base64'), password: 'pw-fuzz' }],
      ['a PKCS#12 with the wrong password', { pkcs12: p12.toString('base64'), password: 'wrong' }],
      ['a PKCS#12 that is not base64', { pkcs12: '***not base64***', password: 'x' }],
      ['an empty PKCS#12', { pkcs12: '', password: 'x' }],
      ['a PEM as PKCS#12', { pkcs12: chain.leafPem, password: 'x' }],
      ['a huge certificate', { certificate: 'A'.repeat(300_000), privateKey: 'x' }],
    ];
    for (const [what, props] of cases) {
      const res = await raw('POST', '/api/v1/certificates', JSON.stringify({ properties: { name: 'fuzz-import', ...props } }), { 'content-type': 'application/json' });
      expectProblem(what, res);
      if (keyLines.some((l) => res.text.includes(l))) failures.push(`${what}: the answer echoes the private key`);
    }
    assertNoFailures();
  });

  test('hostile values in DNS zones, providers, channels and tokens', async () => {
    const post = (path: string, props: Record<string, unknown>) => raw('POST', path, JSON.stringify({ properties: props }), { 'content-type': 'application/json' });
    const deepValue = JSON.parse('{"a":'.repeat(2000) + '1' + '}'.repeat(2000));
    const cases: [string, string, Record<string, unknown>][] = [
      ['a deep settings object', '/api/v1/dns-zones', { zoneName: 'example.com', provider: 'exec', settings: { command: '/bin/true', nested: deepValue } }],
      ['a huge settings value', '/api/v1/dns-zones', { zoneName: 'example.com', provider: 'exec', settings: { command: 'x'.repeat(100_000) } }],
      ['a thousand settings', '/api/v1/dns-zones', { zoneName: 'example.com', provider: 'exec', settings: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'])) }],
      ['a thousand credentials', '/api/v1/dns-zones', { zoneName: 'example.com', provider: 'powerdns', settings: { apiUrl: 'http://127.0.0.1:1' }, credentials: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v'])) }],
      ['a NUL in a zone name', '/api/v1/dns-zones', { zoneName: 'exa\u0000mple.com', provider: 'exec', settings: { command: '/bin/true' } }],
      ['a confusable zone name', '/api/v1/dns-zones', { zoneName: 'ex\u0430mple.com', provider: 'exec', settings: { command: '/bin/true' } }],
      ['a NUL in a provider name', '/api/v1/providers', { name: 'a\u0000b', server: pebble.directoryUrl }],
      ['a provider URL with a NUL', '/api/v1/providers', { name: 'nul-url', server: 'https://exa\u0000mple.com/dir' }],
      ['a provider URL that is not http', '/api/v1/providers', { name: 'file-url', server: 'file:///etc/passwd' }],
      ['a javascript: provider URL', '/api/v1/providers', { name: 'js-url', server: 'javascript:alert(1)' }],
      ['a channel URL that is not http', '/api/v1/notification-channels', { name: 'c1', type: 'webhook', settings: { url: 'file:///etc/passwd' } }],
      ['a channel with a NUL in its name', '/api/v1/notification-channels', { name: 'c\u0000', type: 'webhook', settings: { url: 'https://example.com/hook' } }],
      ['a token with a control character', '/api/v1/tokens', { name: 'bad\u0007', role: 'viewer' }],
      ['a user with a bad email', '/api/v1/users', { email: 'not-an-email', role: 'viewer' }],
      ['a user with a NUL in the email', '/api/v1/users', { email: 'a\u0000@example.com', role: 'viewer' }],
    ];
    for (const [what, path, props] of cases) expectProblem(`${path}: ${what}`, await post(path, props));
    assertNoFailures();
  });
});

describe('the database', () => {
  test('is exactly as it was before the hostile requests', async () => {
    assert.deepEqual(await settledSnapshot(), snapshot);
  });
});
