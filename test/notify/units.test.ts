// Pure parts of notifications: event filters, signatures, rendering, presets, channel settings.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { checkEventFilter, matchesEventFilter } from '../../src/notify/event-filter.js';
import { signWebhook, verifyWebhookSignature } from '../../src/notify/webhook-signature.js';
import { renderNotification, type NotificationEvent } from '../../src/notify/notification.js';
import { buildWebhookRequest } from '../../src/notify/webhook-presets.js';
import { emailSubject } from '../../src/notify/email-notifier.js';
import { redactUrl, resolveChannelConfig } from '../../src/notify/channel-config.js';
import { daysLeft, expiryMessage } from '../../src/notify/expiry-scanner.js';
import type { FieldError } from '../../src/domain-error.js';
import { EVENT_TYPES } from '../../src/lifecycle/event-types.js';
import { readFileSync } from 'node:fs';

const event = (over: Partial<NotificationEvent> = {}): NotificationEvent => ({
  id: '42', type: 'certificate.expiring', createdAt: '2026-03-01T00:00:00.000Z', subject: { type: 'certificate', id: 'c1' },
  message: 'www.example.com expires in 7 days', data: { daysLeft: 7, thresholdDays: 7, notAfter: '2026-03-08T00:00:00.000Z', source: 'imported' }, ...over,
});

describe('event filter', () => {
  test('exact types, prefixes and * match; unknown ones are named', () => {
    assert.ok(matchesEventFilter(['*'], 'provider.created'));
    assert.ok(matchesEventFilter(['certificate.*'], 'certificate.expiring'));
    assert.ok(!matchesEventFilter(['certificate.*'], 'auto_certificate.created'), 'a prefix matches whole namespaces only');
    assert.ok(matchesEventFilter(['certificate.revoked', 'certificate.expiring'], 'certificate.expiring'));
    assert.ok(!matchesEventFilter(['certificate.revoked'], 'certificate.expiring'));
    const errors: FieldError[] = [];
    assert.deepEqual(checkEventFilter(undefined, 'f', errors), ['*']);
    checkEventFilter(['certificate.expiring', 'certificate.expiring', 'nope', 'cert.*', 'certificate.*'], 'f', errors);
    assert.deepEqual(errors.map((e) => e.field), ['f[2]', 'f[3]']);
    checkEventFilter([], 'g', errors);
    assert.equal(errors.at(-1)!.field, 'g');
  });
});

describe('signature', () => {
  test('v1 is hex HMAC-SHA256 of "<timestamp>.<body>" under the secret; checked in constant time with a tolerance', () => {
    const body = '{"a":1}';
    const sig = signWebhook('s3cret-s3cret-s3cret', 1767225600, body);
    assert.equal(sig, `v1=${createHmac('sha256', 's3cret-s3cret-s3cret').update(`1767225600.${body}`).digest('hex')}`);
    const at = new Date(1767225600_000);
    assert.ok(verifyWebhookSignature({ secret: 's3cret-s3cret-s3cret', body, timestamp: '1767225600', signature: sig, now: at }));
    assert.ok(verifyWebhookSignature({ secret: 's3cret-s3cret-s3cret', body, timestamp: '1767225600', signature: `v1=00, ${sig}`, now: at }), 'any of several signatures');
    assert.ok(!verifyWebhookSignature({ secret: 's3cret-s3cret-s3cret', body: '{"a":2}', timestamp: '1767225600', signature: sig, now: at }));
    assert.ok(!verifyWebhookSignature({ secret: 's3cret-s3cret-s3cret', body, timestamp: '1767225600', signature: sig, now: new Date(at.getTime() + 301_000) }));
    assert.ok(!verifyWebhookSignature({ secret: 's3cret-s3cret-s3cret', body, timestamp: undefined, signature: sig, now: at }));
    assert.ok(!verifyWebhookSignature({ secret: 's3cret-s3cret-s3cret', body, timestamp: '1767225600', signature: 'v1=zz', now: at }));
  });
});

describe('rendering', () => {
  test('expiry alerts are warnings, and critical from 3 days left; e-mail subjects follow', () => {
    const seven = renderNotification(event(), 'd1', 'www.example.com_v');
    assert.equal(seven.severity, 'warning');
    assert.equal(emailSubject('[certkeeper]', seven), '[certkeeper] www.example.com expires in 7 days');
    assert.match(seven.text, /imported into certkeeper: renew it with its CA/);
    const three = renderNotification(event({ message: 'www.example.com expires in 3 days', data: { daysLeft: 3 } }), 'd2', null);
    assert.equal(three.severity, 'critical');
    assert.equal(emailSubject('[certkeeper]', three), '[certkeeper] URGENT: www.example.com expires in 3 days');
    assert.equal(emailSubject('', three), 'URGENT: www.example.com expires in 3 days');
  });
  test('a renewal failure is louder when the active version expires before the next attempt', () => {
    const plain = renderNotification(event({ type: 'certificate.renewal_failed', subject: { type: 'auto-certificate', id: 'a1' }, message: 'CA said no', data: { failureCount: 3 } }), 'd', 'shop');
    assert.equal(plain.severity, 'warning');
    assert.equal(plain.title, 'Renewal of shop failed');
    const loud = renderNotification(event({ type: 'certificate.renewal_failed', subject: { type: 'auto-certificate', id: 'a1' }, message: 'CA said no', data: { critical: true } }), 'd', 'shop');
    assert.equal(loud.severity, 'critical');
    assert.match(loud.title, /expires before the next attempt/);
    assert.equal(renderNotification(event({ type: 'certificate.renewal_failed', data: { severity: 'critical' } }), 'd', 'x').severity, 'critical');
  });
  test('days left are rounded up, messages read naturally', () => {
    const now = new Date('2026-03-01T00:00:00.000Z');
    assert.equal(daysLeft(new Date('2026-03-07T18:00:00.000Z'), now), 7);
    assert.equal(daysLeft(new Date('2026-03-01T02:00:00.000Z'), now), 1);
    assert.equal(expiryMessage('a.example', 1), 'a.example expires in 1 day');
    assert.equal(expiryMessage('a.example', 14), 'a.example expires in 14 days');
  });
});

