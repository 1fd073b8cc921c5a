/**
 * When to renew, as a chain of pure rules with an injected clock (cert-manager's habit). Each rule
 * returns a machine reason and a human message, or nothing; the first answer wins. The outcome is
 * shown as `metadata.nextRenewalAt` and `metadata.renewalReason`.
 */
import { createHash } from 'node:crypto';

/** Machine reasons, stable for scripts and metrics. */
export type RenewalReason =
  | 'no_active_version'
  | 'names_changed'
  | 'key_algorithm_changed'
  | 'active_revoked'
  | 'ari_window'
  | 'renew_before_days'
  | 'lifetime_fraction';

/** A decision: renew at `at` (which may be in the past: renew now). */
export interface RenewalDecision {
  at: Date;
  reason: RenewalReason;
  message: string;
}

/** What the rules look at. */
export interface RenewalInput {
  now: Date;
  wanted: { names: string[]; keyAlgorithm: string; renewBeforeDays: number | null };
  active: { serialNumber: string; names: string[]; keyAlgorithm: string | null; notBefore: Date; notAfter: Date; revoked: boolean } | null;
  /** The CA's suggested window (RFC 9773), when it offers one. */
  ari: { start: Date; end: Date } | null;
}

type Rule = (i: RenewalInput) => RenewalDecision | null;

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
const day = 86_400_000;

const noActiveVersion: Rule = (i) => (i.active ? null : { at: i.now, reason: 'no_active_version', message: 'no certificate has been issued yet' });

const namesChanged: Rule = (i) => (i.active && !sameSet(i.active.names, i.wanted.names)
  ? { at: i.now, reason: 'names_changed', message: 'the names differ from those of the active certificate' } : null);

const keyAlgorithmChanged: Rule = (i) => (i.active && i.active.keyAlgorithm !== i.wanted.keyAlgorithm
  ? { at: i.now, reason: 'key_algorithm_changed', message: `the key algorithm changed from ${i.active.keyAlgorithm ?? 'unknown'} to ${i.wanted.keyAlgorithm}` } : null);

const activeRevoked: Rule = (i) => (i.active?.revoked ? { at: i.now, reason: 'active_revoked', message: 'the active certificate was revoked' } : null);

/**
 * RFC 9773 §4.2: pick a time uniformly at random inside the suggested window. The "random" point
 * is derived from the certificate serial and the window, so recomputing gives the same time
 * (no jitter between ticks) while different certificates spread over the window.
 */
const ariWindow: Rule = (i) => {
  if (!i.active || !i.ari || i.ari.end <= i.ari.start) return null;
  const h = createHash('sha256').update(`${i.active.serialNumber}|${i.ari.start.toISOString()}|${i.ari.end.toISOString()}`).digest();
  const fraction = h.readUInt32BE(0) / 0x1_0000_0000;
  const at = new Date(i.ari.start.getTime() + fraction * (i.ari.end.getTime() - i.ari.start.getTime()));
  return { at: at < i.now && i.ari.end < i.now ? i.now : at, reason: 'ari_window', message: `inside the renewal window the CA suggests (${i.ari.start.toISOString()} – ${i.ari.end.toISOString()})` };
};

const renewBeforeDays: Rule = (i) => (i.active && i.wanted.renewBeforeDays !== null
  ? { at: new Date(i.active.notAfter.getTime() - i.wanted.renewBeforeDays * day), reason: 'renew_before_days', message: `${i.wanted.renewBeforeDays} days before expiry (renewBeforeDays)` } : null);

/** One third of the lifetime left: 30 days of 90, 15 of 45, 2 of 6. */
const lifetimeFraction: Rule = (i) => {
  if (!i.active) return null;
  const lifetime = i.active.notAfter.getTime() - i.active.notBefore.getTime();
  const left = Math.round(lifetime / 3 / day * 10) / 10;
  return { at: new Date(i.active.notAfter.getTime() - lifetime / 3), reason: 'lifetime_fraction', message: `when one third of the lifetime is left (${left} days)` };
};

/** The rules in order; the first that answers decides. */
export const RENEWAL_RULES: readonly Rule[] = [noActiveVersion, namesChanged, keyAlgorithmChanged, activeRevoked, ariWindow, renewBeforeDays, lifetimeFraction];

/** The renewal decision for `input`. */
export function decideRenewal(input: RenewalInput): RenewalDecision {
  for (const rule of RENEWAL_RULES) {
    const d = rule(input);
    if (d) return d;
  }
  return { at: input.now, reason: 'no_active_version', message: 'no rule applied' };
}
