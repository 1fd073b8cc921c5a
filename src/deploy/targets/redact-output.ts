/**
 * Keeps secrets out of the output a deployment reports (DeployOutcome.output, DeployError): a
 * script or a reload command may print the key it was given, a webhook receiver or an API server
 * may echo what it received. The secret itself, and for PEM text each of its base64 lines, is
 * replaced by `[redacted]` before the output is bounded.
 */
import { boundOutput } from '../types.js';

/** The pieces of `secret` to look for: the whole, its trimmed form, and the body lines of a PEM. */
function pieces(secret: string): string[] {
  const out = new Set<string>();
  const t = secret.trim();
  if (t.length >= 4) out.add(t);
  if (t.includes('-----BEGIN ')) {
    for (const line of t.split(/\r?\n/)) {
      const l = line.trim();
      if (l.length >= 16 && !l.startsWith('-----')) out.add(l);
    }
    // Also the whole base64 body in one piece, as JSON or base64-encoding tools may print it.
    const body = t.split(/\r?\n/).filter((l) => !l.startsWith('-----')).join('');
    if (body.length >= 16) {
      out.add(body);
      out.add(Buffer.from(t, 'utf8').toString('base64'));
      out.add(Buffer.from(secret, 'utf8').toString('base64'));
    }
  } else if (t.length >= 4) {
    out.add(Buffer.from(t, 'utf8').toString('base64'));
  }
  // Longest first, so a line inside a whole secret does not leave the rest behind.
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of the secrets replaced by `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const p of pieces(secret)) out = out.split(p).join('[redacted]');
  }
  return out;
}

/** Redacts, then bounds (keeps the tail) — the form every target reports output in. */
export function reportOutput(text: string, secrets: readonly (string | undefined)[], max?: number): string {
  return boundOutput(redactSecrets(text, secrets), max);
}
