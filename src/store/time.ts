/** Time as the store keeps it, and the injected clock every time-dependent rule uses. */

/** Returns "now". Injected everywhere so rules are testable with a fixed clock (STYLE.md habit 7). */
export type Clock = () => Date;

/** The real clock. */
export const systemClock: Clock = () => new Date();

/** A timestamp as stored: ISO-8601 UTC with milliseconds, fixed width so text order is time order. */
export function iso(d: Date): string {
  return d.toISOString();
}

/** `d` plus `ms` milliseconds, as stored. */
export function isoPlus(d: Date, ms: number): string {
  return new Date(d.getTime() + ms).toISOString();
}
