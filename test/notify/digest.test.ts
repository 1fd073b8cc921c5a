// The daily digest end to end: a real SMTP server (smtp-server, in-process) and a node:http
// receiver get one summary a day per channel that asked for one — at the channel's hour of the
// injected clock, once however often (and from how many "instances") the digest check and the
// dispatcher run, one catch-up after days of downtime, none for a channel without a digest — and
// bad digest values are refused naming the field.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { allDatabases } from '../harness/databases.js';
import { loadConfig } from '../../src/config/config.js';
import { createContext } from '../../src/server/context.js';
import { createLogger } from '../../src/server/logger.js';
import type { Context } from '../../src/lifecycle/context.js';
import { createChannel } from '../../src/notify/channels.js';
import { accountKeyContext } from '../../src/lifecycle/acme-clients.js';
import { DomainError } from '../../src/domain-error.js';
import { NotificationDispatcher } from '../../src/notify/dispatcher.js';
import { checkDigest, digestDayOf, digestEventId, dueDigestDay, queueDigests, startDigestDay } from '../../src/notify/digest.js';
import { verifyWebhookSignature } from '../../src/notify/webhook-signature.js';
import { makeShortLivedChain } from './short-lived-chain.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from './smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SMTP_PASSWORD = 'digest-smtp-pw-4e1f0b';
const TENANT = 'default';

// The imported certificate's validity comes from the real clock (OpenSSL), so the injected clock
// starts on the next real UTC day, at 07:00.
const real = new Date();
const DAY0 = Date.UTC(real.getUTCFullYear(), real.getUTCMonth(), real.getUTCDate()) + DAY;
const dayString = (n: number) => new Date(DAY0 + n * DAY).toISOString().slice(0, 10);
let now = new Date(DAY0 + 7 * HOUR);

let ck: CertkeeperHandle;
let smtp: SmtpSink;
let rx: WebhookReceiver;

before(async () => {
  smtp = await startSmtpSink('digest', SMTP_PASSWORD);
  rx = await startWebhookReceiver();
  ck = await startCertkeeper({}, { clock: () => now });
});
after(async () => {
  await ck?.stop();
  await smtp?.close();
  await rx?.close();
});

