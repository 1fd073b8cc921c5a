/**
 * A problem's `errors[]` by form field: `properties.password` and `password` both become
 * `password`, `properties.resolvers[1]` becomes `resolvers`, so a form can show each message
 * beside its field (list specific fields before general ones: `settings.url` before `settings`).
 * Errors naming no field of the form stay in the general message.
 */
import { ApiError } from './api';

/** Messages by field (the last path segment after `properties.`), for the fields a form has. */
export function fieldErrors(err: unknown, fields: readonly string[]): { byField: Record<string, string>; other: string[] } {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  if (!(err instanceof ApiError)) return { byField, other };
  for (const e of err.problem?.errors ?? []) {
    const name = e.field.replace(/^(body\.)?properties\./, '');
    const known = fields.find((f) => name === f || name.startsWith(`${f}.`) || name.startsWith(`${f}[`));
    // An error about one entry of a list (`events[2]`) or a part of an object names its value.
    const message = known && name !== known && e.value !== undefined ? `${e.value}: ${e.message}` : e.message;
    if (known) byField[known] = byField[known] ? `${byField[known]}; ${message}` : message;
    else other.push(`${e.value ?? e.field}: ${e.message}`);
  }
  return { byField, other };
}
