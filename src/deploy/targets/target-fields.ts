/**
 * Reading and checking the `settings` and `credentials` of a deployment target. A manifest's
 * `validate` and its `create` read through the same {@link FieldReader}, so what validates is
 * exactly what runs. Messages name the field and what to fix; they never repeat a value that may
 * be secret (credentials, URLs that can carry tokens).
 */
import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';
import { DomainError } from '../../domain-error.js';
import type { ProbeSettings, TargetFieldError } from '../types.js';

/** Largest `timeoutSeconds` any target accepts (one hour). */
export const MAX_TIMEOUT_SECONDS = 3600;

/** Collects field errors while reading typed values out of `settings` and `credentials`. */
export class FieldReader {
  readonly errors: TargetFieldError[] = [];

  constructor(
    readonly settings: Record<string, unknown>,
    readonly credentials: Record<string, string>,
  ) {}

  /** Records one problem with `field` (`settings.x` or `credentials.x`). */
  fail(field: string, message: string): void {
    this.errors.push({ field, message });
  }

  /** A non-empty string setting; undefined (and an error when required) when absent. */
  string(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.settings[name];
    if (v === undefined || v === null || v === '') {
      if (opts.required) this.fail(`settings.${name}`, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.fail(`settings.${name}`, 'must be a string');
      return undefined;
    }
    if (/[\0]/.test(v)) {
      this.fail(`settings.${name}`, 'must not contain NUL characters');
      return undefined;
    }
    return v;
  }

  /** An integer setting within [min, max], or `def` when absent. Numeric strings are accepted. */
  integer(name: string, opts: { min: number; max: number; default: number }): number;
  integer(name: string, opts: { min: number; max: number; required?: boolean }): number | undefined;
  integer(name: string, opts: { min: number; max: number; default?: number; required?: boolean }): number | undefined {
    const v = this.settings[name];
    if (v === undefined || v === null || v === '') {
      if (opts.required) this.fail(`settings.${name}`, 'is required');
      return opts.default;
    }
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < opts.min || n > opts.max) {
      this.fail(`settings.${name}`, `must be an integer from ${opts.min} to ${opts.max}`);
      return opts.default;
    }
    return n;
  }

  /** A boolean setting (`true`/`false`), or `def` when absent. */
  boolean(name: string, def: boolean): boolean {
    const v = this.settings[name];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.fail(`settings.${name}`, 'must be true or false');
      return def;
    }
    return v;
  }

  /** A credential; undefined (and an error when required) when absent. The value is never echoed. */
  credential(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.credentials[name];
    if (v === undefined || v === '') {
      if (opts.required) this.fail(`credentials.${name}`, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.fail(`credentials.${name}`, 'must be a string');
      return undefined;
    }
    return v;
  }

  /** A timeout in seconds, 1 to {@link MAX_TIMEOUT_SECONDS}. */
  timeoutSeconds(def: number): number {
    return this.integer('timeoutSeconds', { min: 1, max: MAX_TIMEOUT_SECONDS, default: def });
  }

  /** A TCP port, 1–65535. */
  port(name: string, def: number): number {
    return this.integer(name, { min: 1, max: 65535, default: def });
  }

  /** An absolute path on the machine certkeeper runs on (`path.isAbsolute`). */
  localPath(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.string(name, opts);
    if (v === undefined) return undefined;
    if (!isAbsolute(v)) {
      this.fail(`settings.${name}`, 'must be an absolute path');
      return undefined;
    }
    return v;
  }

  /** An absolute POSIX path on a remote server: starts with `/`, one line, no `..` component. */
  remotePath(name: string): string | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!v.startsWith('/') || /[\r\n]/.test(v) || v.split('/').includes('..') || v.endsWith('/')) {
      this.fail(`settings.${name}`, 'must be an absolute file path (starting with /, no "..", not ending in /)');
      return undefined;
    }
    return v;
  }

  /**
   * An http(s) URL: https://, or http:// to a loopback host only (a test set-up or a local proxy,
   * which then also needs CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1: the connection is refused otherwise).
   */
  url(name: string, opts: { required?: boolean } = {}): URL | undefined {
    const v = this.string(name, opts);
    if (v === undefined) return undefined;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      this.fail(`settings.${name}`, 'is not a valid absolute URL (expected https://…)');
      return undefined;
    }
    if (u.username || u.password) {
      this.fail(`settings.${name}`, 'must not carry a user name or password; use the credentials');
      return undefined;
    }
    if (u.protocol === 'https:') return u;
    if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return u;
    this.fail(`settings.${name}`, u.protocol === 'http:'
      ? 'must use https:// (http:// is allowed only to a loopback address, with CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1)'
      : 'must use https://');
    return undefined;
  }

  /** A host name or IP literal (no scheme, no port). */
  host(name: string, opts: { required?: boolean } = {}): string | undefined {
    const v = this.string(name, opts);
    if (v === undefined) return undefined;
    const bare = v.replace(/^\[|\]$/g, '');
    if (isIP(bare) === 0 && !/^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/.test(bare)) {
      this.fail(`settings.${name}`, 'must be a host name or an IP address (no scheme, no port)');
      return undefined;
    }
    return bare;
  }

  /** A file mode as an octal string (`"0640"`, `"640"`); undefined when absent. */
  mode(name: string): number | undefined {
    const v = this.settings[name];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' || !/^0?[0-7]{3}$/.test(v)) {
      this.fail(`settings.${name}`, 'must be an octal string such as "0640"');
      return undefined;
    }
    return parseInt(v, 8);
  }

  /** An object of string values (labels, annotations); undefined when absent. */
  stringMap(name: string): Record<string, string> | undefined {
    const v = this.settings[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(`settings.${name}`, 'must be an object of string values');
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (typeof val !== 'string') this.fail(`settings.${name}.${k}`, 'must be a string');
      else out[k] = val;
    }
    return out;
  }

  /** The optional `probe` setting: `{ host, port, serverName?, timeoutSeconds? }`. */
  probe(name = 'probe'): ProbeSettings | undefined {
    const v = this.settings[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(`settings.${name}`, 'must be an object { host, port, serverName?, timeoutSeconds? }');
      return undefined;
    }
    const inner = new FieldReader(v as Record<string, unknown>, {});
    const host = inner.host('host', { required: true });
    const port = inner.integer('port', { min: 1, max: 65535, required: true });
    const serverName = inner.host('serverName');
    const timeoutSeconds = inner.integer('timeoutSeconds', { min: 1, max: 600 });
    for (const e of inner.errors) this.fail(e.field.replace(/^settings\./, `settings.${name}.`), e.message);
    if (host === undefined || port === undefined) return undefined;
    return { host, port, ...(serverName ? { serverName } : {}), ...(timeoutSeconds ? { timeoutSeconds } : {}) };
  }

  /** Throws a `validation_failed` {@link DomainError} naming every problem, when there is one. */
  throwIfInvalid(code: string): void {
    if (this.errors.length === 0) return;
    const list = this.errors.map((e) => `${e.field} ${e.message}`).join('; ');
    throw new DomainError('validation_failed', `${code} target: ${list}`, this.errors.map((e) => ({ field: e.field, message: e.message })));
  }
}

/** True for `localhost` and loopback IP literals (127.0.0.0/8, ::1). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}
