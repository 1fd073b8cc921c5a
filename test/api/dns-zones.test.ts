// /dns-zones without a CA: validation against the provider manifests, credential checks at create
// and change, write-only credentials, disabling, and the dns-01 coverage rule.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';

const fixtures = fileURLToPath(new URL('../dns/fixtures/exec/', import.meta.url));
const store = mkdtempSync(join(tmpdir(), 'ck-zones-'));
const good = { command: join(fixtures, 'txt-store.mjs'), environment: [`CK_STORE_DIR=${store}`] };
let ck: CertkeeperHandle;
let providerId: string;

// A CA that accepts connections and never answers keeps its provider PROVISIONING (usable).
const silent = createNetServer((socket) => socket.on('error', () => undefined));
before(async () => {
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  ck = await startCertkeeper({ CERTKEEPER_DNS_RESOLVERS: '127.0.0.1:9' });
  const p = await ck.api('POST', '/api/v1/providers', { properties: { name: 'ca', server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}/dir` } });
  providerId = p.body.id;
});
after(async () => {
  await ck?.stop();
  silent.close();
});

const create = (props: Record<string, unknown>) => ck.api('POST', '/api/v1/dns-zones', { properties: { provider: 'exec', settings: good, ...props } });

describe('dns zones', () => {
  test('create checks the provider at once: AVAILABLE, or FAILED with the provider\'s own words', async () => {
    const ok = await create({ zoneName: 'Example.COM.' });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.properties.zoneName, 'example.com');
    assert.equal(ok.body.metadata.state, 'AVAILABLE', ok.body.metadata.message);
    assert.ok(ok.body.metadata.lastCheck);
    const bad = await create({ zoneName: 'broken.example', settings: { command: join(fixtures, 'failing-hook.sh') } });
    assert.equal(bad.status, 201);
    assert.equal(bad.body.metadata.state, 'FAILED');
    assert.match(bad.body.metadata.message, /exec: .*HTTP 403/);
    const dup = await create({ zoneName: 'example.com' });
    assert.equal(dup.status, 409);
  });

  test('settings are validated against the provider manifest, each field named', async () => {
    const res = await ck.api('POST', '/api/v1/dns-zones', { properties: { zoneName: 'x.example', provider: 'rfc2136', settings: { nameserver: '127.0.0.1:53', colour: 'red', tsigAlgorithm: 'md5' }, credentials: {} } });
    assert.equal(res.status, 400, res.text);
    const fields = res.body.errors.map((e: any) => e.field).sort();
    assert.deepEqual(fields, ['properties.credentials.tsigSecret', 'properties.settings.colour', 'properties.settings.tsigAlgorithm', 'properties.settings.tsigKeyName']);
    const unknown = await ck.api('POST', '/api/v1/dns-zones', { properties: { zoneName: 'x.example', provider: 'nope' } });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.errors[0].field, 'properties.provider');
    const resolvers = await create({ zoneName: 'r.example', resolvers: ['ns.example.com:53'] });
    assert.equal(resolvers.status, 400);
    assert.equal(resolvers.body.errors[0].field, 'properties.resolvers[0]');
    const wildcard = await create({ zoneName: '*.example.org' });
    assert.equal(wildcard.status, 400);
  });

  test('credentials are write-only and sealed in the vault', async () => {
    const secret = 'c2VjcmV0LXRzaWcta2V5LXZhbHVlLTEyMzQ1Njc4OTA=';
    const res = await ck.api('POST', '/api/v1/dns-zones', { properties: { zoneName: 'tsig.example', provider: 'rfc2136', settings: { nameserver: '127.0.0.1:9', tsigKeyName: 'k.' }, credentials: { tsigSecret: secret }, propagationTimeoutSeconds: 5 } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.metadata.state, 'FAILED', 'nothing answers on port 9');
    assert.ok(!res.text.includes(secret));
    assert.equal(res.body.metadata.credentialsSet, true);
    const list = await ck.api('GET', '/api/v1/dns-zones?filter.provider=rfc2136');
    assert.equal(list.body.total, 1);
    assert.ok(!list.text.includes(secret));
    assert.ok(!ck.logs().includes(secret));
    // Read through the server's own store, so this holds on SQLite and PostgreSQL alike.
    const row = await ck.server.ctx.db.kysely.selectFrom('dns_zones').select('credentials_enc').where('zone_name', '=', 'tsig.example').executeTakeFirstOrThrow();
    assert.match(String(row.credentials_enc), /^ck1\./);
    assert.ok(!String(row.credentials_enc).includes(secret));
  });

  test('PATCH re-checks; disabling makes a zone DISABLED and uncovering', async () => {
    const z = (await ck.api('GET', '/api/v1/dns-zones?filter.zoneName=broken.example')).body.items[0];
    const fixed = await ck.api('PATCH', `/api/v1/dns-zones/${z.id}`, { properties: { settings: good } });
    assert.equal(fixed.status, 200, fixed.text);
    assert.equal(fixed.body.metadata.state, 'AVAILABLE');
    const rename = await ck.api('PATCH', `/api/v1/dns-zones/${z.id}`, { properties: { zoneName: 'other.example' } });
    assert.equal(rename.status, 400);
    const off = await ck.api('PATCH', `/api/v1/dns-zones/${z.id}`, { properties: { enabled: false } });
    assert.equal(off.body.metadata.state, 'DISABLED');
    assert.equal(off.body.properties.enabled, false);
    const recheck = await ck.api('POST', `/api/v1/dns-zones/${z.id}/check`);
    assert.equal(recheck.body.metadata.state, 'DISABLED');
  });

  test('a change that leaves credentials out keeps them, even where the provider requires some', async () => {
    const created = await ck.api('POST', '/api/v1/dns-zones', { properties: { zoneName: 'keep-credentials.example', provider: 'rfc2136', settings: { nameserver: '127.0.0.1:9', tsigKeyName: 'k' }, credentials: { tsigSecret: Buffer.alloc(32, 7).toString('base64') } } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.metadata.credentialsSet, true);
    const off = await ck.api('PATCH', `/api/v1/dns-zones/${created.body.id}`, { properties: { enabled: false } });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.body.metadata.state, 'DISABLED');
    assert.equal(off.body.metadata.credentialsSet, true);
    const renamed = await ck.api('PATCH', `/api/v1/dns-zones/${created.body.id}`, { properties: { settings: { nameserver: '127.0.0.1:9', tsigKeyName: 'k2' } } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.properties.settings.tsigKeyName, 'k2');
    assert.equal(renamed.body.metadata.credentialsSet, true);
    const emptied = await ck.api('PATCH', `/api/v1/dns-zones/${created.body.id}`, { properties: { credentials: {} } });
    assert.equal(emptied.status, 400, 'new credentials must still be complete');
    assert.equal(emptied.body.errors[0].field, 'properties.credentials.tsigSecret');
  });

  test('dns-01 auto certificates need every name covered by an enabled zone (longest suffix)', async () => {
    await create({ zoneName: 'sub.example.com' });
    const covered = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'c', provider: providerId, commonName: '*.example.com', subjectAlternativeNames: ['deep.sub.example.com'], challengeType: 'dns-01' } });
    assert.equal(covered.status, 202, covered.text);
    const uncovered = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'u', provider: providerId, commonName: 'www.example.com', subjectAlternativeNames: ['a.broken.example', 'b.elsewhere.org'], challengeType: 'dns-01' } });
    assert.equal(uncovered.status, 400);
    assert.equal(uncovered.body.code, 'names_not_covered');
    assert.deepEqual(uncovered.body.errors.map((e: any) => e.field), ['properties.subjectAlternativeNames[0]', 'properties.subjectAlternativeNames[1]']);
    assert.match(uncovered.body.errors[0].message, /manual-dns-01/);
    const manual = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'm', provider: providerId, commonName: 'b.elsewhere.org', challengeType: 'manual-dns-01' } });
    assert.equal(manual.status, 202, 'manual challenges need no zone');
  });

  test('delete', async () => {
    const z = (await ck.api('GET', '/api/v1/dns-zones?filter.zoneName=sub.example.com')).body.items[0];
    assert.equal((await ck.api('DELETE', `/api/v1/dns-zones/${z.id}`)).status, 204);
    assert.equal((await ck.api('GET', `/api/v1/dns-zones/${z.id}`)).status, 404);
  });
});
