/**
 * `--wait`: polls a resource until a condition holds, bounded by `--timeout`, reporting each
 * change of state or message on stderr so a waiting terminal shows progress.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import type { CommandContext } from './command-kit.js';

/** Default `--timeout` of `--wait`, seconds. */
export const DEFAULT_WAIT_SECONDS = 300;

/** Exit code when `--wait` runs out of time (1 is kept for errors and FAILED). */
export const WAIT_TIMEOUT_EXIT = 2;

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** What is being waited for, for messages: e.g. `provider letsencrypt`. */
  label: string;
  timeoutSeconds: number;
  /** True when the wait is over. */
  done: (res: Resource) => boolean;
  /** Poll interval; default 1 s. */
  intervalMs?: number;
}

/** Polls `path` until `done`; throws a {@link CliError} (exit 2) on timeout. */
export async function waitFor(ctx: CommandContext, path: string, opts: WaitOptions): Promise<Resource> {
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const interval = opts.intervalMs ?? 1000;
  let last = '';
  for (;;) {
    const res = await ctx.client.get<Resource>(path);
    const now = `${res.metadata.state ?? '?'}: ${res.metadata.message ?? ''}`;
    if (opts.done(res)) return res;
    if (now !== last) {
      ctx.streams.err(`waiting for ${opts.label}: ${now}\n`);
      last = now;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new CliError(`gave up waiting after ${opts.timeoutSeconds} s: ${opts.label} is still ${now} (raise --timeout, or check later with "get")`, WAIT_TIMEOUT_EXIT);
    }
    await sleep(Math.min(interval, remaining));
  }
}
