/**
 * `key=value` options: `--setting` (values typed by their look), `--credential` (always text)
 * and `--credential-file` (the text of a file). Each key may be given once per option family.
 */
import { CliError } from './cli-config.js';
import { readTextFile } from './input-files.js';

/**
 * Splits `key=value` at the first `=`; the key must not be empty. With `secret`, an error does not
 * repeat what was given (it may be a credential without its key).
 */
export function splitKeyValue(option: string, raw: string, secret = false): [string, string] {
  const i = raw.indexOf('=');
  const key = i > 0 ? raw.slice(0, i).trim() : '';
  if (!key) throw new CliError(`${option} expects key=value${secret ? '' : `, got "${raw}"`}`);
  return [key, raw.slice(i + 1)];
}

/**
 * The value of a `--setting`: `true` and `false` become booleans, a plain decimal number
 * (`60`, `-1`, `2.5`; no leading zeros, no exponent, within the safe integer range) becomes a
 * number, anything else stays the text as given. A value that must stay text although it looks
 * like a number or a boolean goes through `--settings-json`.
 */
export function settingValue(raw: string): string | number | boolean {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(raw)) {
    const n = Number(raw);
    if (Number.isFinite(n) && (!Number.isInteger(n) || Number.isSafeInteger(n))) return n;
  }
  return raw;
}

/** `--settings-json`: a JSON object. */
export function parseSettingsJson(raw: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw new CliError(`--settings-json is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new CliError('--settings-json must be a JSON object, e.g. \'{"args": ["--quiet"]}\'');
  return value as Record<string, unknown>;
}

/** The `--setting key=value` entries as an object, each key once. */
export function settingsOf(entries: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const raw of entries ?? []) {
    const [key, value] = splitKeyValue('--setting', raw);
    if (key in out) throw new CliError(`--setting ${key} is given twice`);
    out[key] = settingValue(value);
  }
  return out;
}

/**
 * The credentials of `--credential key=value` and `--credential-file key=path` (the file's text,
 * one trailing line break removed), each key once across both.
 */
export function credentialsOf(values: string[] | undefined, files: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (option: string, key: string, value: string) => {
    if (key in out) throw new CliError(`credential ${key} is given twice (${option})`);
    out[key] = value;
  };
  for (const raw of values ?? []) put('--credential', ...splitKeyValue('--credential', raw, true));
  for (const raw of files ?? []) {
    const [key, file] = splitKeyValue('--credential-file', raw);
    put('--credential-file', key, readTextFile(file, `credential ${key} file`).replace(/\r?\n$/, ''));
  }
  return out;
}
