// The expiry scan and the dispatcher on SQLite and PostgreSQL with a fixed clock: thresholds fire
// once each (the most urgent when several are crossed at once), also with two instances scanning
// and dispatching at the same time; healthy auto-renewed versions are deferred; a late commit of an
// earlier event id is not skipped by the shared cursor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { createContext } from '../../src/server/context.js';
import { createLogger } from '../../src/server/logger.js';
import type { Context } from '../../src/lifecycle/context.js';
import type { CertificateRow } from '../../src/store/repositories.js';
import { scanExpiringCertificates } from '../../src/notify/expiry-scanner.js';
import { NotificationDispatcher } from '../../src/notify/dispatcher.js';
import { createChannel } from '../../src/notify/channels.js';
import { allDatabases } from '../harness/databases.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const backends = await allDatabases();
const DAY = 86_400_000;
const T0 = new Date('2026-06-01T00:00:00.000Z');

function cert(id: string, notAfter: Date, extra: Partial<CertificateRow> = {}): CertificateRow {
  const t = '2026-05-01T00:00:00.000Z';
  return {
    id, tenant_id: 'default', name: `${id}_v`, auto_certificate_id: null, provider_id: null, source: 'imported', state: 'AVAILABLE', message: '',
    common_name: `${id}.example.com`, sans_json: '[]', issuer: 'CN=x', serial_number: id, not_before: t, not_after: notAfter.toISOString(),
    fingerprint_sha256: 'AA', key_algorithm: 'ecdsa256', certificate_pem: 'x', chain_pem: '', private_key_enc: 'ck1.x', delete_after: null,
    revoked_at: null, revocation_reason: null, created_at: t, created_by: 's', updated_at: t, updated_by: 's', ...extra,
  };
}

async function expiring(ctx: Context) {
  const rows = await ctx.db.kysely.selectFrom('events').selectAll().where('type', '=', 'certificate.expiring').orderBy('id').execute();
  return rows.map((r) => ({ subject: r.subject_id, message: r.message, ...(JSON.parse(r.data_json) as { thresholdDays: number; daysLeft: number }) }));
}

