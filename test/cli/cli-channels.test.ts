// `certkeeper notification-channels …` (alias `channels`), run as a child process against a real
// server started in this process (test/harness/certkeeper.ts), as in cli.test.ts. Webhooks point at
// a local receiver (test/notify/webhook-receiver.ts), so `test` and the deliveries are real HTTP
// requests. Every secret given or generated is checked never to appear in list or get output.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyWebhookSignature } from '../../src/notify/webhook-signature.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { startWebhookReceiver, type WebhookReceiver } from '../notify/webhook-receiver.js';
import { cliRunner, expectOk } from './run-cli.js';

let ck: CertkeeperHandle;
let receiver: WebhookReceiver;
let work: string;

const cli = cliRunner(() => ({ HOME: join(work, 'home'), CERTKEEPER_SERVER: ck.url, CERTKEEPER_TOKEN: ck.token }));
const ok = (args: string[], env: Record<string, string | undefined> = {}) => expectOk(cli, args, env);

/** The value of `label:` in a block. */
const field = (block: string, label: string) => new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(block)?.[1];

/**
 * The test messages received at `path` once there are `count` of them (a channel that takes every
 * event also receives the events of the other tests).
 */
async function testMessages(path: string, count: number, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = receiver.at(path).filter((r) => r.body.includes('This is a test of the notification channel'));
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`expected ${count} test message(s) at ${path}, got ${found.length}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ck-cli-channels-'));
  mkdirSync(join(work, 'home'));
  ck = await startCertkeeper();
  receiver = await startWebhookReceiver();
});

after(async () => {
  await receiver?.close();
  await ck?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('certkeeper CLI: notification channels', { concurrency: true }, () => {
  test('email: create with credentials from a flag and a file, list, get by name, update the event filter, delete', async () => {
    const password = `smtp-${randomBytes(8).toString('hex')}`;
    const passwordFile = join(work, 'smtp-password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    const created = await ok(['notification-channels', 'create', '--name', 'ops-mail', '--type', 'email',
      '--setting', 'to=ops@example.com', '--setting', 'to=Dev Team <dev@example.com>', '--setting', 'from=certkeeper <ck@example.com>',
      '--setting', 'smtpHost=127.0.0.1', '--setting', 'smtpPort=2525', '--setting', 'starttls=never', '--setting', 'subjectPrefix=1',
      '--credential', 'smtpUser=certkeeper', '--credential-file', `smtpPassword=${passwordFile}`,
      '--event', 'certificate.expiring', '--event', 'certificate.renewal_failed']);
    assert.match(created, /^id:\s+[0-9a-f-]{36}$/m);
    const id = field(created, 'id')!;
    assert.equal(field(created, 'name'), 'ops-mail');
    assert.equal(field(created, 'type'), 'email');
    assert.equal(field(created, 'state'), 'AVAILABLE');
    assert.equal(field(created, 'events'), 'certificate.expiring, certificate.renewal_failed');
    assert.match(created, /^settings:\s+to=\["ops@example\.com","Dev Team <dev@example\.com>"\]\n\s+from=certkeeper <ck@example\.com>\n\s+smtpHost=127\.0\.0\.1\n\s+smtpPort=2525\n\s+secure=false\n\s+starttls=never\n\s+subjectPrefix=1$/m);
    assert.equal(field(created, 'credentials'), 'smtpPassword, smtpUser (write-only, never shown)');
    assert.equal(field(created, 'last delivery'), 'never');
    assert.doesNotMatch(created, /generated webhook secret/);

    // The subject prefix "1" stays text; the port is a number.
    const json = JSON.parse(await ok(['channels', 'get', 'ops-mail', '--json']));
    assert.equal(json.id, id);
    assert.deepEqual(json.properties.settings.to, ['ops@example.com', 'Dev Team <dev@example.com>']);
    assert.equal(json.properties.settings.subjectPrefix, '1');
    assert.equal(json.properties.settings.smtpPort, 2525);
    assert.deepEqual(json.metadata.credentialsSet, ['smtpPassword', 'smtpUser']);

    // The event filter: a prefix pattern, then every event again.
    const prefixed = await ok(['channels', 'update', 'ops-mail', '--event', 'certificate.*', '--event', 'provider.*']);
    assert.equal(field(prefixed, 'events'), 'certificate.*, provider.*');
    assert.equal(field(prefixed, 'credentials'), 'smtpPassword, smtpUser (write-only, never shown)', 'credentials left alone are kept');
    const all = JSON.parse(await ok(['channels', 'update', id, '--all-events', '--json']));
    assert.deepEqual(all.properties.events, ['*']);

    // --setting edits the stored settings: the recipients change, the rest stays.
    const retargeted = JSON.parse(await ok(['channels', 'update', 'ops-mail', '--setting', 'to=pki@example.com', '--disable', '--json']));
    assert.deepEqual(retargeted.properties.settings.to, ['pki@example.com']);
    assert.equal(retargeted.properties.settings.from, 'certkeeper <ck@example.com>');
    assert.equal(retargeted.properties.settings.smtpPort, 2525);
    assert.equal(retargeted.metadata.state, 'DISABLED');

    const table = await ok(['notification-channels', 'list', '--type', 'email']);
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+NAME\s+TYPE\s+STATE\s+EVENTS\s+DESTINATION\s+LAST DELIVERY$/);
    const row = lines.find((l) => l.startsWith(id));
    assert.ok(row, table);
    assert.match(row, /\s+ops-mail\s+email\s+DISABLED\s+\*\s+pki@example\.com\s+-$/);
    assert.equal(lines[0]!.indexOf('STATE'), row.indexOf('DISABLED'), 'columns are aligned');

    const shown = [created, table, prefixed, await ok(['channels', 'get', 'ops-mail']), await ok(['channels', 'list', '--json'])].join('\n');
    assert.ok(!shown.includes(password), 'the SMTP password is never printed');

    assert.equal(await ok(['channels', 'delete', 'ops-mail']), `deleted notification channel ops-mail (${id})\n`);
    const gone = await cli(['channels', 'get', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: notification channel .* does not exist/m);
  });

  test('webhooks: a slack preset and a generic one with a generated secret, shown once; test sends to the receiver', async () => {
    // Slack: the token in the URL path is stored encrypted and shown as scheme://host/… only.
    const slackToken = `T0${randomBytes(6).toString('hex')}/B0/${randomBytes(12).toString('hex')}`;
    const slackPath = `/services/${slackToken}`;
    // The URL is read from a file, so the token does not show in ps.
    const urlFile = join(work, 'slack-url');
    writeFileSync(urlFile, `${receiver.url}${slackPath}\n`, { mode: 0o600 });
    const slack = await ok(['channels', 'create', '--name', 'chat', '--type', 'webhook', '--setting', 'preset=slack', '--setting-file', `url=${urlFile}`]);
    assert.equal(field(slack, 'type'), 'webhook/slack');
    assert.match(slack, new RegExp(`^settings:\\s+preset=slack\\n\\s+url=${receiver.url.replace(/\./g, '\\.')}/…$`, 'm'));
    assert.equal(field(slack, 'credentials'), 'none');
    assert.doesNotMatch(slack, /generated webhook secret/);

    // Generic without a secret: certkeeper generates one and this answer shows it, once.
    const generic = await cli(['channels', 'create', '--name', 'hook', '--type', 'webhook', '--setting', `url=${receiver.url}/hook`, '--event', 'certificate.*']);
    assert.equal(generic.code, 0, generic.stderr);
    assert.equal(field(generic.stdout, 'type'), 'webhook/generic');
    assert.equal(field(generic.stdout, 'credentials'), 'secret (write-only, never shown)');
    const secret = /^generated webhook secret: (\S+)$/m.exec(generic.stdout)?.[1];
    assert.ok(secret && secret.length >= 32, generic.stdout);
    assert.equal(generic.stdout.split(secret).length, 2, 'the secret is printed exactly once');
    assert.match(generic.stderr, /^note: this secret is shown only this once/m);

    // --json keeps the generated secret in the API's body.
    const viaJson = JSON.parse(await ok(['channels', 'create', '--name', 'hook-json', '--type', 'webhook', '--setting', `url=${receiver.url}/hook-json`, '--json']));
    const jsonSecret = viaJson.metadata.generatedSecret as string;
    assert.match(jsonSecret, /^[A-Za-z0-9_-]{32,}$/);

    // A test message: signed with the secret that was printed.
    const tested = await ok(['channels', 'test', 'hook']);
    assert.match(tested, /^delivered: HTTP 200 from 127\.0\.0\.1:\d+$/m);
    const [request] = await receiver.waitFor('/hook', 1);
    assert.equal(request!.headers['x-certkeeper-event'], 'notification_channel.test');
    assert.ok(verifyWebhookSignature({ secret, body: request!.body, timestamp: request!.headers['x-certkeeper-timestamp'] as string, signature: request!.headers['x-certkeeper-signature'] as string }));
    const testJson = JSON.parse(await ok(['channels', 'test', 'chat', '--json']));
    assert.equal(testJson.delivered, true);
    assert.equal(testJson.status, 200);
    assert.match(JSON.parse((await testMessages(slackPath, 1))[0]!.body).text, /test of the notification channel "chat"/);

    // A receiver that refuses: exit 1 with the problem's detail.
    receiver.script('/hook', { status: 403, body: 'forbidden' });
    const refused = await cli(['channels', 'test', 'hook']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /^error: the test message was not delivered: .*403/m);

    // Neither list nor get shows a secret or the Slack token.
    const outputs = [
      await ok(['channels', 'list']), await ok(['channels', 'list', '--json']),
      await ok(['channels', 'get', 'hook']), await ok(['channels', 'get', 'hook', '--json']),
      await ok(['channels', 'get', 'hook-json']), await ok(['channels', 'get', 'chat']), await ok(['channels', 'get', 'chat', '--json']),
    ].join('\n');
    for (const s of [secret, jsonSecret, slackToken]) assert.ok(!outputs.includes(s), `list/get never print ${s.slice(0, 4)}…`);
    assert.match(outputs, /\s+chat\s+webhook\/slack\s+AVAILABLE\s+\*\s+http:\/\/127\.0\.0\.1:\d+\/…/);
    assert.ok(!ck.logs().includes(secret), 'the server does not log the secret');

    // A new secret: --clear-credentials generates one, shown once; the URL is kept.
    const rotated = await cli(['channels', 'update', 'hook', '--clear-credentials']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newSecret = /^generated webhook secret: (\S+)$/m.exec(rotated.stdout)?.[1];
    assert.ok(newSecret && newSecret !== secret);
    await ok(['channels', 'test', 'hook']);
    const last = (await receiver.waitFor('/hook', 3)).at(-1)!;
    assert.ok(verifyWebhookSignature({ secret: newSecret, body: last.body, timestamp: last.headers['x-certkeeper-timestamp'] as string, signature: last.headers['x-certkeeper-signature'] as string }));

    // Switching the preset keeps the stored URL (it comes back redacted and is sent back so).
    const discord = JSON.parse(await ok(['channels', 'update', 'chat', '--setting', 'preset=discord', '--json']));
    assert.equal(discord.properties.settings.preset, 'discord');
    await ok(['channels', 'test', 'chat']);
    assert.match(JSON.parse((await testMessages(slackPath, 2))[1]!.body).content, /test of the notification channel "chat"/, 'the test went to the stored URL, as Discord expects it');

    for (const name of ['chat', 'hook', 'hook-json']) await ok(['channels', 'delete', name]);
  });

  test('deliveries: the events a channel received, filterable by state', async () => {
    const created = JSON.parse(await ok(['channels', 'create', '--name', 'audit-feed', '--type', 'webhook', '--setting', `url=${receiver.url}/feed`, '--event', 'notification_channel.*', '--json']));
    // An event the channel receives: another channel is created.
    await ok(['channels', 'create', '--name', 'feed-trigger', '--type', 'webhook', '--setting', 'preset=ntfy', '--setting', `url=${receiver.url}/ntfy-topic`]);
    await receiver.waitFor('/feed', 1, 30_000);
    await ck.waitFor<any>(`/api/v1/notification-channels/${created.id}/deliveries?filter.state=DELIVERED`, (b) => b.total >= 1, 30_000);

    const table = await ok(['channels', 'deliveries', 'audit-feed', '--state', 'DELIVERED']);
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^TIME\s+EVENT\s+STATE\s+ATTEMPTS\s+LAST STATUS\s+MESSAGE$/);
    assert.match(table, /notification_channel\.created #\d+\s+DELIVERED\s+1\s+200\s+Delivered at /);
    const list = JSON.parse(await ok(['channels', 'deliveries', created.id, '--event-type', 'notification_channel.created', '--json']));
    assert.equal(list.type, 'collection');
    assert.ok(list.items.every((d: any) => d.properties.eventType === 'notification_channel.created' && d.properties.channel === created.id));

    const none = await cli(['channels', 'deliveries', 'audit-feed', '--state', 'FAILED']);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^no deliveries$/m);

    for (const name of ['audit-feed', 'feed-trigger']) await ok(['channels', 'delete', name]);
  });

  test('bad input exits 1 with the problem: unknown type or preset, missing to, a bad event pattern, nothing to change', async () => {
    const type = await cli(['channels', 'create', '--name', 'bad', '--type', 'pager']);
    assert.equal(type.code, 1);
    assert.equal(type.stdout, '');
    assert.match(type.stderr, /^error: unknown notification channel type "pager"; this server knows email, webhook$/m);
    // --json keeps the server's problem document for scripts.
    const typeJson = await cli(['channels', 'create', '--name', 'bad', '--type', 'pager', '--json']);
    assert.equal(typeJson.code, 1);
    assert.equal(JSON.parse(typeJson.stdout).code, 'validation_failed');

    const preset = await cli(['channels', 'create', '--name', 'bad', '--type', 'webhook', '--setting', 'preset=irc', '--setting', 'url=https://example.com/x']);
    assert.equal(preset.code, 1);
    assert.match(preset.stderr, /^error: unknown webhook preset "irc"; this server knows discord, generic, ntfy, slack, teams, telegram$/m);

    const noTo = await cli(['channels', 'create', '--name', 'bad', '--type', 'email', '--setting', 'from=ck@example.com', '--setting', 'smtpHost=127.0.0.1']);
    assert.equal(noTo.code, 1);
    assert.equal(noTo.stdout, '');
    assert.match(noTo.stderr, /^error: the notification channel has 1 invalid field\(s\): properties\.settings\.to required: one or more recipient addresses$/m);
    assert.match(noTo.stderr, /^ {2}- properties\.settings\.to: required: one or more recipient addresses$/m);

    const event = await cli(['channels', 'create', '--name', 'bad', '--type', 'webhook', '--setting', 'url=https://example.com/x', '--event', 'certificate.nope']);
    assert.equal(event.code, 1);
    assert.match(event.stderr, /^ {2}- properties\.events\[0\]: not an event type of the vocabulary .* \("certificate\.nope"\)$/m);

    const shortSecret = await cli(['channels', 'create', '--name', 'bad', '--type', 'webhook', '--setting', 'url=https://example.com/x', '--credential', 'secret=tooshort']);
    assert.equal(shortSecret.code, 1);
    assert.match(shortSecret.stderr, /^ {2}- properties\.credentials\.secret: use at least 16 characters/m);
    assert.ok(!shortSecret.stderr.includes('tooshort'), 'a refused secret is not echoed');

    const none = JSON.parse(await ok(['channels', 'list', '--name', 'bad', '--json']));
    assert.equal(none.total, 0, 'nothing was created');

    const nothing = await cli(['channels', 'update', 'whatever']);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /^error: nothing to change; give at least one option/m);
    const both = await cli(['channels', 'update', 'whatever', '--all-events', '--event', 'certificate.*']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /^error: --all-events excludes --event$/m);
  });
});
