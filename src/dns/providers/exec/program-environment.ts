/**
 * The clean environment of a hook program: nothing of certkeeper's own environment (which holds
 * the master key, database URL and tokens) except PATH, HOME and LANG, plus what the zone adds.
 */
import { homedir } from 'node:os';
import { DnsProviderError, type TxtRecord } from '../../dns-provider.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Names a zone may not set: certkeeper's own `CERTKEEPER_*`, and variables that make the shell or
 * the dynamic loader run other code or trace commands (which would print secrets to stderr).
 */
const RESERVED = /^(?:CERTKEEPER_.*|BASH_ENV|ENV|BASHOPTS|SHELLOPTS|PS4|BASH_XTRACEFD|IFS|BASH_FUNC_.*|LD_.*)$/;

/** Why `name` cannot be an environment variable of a hook, or undefined when it can. */
export function envNameProblem(name: string): string | undefined {
  if (!NAME.test(name)) return 'is not a valid environment variable name (letters, digits, _; not starting with a digit)';
  if (RESERVED.test(name)) return 'is reserved (CERTKEEPER_*, shell start-up and loader variables cannot be set)';
  return undefined;
}

/** PATH, HOME and LANG as certkeeper has them (or sane defaults). */
export function baseEnvironment(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: process.env.HOME ?? homedir(),
    LANG: process.env.LANG ?? 'C.UTF-8',
  };
}

/** The `CERTKEEPER_*` variables describing one record (or only the zone, for a check). */
export function recordEnvironment(target: TxtRecord | { zone: string }): Record<string, string> {
  const env: Record<string, string> = { CERTKEEPER_ZONE: target.zone };
  if ('fqdn' in target) {
    env.CERTKEEPER_FQDN = target.fqdn;
    env.CERTKEEPER_VALUE = target.value;
    env.CERTKEEPER_TTL = String(target.ttl);
  }
  return env;
}

/**
 * Reads a zone's `settings.environment`: an object `{ NAME: "value" }`, or a list of `NAME=value`
 * strings (the form a manifest `string[]` field can carry). Errors name the provider `code`.
 */
export function parseEnvironment(code: string, value: unknown): Record<string, string> {
  const bad = (message: string) => new DnsProviderError(code, message);
  if (value === undefined || value === null) return {};
  const pairs: [string, unknown][] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const eq = typeof item === 'string' ? item.indexOf('=') : -1;
      if (typeof item !== 'string' || eq < 1) throw bad(`settings.environment entries must read NAME=value, got ${JSON.stringify(item)}`);
      pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
    }
  } else if (typeof value === 'object') {
    pairs.push(...Object.entries(value as Record<string, unknown>));
  } else {
    throw bad('settings.environment must be an object of NAME: value, or a list of NAME=value');
  }
  const env: Record<string, string> = {};
  for (const [name, v] of pairs) {
    const problem = envNameProblem(name);
    if (problem) throw bad(`settings.environment: ${name} ${problem}`);
    if (typeof v !== 'string') throw bad(`settings.environment.${name} must be a string`);
    env[name] = v;
  }
  return env;
}
