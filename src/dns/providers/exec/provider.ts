/**
 * The `exec` DNS provider: runs the user's program to write TXT records. The contract the program
 * follows is in the manifest's description and in README.md next to this file.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Logger } from 'pino';
import { DnsProviderError, type DnsProvider, type TxtRecord } from '../../dns-provider.js';
import { baseEnvironment, parseEnvironment, recordEnvironment } from './program-environment.js';
import { EX_TEMPFAIL, failureOf, outputTail, runProgram, spawnProblem } from './run-program.js';

const CODE = 'exec';

/** The settings of an `exec` zone, validated. */
export interface ExecSettings {
  /** Absolute path of the program. */
  command: string;
  /** Arguments put before the verb. */
  args: string[];
  timeoutSeconds: number;
  /** Extra environment variables (not secrets). */
  environment: Record<string, string>;
}

/** Default of `timeoutSeconds`. */
export const EXEC_DEFAULT_TIMEOUT_SECONDS = 60;
/** Largest `timeoutSeconds`. */
export const MAX_TIMEOUT_SECONDS = 3600;

const bad = (message: string) => new DnsProviderError(CODE, message);

/** Reads `timeoutSeconds` (an integer 1…3600), or the default. */
export function parseTimeoutSeconds(code: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > MAX_TIMEOUT_SECONDS) {
    throw new DnsProviderError(code, `settings.timeoutSeconds must be an integer from 1 to ${MAX_TIMEOUT_SECONDS}`);
  }
  return value as number;
}

/** Validates an `exec` zone's settings; the program must exist and be executable. */
export async function parseExecSettings(settings: Record<string, unknown>): Promise<ExecSettings> {
  const { command, args } = settings;
  if (typeof command !== 'string' || !isAbsolute(command)) throw bad('settings.command must be the absolute path of an executable');
  const isFile = await stat(command).then((s) => s.isFile(), () => false);
  const runnable = isFile && (await access(command, constants.X_OK).then(() => true, () => false));
  if (!runnable) throw bad(`settings.command ${command} is not an executable file`);
  if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) throw bad('settings.args must be a list of strings');
  return {
    command,
    args: (args as string[] | undefined) ?? [],
    timeoutSeconds: parseTimeoutSeconds(CODE, settings.timeoutSeconds, EXEC_DEFAULT_TIMEOUT_SECONDS),
    environment: parseEnvironment(CODE, settings.environment),
  };
}

/** Runs `command [args…] present|cleanup <fqdn> <value>` and `command [args…] check <zone>`. */
export class ExecDnsProvider implements DnsProvider {
  constructor(
    private readonly settings: ExecSettings,
    private readonly logger?: Logger,
  ) {}

  appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    return this.#run(['present', record.fqdn, record.value], recordEnvironment(record), signal);
  }

  deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    return this.#run(['cleanup', record.fqdn, record.value], recordEnvironment(record), signal);
  }

  check(zone: string, signal?: AbortSignal): Promise<void> {
    return this.#run(['check', zone], recordEnvironment({ zone }), signal);
  }

  async #run(verbArgs: string[], recordEnv: Record<string, string>, signal?: AbortSignal): Promise<void> {
    const { command, args, timeoutSeconds, environment } = this.settings;
    // What the error names: the program and its verb, with the name but not the value.
    const what = `${command} ${verbArgs.slice(0, 2).join(' ')}`;
    const timeoutMs = timeoutSeconds * 1000;
    const outcome = await runProgram({
      command,
      args: [...args, ...verbArgs],
      env: { ...baseEnvironment(), ...environment, ...recordEnv },
      timeoutMs,
      signal,
    }).catch((err: unknown) => {
      if (signal?.aborted && err === signal.reason) throw err;
      throw new DnsProviderError(CODE, `cannot run ${command}: ${spawnProblem(err)}`);
    });
    const failure = failureOf(outcome, timeoutMs);
    this.logger?.debug({ verb: verbArgs[0], name: verbArgs[1], durationMs: outcome.durationMs, failure, stdout: outputTail(outcome.stdout, 500, '') }, 'exec hook ran');
    if (failure) {
      throw new DnsProviderError(CODE, `${what} ${failure}: ${outputTail(outcome.stderr)}`, {
        retryable: outcome.timedOut || outcome.code === EX_TEMPFAIL,
      });
    }
  }
}
