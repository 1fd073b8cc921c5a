/**
 * What the CLI prints: aligned tables for lists, `key: value` blocks for single resources, the raw
 * JSON for `--json`, and errors on stderr. Secret fields are never printed from here; a private
 * key reaches the terminal only through `certificates export --include-private-key`.
 */
import { ApiError, ConnectionError, type ProblemFieldError, type Resource } from './api-client.js';
import { CliError } from './cli-config.js';

/** Where output goes; injectable so formatting is testable without a process. */
export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The process's stdout and stderr. */
export const processStreams: Streams = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Field names whose values are never printed, whatever the server sends. */
const SECRET_FIELDS = new Set(['privateKey', 'keySecret', 'password', 'pkcs12', 'token', 'credentials']);

/** A column of a table: header and how to read a cell from a row. */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/** `2026-11-26T01:30:00.000Z` → `2026-11-26T01:30:00Z`; other values unchanged. */
export function formatDate(value: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value) ? value.replace(/\.\d+Z$/, 'Z') : value;
}

/** One value as table or block text: `-` for nothing, lists joined, dates without milliseconds. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (typeof value === 'string') return formatDate(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length ? value.map(formatValue).join(', ') : '-';
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([k]) => !SECRET_FIELDS.has(k));
    return entries.length ? entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(', ') : '-';
  }
  return String(value);
}

/**
 * Settings as block text, one `key=value` a line; lists, objects and text with line breaks as
 * JSON, so that each setting stays on its line.
 */
export function settingsText(settings: unknown): string {
  if (!settings || typeof settings !== 'object') return '-';
  const lines = Object.entries(settings as Record<string, unknown>).map(([k, v]) => {
    const text = v !== null && typeof v === 'object' ? JSON.stringify(v) : typeof v === 'string' && /[\n\r]/.test(v) ? JSON.stringify(v) : formatValue(v);
    return `${k}=${text}`;
  });
  return lines.length ? lines.join('\n') : '-';
}

/** Renders rows as an aligned table with a header line; cells never contain line breaks. */
export function renderTable<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => formatValue(c.value(row)).replace(/\s*\n\s*/g, ' ')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (parts: string[]) => parts.map((p, i) => (i === parts.length - 1 ? p : p.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** Renders `label: value` pairs with the values aligned; multi-line values continue indented. */
export function renderBlock(pairs: Array<[string, unknown]>): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length + 1));
  return pairs.map(([k, v]) => {
    const text = formatValue(v);
    const [first, ...rest] = text.split('\n');
    const pad = ' '.repeat(width + 1);
    return [`${`${k}:`.padEnd(width)} ${first}`, ...rest.map((l) => pad + l)].join('\n').trimEnd();
  }).join('\n') + '\n';
}

/** `subjectAlternativeNames` → `subject alternative names`. */
export function humanise(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').toLowerCase();
}

/**
 * The pairs of a resource: id, name, state and message first, then the other properties and
 * metadata in the server's order. `skip` names fields left out (long PEM text, for example).
 */
export function resourcePairs(res: Resource, skip: string[] = []): Array<[string, unknown]> {
  const omit = new Set([...skip, 'name', 'state', 'message']);
  const pairs: Array<[string, unknown]> = [['id', res.id]];
  if ('name' in res.properties) pairs.push(['name', res.properties.name]);
  pairs.push(['state', res.metadata.state], ['message', res.metadata.message]);
  for (const [k, v] of Object.entries(res.properties)) {
    if (!omit.has(k) && !SECRET_FIELDS.has(k)) pairs.push([humanise(k), v]);
  }
  for (const [k, v] of Object.entries(res.metadata)) {
    if (!omit.has(k) && !SECRET_FIELDS.has(k)) pairs.push([humanise(k), v]);
  }
  return pairs;
}

/** Counts the PEM certificates of a string. */
export function pemCount(pem: unknown): number {
  return typeof pem === 'string' ? (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length : 0;
}

/** Prints `value` as indented JSON. */
export function printJson(streams: Streams, value: unknown): void {
  streams.out(JSON.stringify(value, null, 2) + '\n');
}

/** The field errors of a problem, one line each. */
export function fieldErrorLines(errors: ProblemFieldError[] | undefined): string[] {
  return (errors ?? []).map((e) => `  - ${e.field}: ${e.message}${e.value !== undefined && !e.message.includes(e.value) ? ` (${JSON.stringify(e.value)})` : ''}`);
}

/**
 * Prints an error to stderr as `error: <detail>` plus each field error; with `--json`, an API
 * error's problem document is printed to stdout as well. Returns the exit code to use.
 */
export function printError(streams: Streams, err: unknown, opts: { json?: boolean; hint401?: string } = {}): number {
  if (err instanceof ApiError) {
    if (opts.json && err.body) streams.out(err.body.endsWith('\n') ? err.body : err.body + '\n');
    const lines = [`error: ${err.message}`];
    lines.push(...fieldErrorLines(err.problem.errors));
    if (err.status === 401 && opts.hint401) lines.push(`hint: ${opts.hint401}`);
    streams.err(lines.join('\n') + '\n');
    return 1;
  }
  if (err instanceof CliError) {
    streams.err(`error: ${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof ConnectionError) {
    streams.err(`error: ${err.message}\n`);
    return 1;
  }
  streams.err(`error: ${(err as Error)?.message ?? String(err)}\n`);
  return 1;
}
