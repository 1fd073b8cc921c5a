/**
 * A real SMTP server (npm `smtp-server`) on 127.0.0.1 that requires a login and keeps every
 * message it accepts. STARTTLS is not offered (no certificate here), so channels use
 * `starttls: "opportunistic"` against it.
 */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

/** One accepted message. */
export interface ReceivedMail {
  user: string | undefined;
  from: string;
  to: string[];
  raw: string;
  subject: string;
  /** Header values by lower-case name (unfolded). */
  headers: Record<string, string>;
}

/** A running sink. */
export interface SmtpSink {
  port: number;
  mails: ReceivedMail[];
  /** Logins that were refused. */
  refusedLogins: number;
  /** Makes the next `n` messages fail with a 451 (temporary) reply. */
  failNext(n: number): void;
  waitForMails(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

function parseHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const out: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** Starts a sink that accepts `user` / `password`. */
export async function startSmtpSink(user: string, password: string): Promise<SmtpSink> {
  const mails: ReceivedMail[] = [];
  let failing = 0;
  const sink = { refusedLogins: 0 };
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth(auth, _session, cb) {
      if (auth.username === user && auth.password === password) return cb(null, { user: auth.username });
      sink.refusedLogins++;
      return cb(new Error('Invalid username or password'));
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (failing > 0) {
          failing--;
          const err = new Error('Try again later') as Error & { responseCode: number };
          err.responseCode = 451;
          return cb(err);
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = parseHeaders(raw);
        mails.push({
          user: session.user as string | undefined,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          subject: headers.subject ?? '',
          headers,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    mails,
    get refusedLogins() { return sink.refusedLogins; },
    failNext(n: number) { failing = n; },
    async waitForMails(count: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (mails.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} mail(s), got ${mails.length}: ${mails.map((m) => m.subject).join(' | ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return mails;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
