// Webhook channels end to end against a node:http receiver on 127.0.0.1: the signature verifies
// with the documented algorithm (and a tampered request does not), failed deliveries are retried
// with growing delays and Retry-After, 410 disables the channel, the chat presets send each
// vendor's JSON, and no secret appears in an API response or a log line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { verifyWebhookSignature } from '../../src/notify/webhook-signature.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

let now = new Date('2026-03-01T12:00:00.000Z');
let ck: CertkeeperHandle;
let rx: WebhookReceiver;

before(async () => {
  rx = await startWebhookReceiver();
  ck = await startCertkeeper({}, { clock: () => now });
});
after(async () => {
  await ck?.stop();
  await rx?.close();
});

const channel = async (name: string, settings: Record<string, unknown>, credentials?: Record<string, string>, events = ['certificate.renewal_failed']) => {
  const res = await ck.api('POST', '/api/v1/notification-channels', { properties: { name, type: 'webhook', events, settings, ...(credentials ? { credentials } : {}) } });
  assert.equal(res.status, 201, res.text);
  return res.body;
};

const renewalFailed = (data: Record<string, unknown> = {}) => ck.server.ctx.events.append({
  tenantId: 'default', type: 'certificate.renewal_failed', subjectType: 'auto-certificate', subjectId: 'ac-1', actor: 'system',
  message: 'urn:ietf:params:acme:error:rateLimited: too many certificates already issued', data: { failureCount: 2, retryAt: '2026-03-01T13:00:00.000Z', ...data },
});

