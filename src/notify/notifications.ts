/**
 * The notification machinery of one `certkeeper serve` process: the dispatcher loop, the expiry
 * scan (at start, then hourly) and the daily digests (at start, then every minute). All are safe to
 * run on every instance sharing a database, and all read the context's clock.
 */
import type { Context } from '../lifecycle/context.js';
import { NotificationDispatcher, type DispatcherOptions } from './dispatcher.js';
import { scanExpiringCertificates } from './expiry-scanner.js';
import { queueDigests } from './digest.js';

/** How often the expiry scan runs. */
export const EXPIRY_SCAN_INTERVAL_MS = 3_600_000;
/** How often due daily digests are looked for: a digest goes out within a minute of its hour. */
export const DIGEST_CHECK_INTERVAL_MS = 60_000;

/** A running notification service. */
export interface NotificationService {
  dispatcher: NotificationDispatcher;
  /** Runs the expiry scan now (also what the hourly timer calls). */
  scanExpiry(): Promise<void>;
  /** Queues the daily digests that are due now (also what the minute timer calls); the dispatcher sends them. */
  queueDigests(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the dispatcher, the expiry scan and the daily digests. */
export function startNotifications(ctx: Context, opts: DispatcherOptions & { scanIntervalMs?: number; digestIntervalMs?: number } = {}): NotificationService {
  const dispatcher = new NotificationDispatcher(ctx, opts);
  const log = ctx.logger.child({ component: 'notify' });
  let scanning: Promise<void> | null = null;
  let stopped = false;
  const scanExpiry = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    scanning ??= scanExpiringCertificates(ctx)
      .then(() => undefined, (err) => log.error({ err }, 'expiry scan failed'))
      .finally(() => { scanning = null; });
    return scanning;
  };
  let digesting: Promise<void> | null = null;
  const digests = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    digesting ??= queueDigests(ctx)
      .then(() => undefined, (err) => log.error({ err }, 'queueing the daily digests failed'))
      .finally(() => { digesting = null; });
    return digesting;
  };
  dispatcher.start();
  void scanExpiry();
  // At start this is the catch-up: a digest whose hour passed while no instance ran goes out now,
  // once (not once per missed day).
  void digests();
  const timer = setInterval(() => void scanExpiry(), opts.scanIntervalMs ?? EXPIRY_SCAN_INTERVAL_MS);
  timer.unref();
  const digestTimer = setInterval(() => void digests(), opts.digestIntervalMs ?? DIGEST_CHECK_INTERVAL_MS);
  digestTimer.unref();
  return {
    dispatcher,
    scanExpiry,
    queueDigests: digests,
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearInterval(digestTimer);
      await scanning;
      await digesting;
      await dispatcher.stop();
    },
  };
}
