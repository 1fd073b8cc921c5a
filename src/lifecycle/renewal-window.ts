/** When a certificate version falls due for renewal (before ARI and the full policy chain land). */

/** Renew when a third of the lifetime remains, or `renewBeforeDays` before expiry when set. */
export function renewalTime(notBefore: Date, notAfter: Date, renewBeforeDays: number | null): { at: Date; reason: string } {
  if (renewBeforeDays !== null) {
    return { at: new Date(notAfter.getTime() - renewBeforeDays * 86_400_000), reason: `renewBeforeDays: ${renewBeforeDays} days before expiry` };
  }
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return { at: new Date(notAfter.getTime() - lifetime / 3), reason: 'one third of the lifetime remains' };
}
