// Expiry alerts end to end: a real SMTP server (smtp-server, in-process, login required) receives
// the alerts for an IMPORTED certificate at each threshold (30, 14, 7, 3, 1 days) exactly once,
// while an injected clock walks the certificate to its expiry and the scan runs several times
// (sequentially and concurrently) at each point.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { scanExpiringCertificates } from '../../src/notify/expiry-scanner.js';
import { NotificationDispatcher } from '../../src/notify/dispatcher.js';
import { makeShortLivedChain } from './short-lived-chain.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

const DAY = 86_400_000;
const SMTP_PASSWORD = 'smtp-pw-7f3c9e1a-DO-NOT-LEAK';
let now = new Date();
let ck: CertkeeperHandle;
let smtp: SmtpSink;

before(async () => {
  smtp = await startSmtpSink('alerts', SMTP_PASSWORD);
  ck = await startCertkeeper({}, { clock: () => now });
});
after(async () => {
  await ck?.stop();
  await smtp?.close();
});

test('an imported certificate is alerted by e-mail at 30, 14, 7, 3 and 1 days left, each exactly once', async () => {
  const channel = await ck.api('POST', '/api/v1/notification-channels', {
    properties: {
      name: 'ops-mail',
      type: 'email',
      events: ['certificate.expiring'],
      settings: { to: ['ops@example.com', 'oncall@example.com'], from: 'certkeeper <certkeeper@example.com>', smtpHost: '127.0.0.1', smtpPort: smtp.port, starttls: 'opportunistic' },
      credentials: { smtpUser: 'alerts', smtpPassword: SMTP_PASSWORD },
    },
  });
  assert.equal(channel.status, 201, channel.text);
  assert.deepEqual(channel.body.metadata.credentialsSet, ['smtpPassword', 'smtpUser']);
  assert.equal(channel.body.properties.settings.subjectPrefix, '[certkeeper]');

  const test1 = await ck.api('POST', `/api/v1/notification-channels/${channel.body.id}/test`);
  assert.equal(test1.status, 200, test1.text);
  assert.equal(test1.body.delivered, true);
  await smtp.waitForMails(1);
  assert.equal(smtp.mails[0]!.subject, '[certkeeper] Test message from certkeeper');
  assert.equal(smtp.mails[0]!.user, 'alerts', 'the channel logged in');
  smtp.mails.length = 0;

  const chain = makeShortLivedChain('shop.example.com', 40);
  const imported = await ck.api('POST', '/api/v1/certificates', { properties: { certificate: chain.leafPem, certificateChain: chain.rootPem, privateKey: chain.leafKeyPem } });
  assert.equal(imported.status, 201, imported.text);
  assert.equal(imported.body.metadata.source, 'imported');
  const notAfter = new Date(imported.body.metadata.notAfter);

  const scanTwiceAndDeliver = async () => {
    await ck.server.notifications.scanExpiry();
    await scanExpiringCertificates(ck.server.ctx);
    // A second "instance" scanning and dispatching at the same time changes nothing.
    const other = new NotificationDispatcher(ck.server.ctx);
    await Promise.all([scanExpiringCertificates(ck.server.ctx), ck.server.notifications.dispatcher.runOnce(), other.runOnce()]);
    await other.runOnce();
    await other.stop();
    // The server's own dispatcher may still be sending: the test moves the clock next, and a send
    // in flight across a jump of an hour would look like an expired lease and be sent again.
    for (let i = 0; i < 200; i++) {
      const sending = await ck.server.ctx.db.kysely.selectFrom('notification_deliveries').select('id').where('state', '=', 'sending').execute();
      if (sending.length === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('a delivery stayed in sending');
  };

  await scanTwiceAndDeliver(); // 40 days left: nothing yet
  const expected: string[] = [];
  for (const [threshold, subject] of [
    [30, '[certkeeper] shop.example.com expires in 30 days'],
    [14, '[certkeeper] shop.example.com expires in 14 days'],
    [7, '[certkeeper] shop.example.com expires in 7 days'],
    [3, '[certkeeper] URGENT: shop.example.com expires in 3 days'],
    [1, '[certkeeper] URGENT: shop.example.com expires in 1 day'],
  ] as const) {
    // Just inside the threshold, then a little later, still before the next one.
    now = new Date(notAfter.getTime() - (threshold - 0.25) * DAY);
    await scanTwiceAndDeliver();
    now = new Date(now.getTime() + 3_600_000);
    await scanTwiceAndDeliver();
    expected.push(subject);
    await smtp.waitForMails(expected.length);
    assert.deepEqual(smtp.mails.map((m) => m.subject), expected, `after the ${threshold}-day threshold`);
  }
  // Past the last threshold and up to expiry: nothing more, however often the scan runs.
  now = new Date(notAfter.getTime() - 3_600_000);
  await scanTwiceAndDeliver();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(smtp.mails.length, 5, smtp.mails.map((m) => m.subject).join(' | '));

  for (const m of smtp.mails) {
    assert.deepEqual(m.to.sort(), ['oncall@example.com', 'ops@example.com']);
    assert.equal(m.from, 'certkeeper@example.com');
    assert.equal(m.headers['x-certkeeper-event'], 'certificate.expiring');
    assert.match(m.raw, /multipart\/alternative/);
    assert.match(m.raw, /text\/html/);
  }
  const events = await ck.api('GET', '/api/v1/events?filter.type=certificate.expiring');
  assert.equal(events.body.total, 5);
  assert.deepEqual(events.body.items.map((e: any) => e.properties.data.thresholdDays).sort((a: number, b: number) => a - b), [1, 3, 7, 14, 30]);
  assert.ok(events.body.items.every((e: any) => e.properties.subjectId === imported.body.id && e.properties.data.source === 'imported'));

  const deliveries = await ck.api('GET', `/api/v1/notification-channels/${channel.body.id}/deliveries`);
  assert.equal(deliveries.status, 200);
  assert.equal(deliveries.body.total, 5);
  assert.ok(deliveries.body.items.every((d: any) => d.metadata.state === 'DELIVERED' && d.properties.attempts === 1 && d.properties.lastStatus === 250), deliveries.text);

  assert.ok(!ck.responses().includes(SMTP_PASSWORD), 'the SMTP password is in no API response');
  assert.ok(!ck.logs().includes(SMTP_PASSWORD), 'the SMTP password is in no log line');
});

test('a temporary SMTP failure (451) is retried with backoff; a wrong password is not retried', async () => {
  const before = smtp.mails.length;
  const good = (await ck.api('GET', '/api/v1/notification-channels?filter.name=ops-mail')).body.items[0];
  const renamed = await ck.api('PATCH', `/api/v1/notification-channels/${good.id}`, { properties: { events: ['certificate.imported'] } });
  assert.equal(renamed.status, 200, renamed.text);
  assert.deepEqual(renamed.body.metadata.credentialsSet, ['smtpPassword', 'smtpUser'], 'credentials are kept when not sent');

  smtp.failNext(1);
  const chain = makeShortLivedChain('retry.example.com', 60);
  assert.equal((await ck.api('POST', '/api/v1/certificates', { properties: { certificate: chain.leafPem, certificateChain: chain.rootPem, privateKey: chain.leafKeyPem } })).status, 201);
  // The server's own dispatcher may have claimed the delivery first: wait until its attempt ends.
  const settled = async () => {
    for (let i = 0; i < 200; i++) {
      const l = await ck.api('GET', `/api/v1/notification-channels/${good.id}/deliveries?filter.eventType=certificate.imported`);
      if (l.body.items[0] && l.body.items[0].metadata.state !== 'SENDING') return l;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the delivery stayed SENDING');
  };
  await ck.server.notifications.dispatcher.runOnce();
  let list = await settled();
  assert.equal(list.body.items[0].metadata.state, 'PENDING', list.text);
  assert.equal(list.body.items[0].properties.lastStatus, 451);
  const next = Date.parse(list.body.items[0].properties.nextAttemptAt);
  assert.ok(next - now.getTime() >= 24_000 && next - now.getTime() <= 36_000, `first retry after 30 s ± 20 %, got ${next - now.getTime()} ms`);
  now = new Date(next + 1000);
  await ck.server.notifications.dispatcher.runOnce();
  await smtp.waitForMails(before + 1);
  list = await settled();
  assert.equal(list.body.items[0].metadata.state, 'DELIVERED');
  assert.equal(list.body.items[0].properties.attempts, 2);

  const bad = await ck.api('POST', '/api/v1/notification-channels', {
    properties: {
      name: 'bad-login', type: 'email', events: ['certificate.imported'],
      settings: { to: ['ops@example.com'], from: 'ck@example.com', smtpHost: '127.0.0.1', smtpPort: smtp.port, starttls: 'opportunistic' },
      credentials: { smtpUser: 'alerts', smtpPassword: 'wrong-password-123' },
    },
  });
  assert.equal(bad.status, 201);
  const t = await ck.api('POST', `/api/v1/notification-channels/${bad.body.id}/test`);
  assert.equal(t.status, 502, t.text);
  assert.equal(t.body.code, 'notification_failed');
  assert.match(t.body.detail, /SMTP 127\.0\.0\.1:\d+/);
  assert.ok(!t.text.includes('wrong-password-123'));
  const chain2 = makeShortLivedChain('login.example.com', 60);
  assert.equal((await ck.api('POST', '/api/v1/certificates', { properties: { certificate: chain2.leafPem, certificateChain: chain2.rootPem, privateKey: chain2.leafKeyPem } })).status, 201);
  await ck.server.notifications.dispatcher.runOnce();
  const failed = await ck.api('GET', `/api/v1/notification-channels/${bad.body.id}/deliveries`);
  assert.equal(failed.body.items[0].metadata.state, 'FAILED', failed.text);
  assert.equal(failed.body.items[0].properties.attempts, 1, 'a refused login is not retried');
  assert.ok(!ck.logs().includes('wrong-password-123'));
});
