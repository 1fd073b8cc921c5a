/**
 * The event filter of a notification channel: a list of exact event types from the fixed
 * vocabulary, `<namespace>.*` prefixes (`certificate.*`) or `*` for everything.
 *
 * The daily digest (`digest.daily`) is not an event and the filter never sees it: a channel
 * receives it when its `digest` property asks for it, whatever the filter says (src/notify/digest.ts).
 */
import { EVENT_TYPES } from '../lifecycle/event-types.js';
import type { FieldError } from '../domain-error.js';
import { DIGEST_TYPE } from './notification.js';

const TYPES = new Set<string>(EVENT_TYPES);
const NAMESPACES = new Set(EVENT_TYPES.map((t) => t.slice(0, t.indexOf('.'))));

/** The filter of a channel that names none: every event. */
export const ALL_EVENTS = ['*'];

/**
 * Checks a filter and returns it de-duplicated; `undefined` means every event. Each bad pattern
 * is added to `errors` with its field.
 */
export function checkEventFilter(patterns: string[] | undefined, field: string, errors: FieldError[]): string[] {
  if (patterns === undefined) return [...ALL_EVENTS];
  if (patterns.length === 0) {
    errors.push({ field, message: 'list at least one event type (or "*"), or leave the field out to receive every event' });
    return [];
  }
  patterns.forEach((p, i) => {
    if (p === '*' || TYPES.has(p)) return;
    const m = /^([a-z_]+)\.\*$/.exec(p);
    if (m && NAMESPACES.has(m[1]!)) return;
    if (p === DIGEST_TYPE || p === 'digest.*') {
      errors.push({ field: `${field}[${i}]`, value: p, message: 'the daily digest is not an event: ask for it with properties.digest ({ "enabled": true, "hour": 8 }), whatever the events filter' });
      return;
    }
    errors.push({
      field: `${field}[${i}]`,
      value: p,
      message: m
        ? `no event type starts with "${m[1]}."; prefixes: ${[...NAMESPACES].map((n) => `${n}.*`).join(', ')}`
        : 'not an event type of the vocabulary (see docs/notifications.md), a "<prefix>.*" pattern or "*"',
    });
  });
  return [...new Set(patterns)];
}

/** True when `type` matches one of the channel's patterns. */
export function matchesEventFilter(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}