describe('presets', () => {
  const n = renderNotification(event({ message: 'bücher.example expires in 1 day', data: { daysLeft: 1 } }), 'del-1', null);
  const now = new Date(1767225600_000);
  test('generic: signed JSON with the documented headers', () => {
    const r = buildWebhookRequest({ preset: 'generic', url: 'https://hooks.example/x', secret: 'k'.repeat(20) }, n, now);
    assert.equal(r.headers['x-certkeeper-timestamp'], '1767225600');
    assert.equal(r.headers['x-certkeeper-signature'], signWebhook('k'.repeat(20), 1767225600, r.body));
    assert.equal(r.headers['x-certkeeper-delivery'], 'del-1');
    assert.equal(r.label, 'hooks.example');
  });
  test('ntfy: text body, priority 5 when critical, a non-ASCII title RFC 2047-encoded', () => {
    const r = buildWebhookRequest({ preset: 'ntfy', url: 'https://ntfy.example/topic' }, n, now);
    assert.equal(r.headers.priority, '5');
    assert.match(r.headers.title!, /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    assert.equal(Buffer.from(r.headers.title!.slice(10, -2), 'base64').toString('utf8'), 'URGENT: bücher.example expires in 1 day');
    assert.equal(r.headers.authorization, undefined);
  });
  test('telegram: the token is in the URL but not in the label', () => {
    const r = buildWebhookRequest({ preset: 'telegram', url: 'https://api.telegram.org/', botToken: '1:AAA', chatId: '@ops' }, n, now);
    assert.equal(r.url, 'https://api.telegram.org/bot1:AAA/sendMessage');
    assert.ok(!r.label.includes('AAA'));
    assert.equal(JSON.parse(r.body).chat_id, '@ops');
  });
  test('slack escapes its control characters; discord caps at 2000 characters', () => {
    const long = renderNotification(event({ type: 'provider.failed', message: `<@everyone> & ${'x'.repeat(3000)}`, data: {} }), 'd', null);
    assert.match(JSON.parse(buildWebhookRequest({ preset: 'slack', url: 'https://s.example/x' }, long, now).body).text, /&lt;@everyone&gt; &amp;/);
    assert.equal(JSON.parse(buildWebhookRequest({ preset: 'discord', url: 'https://d.example/x' }, long, now).body).content.length, 2000);
  });
});

describe('channel settings', () => {
  test('URLs read back redacted to scheme and host', () => {
    assert.equal(redactUrl('https://hooks.slack.com/services/T/B/X'), 'https://hooks.slack.com/…');
    assert.equal(redactUrl('https://example.com'), 'https://example.com');
    assert.equal(redactUrl('https://example.com/?token=1'), 'https://example.com/…');
  });
  test('defaults, generated secrets, and PATCH semantics', () => {
    const mail = resolveChannelConfig({ type: 'email', settings: { to: ['a@example.com'], from: 'ck <ck@example.com>', smtpHost: 'smtp.example.com', secure: true } });
    assert.deepEqual(mail.settings, { to: ['a@example.com'], from: 'ck <ck@example.com>', smtpHost: 'smtp.example.com', smtpPort: 465, secure: true, starttls: 'required', subjectPrefix: '[certkeeper]' });
    const hook = resolveChannelConfig({ type: 'webhook', settings: { url: 'https://h.example/p' } });
    assert.ok(hook.generatedSecret && hook.credentials.secret === hook.generatedSecret);
    assert.deepEqual(hook.settings, { preset: 'generic', url: 'https://h.example/…' });
    const existing = { type: 'webhook' as const, settings: hook.settings, credentials: hook.credentials };
    const same = resolveChannelConfig({ settings: { url: 'https://h.example/…' } }, existing);
    assert.equal(same.credentials.url, 'https://h.example/p', 'a redacted URL sent back keeps the stored one');
    assert.equal(same.credentials.secret, hook.credentials.secret, 'credentials left out are kept');
    assert.equal(same.generatedSecret, undefined);
    const moved = resolveChannelConfig({ settings: { preset: 'slack', url: 'https://hooks.slack.com/services/X' } }, existing);
    assert.deepEqual(moved.credentials, { url: 'https://hooks.slack.com/services/X' }, 'a secret that no longer applies is dropped');
    assert.throws(() => resolveChannelConfig({ type: 'webhook', settings: { preset: 'ntfy' }, credentials: { token: 't' } }), /settings\.url/);
  });
});

test('every event type of the vocabulary is documented in docs/notifications.md', () => {
  const doc = readFileSync(new URL('../../docs/notifications.md', import.meta.url), 'utf8');
  for (const type of EVENT_TYPES) assert.ok(doc.includes(`\`${type}\``), `${type} is missing from docs/notifications.md`);
});