/** The decoded text of a message (quoted-printable soft breaks and escapes undone). */
function mailText(m: ReceivedMail): string {
  const qp = m.raw.replace(/=\r?\n/g, '');
  return Buffer.from(qp.replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.includes(address));

/** A FAILED auto certificate written straight into the store (no CA here); its next attempt is far off so the scheduler leaves it alone. */
async function seedFailingAutoCertificate(): Promise<{ id: string; nextAttemptAt: string; message: string }> {
  const ctx = ck.server.ctx;
  const at = now.toISOString();
  const providerId = randomUUID();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await ctx.providers.insert({
    id: providerId, tenant_id: TENANT, name: 'nowhere-ca', email: null, server: 'https://127.0.0.1:1/directory',
    eab_key_id: null, eab_secret_enc: null, ca_certificates: null, profile: null, preferred_chain: null,
    account_key_enc: ctx.vault.seal(key, accountKeyContext(providerId)),
    account_url: 'https://127.0.0.1:1/acct/1', terms_of_service: null, profiles_json: null,
    state: 'AVAILABLE', message: 'seeded by the test', created_at: at, created_by: 'test', updated_at: at, updated_by: 'test',
  });
  const id = randomUUID();
  const nextAttemptAt = new Date(DAY0 + 30 * DAY).toISOString();
  const message = 'urn:ietf:params:acme:error:rateLimited: too many certificates already issued for legacy.example.com';
  await ctx.autoCertificates.insert({
    id, tenant_id: TENANT, name: 'legacy-api', provider_id: providerId, fallback_provider_ids: '[]',
    common_name: 'legacy.example.com', names_json: JSON.stringify(['legacy.example.com']), key_algorithm: 'ecdsa256',
    challenge_type: 'dns-01', key_policy: 'rotate', renew_before_days: null, profile: null,
    state: 'FAILED', message, last_issued_certificate_id: null, next_renewal_at: null,
    renewal_reason: null, last_attempt_at: at, next_attempt_at: nextAttemptAt, failure_count: 3,
    ari_window_start: null, ari_window_end: null, ari_next_check_at: null, ari_explanation_url: null, current_provider_id: null,
    created_at: at, created_by: 'test', updated_at: at, updated_by: 'test',
  });
  return { id, nextAttemptAt, message };
}

const appendEvent = (type: 'certificate.issued' | 'certificate.renewal_failed' | 'certificate.revoked', subjectId: string) => ck.server.ctx.events.append({
  tenantId: TENANT, type, subjectType: type === 'certificate.renewal_failed' ? 'auto-certificate' : 'certificate', subjectId, actor: 'system', message: `${type} (seeded by the test)`,
});

/**
 * One round as several instances would run it: the server's own digest check and two more at the
 * same time, then the server's dispatcher and a second one; waits until no attempt is in flight.
 */
async function digestRound(): Promise<void> {
  const ctx = ck.server.ctx;
  await Promise.all([ck.server.notifications.queueDigests(), queueDigests(ctx), queueDigests(ctx)]);
  const other = new NotificationDispatcher(ctx);
  await Promise.all([ck.server.notifications.dispatcher.runOnce(), other.runOnce()]);
  await other.stop();
  for (let i = 0; i < 200; i++) {
    const sending = await ctx.db.kysely.selectFrom('notification_deliveries').select('id').where('state', '=', 'sending').execute();
    if (sending.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('a delivery stayed sending');
}

/** Lets anything still on its way arrive before counting. */
const quiet = () => new Promise((r) => setTimeout(r, 400));

describe('digest schedule (pure)', () => {
  test('the due day is the latest slot at or before now; a slot already passed is skipped when switched on; day ids round-trip', () => {
    assert.equal(dueDigestDay(new Date('2026-03-02T07:59:59.999Z'), 8), '2026-03-01');
    assert.equal(dueDigestDay(new Date('2026-03-02T08:00:00.000Z'), 8), '2026-03-02');
    assert.equal(dueDigestDay(new Date('2026-03-02T23:59:00.000Z'), 0), '2026-03-02');
    assert.equal(dueDigestDay(new Date('2026-01-01T05:00:00.000Z'), 23), '2025-12-31');
    assert.equal(startDigestDay(new Date('2026-03-02T10:00:00.000Z'), 8, null), '2026-03-02', 'switched on after 08:00: the first digest is tomorrow');
    assert.equal(startDigestDay(new Date('2026-03-02T07:00:00.000Z'), 8, null), '2026-03-01', 'switched on before 08:00: the first digest is today');
    assert.equal(startDigestDay(new Date('2026-03-02T10:00:00.000Z'), 20, '2026-03-02'), '2026-03-02', 'moved to a later hour after today\'s was sent: none again today');
    for (const day of ['1970-01-02', '2026-03-02', '2028-02-29']) {
      assert.ok(digestEventId(day) < 0, 'never an audit-log id');
      assert.equal(digestDayOf(digestEventId(day)), day);
    }
    assert.equal(checkDigest({ enabled: true }), 8);
    assert.equal(checkDigest({ enabled: true, hour: 0 }), 0);
    assert.equal(checkDigest({ enabled: false, hour: 5 }), null);
    for (const [bad, field] of [
      [{ enabled: true, hour: 24 }, 'properties.digest.hour'],
      [{ enabled: true, hour: 7.5 }, 'properties.digest.hour'],
      [{ hour: 8 }, 'properties.digest.enabled'],
      [{ enabled: true, minute: 5 }, 'properties.digest.minute'],
    ] as const) {
      assert.throws(() => checkDigest(bad as never), (err: unknown) => err instanceof DomainError && err.code === 'validation_failed' && err.errors.some((e) => e.field === field), JSON.stringify(bad));
    }
  });
});

describe('daily digest', () => {
  let mailChannel: any;
  let plainChannel: any;
  let hookChannel: any;
  let hookSecret: string;
  let failing: { id: string; nextAttemptAt: string; message: string };

  test('one digest a day at the channel\'s hour, by e-mail, signed webhook and chat preset; none without a digest', async () => {
    // Older than 24 hours at the first digest: not counted.
    now = new Date(DAY0 - 2 * DAY);
    await appendEvent('certificate.revoked', 'old-version');
    now = new Date(DAY0 + 7 * HOUR);

    const email = (name: string, to: string, digest?: unknown) => ck.api('POST', '/api/v1/notification-channels', {
      properties: {
        name, type: 'email', events: ['certificate.expired'], ...(digest ? { digest } : {}),
        settings: { to: [to], from: 'certkeeper <certkeeper@example.com>', smtpHost: '127.0.0.1', smtpPort: smtp.port, starttls: 'opportunistic' },
        credentials: { smtpUser: 'digest', smtpPassword: SMTP_PASSWORD },
      },
    });
    const m = await email('digest-mail', 'digest@example.com', { enabled: true, hour: 8 });
    assert.equal(m.status, 201, m.text);
    mailChannel = m.body;
    assert.deepEqual(mailChannel.properties.digest, { enabled: true, hour: 8 });
    const p = await email('plain-mail', 'plain@example.com');
    assert.equal(p.status, 201, p.text);
    plainChannel = p.body;
    assert.deepEqual(plainChannel.properties.digest, { enabled: false });
    const h = await ck.api('POST', '/api/v1/notification-channels', {
      properties: { name: 'digest-hook', type: 'webhook', events: ['certificate.expired'], digest: { enabled: true, hour: 8 }, settings: { url: `${rx.url}/hooks/digest` } },
    });
    assert.equal(h.status, 201, h.text);
    hookChannel = h.body;
    hookSecret = h.body.metadata.generatedSecret;
    const s = await ck.api('POST', '/api/v1/notification-channels', {
      // No hour: the default, 08:00 UTC.
      properties: { name: 'digest-slack', type: 'webhook', events: ['certificate.expired'], digest: { enabled: true }, settings: { preset: 'slack', url: `${rx.url}/hooks/slack` } },
    });
    assert.equal(s.status, 201, s.text);
    assert.deepEqual(s.body.properties.digest, { enabled: true, hour: 8 });

    const chain = makeShortLivedChain('shop.example.com', 10);
    const imported = await ck.api('POST', '/api/v1/certificates', { properties: { certificate: chain.leafPem, certificateChain: chain.rootPem, privateKey: chain.leafKeyPem } });
    assert.equal(imported.status, 201, imported.text);
    failing = await seedFailingAutoCertificate();
    await appendEvent('certificate.issued', imported.body.id);
    await appendEvent('certificate.renewal_failed', failing.id);
    await appendEvent('certificate.renewal_failed', failing.id);
    await appendEvent('certificate.revoked', 'some-version');

    // 07:00: before the hour, nothing.
    await digestRound();
    await quiet();
    assert.equal(smtp.mails.length, 0, smtp.mails.map((x) => x.subject).join(' | '));
    assert.equal(rx.requests.length, 0);

    // 08:00:30: one digest per channel that asked for one, however many rounds run.
    now = new Date(DAY0 + 8 * HOUR + 30_000);
    await digestRound();
    await digestRound();
    await smtp.waitForMails(1);
    await rx.waitFor('/hooks/digest', 1);
    await rx.waitFor('/hooks/slack', 1);
    await quiet();
    assert.equal(mailsTo('digest@example.com').length, 1);
    assert.equal(mailsTo('plain@example.com').length, 0, 'a channel without a digest gets none');
    assert.equal(rx.at('/hooks/digest').length, 1);
    assert.equal(rx.at('/hooks/slack').length, 1);

    const mail = mailsTo('digest@example.com')[0]!;
    assert.equal(mail.subject, '[certkeeper] certkeeper daily digest: 1 expiring, 1 failing');
    assert.equal(mail.headers['x-certkeeper-event'], 'digest.daily');
    const text = mailText(mail);
    assert.match(text, new RegExp(`Daily digest of ${dayString(0)} \\(UTC\\)`));
    assert.match(text, /Expiring within 30 days: 1/);
    assert.match(text, /- shop\.example\.com expires in (9|10) days \(/);
    assert.match(text, /Auto certificates failing: 1/);
    assert.match(text, new RegExp(`- legacy-api: 3 consecutive failures; next attempt ${failing.nextAttemptAt.replace(/\./g, '\\.')}`));
    assert.ok(text.includes('rateLimited: too many certificates already issued'), text);
    assert.match(text, /Last 24 hours: 1 certificate issued, 2 renewal failures, 1 revoked\./);
    assert.match(text, /not an event of the audit log/);

    const [req] = rx.at('/hooks/digest');
    assert.equal(req!.headers['x-certkeeper-event'], 'digest.daily');
    assert.ok(verifyWebhookSignature({ secret: hookSecret, body: req!.body, timestamp: req!.headers['x-certkeeper-timestamp'] as string, signature: req!.headers['x-certkeeper-signature'] as string, now }), 'signed as usual');
    const body = JSON.parse(req!.body);
    assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'data', 'id', 'message', 'severity', 'subject', 'title', 'type']);
    assert.equal(body.type, 'digest.daily');
    assert.equal(body.id, `digest-${dayString(0)}`);
    assert.deepEqual(body.subject, { type: 'notification-channel', id: hookChannel.id });
    assert.equal(body.title, 'certkeeper daily digest: 1 expiring, 1 failing');
    assert.equal(body.severity, 'warning');
    assert.equal(body.data.day, dayString(0));
    assert.equal(body.data.expiring.count, 1);
    assert.equal(body.data.expiring.horizonDays, 30);
    assert.equal(body.data.expiring.soonest[0].commonName, 'shop.example.com');
    assert.equal(body.data.expiring.soonest[0].source, 'imported');
    assert.equal(body.data.expiring.soonest[0].id, imported.body.id);
    assert.deepEqual(body.data.failing, { count: 1, items: [{ id: failing.id, name: 'legacy-api', failureCount: 3, message: failing.message, lastAttemptAt: new Date(DAY0 + 7 * HOUR).toISOString(), nextAttemptAt: failing.nextAttemptAt }] });
    assert.deepEqual({ ...body.data.last24h, since: undefined }, { since: undefined, issued: 1, renewalFailed: 2, revoked: 1 });

    const slack = JSON.parse(rx.at('/hooks/slack')[0]!.body);
    assert.match(slack.text, /^⚠️ \*certkeeper daily digest: 1 expiring, 1 failing\*\n/);
    assert.match(slack.text, /shop\.example\.com expires in/);
    assert.match(slack.text, /legacy-api: 3 consecutive failures/);

    // The digest is a delivery like the others, but no event of the audit log.
    const deliveries = await ck.api('GET', `/api/v1/notification-channels/${mailChannel.id}/deliveries?filter.eventType=digest.daily`);
    assert.equal(deliveries.body.total, 1, deliveries.text);
    assert.equal(deliveries.body.items[0].metadata.state, 'DELIVERED');
    assert.equal(deliveries.body.items[0].properties.event, null);
    assert.equal((await ck.api('GET', '/api/v1/events?filter.type=digest.daily')).body.total, 0);
    assert.match((await ck.api('GET', `/api/v1/notification-channels/${mailChannel.id}`)).body.metadata.message, new RegExp(`Delivered digest\\.daily of ${dayString(0)}`));

    // Later the same day: nothing more.
    now = new Date(DAY0 + 15 * HOUR);
    await digestRound();
    // The next day, just before the hour: nothing; just after: one more each.
    now = new Date(DAY0 + DAY + 8 * HOUR - 60_000);
    await digestRound();
    await quiet();
    assert.equal(mailsTo('digest@example.com').length, 1);
    assert.equal(rx.at('/hooks/digest').length, 1);
    now = new Date(DAY0 + DAY + 8 * HOUR + 5_000);
    await digestRound();
    await digestRound();
    await smtp.waitForMails(2);
    await rx.waitFor('/hooks/digest', 2);
    await quiet();
    assert.equal(mailsTo('digest@example.com').length, 2);
    assert.equal(rx.at('/hooks/digest').length, 2);
    assert.equal(rx.at('/hooks/slack').length, 2);
    assert.equal(JSON.parse(rx.at('/hooks/digest')[1]!.body).data.day, dayString(1));
    assert.equal(mailsTo('plain@example.com').length, 0);
  });

  test('after days of downtime the catch-up sends one digest, not one per missed day; a digest switched on after its hour starts the next day', async () => {
    // Nothing ran on days 2 and 3; at noon on day 4 the service is back.
    now = new Date(DAY0 + 4 * DAY + 12 * HOUR);
    await digestRound();
    await digestRound();
    await smtp.waitForMails(3);
    await rx.waitFor('/hooks/digest', 3);
    await quiet();
    assert.equal(mailsTo('digest@example.com').length, 3);
    assert.equal(rx.at('/hooks/digest').length, 3);
    assert.equal(JSON.parse(rx.at('/hooks/digest')[2]!.body).data.day, dayString(4));
    const deliveries = await ck.api('GET', `/api/v1/notification-channels/${hookChannel.id}/deliveries?filter.eventType=digest.daily`);
    assert.equal(deliveries.body.total, 3);

    // Switched on at 12:30 with hour 8: today's slot has passed, so the first is tomorrow's.
    const on = await ck.api('PATCH', `/api/v1/notification-channels/${plainChannel.id}`, { properties: { digest: { enabled: true, hour: 8 } } });
    assert.equal(on.status, 200, on.text);
    assert.deepEqual(on.body.properties.digest, { enabled: true, hour: 8 });
    now = new Date(DAY0 + 4 * DAY + 12 * HOUR + 30 * 60_000);
    await digestRound();
    await quiet();
    assert.equal(mailsTo('plain@example.com').length, 0);
    now = new Date(DAY0 + 5 * DAY + 8 * HOUR + 10_000);
    await digestRound();
    await smtp.waitForMails(5);
    await quiet();
    assert.equal(mailsTo('plain@example.com').length, 1);
    assert.equal(mailsTo('digest@example.com').length, 4);

    // Switched off: no more.
    const off = await ck.api('PATCH', `/api/v1/notification-channels/${plainChannel.id}`, { properties: { digest: { enabled: false } } });
    assert.deepEqual(off.body.properties.digest, { enabled: false });
    now = new Date(DAY0 + 6 * DAY + 9 * HOUR);
    await digestRound();
    await smtp.waitForMails(6);
    await quiet();
    assert.equal(mailsTo('plain@example.com').length, 1);
    assert.equal(mailsTo('digest@example.com').length, 5);
    assert.ok(!ck.logs().includes(SMTP_PASSWORD));
  });

  test('bad digest values are refused with a problem naming the field', async () => {
    const base = { name: 'bad-digest', type: 'webhook', settings: { url: `${rx.url}/hooks/bad` } };
    for (const [digest, field] of [
      [{ enabled: true, hour: 24 }, 'properties.digest.hour'],
      [{ enabled: true, hour: -1 }, 'properties.digest.hour'],
      [{ enabled: true, hour: 7.5 }, 'properties.digest.hour'],
      [{ hour: 8 }, 'properties.digest.enabled'],
      [{ enabled: true, minute: 30 }, 'properties.digest.minute'],
      ['8', 'properties.digest'],
    ] as const) {
      const res = await ck.api('POST', '/api/v1/notification-channels', { properties: { ...base, digest } });
      assert.equal(res.status, 400, `${JSON.stringify(digest)}: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(res.body.code, 'validation_failed');
      assert.ok(res.body.errors.some((e: { field: string }) => e.field === field), `${JSON.stringify(digest)} names ${field}: ${res.text}`);
    }
    const patch = await ck.api('PATCH', `/api/v1/notification-channels/${mailChannel.id}`, { properties: { digest: { enabled: true, hour: 99 } } });
    assert.equal(patch.status, 400, patch.text);
    assert.ok(patch.body.errors.some((e: { field: string }) => e.field === 'properties.digest.hour'), patch.text);
    // The digest is not an event: asking for it through the events filter says how to ask for it.
    const asEvent = await ck.api('POST', '/api/v1/notification-channels', { properties: { ...base, events: ['digest.daily'] } });
    assert.equal(asEvent.status, 400, asEvent.text);
    assert.equal(asEvent.body.errors[0].field, 'properties.events[0]');
    assert.match(asEvent.body.errors[0].message, /properties\.digest/);
    assert.equal((await ck.api('GET', '/api/v1/notification-channels?filter.name=bad-digest')).body.total, 0);
  });
});

const backends = await allDatabases();
for (const backend of backends) {
  describe(`digest compare-and-set on ${backend.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-digest-'));
    const T0 = Date.parse('2026-06-01T00:00:00.000Z');
    let clock = new Date(T0 + 7 * HOUR);
    let a: Context;
    let b: Context;
    let hooks: WebhookReceiver;
    before(async () => {
      const config = loadConfig({ CERTKEEPER_DATA_DIR: dir, CERTKEEPER_DATABASE_URL: backend.url, CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1' });
      // Two instances on one database (as in store.test.ts, the second SQLite "instance" is the
      // same connection: several processes share PostgreSQL, not one SQLite file).
      a = await createContext(config, createLogger('silent'), () => clock);
      b = backend.name === 'postgres' ? await createContext(config, createLogger('silent'), () => clock) : a;
      hooks = await startWebhookReceiver();
    });
    after(async () => {
      await a?.db.close();
      if (b && b !== a) await b.db.close();
      await hooks?.close();
      rmSync(dir, { recursive: true, force: true });
      await backend.cleanup();
    });

    test('instances racing queue one digest per day, and one after downtime', async () => {
      const { row } = await createChannel(a, TENANT, 'test', {
        name: 'racing', type: 'webhook', events: ['certificate.expired'], digest: { enabled: true, hour: 8 },
        settings: { url: `${hooks.url}/race` }, credentials: { secret: 'a-secret-of-enough-length' },
      });
      const race = async () => (await Promise.all([queueDigests(a), queueDigests(b), queueDigests(a), queueDigests(b)])).reduce((x, y) => x + y, 0);
      const send = async () => {
        const d1 = new NotificationDispatcher(a);
        const d2 = new NotificationDispatcher(b);
        await Promise.all([d1.runOnce(), d2.runOnce()]);
        await Promise.all([d1.stop(), d2.stop()]);
      };
      assert.equal(await race(), 0, 'before the hour');
      clock = new Date(T0 + 8 * HOUR + 1_000);
      assert.equal(await race(), 1, 'one instance wins');
      assert.equal(await race(), 0, 'and only once');
      await send();
      assert.equal(hooks.at('/race').length, 1);
      assert.equal(JSON.parse(hooks.at('/race')[0]!.body).data.day, '2026-06-01');
      // Three days without any instance: one catch-up digest, for the latest day.
      clock = new Date(T0 + 4 * DAY + 3 * HOUR);
      assert.equal(await race(), 1);
      assert.equal(await race(), 0);
      await send();
      assert.equal(hooks.at('/race').length, 2);
      assert.equal(JSON.parse(hooks.at('/race')[1]!.body).data.day, '2026-06-04');
      const rows = await a.db.kysely.selectFrom('notification_deliveries').select(['event_id', 'state']).where('channel_id', '=', row.id).orderBy('event_id', 'desc').execute();
      assert.deepEqual(rows.map((r) => [Number(r.event_id), r.state]), [[digestEventId('2026-06-01'), 'delivered'], [digestEventId('2026-06-04'), 'delivered']]);
      const stored = await a.db.kysely.selectFrom('notification_channels').select(['digest_hour', 'digest_day']).where('id', '=', row.id).executeTakeFirstOrThrow();
      assert.deepEqual([Number(stored.digest_hour), stored.digest_day], [8, '2026-06-04']);
    });
  });
}
