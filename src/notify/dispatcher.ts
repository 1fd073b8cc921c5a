/**
 * Delivers events to notification channels. Two steps, each safe with several instances on one
 * database:
 *
 * 1. Fan-out: read new rows of the event log in id order from the shared cursor, create one
 *    delivery per (matching channel, event) — a unique index makes a second insert a no-op — and
 *    advance the cursor with a conditional UPDATE (only from the value that was read).
 * 2. Delivery: claim due deliveries with a lease (conditional UPDATE), send, and record the
 *    outcome; failures that may pass are retried with exponential backoff, honouring Retry-After,
 *    up to {@link DELIVERY_RETRY}.maxAttempts. Daily digests (src/notify/digest.ts) are
 *    deliveries too, queued by their own scheduler with a negative `event_id`; they bypass the
 *    channel's event filter and are collected when sent.
 *
 * Event ids are assigned at insert, but on PostgreSQL transactions may commit out of id order: a
 * missing id is waited for (GAP_WAIT_MS) before the cursor moves past it, so a late commit is not
 * skipped; a gap left by a rolled-back insert is passed after that wait.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Context } from '../lifecycle/context.js';
import { nextAttemptAt } from '../lifecycle/backoff.js';
import type { EventRow } from '../store/events.js';
import { iso } from '../store/time.js';
import { describeKind, notifierFor } from './channels.js';
import { asDeliveryError, DeliveryError } from './delivery-error.js';
import { matchesEventFilter } from './event-filter.js';
import { digestDayOf, digestNotification } from './digest.js';
import { DIGEST_TYPE, notificationEvent, renderNotification, type Notification } from './notification.js';
import { ChannelStore, DeliveryStore, type ChannelRow, type DeliveryRow } from './notification-store.js';
import type { Fetch } from './webhook-notifier.js';
import { SEND_TIMEOUT_MS } from './notifier.js';

/** Retry policy of deliveries: 30 s doubling to 1 h, 12 attempts (about 6 hours), Retry-After up to 24 h. */
export const DELIVERY_RETRY = { baseMs: 30_000, capMs: 3_600_000, maxAttempts: 12, maxRetryAfterMs: 86_400_000 };

const CURSOR_ID = 'events';
/** Upper bound of one attempt, whatever the channel's own timeouts (well inside the lease). */
const ATTEMPT_LIMIT_MS = 3 * SEND_TIMEOUT_MS;
const GAP_WAIT_MS = 10_000;
/** Longest pause between rounds while they keep failing (the database is away). */
const MAX_BACKOFF_MS = 15_000;

/** Options of a dispatcher. */
export interface DispatcherOptions {
  /** Lease owner of this instance (default a fresh random id). */
  owner?: string;
  pollMs?: number;
  /** Events read per fan-out round. */
  batchSize?: number;
  /** Deliveries sent at once. */
  concurrency?: number;
  leaseMs?: number;
  /** How long a missing event id is waited for before the cursor passes it. */
  gapWaitMs?: number;
  fetch?: Fetch;
}

/** What one round did. */
export interface DispatchResult {
  fannedOut: number;
  delivered: number;
  retrying: number;
  failed: number;
}

/** The notification loop of one instance. */
export class NotificationDispatcher {
  readonly #ctx: Context;
  readonly #channels: ChannelStore;
  readonly #deliveries: DeliveryStore;
  readonly #owner: string;
  readonly #opts: Required<Omit<DispatcherOptions, 'owner' | 'fetch'>> & Pick<DispatcherOptions, 'fetch'>;
  readonly #abort = new AbortController();
  #gap: { id: number; since: number } | null = null;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;

  constructor(ctx: Context, opts: DispatcherOptions = {}) {
    this.#ctx = ctx;
    this.#channels = new ChannelStore(ctx.db);
    this.#deliveries = new DeliveryStore(ctx.db);
    this.#owner = opts.owner ?? `notify-${randomUUID()}`;
    this.#opts = {
      pollMs: opts.pollMs ?? 1_000,
      batchSize: opts.batchSize ?? 500,
      concurrency: opts.concurrency ?? 8,
      leaseMs: opts.leaseMs ?? 60_000,
      gapWaitMs: opts.gapWaitMs ?? GAP_WAIT_MS,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    };
    setMaxListeners(0, this.#abort.signal);
  }

  /** Starts polling. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops polling and waits for the sends in flight (they are aborted and released). */
  async stop(): Promise<void> {
    this.#abort.abort(new Error('shutting down'));
    this.#wake?.();
    await this.#loop;
  }

