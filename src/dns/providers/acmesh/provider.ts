/**
 * The `acmesh` DNS provider: a bridge to acme.sh's DNS API scripts (`dnsapi/dns_<name>.sh`), so a
 * DNS host that acme.sh supports and certkeeper does not can still be used. See README.md here.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { DnsProviderError, type DnsProvider, type TxtRecord } from '../../dns-provider.js';
import { baseEnvironment, envNameProblem, parseEnvironment, recordEnvironment } from '../exec/program-environment.js';
import { parseTimeoutSeconds } from '../exec/provider.js';
import { EX_TEMPFAIL, failureOf, outputTail, runProgram, spawnProblem } from '../exec/run-program.js';
import { ACMESH_SHIM } from './acmesh-shim.js';

const CODE = 'acmesh';

/** Default of `timeoutSeconds`. */
export const ACMESH_DEFAULT_TIMEOUT_SECONDS = 120;

/** The shape of a `dnsApi` setting; it becomes a file name and a shell function name. */
export const DNS_API_PATTERN = /^dns_[a-z0-9_]+$/;

/** Bounds the cleanup half of check(), which runs even when the caller's signal has fired. */
const CHECK_CLEANUP_TIMEOUT_MS = 30_000;

/** The settings of an `acmesh` zone, validated. */
export interface AcmeshSettings {
  /** Folder holding `dnsapi/` (an acme.sh installation, e.g. ~/.acme.sh). */
  acmeshHome: string;
  /** `dns_<name>`. */
  dnsApi: string;
  /** `<acmeshHome>/dnsapi/<dnsApi>.sh`, checked to exist. */
  script: string;
  timeoutSeconds: number;
  /** Variables the script reads that are not secrets (server names, zone ids, TTLs). */
  environment: Record<string, string>;
}

const bad = (message: string) => new DnsProviderError(CODE, message);

/** Variables the script gets from certkeeper, not from the zone. */
const SET_BY_CERTKEEPER = new Set(['PATH', 'HOME', 'LANG', 'LE_WORKING_DIR']);

/** Validates an `acmesh` zone's settings; the dnsapi script must exist and be readable. */
export async function parseAcmeshSettings(settings: Record<string, unknown>): Promise<AcmeshSettings> {
  const { acmeshHome, dnsApi } = settings;
  if (typeof acmeshHome !== 'string' || !isAbsolute(acmeshHome)) throw bad('settings.acmeshHome must be the absolute path of an acme.sh installation (a folder with dnsapi/ in it)');
  if (typeof dnsApi !== 'string' || !DNS_API_PATTERN.test(dnsApi)) throw bad(`settings.dnsApi must match ${DNS_API_PATTERN.source}, e.g. dns_cf`);
  const script = join(acmeshHome, 'dnsapi', `${dnsApi}.sh`);
  const isFile = await stat(script).then((s) => s.isFile(), () => false);
  if (!isFile || !(await access(script, constants.R_OK).then(() => true, () => false))) {
    throw bad(`no readable dnsapi script ${script}: check settings.acmeshHome and settings.dnsApi`);
  }
  const environment = parseEnvironment(CODE, settings.environment);
  for (const name of Object.keys(environment)) {
    if (SET_BY_CERTKEEPER.has(name)) throw bad(`settings.environment: ${name} is set by certkeeper`);
  }
  return {
    acmeshHome,
    dnsApi,
    script,
    timeoutSeconds: parseTimeoutSeconds(CODE, settings.timeoutSeconds, ACMESH_DEFAULT_TIMEOUT_SECONDS),
    environment,
  };
}

/**
 * Checks that every credential name can be an environment variable of the script, and is not
 * also in `settings.environment`.
 */
