/**
 * Finds due work with indexed queries and enqueues it on the job table: renewals whose
 * `next_renewal_at` passed, retries whose `next_attempt_at` passed, and ARI windows to refresh.
 * The first tick at start is the catch-up: whatever fell due, failed or expired while the service
 * was down is handled at once. Several instances may tick: the job table keeps one order in
 * flight per auto certificate.
 */
import { ariCertificateId, isAcmeProblem } from '../acme/index.js';
import { iso } from '../store/time.js';
import { resumeDeployments } from '../deploy/orchestrator.js';
import type { Context } from './context.js';
import { ISSUE_JOB, requestIssuance } from './issuance.js';
import { replanRenewal } from './renewal-plan.js';

/** Auto certificates handled per query per tick (the next tick takes the rest). */
const BATCH = 500;
/** How often to ask the CA for a renewal window when it gives no Retry-After. */
const ARI_DEFAULT_RECHECK_MS = 6 * 3_600_000;
/** How often to look again whether a CA without ARI has gained it. */
const ARI_ABSENT_RECHECK_MS = 24 * 3_600_000;

/** What one tick did. */
export interface TickResult {
  enqueued: number;
  ariChecked: number;
}

/** The periodic scheduler of one instance. */
export class Scheduler {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<TickResult> | null = null;

  constructor(private readonly ctx: Context, private readonly intervalMs = 60_000) {}

  /** Starts ticking; the first tick (the catch-up) runs at once. */
  start(): void {
    void this.tick();
    this.#timer = setInterval(() => void this.tick(), this.intervalMs);
    this.#timer.unref();
  }

  /** Stops ticking and waits for a tick in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One pass; concurrent calls share the pass in progress. */
  tick(): Promise<TickResult> {
    this.#running ??= this.#tick().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #tick(): Promise<TickResult> {
    const { ctx } = this;
    let ariChecked = 0;
    let enqueued = 0;
    try {
      ariChecked = await this.#refreshAri();
      const now = iso(ctx.clock());
      const excluded = ['PAUSED', 'AWAITING_VALIDATION'];
      const renewals = await ctx.db.kysely.selectFrom('auto_certificates').select(['id', 'tenant_id', 'renewal_reason'])
        .where('next_renewal_at', '<=', now).where('state', 'not in', excluded)
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
        .orderBy('next_renewal_at').limit(BATCH).execute();
      const retries = await ctx.db.kysely.selectFrom('auto_certificates').select(['id', 'tenant_id', 'renewal_reason'])
        .where('next_attempt_at', '<=', now).where('state', 'not in', excluded)
        .orderBy('next_attempt_at').limit(BATCH).execute();
      const seen = new Set<string>();
      for (const r of [...retries, ...renewals]) {
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        const res = await requestIssuance(ctx, r.tenant_id, r.id, { reason: r.renewal_reason ?? 'due' });
        if (res.created) enqueued++;
      }
      // Agentless deployments whose job was lost (a crash between their commit and the enqueue).
      await resumeDeployments(ctx);
    } catch (err) {
      ctx.logger.error({ err }, 'scheduler tick failed');
    }
    return { enqueued, ariChecked };
  }

  /** RFC 9773: refreshes the CA's suggested window of active versions that are due a check. */
  async #refreshAri(): Promise<number> {
    const { ctx } = this;
    const now = ctx.clock();
    const due = await ctx.db.kysely.selectFrom('auto_certificates').selectAll()
      .where('ari_next_check_at', '<=', iso(now)).where('last_issued_certificate_id', 'is not', null)
      .orderBy('ari_next_check_at').limit(BATCH).execute();
    let checked = 0;
    for (const ac of due) {
      const active = await ctx.certificates.get(ac.tenant_id, ac.last_issued_certificate_id!);
      const provider = active?.provider_id ? await ctx.providers.get(ac.tenant_id, active.provider_id) : undefined;
      if (!active || !provider || provider.state !== 'AVAILABLE') {
        await ctx.autoCertificates.update(ac.tenant_id, ac.id, { ari_next_check_at: iso(new Date(now.getTime() + ARI_ABSENT_RECHECK_MS)) });
        continue;
      }
      const client = ctx.acme.for(provider);
      try {
        const directory = await client.getDirectory();
        if (!directory.renewalInfo) {
          await ctx.autoCertificates.update(ac.tenant_id, ac.id, { ari_next_check_at: iso(new Date(now.getTime() + ARI_ABSENT_RECHECK_MS)) });
          continue;
        }
        const info = await client.getRenewalInfo(ariCertificateId(active.certificate_pem));
        const next = info.retryAfter && info.retryAfter > now ? info.retryAfter : new Date(now.getTime() + ARI_DEFAULT_RECHECK_MS);
        const changed = ac.ari_window_start !== iso(info.suggestedWindow.start) || ac.ari_window_end !== iso(info.suggestedWindow.end);
        const updated = { ...ac, ari_window_start: iso(info.suggestedWindow.start), ari_window_end: iso(info.suggestedWindow.end) };
        await ctx.autoCertificates.update(ac.tenant_id, ac.id, {
          ari_window_start: updated.ari_window_start,
          ari_window_end: updated.ari_window_end,
          ari_explanation_url: info.explanationURL ?? null,
          ari_next_check_at: iso(next),
        });
        if (changed) {
          const d = await replanRenewal(ctx, updated);
          ctx.logger.info({ autoCertificate: ac.id, window: [updated.ari_window_start, updated.ari_window_end], renewAt: iso(d.at) }, 'ARI window changed');
        }
        checked++;
      } catch (err) {
        // A CA that errors on renewalInfo keeps the lifetime rule; ask again later.
        const retryAt = (isAcmeProblem(err) && err.retryAfter) || new Date(now.getTime() + ARI_DEFAULT_RECHECK_MS);
        ctx.logger.warn({ autoCertificate: ac.id, err: (err as Error).message }, 'ARI check failed');
        await ctx.autoCertificates.update(ac.tenant_id, ac.id, { ari_next_check_at: iso(retryAt) });
      }
    }
    return checked;
  }
}

/** Job kind the scheduler enqueues (re-exported for tests). */
export { ISSUE_JOB };
