/**
 * The notification machinery of one `certkeeper serve` process: the dispatcher loop and the expiry
 * scan (at start, then hourly). Both are safe to run on every instance sharing a database.
 */
import type { Context } from '../lifecycle/context.js';
import { NotificationDispatcher, type DispatcherOptions } from './dispatcher.js';
import { scanExpiringCertificates } from './expiry-scanner.js';

/** How often the expiry scan runs. */
export const EXPIRY_SCAN_INTERVAL_MS = 3_600_000;

/** A running notification service. */
export interface NotificationService {
  dispatcher: NotificationDispatcher;
  /** Runs the expiry scan now (also what the hourly timer calls). */
  scanExpiry(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the dispatcher and the expiry scan. */
export function startNotifications(ctx: Context, opts: DispatcherOptions & { scanIntervalMs?: number } = {}): NotificationService {
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
  dispatcher.start();
  void scanExpiry();
  const timer = setInterval(() => void scanExpiry(), opts.scanIntervalMs ?? EXPIRY_SCAN_INTERVAL_MS);
  timer.unref();
  return {
    dispatcher,
    scanExpiry,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await scanning;
      await dispatcher.stop();
    },
  };
}
