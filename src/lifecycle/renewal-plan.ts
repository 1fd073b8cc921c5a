/** Applies the renewal policy chain to stored rows and writes the outcome on the auto certificate. */
import type { AutoCertificateRow, CertificateRow, Executor } from '../store/repositories.js';
import { iso } from '../store/time.js';
import type { Context } from './context.js';
import { decideRenewal, type RenewalDecision } from './renewal-policy.js';

/** The decision for an auto certificate and its active version (null when there is none). */
export function renewalDecision(now: Date, ac: AutoCertificateRow, active: CertificateRow | null): RenewalDecision {
  return decideRenewal({
    now,
    wanted: { names: JSON.parse(ac.names_json) as string[], keyAlgorithm: ac.key_algorithm, renewBeforeDays: ac.renew_before_days },
    active: active ? {
      serialNumber: active.serial_number,
      names: JSON.parse(active.sans_json) as string[],
      keyAlgorithm: active.key_algorithm,
      notBefore: new Date(active.not_before),
      notAfter: new Date(active.not_after),
      revoked: active.state === 'REVOKED',
    } : null,
    ari: ac.ari_window_start && ac.ari_window_end ? { start: new Date(ac.ari_window_start), end: new Date(ac.ari_window_end) } : null,
  });
}

/** Recomputes and stores `next_renewal_at` / `renewal_reason`; returns the decision. */
export async function replanRenewal(ctx: Context, ac: AutoCertificateRow, ex?: Executor): Promise<RenewalDecision> {
  const active = ac.last_issued_certificate_id ? (await ctx.certificates.get(ac.tenant_id, ac.last_issued_certificate_id, ex)) ?? null : null;
  const d = renewalDecision(ctx.clock(), ac, active);
  await ctx.autoCertificates.update(ac.tenant_id, ac.id, { next_renewal_at: iso(d.at), renewal_reason: `${d.reason}: ${d.message}` }, ex);
  return d;
}
