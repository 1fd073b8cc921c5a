/**
 * A problem's `errors[]` by form field: `properties.password` and `password` both become
 * `password`, so a form can show each message beside its field. Errors naming no field of the
 * form stay in the general message.
 */
import { ApiError } from './api';

/** Messages by field (the last path segment after `properties.`), for the fields a form has. */
export function fieldErrors(err: unknown, fields: readonly string[]): { byField: Record<string, string>; other: string[] } {
  const byField: Record<string, string> = {};
  const other: string[] = [];
  if (!(err instanceof ApiError)) return { byField, other };
  for (const e of err.problem?.errors ?? []) {
    const name = e.field.replace(/^(body\.)?properties\./, '');
    const known = fields.find((f) => name === f || name.startsWith(`${f}.`));
    if (known) byField[known] = byField[known] ? `${byField[known]}; ${e.message}` : e.message;
    else other.push(`${e.value ?? e.field}: ${e.message}`);
  }
  return { byField, other };
}
