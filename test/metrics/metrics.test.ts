// /metrics: scraped from a real in-process server and from Metrics over both storage back ends;
// every scrape must pass `promtool check metrics` (Debian package `prometheus`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeChain } from '../harness/openssl-ca.js';
import { allDatabases, type TestDatabase } from '../harness/databases.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { JobQueue } from '../../src/store/jobs.js';
import { createLogger } from '../../src/server/logger.js';
import { loadConfig } from '../../src/config/config.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { acmeEndpoint, BoundedLabel, caHost, statusClass } from '../../src/metrics/acme-labels.js';
import { parseSamples, promtoolCheck, samples, value } from './exposition.js';

const assertPromtoolClean = (text: string) => {
  const r = promtoolCheck(text);
  assert.equal(r.status, 0, `promtool check metrics failed (exit ${r.status}):\n${r.output}`);
};

const scrape = (ck: CertkeeperHandle, token?: string) =>
  fetch(`${ck.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('/metrics of a running server', () => {
  let ck: CertkeeperHandle;
  before(async () => { ck = await startCertkeeper(); });
  after(async () => { await ck?.stop(); });

  test('needs the API token; exports an imported certificate, the counters and process metrics; passes promtool', async () => {
    const chain = makeChain('shop.example.com', ['www.shop.example.com']);
    const imported = await ck.api('POST', '/api/v1/certificates', { properties: { name: 'shop', certificate: chain.leafPem, certificateChain: chain.intermediatePem + chain.rootPem, privateKey: chain.leafKeyPem } });
    assert.equal(imported.status, 201, imported.text);

    for (const token of [undefined, 'not-a-token']) {
      const res = await scrape(ck, token);
      assert.equal(res.status, 401);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await res.json() as { status: number }).status, 401);
    }

    const { metrics } = ck.server.ctx;
    metrics.acmeRequest('HEAD', 'https://ca.test:14000/nonce-plz', 200);
    metrics.acmeRequest('POST', 'https://ca.test:14000/order-plz', 201);
    metrics.acmeRequest('POST', 'https://ca.test:14000/finalize-order/abc', 403);
    metrics.acmeRequest('POST', 'https://ca.test:14000/finalize-order/def', 0);
    metrics.issuance('https://ca.test:14000/dir', 'issued', 42);

    const res = await scrape(ck, ck.token);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const all = parseSamples(text);

    const notAfter = Date.parse(imported.body.metadata.notAfter) / 1000;
    assert.equal(value(all, 'certkeeper_certificate_not_after_seconds', { certificate_id: imported.body.id }), notAfter);
    assert.deepEqual(samples(all, 'certkeeper_certificate_not_after_seconds')[0]!.labels,
      { certificate_id: imported.body.id, name: 'shop', state: 'AVAILABLE', source: 'imported' });
    assert.equal(value(all, 'certkeeper_certificates', { state: 'AVAILABLE', source: 'imported' }), 1);
    assert.equal(value(all, 'certkeeper_certificates', { state: 'REVOKED', source: 'acme' }), 0, 'absent combinations are 0');
    for (const within of ['1d', '7d', '14d', '30d']) assert.equal(value(all, 'certkeeper_certificates_expiring', { within }), 0, 'a 90-day certificate');
    assert.equal(value(all, 'certkeeper_auto_certificates', { state: 'AVAILABLE' }), 0);
    assert.equal(value(all, 'certkeeper_job_oldest_queued_age_seconds'), 0);
    assert.equal(value(all, 'certkeeper_metrics_database_up'), 1);

    assert.equal(value(all, 'certkeeper_acme_requests_total', { ca: 'ca.test:14000', endpoint: 'newNonce', status_class: '2xx' }), 1);
    assert.equal(value(all, 'certkeeper_acme_requests_total', { ca: 'ca.test:14000', endpoint: 'newOrder', status_class: '2xx' }), 1);
    assert.equal(value(all, 'certkeeper_acme_requests_total', { ca: 'ca.test:14000', endpoint: 'finalize', status_class: '4xx' }), 1);
    assert.equal(value(all, 'certkeeper_acme_requests_total', { ca: 'ca.test:14000', endpoint: 'finalize', status_class: 'error' }), 1);
    assert.equal(value(all, 'certkeeper_issuances_total', { ca: 'ca.test:14000', outcome: 'issued' }), 1);
    assert.equal(value(all, 'certkeeper_issuance_duration_seconds_bucket', { ca: 'ca.test:14000', outcome: 'issued', le: '30' }), 0);
    assert.equal(value(all, 'certkeeper_issuance_duration_seconds_bucket', { ca: 'ca.test:14000', outcome: 'issued', le: '60' }), 1);
    assert.equal(value(all, 'certkeeper_issuance_duration_seconds_sum', { ca: 'ca.test:14000', outcome: 'issued' }), 42);

    // prom-client counts CPU from when the registry was made: a quick scrape may still read 0.
    assert.ok(value(all, 'certkeeper_process_cpu_user_seconds_total') >= 0, 'default process metrics, prefixed');
    assert.ok(samples(all, 'certkeeper_nodejs_active_handles').length > 0);
    assert.equal(samples(all, 'certkeeper_nodejs_active_handles_total').length, 0, 'the _total gauges promtool rejects are dropped');
    assert.doesNotMatch(text, /PRIVATE KEY/);

    assertPromtoolClean(text);
  });
});

describe('/metrics with CERTKEEPER_METRICS_PUBLIC=1 and a small per-certificate limit', () => {
  let ck: CertkeeperHandle;
  before(async () => { ck = await startCertkeeper({ CERTKEEPER_METRICS_PUBLIC: '1', CERTKEEPER_METRICS_PER_CERTIFICATE: '2' }); });
  after(async () => { await ck?.stop(); });

  test('answers without a token; above the limit only aggregates, with one warning', async () => {
    const chains = [makeChain('a.example.com'), makeChain('b.example.com'), makeChain('old.example.com', [], { expired: true })];
    for (const c of chains) {
      const res = await ck.api('POST', '/api/v1/certificates', { properties: { certificate: c.leafPem, certificateChain: c.intermediatePem, privateKey: c.leafKeyPem } });
      assert.equal(res.status, 201, res.text);
    }
    let text = '';
    for (let i = 0; i < 2; i++) {
      const res = await scrape(ck);
      assert.equal(res.status, 200);
      text = await res.text();
    }
    const all = parseSamples(text);
    assert.equal(samples(all, 'certkeeper_certificate_not_after_seconds').length, 0);
    assert.equal(value(all, 'certkeeper_certificates', { state: 'AVAILABLE', source: 'imported' }), 2);
    assert.equal(value(all, 'certkeeper_certificates', { state: 'EXPIRED', source: 'imported' }), 1);
    const warnings = ck.logs().split('\n').filter((l) => l.includes('more certificates than CERTKEEPER_METRICS_PER_CERTIFICATE'));
    assert.equal(warnings.length, 1, 'warned once, not at every scrape');
    assertPromtoolClean(text);
  });
});

describe('configuration', () => {
  test('CERTKEEPER_METRICS_PUBLIC and CERTKEEPER_METRICS_PER_CERTIFICATE', () => {
    const base = { CERTKEEPER_DATA_DIR: '/tmp/ck-none' };
    assert.equal(loadConfig(base).metricsPublic, false);
    assert.equal(loadConfig({ ...base, CERTKEEPER_METRICS_PUBLIC: '1' }).metricsPublic, true);
    assert.equal(loadConfig(base).metricsPerCertificateLimit, 10_000);
    assert.equal(loadConfig({ ...base, CERTKEEPER_METRICS_PER_CERTIFICATE: 'on' }).metricsPerCertificateLimit, 10_000);
    assert.equal(loadConfig({ ...base, CERTKEEPER_METRICS_PER_CERTIFICATE: 'off' }).metricsPerCertificateLimit, 0);
    assert.equal(loadConfig({ ...base, CERTKEEPER_METRICS_PER_CERTIFICATE: '50000' }).metricsPerCertificateLimit, 50_000);
    assert.throws(() => loadConfig({ ...base, CERTKEEPER_METRICS_PER_CERTIFICATE: 'lots' }), /CERTKEEPER_METRICS_PER_CERTIFICATE/);
  });
});

describe('ACME labels', () => {
  test('URLs of Boulder, Pebble, ZeroSSL and step-ca map to bounded endpoints', () => {
    const cases: [string, string][] = [
      ['https://acme-v02.api.letsencrypt.org/directory', 'directory'],
      ['https://acme-v02.api.letsencrypt.org/acme/new-nonce', 'newNonce'],
      ['https://acme-v02.api.letsencrypt.org/acme/new-acct', 'newAccount'],
      ['https://acme-v02.api.letsencrypt.org/acme/acct/123', 'account'],
      ['https://acme-v02.api.letsencrypt.org/acme/new-order', 'newOrder'],
      ['https://acme-v02.api.letsencrypt.org/acme/order/123/456', 'order'],
      ['https://acme-v02.api.letsencrypt.org/acme/authz-v3/789', 'authz'],
      ['https://acme-v02.api.letsencrypt.org/acme/chall-v3/789/AbC', 'challenge'],
      ['https://acme-v02.api.letsencrypt.org/acme/finalize/123/456', 'finalize'],
      ['https://acme-v02.api.letsencrypt.org/acme/cert/03ab', 'cert'],
      ['https://acme-v02.api.letsencrypt.org/acme/revoke-cert', 'revoke'],
      ['https://acme-v02.api.letsencrypt.org/acme/key-change', 'keyChange'],
      ['https://acme-v02.api.letsencrypt.org/acme/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE', 'renewalInfo'],
      ['https://127.0.0.1:14000/dir', 'directory'],
      ['https://127.0.0.1:14000/nonce-plz', 'newNonce'],
      ['https://127.0.0.1:14000/sign-me-up', 'newAccount'],
      ['https://127.0.0.1:14000/my-account/1', 'account'],
      ['https://127.0.0.1:14000/order-plz', 'newOrder'],
      ['https://127.0.0.1:14000/my-order/x1', 'order'],
      ['https://127.0.0.1:14000/authZ/x1', 'authz'],
      ['https://127.0.0.1:14000/chalZ/x1', 'challenge'],
      ['https://127.0.0.1:14000/finalize-order/x1', 'finalize'],
      ['https://127.0.0.1:14000/certZ/x1', 'cert'],
      ['https://127.0.0.1:14000/certZ/x1/alternate/1', 'cert'],
      ['https://127.0.0.1:14000/revoke-cert', 'revoke'],
      ['https://127.0.0.1:14000/rollover-account-key', 'keyChange'],
      ['https://acme.zerossl.com/v2/DV90/newNonce', 'newNonce'],
      ['https://acme.zerossl.com/v2/DV90/newAccount', 'newAccount'],
      ['https://acme.zerossl.com/v2/DV90/order/xyz/finalize', 'finalize'],
      ['https://acme.zerossl.com/v2/DV90/revokeCert', 'revoke'],
      ['https://ca.internal/acme/acme/challenge/a1/c1', 'challenge'],
      ['https://ca.internal/acme/acme/order/o1/finalize', 'finalize'],
      ['https://ca.internal/something/else', 'other'],
      ['not a url', 'other'],
    ];
    for (const [url, endpoint] of cases) assert.equal(acmeEndpoint(url), endpoint, url);
    assert.equal(acmeEndpoint('https://acme.zerossl.com/v2/DV90'), 'other');
    assert.equal(acmeEndpoint('https://acme.zerossl.com/v2/DV90', new Set(['https://acme.zerossl.com/v2/DV90'])), 'directory', 'a known directory URL');
  });

  test('ca, status class and the label cap', () => {
    assert.equal(caHost('https://ACME-v02.api.letsencrypt.org/directory'), 'acme-v02.api.letsencrypt.org');
    assert.equal(caHost('https://127.0.0.1:14000/dir'), '127.0.0.1:14000');
    assert.equal(caHost('acme.example:8443'), 'acme.example:8443');
    assert.equal(caHost('no such "host"'), 'other');
    assert.deepEqual([200, 201, 204, 301, 400, 429, 503, 0].map(statusClass), ['2xx', '2xx', '2xx', '3xx', '4xx', '4xx', '5xx', 'error']);
    const cap = new BoundedLabel(2);
    assert.deepEqual(['a', 'b', 'c', 'a', 'd', 'b'].map((v) => cap.of(v)), ['a', 'b', 'other', 'a', 'other', 'b']);
  });
});

const backends = await allDatabases();
for (const backend of backends) {
  describe(`Metrics over ${backend.name}`, () => {
    let db: Db;
    const now = new Date('2026-11-26T01:30:00.000Z');
    const at = (ms: number) => new Date(now.getTime() + ms).toISOString();
    const H = 3_600_000;
    const D = 24 * H;
    const lines: string[] = [];
    const logger = createLogger('debug', new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } }));
    before(async () => { db = await openDatabase(backend.url); });
    after(async () => {
      await db.close();
      await (backend as TestDatabase).cleanup();
    });

    test('gauges from the database at a fixed clock; issuance counters and histogram; passes promtool', async () => {
      const audited = { tenant_id: 'default', created_at: at(-D), created_by: 'test', updated_at: at(-D), updated_by: 'test' };
      await db.kysely.insertInto('providers').values({
        ...audited, id: 'p1', name: 'zerossl', email: null, server: 'https://acme.zerossl.com/v2/DV90', eab_key_id: null, eab_secret_enc: null,
        ca_certificates: null, profile: null, preferred_chain: null, account_key_enc: 'ck1.x', account_url: null, terms_of_service: null,
        profiles_json: null, state: 'AVAILABLE', message: '',
      }).execute();
      const auto = (id: string, name: string, state: string, next: string | null, failures: number) => ({
        ...audited, id, name, provider_id: 'p1', fallback_provider_ids: '[]', common_name: `${name}.example`, names_json: `["${name}.example"]`,
        key_algorithm: 'ecdsa256', challenge_type: 'dns-01', key_policy: 'rotate', renew_before_days: null, profile: null, state, message: '',
        last_issued_certificate_id: null, next_renewal_at: next, renewal_reason: null, last_attempt_at: null, next_attempt_at: null,
        failure_count: failures, ari_window_start: null, ari_window_end: null, ari_next_check_at: null, ari_explanation_url: null, current_provider_id: null,
      });
      await db.kysely.insertInto('auto_certificates').values([
        auto('a1', 'www', 'AVAILABLE', at(10 * D), 0),
        auto('a2', 'api', 'FAILED', null, 3),
      ]).execute();
      const cert = (id: string, name: string, state: string, source: string, notAfterMs: number) => ({
        ...audited, id, name, auto_certificate_id: null, provider_id: null, source, state, message: '', common_name: 'x.example', sans_json: '[]',
        issuer: 'CN=test', serial_number: id, not_before: at(-10 * D), not_after: at(notAfterMs), fingerprint_sha256: id, key_algorithm: 'ecdsa256',
        certificate_pem: '', chain_pem: '', private_key_enc: 'ck1.x', delete_after: null, revoked_at: null, revocation_reason: null,
      });
      await db.kysely.insertInto('certificates').values([
        cert('c1', 'in-12h', 'AVAILABLE', 'acme', 12 * H),
        cert('c2', 'in-5d', 'AVAILABLE', 'imported', 5 * D),
        cert('c3', 'in-20d', 'AVAILABLE', 'acme', 20 * D),
        cert('c4', 'in-40d', 'AVAILABLE', 'acme', 40 * D),
        cert('c5', 'lapsed', 'AVAILABLE', 'imported', -D),
        cert('c6', 'old-version', 'SUPERSEDED', 'acme', 3 * D),
        cert('c7', 'we"ird\\name', 'REVOKED', 'acme', 60 * D),
      ]).execute();
      const jobs = new JobQueue(db, () => now);
      await jobs.enqueue({ tenantId: 'default', kind: 'certificate.issue', subjectId: 'a1', runAt: new Date(now.getTime() - 90_000) });
      await jobs.enqueue({ tenantId: 'default', kind: 'certificate.issue', subjectId: 'a2', runAt: new Date(now.getTime() + H) });
      await jobs.enqueue({ tenantId: 'default', kind: 'provider.register', subjectId: 'p1', runAt: new Date(now.getTime() - 1000) });
      await jobs.claim('me', 60_000, 1); // the oldest due job (a1's) is now running

      const metrics = new Metrics({ db, clock: () => now, logger, perCertificateLimit: 100 });
      metrics.issuance('https://acme.zerossl.com/v2/DV90', 'issued', 12.5);
      metrics.issuance('acme.zerossl.com', 'retry', 700);
      metrics.issuance('acme.zerossl.com', 'failed', 2);
      await metrics.refresh(); // learns the providers' directory URLs
      metrics.acmeRequest('GET', 'https://acme.zerossl.com/v2/DV90', 200);

      const text = await metrics.render();
      const all = parseSamples(text);
      assert.equal(value(all, 'certkeeper_certificate_not_after_seconds', { certificate_id: 'c3' }), Date.parse(at(20 * D)) / 1000);
      assert.deepEqual(samples(all, 'certkeeper_certificate_not_after_seconds', { certificate_id: 'c7' })[0]!.labels,
        { certificate_id: 'c7', name: 'we"ird\\name', state: 'REVOKED', source: 'acme' }, 'label values are escaped');
      assert.equal(samples(all, 'certkeeper_certificate_not_after_seconds').length, 7);
      assert.equal(value(all, 'certkeeper_certificates', { state: 'AVAILABLE', source: 'acme' }), 3);
      assert.equal(value(all, 'certkeeper_certificates', { state: 'AVAILABLE', source: 'imported' }), 2);
      assert.equal(value(all, 'certkeeper_certificates', { state: 'SUPERSEDED', source: 'acme' }), 1);
      assert.deepEqual(['1d', '7d', '14d', '30d'].map((within) => value(all, 'certkeeper_certificates_expiring', { within })), [1, 2, 2, 3],
        'AVAILABLE, not yet expired, cumulative');

      assert.equal(value(all, 'certkeeper_auto_certificate_next_renewal_seconds', { auto_certificate_id: 'a1', name: 'www' }), Date.parse(at(10 * D)) / 1000);
      assert.equal(samples(all, 'certkeeper_auto_certificate_next_renewal_seconds', { auto_certificate_id: 'a2' }).length, 0, 'absent while unknown');
      assert.equal(value(all, 'certkeeper_auto_certificate_failures', { auto_certificate_id: 'a2', name: 'api' }), 3);
      assert.equal(value(all, 'certkeeper_auto_certificate_failures', { auto_certificate_id: 'a1' }), 0);
      assert.equal(value(all, 'certkeeper_auto_certificates', { state: 'FAILED' }), 1);
      assert.equal(value(all, 'certkeeper_auto_certificates', { state: 'PAUSED' }), 0);

      assert.equal(value(all, 'certkeeper_jobs', { kind: 'certificate.issue', state: 'running' }), 1);
      assert.equal(value(all, 'certkeeper_jobs', { kind: 'certificate.issue', state: 'queued' }), 1);
      assert.equal(value(all, 'certkeeper_jobs', { kind: 'provider.register', state: 'queued' }), 1);
      assert.equal(value(all, 'certkeeper_jobs', { kind: 'provider.register', state: 'running' }), 0);
      assert.equal(value(all, 'certkeeper_job_oldest_queued_age_seconds'), 1, 'the due register job; the future retry does not count');

      const ca = { ca: 'acme.zerossl.com' };
      assert.equal(value(all, 'certkeeper_acme_requests_total', { ...ca, endpoint: 'directory', status_class: '2xx' }), 1, 'known directory URL');
      assert.deepEqual(['issued', 'retry', 'failed'].map((outcome) => value(all, 'certkeeper_issuances_total', { ...ca, outcome })), [1, 1, 1]);
      assert.equal(value(all, 'certkeeper_issuance_duration_seconds_bucket', { ...ca, outcome: 'issued', le: '10' }), 0);
      assert.equal(value(all, 'certkeeper_issuance_duration_seconds_bucket', { ...ca, outcome: 'issued', le: '30' }), 1);
      assert.equal(value(all, 'certkeeper_issuance_duration_seconds_bucket', { ...ca, outcome: 'retry', le: '600' }), 0);
      assert.equal(value(all, 'certkeeper_issuance_duration_seconds_bucket', { ...ca, outcome: 'retry', le: '+Inf' }), 1);
      assert.equal(value(all, 'certkeeper_issuance_duration_seconds_count', { ...ca, outcome: 'failed' }), 1);
      assertPromtoolClean(text);

      // The job queue empties: the kinds stay, at 0.
      await db.kysely.deleteFrom('jobs').execute();
      const idle = parseSamples(await metrics.render());
      assert.equal(value(idle, 'certkeeper_jobs', { kind: 'certificate.issue', state: 'queued' }), 0);
      assert.equal(value(idle, 'certkeeper_job_oldest_queued_age_seconds'), 0);
    });

    test('per-certificate series off, or over the limit: aggregates only', async () => {
      const off = parseSamples(await new Metrics({ db, clock: () => now, logger, perCertificateLimit: 0 }).render());
      assert.equal(samples(off, 'certkeeper_certificate_not_after_seconds').length, 0);
      assert.equal(samples(off, 'certkeeper_auto_certificate_failures').length, 0);
      assert.equal(value(off, 'certkeeper_certificates', { state: 'AVAILABLE', source: 'acme' }), 3);

      const before = lines.length;
      const small = parseSamples(await new Metrics({ db, clock: () => now, logger, perCertificateLimit: 5 }).render());
      assert.equal(samples(small, 'certkeeper_certificate_not_after_seconds').length, 0, '7 certificates > 5');
      assert.equal(samples(small, 'certkeeper_auto_certificate_failures').length, 2, '2 auto certificates <= 5');
      assert.equal(lines.slice(before).filter((l) => l.includes('CERTKEEPER_METRICS_PER_CERTIFICATE')).length, 1);
    });

    test('a database that does not answer: database_up 0, no stale gauges, counters still served', async () => {
      const closed = await openDatabase(backend.url);
      await closed.close();
      const metrics = new Metrics({ db: closed, clock: () => now, logger, perCertificateLimit: 100 });
      metrics.issuance('acme.example', 'issued', 1);
      const text = await metrics.render();
      const all = parseSamples(text);
      assert.equal(value(all, 'certkeeper_metrics_database_up'), 0);
      assert.equal(samples(all, 'certkeeper_certificates').length, 0);
      assert.equal(value(all, 'certkeeper_issuances_total', { ca: 'acme.example', outcome: 'issued' }), 1);
      assertPromtoolClean(text);
    });
  });
}