  /** One full round: fan out every new event, then send every due delivery. */
  async runOnce(): Promise<DispatchResult> {
    const result: DispatchResult = { fannedOut: 0, delivered: 0, retrying: 0, failed: 0 };
    for (;;) {
      const n = await this.fanOut();
      result.fannedOut += n;
      if (n < this.#opts.batchSize) break;
    }
    while (!this.#abort.signal.aborted) {
      const outcomes = await this.deliverDue();
      if (outcomes.length === 0) break;
      for (const o of outcomes) result[o]++;
    }
    return result;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      let delay = this.#opts.pollMs;
      try {
        await this.runOnce();
        if (failures > 0) this.#ctx.logger.info({ failures }, 'notification dispatch works again');
        failures = 0;
      } catch (err) {
        // Typically the database is away: back off (bounded) instead of failing every poll.
        failures++;
        delay = Math.max(this.#opts.pollMs, Math.min(this.#opts.pollMs * 2 ** Math.min(failures, 10), MAX_BACKOFF_MS));
        if (!signal.aborted) this.#ctx.logger.error({ err, failures, retryInMs: delay }, 'notification dispatch failed');
      }
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** Reads the next batch of events past the cursor and creates their deliveries; returns how many events were consumed. */
  async fanOut(): Promise<number> {
    const db = this.#ctx.db.kysely;
    let cursorRow = await db.selectFrom('notification_cursor').selectAll().where('id', '=', CURSOR_ID).executeTakeFirst();
    if (!cursorRow) {
      await db.insertInto('notification_cursor').values({ id: CURSOR_ID, last_event_id: 0, updated_at: iso(this.#ctx.clock()) })
        .onConflict((oc) => oc.column('id').doNothing()).execute();
      cursorRow = await db.selectFrom('notification_cursor').selectAll().where('id', '=', CURSOR_ID).executeTakeFirstOrThrow();
    }
    const cursor = Number(cursorRow.last_event_id);
    const rows = await db.selectFrom('events').selectAll().where('id', '>', cursor).orderBy('id').limit(this.#opts.batchSize).execute() as EventRow[];
    const take: EventRow[] = [];
    let expected = cursor + 1;
    for (const e of rows) {
      const id = Number(e.id);
      if (id !== expected && !this.#gapPassed(expected)) break;
      take.push(e);
      expected = id + 1;
    }
    if (take.length === 0) return 0;

    const now = iso(this.#ctx.clock());
    const channels = (await this.#channels.enabled()).map((row) => ({ row, patterns: JSON.parse(row.events_json) as string[] }));
    const deliveries: DeliveryRow[] = [];
    for (const e of take) {
      for (const { row, patterns } of channels) {
        // A channel receives the events of its tenant that came after it, except those about itself.
        if (row.tenant_id !== e.tenant_id || Number(e.id) <= Number(row.start_event_id) || e.subject_id === row.id) continue;
        if (!matchesEventFilter(patterns, e.type)) continue;
        deliveries.push({
          id: randomUUID(), tenant_id: e.tenant_id, channel_id: row.id, event_id: Number(e.id), event_type: e.type,
          state: 'pending', attempts: 0, next_attempt_at: now, lease_owner: null, lease_expires_at: null,
          last_error: null, last_status: null, created_at: now, updated_at: now, delivered_at: null,
        });
      }
    }
    await this.#deliveries.insertMissing(deliveries);
    const last = Number(take[take.length - 1]!.id);
    // Another instance may have moved the cursor meanwhile: then this update does nothing, and
    // its deliveries (the same pairs) already exist.
    await db.updateTable('notification_cursor').set({ last_event_id: last, updated_at: now })
      .where('id', '=', CURSOR_ID).where('last_event_id', '=', cursor).execute();
    return take.length;
  }

  /** True once `id` has been missing for longer than the gap wait. */
  #gapPassed(id: number): boolean {
    const t = performance.now();
    if (this.#gap?.id !== id) {
      this.#gap = { id, since: t };
      return this.#opts.gapWaitMs <= 0;
    }
    return t - this.#gap.since >= this.#opts.gapWaitMs;
  }

  /** Claims and sends due deliveries; returns each outcome. */
  async deliverDue(): Promise<Array<'delivered' | 'retrying' | 'failed'>> {
    const claimed = await this.#deliveries.claim(this.#owner, this.#ctx.clock(), this.#opts.leaseMs, this.#opts.concurrency);
    const outcomes = await Promise.all(claimed.map((d) => this.#deliver(d)));
    return outcomes.filter((o): o is 'delivered' | 'retrying' | 'failed' => o !== null);
  }

  async #subjectName(e: EventRow): Promise<string | null> {
    if (!e.subject_id) return null;
    if (e.subject_type === 'certificate') return (await this.#ctx.certificates.get(e.tenant_id, e.subject_id))?.name ?? null;
    if (e.subject_type === 'auto-certificate') return (await this.#ctx.autoCertificates.get(e.tenant_id, e.subject_id))?.name ?? null;
    if (e.subject_type === 'provider') return (await this.#ctx.providers.get(e.tenant_id, e.subject_id))?.name ?? null;
    if (e.subject_type === 'notification-channel') return (await this.#channels.get(e.tenant_id, e.subject_id))?.name ?? null;
    return null;
  }

  async #deliver(d: DeliveryRow): Promise<'delivered' | 'retrying' | 'failed' | null> {
    const ctx = this.#ctx;
    const now = ctx.clock();
    const log = ctx.logger.child({ component: 'notify', channel: d.channel_id, delivery: d.id, event: d.event_id, attempt: d.attempts });
    const channel = await this.#channels.get(d.tenant_id, d.channel_id);
    if (!channel || !channel.enabled) {
      await this.#deliveries.finish(d.id, this.#owner, { state: 'cancelled', last_error: channel ? 'the channel is disabled' : 'the channel was deleted', updated_at: iso(now) });
      return null;
    }
    // A daily digest is no event of the log: it is queued by src/notify/digest.ts for channels
    // that asked for one (never through the `events` filter) and collected now.
    const digest = d.event_type === DIGEST_TYPE;
    if (digest && channel.digest_hour === null) {
      await this.#deliveries.finish(d.id, this.#owner, { state: 'cancelled', last_error: 'the channel no longer takes a daily digest', updated_at: iso(now) });
      return null;
    }
    const event = digest ? undefined : await ctx.db.kysely.selectFrom('events').selectAll().where('id', '=', d.event_id).executeTakeFirst() as EventRow | undefined;
    if (!digest && !event) {
      await this.#deliveries.finish(d.id, this.#owner, { state: 'failed', last_error: `event ${d.event_id} is not in the log`, updated_at: iso(now) });
      return 'failed';
    }
    const what = event ? `${event.type} #${event.id}` : `${DIGEST_TYPE} of ${digestDayOf(Number(d.event_id))}`;
    try {
      const n: Notification = event
        ? renderNotification(notificationEvent(event), d.id, await this.#subjectName(event))
        : await digestNotification(ctx, channel, d, now);
      const receipt = await notifierFor(ctx, channel, this.#opts.fetch ? { fetch: this.#opts.fetch } : {}).send(n, AbortSignal.any([this.#abort.signal, AbortSignal.timeout(ATTEMPT_LIMIT_MS)]), now);
      const at = iso(ctx.clock());
      await this.#deliveries.finish(d.id, this.#owner, { state: 'delivered', last_error: null, last_status: receipt.status ?? null, delivered_at: at, updated_at: at });
      await this.#channels.update(channel.tenant_id, channel.id, { last_delivery_at: at, message: `Delivered ${what} at ${at}: ${receipt.detail}` });
      log.info({ eventType: d.event_type, status: receipt.status }, 'notification delivered');
      return 'delivered';
    } catch (err) {
      if (this.#abort.signal.aborted) {
        // Shutting down: hand the delivery back at once instead of waiting for the lease to lapse.
        await this.#deliveries.finish(d.id, this.#owner, { state: 'pending', next_attempt_at: iso(now), updated_at: iso(now) }).catch(() => undefined);
        return null;
      }
      return this.#recordFailure(d, channel, what, asDeliveryError(err), log);
    }
  }

  /** Records a failed attempt of `d`; `what` names what was sent (`certificate.expiring #42`, `digest.daily of 2026-03-02`). */
  async #recordFailure(d: DeliveryRow, channel: ChannelRow, what: string, err: DeliveryError, log: Context['logger']): Promise<'retrying' | 'failed'> {
    const ctx = this.#ctx;
    const now = ctx.clock();
    const retry = err.retryable && d.attempts < DELIVERY_RETRY.maxAttempts;
    const cap = new Date(now.getTime() + DELIVERY_RETRY.maxRetryAfterMs);
    const retryAfter = err.retryAfter && err.retryAfter > cap ? cap : err.retryAfter;
    const next = retry ? nextAttemptAt(now, d.attempts, { baseMs: DELIVERY_RETRY.baseMs, capMs: DELIVERY_RETRY.capMs, retryAfter }) : null;
    await this.#deliveries.finish(d.id, this.#owner, {
      state: retry ? 'pending' : 'failed',
      ...(next ? { next_attempt_at: iso(next) } : {}),
      last_error: err.message,
      last_status: err.status ?? null,
      updated_at: iso(now),
    });
    const outcome = retry ? `attempt ${d.attempts} of ${DELIVERY_RETRY.maxAttempts}, next at ${iso(next!)}` : `attempt ${d.attempts}, given up`;
    log.warn({ eventType: d.event_type, status: err.status, retryable: err.retryable, nextAttemptAt: next ? iso(next) : null, error: err.message }, 'notification delivery failed');
    if (err.disableChannel) {
      const message = `Disabled by certkeeper at ${iso(now)}: ${err.message}`;
      await this.#channels.update(channel.tenant_id, channel.id, { enabled: 0, state: 'DISABLED', message });
      await this.#deliveries.cancelPending(channel.id, 'the channel was disabled', now);
      await ctx.events.append({ tenantId: channel.tenant_id, type: 'notification_channel.disabled', subjectType: 'notification-channel', subjectId: channel.id, actor: 'system', message: `notification channel ${channel.name} (${describeKind(channel)}) disabled: ${err.message}` });
    } else {
      await this.#channels.update(channel.tenant_id, channel.id, { message: `Delivery of ${what} failed (${outcome}): ${err.message}` });
    }
    return retry ? 'retrying' : 'failed';
  }
}