export function checkAcmeshCredentials(credentials: Record<string, string>, settings?: AcmeshSettings): Record<string, string> {
  for (const [name, value] of Object.entries(credentials)) {
    if (settings && name in settings.environment) throw bad(`${name} is both a credential and in settings.environment: keep it in one place`);
    const problem = envNameProblem(name);
    // Only the name goes into the message: the value is a secret.
    if (problem) throw bad(`credential ${name} ${problem}`);
    if (SET_BY_CERTKEEPER.has(name)) throw bad(`credential ${name} is set by certkeeper and cannot be a credential`);
    if (typeof value !== 'string') throw bad(`credential ${name} must be a string`);
  }
  return { ...credentials };
}

/** Replaces every credential value that occurs in `text` with `[redacted]`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const s of ordered) out = out.split(s).join('[redacted]');
  return out;
}

/** Runs `dns_<name>_add` / `dns_<name>_rm` of an acme.sh dnsapi script through {@link ACMESH_SHIM}. */
export class AcmeshDnsProvider implements DnsProvider {
  readonly #secrets: string[];
  constructor(
    private readonly settings: AcmeshSettings,
    private readonly credentials: Record<string, string>,
    private readonly logger?: Logger,
  ) {
    this.#secrets = Object.values(credentials);
  }

  appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    return this.#run('add', record, signal);
  }

  deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    return this.#run('rm', record, signal);
  }

  /**
   * dnsapi scripts have no read call, so the only proof that the credentials work is a write:
   * add a throw-away value at `_certkeeper-check.<zone>` and remove it again. The removal runs
   * even when the add failed or the caller gave up (with its own time limit), so nothing stays.
   */
  async check(zone: string, signal?: AbortSignal): Promise<void> {
    const record: TxtRecord = { zone, fqdn: `_certkeeper-check.${zone}`, value: `certkeeper-check-${randomBytes(8).toString('hex')}`, ttl: 60 };
    const addError = await this.#run('add', record, signal).then(() => undefined, (err: unknown) => err ?? new Error('add failed'));
    const rmError = await this.#run('rm', record, AbortSignal.timeout(CHECK_CLEANUP_TIMEOUT_MS)).then(() => undefined, (err: unknown) => err ?? new Error('rm failed'));
    // After a failed add, the add's error is the one to report.
    if (addError !== undefined) throw addError;
    if (rmError !== undefined) throw rmError;
  }

  async #run(verb: 'add' | 'rm', record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const { script, dnsApi, acmeshHome, timeoutSeconds } = this.settings;
    const timeoutMs = timeoutSeconds * 1000;
    const what = `${dnsApi}_${verb} ${record.fqdn}`;
    const outcome = await runProgram({
      command: 'bash',
      args: ['--noprofile', '--norc', '-c', ACMESH_SHIM, 'certkeeper-acmesh', verb],
      // certkeeper's own variables last, so nothing replaces them (the names are checked too).
      env: {
        ...this.settings.environment,
        ...this.credentials,
        ...baseEnvironment(),
        ...recordEnvironment(record),
        CERTKEEPER_DNSAPI: dnsApi,
        CERTKEEPER_DNSAPI_SCRIPT: script,
        LE_WORKING_DIR: acmeshHome,
      },
      cwd: acmeshHome,
      timeoutMs,
      signal,
    }).catch((err: unknown) => {
      if (signal?.aborted && err === signal.reason) throw err;
      throw new DnsProviderError(CODE, `cannot run bash: ${spawnProblem(err)}`);
    });
    const failure = failureOf(outcome, timeoutMs);
    this.logger?.debug({ verb, name: record.fqdn, durationMs: outcome.durationMs, failure, stdout: outputTail(scrubSecrets(outcome.stdout, this.#secrets), 500, '') }, 'acme.sh dnsapi script ran');
    if (failure) {
      // Scrub before cutting the tail, so no part of a secret survives at the cut.
      const stderr = outputTail(scrubSecrets(outcome.stderr, this.#secrets));
      throw new DnsProviderError(CODE, scrubSecrets(`${what} ${failure}: ${stderr}`, this.#secrets), {
        retryable: outcome.timedOut || outcome.code === EX_TEMPFAIL,
      });
    }
  }
}