for (const backend of backends) {
  describe(`notifications on ${backend.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-notify-'));
    let now = T0;
    let a: Context;
    let b: Context;
    let rx: WebhookReceiver;
    before(async () => {
      const config = loadConfig({ CERTKEEPER_DATA_DIR: dir, CERTKEEPER_DATABASE_URL: backend.url, CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1' });
      // Two instances on one database.
      a = await createContext(config, createLogger('silent'), () => now);
      b = await createContext(config, createLogger('silent'), () => now);
      rx = await startWebhookReceiver();
    });
    after(async () => {
      await a?.db.close();
      await b?.db.close();
      await rx?.close();
      rmSync(dir, { recursive: true, force: true });
      await backend.cleanup();
    });

    test('each threshold once; several crossed at once send only the most urgent', async () => {
      await a.certificates.insert(cert('five', new Date(T0.getTime() + 5 * DAY)));
      await a.certificates.insert(cert('forty', new Date(T0.getTime() + 40 * DAY)));
      await a.certificates.insert(cert('old', new Date(T0.getTime() + 2 * DAY), { state: 'SUPERSEDED' }));
      await a.certificates.insert(cert('revoked', new Date(T0.getTime() + 2 * DAY), { state: 'REVOKED' }));
      await a.certificates.insert(cert('gone', new Date(T0.getTime() - DAY), { state: 'EXPIRED' }));

      assert.equal((await scanExpiringCertificates(a)).alerted, 1);
      // Two processes on one SQLite file are not a supported set-up (several instances share
      // PostgreSQL): there the "second instance" is a concurrent scan on the same connection.
      const other = backend.name === 'postgres' ? b : a;
      assert.equal((await scanExpiringCertificates(other)).alerted, 0, 'a second scan finds it done');
      assert.deepEqual(await expiring(a), [{ subject: 'five', message: 'five.example.com expires in 5 days', thresholdDays: 7, daysLeft: 5, name: 'five_v', commonName: 'five.example.com', notAfter: '2026-06-06T00:00:00.000Z', source: 'imported', autoCertificate: null }]);
      const marks = await a.db.kysely.selectFrom('expiry_alerts').select(['threshold_days', 'sent']).where('certificate_id', '=', 'five').orderBy('threshold_days').execute();
      assert.deepEqual(marks.map((m) => [Number(m.threshold_days), Number(m.sent)]), [[7, 1], [14, 0], [30, 0]]);

      // Both instances scan at the same moments: each threshold still fires once.
      for (const [offsetDays, expected] of [[2.5, 2], [4, 3], [10.5, 4], [11, 4], [26.5, 5], [33, 6], [37.5, 7], [39.5, 8], [39.9, 8]] as const) {
        now = new Date(T0.getTime() + offsetDays * DAY);
        await Promise.all([scanExpiringCertificates(a), scanExpiringCertificates(other), scanExpiringCertificates(a)]);
        assert.equal((await expiring(a)).length, expected, `at +${offsetDays} days`);
      }
      const all = await expiring(a);
      assert.deepEqual(all.map((e) => `${e.subject}:${e.thresholdDays}:${e.daysLeft}`), [
        'five:7:5', 'five:3:3', 'five:1:1', 'forty:30:30', 'forty:14:14', 'forty:7:7', 'forty:3:3', 'forty:1:1',
      ]);
      assert.ok(all.every((e) => e.subject === 'five' || e.subject === 'forty'), 'superseded, revoked and expired versions are not alerted');
    });

    test('a version whose auto certificate renews on schedule is deferred, and alerted once renewal falls behind', async () => {
      now = T0;
      await a.providers.insert({
        id: 'p1', tenant_id: 'default', name: 'ca', email: null, server: 'https://ca.example/dir', eab_key_id: null, eab_secret_enc: null,
        ca_certificates: null, profile: null, preferred_chain: null, account_key_enc: 'ck1.x', account_url: null, terms_of_service: null,
        profiles_json: null, state: 'AVAILABLE', message: '', created_at: T0.toISOString(), created_by: 's', updated_at: T0.toISOString(), updated_by: 's',
      });
      await a.db.kysely.insertInto('auto_certificates').values({
        id: 'ac1', tenant_id: 'default', name: 'shop', provider_id: 'p1', fallback_provider_ids: '[]', common_name: 'auto.example.com', names_json: '["auto.example.com"]',
        key_algorithm: 'ecdsa256', challenge_type: 'dns-01', key_policy: 'rotate', renew_before_days: null, profile: null, state: 'AVAILABLE', message: '',
        last_issued_certificate_id: 'auto', next_renewal_at: new Date(T0.getTime() + DAY).toISOString(), renewal_reason: null, last_attempt_at: null,
        next_attempt_at: null, failure_count: 0, created_at: T0.toISOString(), created_by: 's', updated_at: T0.toISOString(), updated_by: 's',
      } as any).execute();
      await a.certificates.insert(cert('auto', new Date(T0.getTime() + 20 * DAY), { source: 'acme', auto_certificate_id: 'ac1' }));
      const before = (await expiring(a)).length;
      const r = await scanExpiringCertificates(a);
      assert.equal(r.alerted, 0);
      assert.equal(r.deferred, 1);
      // The renewal is 7 hours overdue: now it is alerted.
      now = new Date(T0.getTime() + DAY + 7 * 3_600_000);
      assert.equal((await scanExpiringCertificates(a)).alerted, 1);
      const last = (await expiring(a)).at(-1)!;
      assert.equal(last.subject, 'auto');
      assert.equal(last.thresholdDays, 30);
      assert.equal((await expiring(a)).length, before + 1);
      // A failing renewal is alerted at once.
      await a.certificates.insert(cert('auto2', new Date(now.getTime() + 10 * DAY), { source: 'acme', auto_certificate_id: 'ac1' }));
      await a.db.kysely.updateTable('auto_certificates').set({ last_issued_certificate_id: 'auto2', next_renewal_at: new Date(now.getTime() + 3_600_000).toISOString() }).where('id', '=', 'ac1').execute();
      assert.equal((await scanExpiringCertificates(a)).deferred, 1);
      await a.db.kysely.updateTable('auto_certificates').set({ failure_count: 1 }).where('id', '=', 'ac1').execute();
      assert.equal((await scanExpiringCertificates(a)).alerted, 1);
      assert.equal((await expiring(a)).at(-1)!.subject, 'auto2');
    });

    test('two dispatchers deliver each event once', async () => {
      const { row } = await createChannel(a, 'default', 'test', { name: `hook-${backend.name}`, type: 'webhook', events: ['certificate.*'], settings: { url: `${rx.url}/multi` }, credentials: { secret: 'a-secret-of-enough-length' } });
      assert.ok(row.id);
      const d1 = new NotificationDispatcher(a, { concurrency: 3, batchSize: 7 });
      const d2 = new NotificationDispatcher(b, { concurrency: 3, batchSize: 7 });
      for (let i = 0; i < 30; i++) {
        await (i % 2 ? a : b).events.append({ tenantId: 'default', type: 'certificate.imported', subjectType: 'certificate', subjectId: `c${i}`, actor: 't', message: `m${i}` });
        if (i % 10 === 9) await Promise.all([d1.runOnce(), d2.runOnce()]);
      }
      await a.events.append({ tenantId: 'other-tenant', type: 'certificate.imported', subjectType: 'certificate', subjectId: 'x', actor: 't', message: 'not ours' });
      await Promise.all([d1.runOnce(), d2.runOnce()]);
      await Promise.all([d1.runOnce(), d2.runOnce()]);
      const got = rx.at('/multi').map((r) => JSON.parse(r.body).subject.id as string);
      assert.equal(got.length, 30, `each event once: ${got.join(',')}`);
      assert.equal(new Set(got).size, 30);
      const states = await a.db.kysely.selectFrom('notification_deliveries').select('state').where('channel_id', '=', row.id).execute();
      assert.ok(states.length === 30 && states.every((s) => s.state === 'delivered'));
      await d1.stop();
      await d2.stop();
    });

    test('the cursor waits for an event id that commits late', async () => {
      const { row } = await createChannel(a, 'default', 'test', { name: `late-${backend.name}`, type: 'webhook', events: ['provider.*'], settings: { url: `${rx.url}/late` }, credentials: { secret: 'a-secret-of-enough-length' } });
      const d = new NotificationDispatcher(a, { gapWaitMs: 60_000 });
      await d.runOnce();
      if (backend.name === 'postgres') {
        // A transaction holds the earlier id while a later one commits.
        let release!: () => void;
        const gate = new Promise<void>((r) => { release = r; });
        let inserted!: () => void;
        const insertedP = new Promise<void>((r) => { inserted = r; });
        const slow = a.db.kysely.transaction().execute(async (tx) => {
          await tx.insertInto('events').values({ tenant_id: 'default', type: 'provider.created', subject_type: 'provider', subject_id: 'early', actor: 't', message: 'early', data_json: '{}', created_at: now.toISOString() }).execute();
          inserted();
          await gate;
        });
        await insertedP;
        await b.events.append({ tenantId: 'default', type: 'provider.created', subjectType: 'provider', subjectId: 'late', actor: 't', message: 'late' });
        await d.runOnce();
        assert.equal(rx.at('/late').length, 0, 'the later event waits for the earlier id');
        release();
        await slow;
      } else {
        // SQLite commits in id order; an id can only go missing by an explicit insert, as here.
        const max = Number((await a.db.kysely.selectFrom('events').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst())?.m ?? 0);
        await a.db.kysely.insertInto('events').values({ id: max + 2, tenant_id: 'default', type: 'provider.created', subject_type: 'provider', subject_id: 'late', actor: 't', message: 'late', data_json: '{}', created_at: now.toISOString() } as any).execute();
        await d.runOnce();
        assert.equal(rx.at('/late').length, 0, 'the later event waits for the missing id');
        await a.db.kysely.insertInto('events').values({ id: max + 1, tenant_id: 'default', type: 'provider.created', subject_type: 'provider', subject_id: 'early', actor: 't', message: 'early', data_json: '{}', created_at: now.toISOString() } as any).execute();
      }
      await d.runOnce();
      assert.deepEqual(rx.at('/late').map((r) => JSON.parse(r.body).subject.id).sort(), ['early', 'late']);
      assert.ok(row.id);
      await d.stop();
    });
  });
}

test('CERTKEEPER_EXPIRY_ALERT_DAYS is validated once', () => {
  assert.deepEqual(loadConfig({}).expiryAlertDays, [30, 14, 7, 3, 1]);
  assert.deepEqual(loadConfig({ CERTKEEPER_EXPIRY_ALERT_DAYS: '7, 60,1,7' }).expiryAlertDays, [60, 7, 1]);
  for (const bad of ['0', '3,x', '400', '1.5']) {
    assert.throws(() => loadConfig({ CERTKEEPER_EXPIRY_ALERT_DAYS: bad }), /CERTKEEPER_EXPIRY_ALERT_DAYS/);
  }
});
