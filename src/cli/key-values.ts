/**
 * `key=value` options: `--setting` (values typed by their look), `--credential` (always text)
 * and `--credential-file` (the text of a file). Each key may be given once per option family,
 * except the list keys a command names. DNS zones, notification channels and deployment targets
 * share them.
 */
import type { Command } from 'commander';
import { CliError } from './cli-config.js';
import { collect } from './command-kit.js';
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

/** Keys whose settings have a known shape, for commands whose settings are a fixed set. */
export interface SettingShapes {
  /** Keys that take a list of text: each `--setting key=value` adds one entry. */
  lists?: readonly string[];
  /** Keys whose values are always text, even when they look like a number or a boolean. */
  text?: readonly string[];
  /** Keys whose values may be JSON: a value that starts with `{` or `[` is parsed (a probe object). */
  json?: readonly string[];
}

/** A `--setting` value of a {@link SettingShapes.json} key: JSON when it looks like an object or list. */
function jsonSettingValue(key: string, raw: string): unknown {
  if (!/^\s*[[{]/.test(raw)) return settingValue(raw);
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new CliError(`--setting ${key} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The `--setting key=value` entries as an object, each key once (a list key once per entry,
 * in the order given).
 */
export function settingsOf(entries: string[] | undefined, shapes: SettingShapes = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const raw of entries ?? []) {
    const [key, value] = splitKeyValue('--setting', raw);
    if (shapes.lists?.includes(key)) {
      out[key] = [...((out[key] as string[] | undefined) ?? []), value];
      continue;
    }
    if (key in out) throw new CliError(`--setting ${key} is given twice`);
    out[key] = shapes.text?.includes(key) ? value : shapes.json?.includes(key) ? jsonSettingValue(key, value) : settingValue(value);
  }
  return out;
}

/** The settings flags as commander parses them. */
export interface SettingsFlags {
  setting?: string[];
  /** `key=path`: a setting read from a file (offered where a setting may carry a token). */
  settingFile?: string[];
  settingsJson?: string;
}

/**
 * The settings of `--setting` and `--setting-file` (the file's text, one trailing line break
 * removed, always text), each key once across both (a list key once per entry).
 */
function givenSettings(opts: SettingsFlags, shapes: SettingShapes): Record<string, unknown> {
  const out = settingsOf(opts.setting, shapes);
  for (const raw of opts.settingFile ?? []) {
    const [key, file] = splitKeyValue('--setting-file', raw);
    const value = readTextFile(file, `setting ${key} file`).replace(/\r?\n$/, '');
    if (shapes.lists?.includes(key)) out[key] = [...((out[key] as string[] | undefined) ?? []), value];
    else if (key in out) throw new CliError(`--setting ${key} is given twice (--setting-file)`);
    else out[key] = value;
  }
  return out;
}

/** The credentials flags as commander parses them. */
export interface CredentialsFlags {
  credential?: string[];
  credentialFile?: string[];
}

/**
 * Adds `--setting`, `--settings-json`, `--credential` and `--credential-file` to a create or
 * update; `noun` says whose settings they are ("provider", "channel"), `settingNote` adds to the
 * help of `--setting`.
 */
export function withKeyValueOptions(cmd: Command, noun: string, settingNote = ''): Command {
  return cmd
    .option('--setting <key=value>', `a ${noun} setting (repeatable${settingNote}); true/false and plain numbers are sent as such, anything else as text`, collect)
    .option('--settings-json <json>', `${noun} settings as a JSON object (lists, or text that looks like a number); --setting entries are applied on top`)
    .option('--credential <key=value>', `a ${noun} credential (repeatable; visible to other users in ps: prefer --credential-file)`, collect)
    .option('--credential-file <key=path>', `a ${noun} credential read from a file, or /dev/stdin (repeatable; one trailing line break is removed)`, collect);
}

/** The settings of a create: `--settings-json`, with the `--setting` and `--setting-file` entries on top. */
export function settingsFrom(opts: SettingsFlags, shapes: SettingShapes = {}): Record<string, unknown> {
  return { ...(opts.settingsJson !== undefined ? parseSettingsJson(opts.settingsJson) : {}), ...givenSettings(opts, shapes) };
}

/**
 * The settings of an update, or undefined when no settings flag is given. The API replaces
 * settings as a whole, so `--setting` and `--unset-setting` edit the stored ones (`current`,
 * which answers `{}` where they start afresh, e.g. for another DNS provider); `--settings-json`
 * starts from scratch. `what` names the resource in errors ("zone", "channel").
 */
export async function editedSettings(
  opts: SettingsFlags & { unsetSetting?: string[] },
  current: () => Promise<Record<string, unknown>>,
  what: string,
  shapes: SettingShapes = {},
): Promise<Record<string, unknown> | undefined> {
  const setting = givenSettings(opts, shapes);
  const unset = opts.unsetSetting ?? [];
  for (const key of unset) if (key in setting) throw new CliError(`--setting ${key} and --unset-setting ${key} contradict each other`);
  if (opts.settingsJson === undefined && opts.setting === undefined && opts.settingFile === undefined && unset.length === 0) return undefined;
  const base = opts.settingsJson !== undefined ? parseSettingsJson(opts.settingsJson) : { ...(await current()) };
  for (const key of unset) {
    if (!(key in base) && opts.settingsJson === undefined) throw new CliError(`--unset-setting ${key}: the ${what} has no setting ${key}`);
    delete base[key];
  }
  return { ...base, ...setting };
}

/** The object `value` is, or `{}`: the stored settings of a resource. */
export function settingsObject(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? { ...(value as Record<string, unknown>) } : {};
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

/**
 * The credentials of a create or update: those given (on an update they replace all stored
 * credentials, which cannot be read back to merge), `{}` for an update's `--clear-credentials`,
 * or undefined when none are given.
 */
export function credentialsFrom(opts: CredentialsFlags & { clearCredentials?: boolean }): Record<string, string> | undefined {
  const given = opts.credential !== undefined || opts.credentialFile !== undefined;
  if (opts.clearCredentials && given) throw new CliError('--clear-credentials excludes --credential and --credential-file');
  if (opts.clearCredentials) return {};
  return given ? credentialsOf(opts.credential, opts.credentialFile) : undefined;
}