/** One dispatcher pass; the server's own dispatcher may have claimed work first, so wait until no attempt is in flight. */
const deliver = async () => {
  await ck.server.notifications.dispatcher.runOnce();
  for (let i = 0; i < 200; i++) {
    const sending = await ck.server.ctx.db.kysely.selectFrom('notification_deliveries').select('id').where('state', '=', 'sending').execute();
    if (sending.length === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('a delivery stayed SENDING');
};

/** The verification snippet of docs/notifications.md, as a receiver would write it. */
function receiverVerifies(secret: string, headers: Record<string, string | string[] | undefined>, body: string, nowSeconds: number): boolean {
  const timestamp = String(headers['x-certkeeper-timestamp'] ?? '');
  const signature = String(headers['x-certkeeper-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = 'v1=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return signature.split(',').some((s) => s.trim().length === expected.length && timingSafeEqual(Buffer.from(s.trim()), Buffer.from(expected)));
}

describe('generic webhook', () => {
  test('is signed: the receiver verifies the documented HMAC and rejects tampering', async () => {
    const created = await channel('generic', { url: `${rx.url}/hooks/generic?key=abc` });
    const secret: string = created.metadata.generatedSecret;
    assert.ok(secret && secret.length >= 40, 'a secret is generated and shown once');
    assert.equal(created.properties.settings.url, `${rx.url}/…`, 'the URL reads back redacted');
    assert.deepEqual(created.metadata.credentialsSet, ['secret']);
    const read = await ck.api('GET', `/api/v1/notification-channels/${created.id}`);
    assert.equal(read.body.metadata.generatedSecret, undefined);
    assert.ok(!read.text.includes(secret));
    assert.ok(!(await ck.api('GET', '/api/v1/notification-channels')).text.includes(secret));

    await renewalFailed();
    await deliver();
    const [req] = await rx.waitFor('/hooks/generic?key=abc', 1);
    assert.equal(req!.method, 'POST');
    assert.equal(req!.headers['content-type'], 'application/json');
    assert.equal(req!.headers['user-agent'], 'certkeeper');
    assert.equal(req!.headers['x-certkeeper-event'], 'certificate.renewal_failed');
    assert.equal(req!.headers['x-certkeeper-timestamp'], String(Math.floor(now.getTime() / 1000)));
    const deliveries = await ck.api('GET', `/api/v1/notification-channels/${created.id}/deliveries`);
    assert.equal(req!.headers['x-certkeeper-delivery'], deliveries.body.items[0].id);
    const body = JSON.parse(req!.body);
    assert.deepEqual(Object.keys(body).sort(), ['createdAt', 'data', 'id', 'message', 'severity', 'subject', 'title', 'type']);
    assert.equal(body.type, 'certificate.renewal_failed');
    assert.deepEqual(body.subject, { type: 'auto-certificate', id: 'ac-1' });
    assert.equal(body.data.failureCount, 2);
    assert.equal(body.severity, 'warning');
    const events = await ck.api('GET', '/api/v1/events?filter.type=certificate.renewal_failed');
    assert.equal(body.id, events.body.items[0].id, 'the event id is the audit log id');

    const nowSeconds = Math.floor(now.getTime() / 1000);
    assert.ok(receiverVerifies(secret, req!.headers, req!.body, nowSeconds), 'the documented algorithm verifies');
    assert.ok(verifyWebhookSignature({ secret, body: req!.body, timestamp: req!.headers['x-certkeeper-timestamp'] as string, signature: req!.headers['x-certkeeper-signature'] as string, now }));
    const tampered = req!.body.replace('"failureCount":2', '"failureCount":3');
    assert.notEqual(tampered, req!.body);
    assert.ok(!receiverVerifies(secret, req!.headers, tampered, nowSeconds), 'a changed body is refused');
    assert.ok(!receiverVerifies(secret, { ...req!.headers, 'x-certkeeper-timestamp': String(nowSeconds + 1) }, req!.body, nowSeconds), 'a changed timestamp is refused');
    assert.ok(!receiverVerifies('another-secret-of-some-length', req!.headers, req!.body, nowSeconds), 'another secret is refused');
    assert.ok(!receiverVerifies(secret, req!.headers, req!.body, nowSeconds + 600), 'a replay 10 minutes later is refused');
    assert.ok(!verifyWebhookSignature({ secret, body: tampered, timestamp: req!.headers['x-certkeeper-timestamp'] as string, signature: req!.headers['x-certkeeper-signature'] as string, now }));

    // Rotation: credentials {} makes a new secret, shown once; the URL is kept.
    const rotated = await ck.api('PATCH', `/api/v1/notification-channels/${created.id}`, { properties: { credentials: {} } });
    assert.equal(rotated.status, 200, rotated.text);
    assert.ok(rotated.body.metadata.generatedSecret && rotated.body.metadata.generatedSecret !== secret);
    await ck.api('PATCH', `/api/v1/notification-channels/${created.id}`, { properties: { enabled: false } });
  });

  test('failures are retried with growing delays, Retry-After is honoured, 410 disables the channel', async () => {
    const flaky = await channel('flaky', { url: `${rx.url}/hooks/flaky` }, { secret: 'a-secret-of-enough-length' });
    rx.script('/hooks/flaky', { status: 500, body: 'boom' }, { status: 503, body: 'still down' });
    await renewalFailed();
    const delivery = async () => (await ck.api('GET', `/api/v1/notification-channels/${flaky.id}/deliveries`)).body.items[0];

    await deliver();
    assert.equal(rx.at('/hooks/flaky').length, 1);
    let d = await delivery();
    assert.equal(d.metadata.state, 'PENDING');
    assert.equal(d.properties.lastStatus, 500);
    assert.match(d.properties.lastError, /HTTP 500: boom/);
    const delay1 = Date.parse(d.properties.nextAttemptAt) - now.getTime();
    assert.ok(delay1 >= 24_000 && delay1 <= 36_000, `first delay ${delay1} ms`);
    await deliver();
    assert.equal(rx.at('/hooks/flaky').length, 1, 'not before the backoff');

    now = new Date(Date.parse(d.properties.nextAttemptAt) + 1000);
    await deliver();
    assert.equal(rx.at('/hooks/flaky').length, 2);
    d = await delivery();
    const delay2 = Date.parse(d.properties.nextAttemptAt) - now.getTime();
    assert.ok(delay2 >= 48_000 && delay2 <= 72_000 && delay2 > delay1, `second delay ${delay2} ms grows`);

    now = new Date(Date.parse(d.properties.nextAttemptAt) + 1000);
    await deliver();
    const reqs = rx.at('/hooks/flaky');
    assert.equal(reqs.length, 3);
    d = await delivery();
    assert.equal(d.metadata.state, 'DELIVERED');
    assert.equal(d.properties.attempts, 3);
    assert.equal(new Set(reqs.map((r) => r.headers['x-certkeeper-delivery'])).size, 1, 'retries carry the same delivery id');
    assert.equal(new Set(reqs.map((r) => JSON.parse(r.body).id)).size, 1);
    const ch = await ck.api('GET', `/api/v1/notification-channels/${flaky.id}`);
    assert.equal(ch.body.metadata.lastDeliveryAt, now.toISOString());

    // 429 with Retry-After: 600 → not before 10 minutes, although the backoff would say 30 s.
    rx.script('/hooks/flaky', { status: 429, headers: { 'retry-after': '600' }, body: 'slow down' });
    await renewalFailed();
    await deliver();
    d = await delivery();
    assert.equal(d.metadata.state, 'PENDING');
    assert.equal(Date.parse(d.properties.nextAttemptAt), now.getTime() + 600_000);

    // 410 Gone: the channel is disabled, the waiting delivery cancelled, and that is an event.
    now = new Date(now.getTime() + 601_000);
    rx.script('/hooks/flaky', { status: 410, body: 'gone' });
    await deliver();
    const gone = await ck.api('GET', `/api/v1/notification-channels/${flaky.id}`);
    assert.equal(gone.body.metadata.state, 'DISABLED');
    assert.equal(gone.body.properties.enabled, false);
    assert.match(gone.body.metadata.message, /410/);
    const disabled = await ck.api('GET', '/api/v1/events?filter.type=notification_channel.disabled');
    assert.equal(disabled.body.total, 1);
    assert.equal(disabled.body.items[0].properties.subjectId, flaky.id);
    const count = rx.at('/hooks/flaky').length;
    await renewalFailed();
    await deliver();
    assert.equal(rx.at('/hooks/flaky').length, count, 'a disabled channel receives nothing');
  });

  test('POST /test sends one signed message now, and reports a refusal as notification_failed', async () => {
    const c = await channel('tested', { url: `${rx.url}/hooks/tested` }, { secret: 'a-secret-of-enough-length' });
    const ok = await ck.api('POST', `/api/v1/notification-channels/${c.id}/test`);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body, { delivered: true, status: 200, detail: `HTTP 200 from ${new URL(rx.url).host}` });
    const [req] = rx.at('/hooks/tested');
    assert.equal(req!.headers['x-certkeeper-event'], 'notification_channel.test');
    assert.ok(verifyWebhookSignature({ secret: 'a-secret-of-enough-length', body: req!.body, timestamp: req!.headers['x-certkeeper-timestamp'] as string, signature: req!.headers['x-certkeeper-signature'] as string, now }));
    rx.script('/hooks/tested', { status: 500, body: 'nope' });
    const bad = await ck.api('POST', `/api/v1/notification-channels/${c.id}/test`);
    assert.equal(bad.status, 502);
    assert.equal(bad.body.code, 'notification_failed');
    assert.match(bad.body.detail, /HTTP 500: nope/);
    assert.ok(!bad.text.includes('/hooks/tested'), 'the URL path is not echoed');
    await ck.api('DELETE', `/api/v1/notification-channels/${c.id}`);
  });
});

describe('chat presets', () => {
  const SLACK_PATH = '/slack/services/T0001/B0001/SLACKSECRETPATH';
  const TEAMS_PATH = '/teams/workflows/TEAMSSECRETSIG';
  const DISCORD_PATH = '/discord/api/webhooks/1/DISCORDSECRET';
  const BOT_TOKEN = '123456:TELEGRAM-SECRET-TOKEN';
  const NTFY_TOKEN = 'tk_NTFYSECRETTOKEN';
  before(async () => {
    await channel('slack', { preset: 'slack', url: rx.url + SLACK_PATH });
    await channel('teams', { preset: 'teams', url: rx.url + TEAMS_PATH });
    await channel('discord', { preset: 'discord', url: rx.url + DISCORD_PATH });
    await channel('telegram', { preset: 'telegram', url: `${rx.url}/tg`, chatId: '-1001234567890' }, { botToken: BOT_TOKEN });
    await channel('ntfy', { preset: 'ntfy', url: `${rx.url}/ntfy/ck-alerts` }, { token: NTFY_TOKEN });
  });

  test('a louder renewal failure (the active version expires before the next attempt) in each vendor format', async () => {
    await renewalFailed({ critical: true, notAfter: '2026-03-02T00:00:00.000Z' });
    await deliver();
    const slack = JSON.parse((await rx.waitFor(SLACK_PATH, 1))[0]!.body);
    assert.deepEqual(Object.keys(slack), ['text']);
    assert.match(slack.text, /^🚨 \*URGENT: Renewal of ac-1 failed, and the active version expires before the next attempt\*\n/);

    const teams = JSON.parse((await rx.waitFor(TEAMS_PATH, 1))[0]!.body);
    assert.equal(teams.type, 'message');
    assert.equal(teams.attachments[0].contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(teams.attachments[0].content.type, 'AdaptiveCard');
    assert.equal(teams.attachments[0].content.body[0].color, 'Attention');
    assert.match(teams.attachments[0].content.body[0].text, /^URGENT: /);

    const discord = JSON.parse((await rx.waitFor(DISCORD_PATH, 1))[0]!.body);
    assert.ok(typeof discord.content === 'string' && discord.content.length <= 2000);
    assert.match(discord.content, /^🚨 \*\*URGENT: Renewal of ac-1 failed/);
    assert.deepEqual(discord.allowed_mentions, { parse: [] });

    const tg = (await rx.waitFor(`/tg/bot${BOT_TOKEN}/sendMessage`, 1))[0]!;
    const tgBody = JSON.parse(tg.body);
    assert.equal(tgBody.chat_id, '-1001234567890');
    assert.match(tgBody.text, /URGENT: Renewal of ac-1 failed/);
    assert.match(tgBody.text, /rateLimited/);

    const ntfy = (await rx.waitFor('/ntfy/ck-alerts', 1))[0]!;
    assert.equal(ntfy.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(ntfy.headers.priority, '5');
    assert.match(String(ntfy.headers.title), /^URGENT: Renewal of ac-1 failed/);
    assert.match(String(ntfy.headers.tags), /rotating_light/);
    assert.equal(ntfy.headers.authorization, `Bearer ${NTFY_TOKEN}`);
    assert.match(ntfy.body, /Act now/);

    for (const path of [SLACK_PATH, TEAMS_PATH, DISCORD_PATH, `/tg/bot${BOT_TOKEN}/sendMessage`, '/ntfy/ck-alerts']) {
      assert.equal(rx.at(path)[0]!.headers['x-certkeeper-signature'], undefined, `${path}: presets are not signed`);
    }
  });

  test('an ordinary failure is not marked urgent', async () => {
    await renewalFailed();
    await deliver();
    const ntfy = (await rx.waitFor('/ntfy/ck-alerts', 2))[1]!;
    assert.equal(ntfy.headers.priority, '4');
    assert.equal(ntfy.headers.title, 'Renewal of ac-1 failed');
    assert.doesNotMatch(JSON.parse((await rx.waitFor(SLACK_PATH, 2))[1]!.body).text, /URGENT/);
  });

  test('tokens and token-bearing URLs appear in no API response and no log line', async () => {
    const list = await ck.api('GET', '/api/v1/notification-channels?limit=50');
    const tg = list.body.items.find((c: any) => c.properties.name === 'telegram');
    assert.deepEqual(tg.properties.settings, { preset: 'telegram', url: `${rx.url}/…`, chatId: '-1001234567890' });
    assert.deepEqual(tg.metadata.credentialsSet, ['botToken']);
    for (const secret of ['SLACKSECRETPATH', 'TEAMSSECRETSIG', 'DISCORDSECRET', BOT_TOKEN, 'TELEGRAM-SECRET', NTFY_TOKEN, 'a-secret-of-enough-length']) {
      assert.ok(!ck.responses().includes(secret), `${secret} is in no API response`);
      assert.ok(!ck.logs().includes(secret), `${secret} is in no log line`);
    }
  });
});

describe('channel validation', () => {
  const post = (properties: Record<string, unknown>) => ck.api('POST', '/api/v1/notification-channels', { properties });
  const fields = (res: { body: any }) => (res.body.errors ?? []).map((e: any) => e.field);

  test('every bad field is named', async () => {
    let res = await post({ name: 'v1', type: 'webhook', events: ['certificate.nope', 'bogus.*', 'certificate.*'], settings: { url: 'http://127.0.0.1:1/x' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'validation_failed');
    assert.deepEqual(fields(res), ['properties.events[0]', 'properties.events[1]']);

    res = await post({ name: 'v2', type: 'email', settings: { to: ['not-an-address'], smtpHost: 'mail.example.com', url: 'https://x.example' } });
    assert.equal(res.status, 400);
    assert.deepEqual(fields(res).sort(), ['properties.settings.from', 'properties.settings.to[0]', 'properties.settings.url'].sort());

    res = await post({ name: 'v3', type: 'webhook', settings: { preset: 'telegram', chatId: '1' }, credentials: { secret: 'x'.repeat(20) } });
    assert.deepEqual(fields(res).sort(), ['properties.credentials.botToken', 'properties.credentials.secret'].sort());

    res = await post({ name: 'v4', type: 'webhook', settings: { preset: 'slack' } });
    assert.deepEqual(fields(res), ['properties.settings.url']);

    res = await post({ name: 'v5', type: 'webhook', settings: { url: 'ftp://example.com/x' }, credentials: { secret: 'short' } });
    assert.deepEqual(fields(res).sort(), ['properties.credentials.secret', 'properties.settings.url']);

    res = await post({ name: 'v6', type: 'webhook', settings: { url: 'https://example.com/', color: 'red' } });
    assert.deepEqual(fields(res), ['properties.settings.color']);

    res = await post({ name: 'generic', type: 'webhook', settings: { url: 'http://127.0.0.1:1/x' } });
    assert.equal(res.status, 409);
  });

  test('PATCH keeps a URL sent back redacted, and a type change needs new settings', async () => {
    const c = await channel('patchable', { preset: 'discord', url: `${rx.url}/discord/api/webhooks/2/KEEPME` });
    const back = await ck.api('PATCH', `/api/v1/notification-channels/${c.id}`, { properties: { settings: c.properties.settings, events: ['certificate.*'] } });
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(back.body.properties.events, ['certificate.*']);
    await ck.api('POST', `/api/v1/notification-channels/${c.id}/test`);
    assert.equal(rx.at('/discord/api/webhooks/2/KEEPME').length, 1, 'the stored URL was kept');
    const retype = await ck.api('PATCH', `/api/v1/notification-channels/${c.id}`, { properties: { type: 'email' } });
    assert.equal(retype.status, 400);
    assert.deepEqual(fields(retype), ['properties.settings']);
    assert.equal((await ck.api('DELETE', `/api/v1/notification-channels/${c.id}`)).status, 204);
    assert.equal((await ck.api('GET', `/api/v1/notification-channels/${c.id}`)).status, 404);
    assert.equal((await ck.api('GET', `/api/v1/notification-channels/${c.id}/deliveries`)).status, 404);
  });

  test('loopback and private destinations are refused unless allowed', async () => {
    const strict = await startCertkeeper({ CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '0' });
    try {
      const hook = await strict.api('POST', '/api/v1/notification-channels', { properties: { name: 'h', type: 'webhook', settings: { preset: 'slack', url: 'http://127.0.0.1:9/services/SECRETPART' } } });
      assert.equal(hook.status, 400);
      assert.equal(hook.body.code, 'private_address_refused');
      assert.ok(!hook.text.includes('SECRETPART'), 'the URL is not echoed');
      const mail = await strict.api('POST', '/api/v1/notification-channels', { properties: { name: 'm', type: 'email', settings: { to: ['a@example.com'], from: 'b@example.com', smtpHost: '10.1.2.3' } } });
      assert.equal(mail.status, 400);
      assert.equal(mail.body.code, 'private_address_refused');
      assert.deepEqual(fields(mail), ['properties.settings.smtpHost']);
    } finally {
      await strict.stop();
    }
  });
});
