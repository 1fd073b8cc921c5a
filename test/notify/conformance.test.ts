// Every notifier runs the same conformance suite: e-mail against a real SMTP server, the webhook
// against a real HTTP receiver, both in-process on 127.0.0.1.
import { after, describe } from 'node:test';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EmailNotifier, type EmailTarget } from '../../src/notify/email-notifier.js';
import { WebhookNotifier } from '../../src/notify/webhook-notifier.js';
import { notifierConformance } from './notifier-conformance.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

const PASSWORD = 'conformance-smtp-password-1';
const SECRET = 'conformance-webhook-secret-1';

/** A port where nothing listens. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A server that accepts connections and never says a word. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const k of sockets) k.destroy();
      s.close(() => r());
    }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups) await c();
});

describe('email notifier conformance', () => {
  let smtp: SmtpSink;
  notifierConformance('email', async () => {
    smtp = await startSmtpSink('conf', PASSWORD);
    const silent = await silentServer();
    cleanups.push(() => smtp.close(), () => silent.close());
    const base: EmailTarget = { to: ['ops@example.com'], from: 'ck@example.com', smtpHost: '127.0.0.1', smtpPort: smtp.port, secure: false, starttls: 'opportunistic', subjectPrefix: '[certkeeper]', smtpUser: 'conf', smtpPassword: PASSWORD };
    const opts = { allowPrivateAddresses: true };
    const unreachablePort = await closedPort();
    return {
      accepting: () => new EmailNotifier(base, opts),
      received: () => smtp.mails.map((m) => ({ eventType: m.headers['x-certkeeper-event'] ?? '', deliveryId: m.headers['x-certkeeper-delivery'] ?? '' })),
      refusing: () => new EmailNotifier({ ...base, smtpPassword: 'not-the-password' }, opts),
      failNextTemporarily: () => smtp.failNext(1),
      unreachable: () => new EmailNotifier({ ...base, smtpPort: unreachablePort }, opts),
      silent: () => new EmailNotifier({ ...base, smtpPort: silent.port }, opts),
      secrets: [PASSWORD, 'not-the-password'],
    };
  });
});

describe('webhook notifier conformance', () => {
  let rx: WebhookReceiver;
  notifierConformance('webhook', async () => {
    rx = await startWebhookReceiver();
    const silent = await silentServer();
    cleanups.push(() => rx.close(), () => silent.close());
    rx.script('/refuse', ...Array.from({ length: 10 }, () => ({ status: 403, body: 'forbidden' })));
    const opts = { allowPrivateAddresses: true };
    const unreachablePort = await closedPort();
    const at = (url: string) => new WebhookNotifier({ preset: 'generic', url, secret: SECRET }, opts);
    return {
      accepting: () => at(`${rx.url}/conf`),
      received: () => rx.at('/conf').map((r) => ({ eventType: String(r.headers['x-certkeeper-event']), deliveryId: String(r.headers['x-certkeeper-delivery']) })),
      refusing: () => at(`${rx.url}/refuse`),
      failNextTemporarily: () => rx.script('/conf', { status: 503, body: 'try later' }),
      unreachable: () => at(`http://127.0.0.1:${unreachablePort}/x`),
      silent: () => at(`http://127.0.0.1:${silent.port}/x`),
      secrets: [SECRET],
    };
  });
});
