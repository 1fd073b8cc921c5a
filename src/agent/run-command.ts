/**
 * Runs a deployment's reload command through the platform shell (`/bin/sh -c` on POSIX,
 * `cmd.exe /d /s /c` on Windows) with a timeout, capturing stdout and stderr together. On timeout
 * or abort the whole process tree is killed: the command runs in its own process group (POSIX) or
 * is ended with `taskkill /T` (Windows), so a stuck `systemctl` or a forked helper cannot outlive it.
 */
import { spawn, execFile } from 'node:child_process';
import { boundOutput } from '../deploy/types.js';

/** How a command ended. */
export interface CommandResult {
  /** Exit code; null when it was killed by a signal (timeout, abort). */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** stdout and stderr interleaved as they arrived, bounded (tail kept). */
  output: string;
}

/** Options of {@link runShellCommand}. */
export interface RunCommandOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Added to the inherited environment. */
  env?: Record<string, string>;
  /** Seconds between SIGTERM and SIGKILL of the process group. Default 3. */
  killGraceMs?: number;
}

/** Most output held in memory while a command runs (the tail is kept). */
const MAX_HELD_OUTPUT = 64 * 1024;

const IS_WINDOWS = process.platform === 'win32';

/** Runs `command` through the shell; never rejects for the command's own failure (see {@link CommandResult}). */
export async function runShellCommand(command: string, opts: RunCommandOptions): Promise<CommandResult> {
  const child = IS_WINDOWS
    ? spawn(process.env.ComSpec ?? 'cmd.exe', ['/d', '/s', '/c', `"${command}"`], {
      windowsVerbatimArguments: true, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env },
    })
    : spawn('/bin/sh', ['-c', command], {
      // Its own process group, so the timeout can kill everything the command started.
      detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env },
    });

  let held = '';
  let dropped = 0;
  const collect = (chunk: Buffer) => {
    held += chunk.toString('utf8');
    if (held.length > MAX_HELD_OUTPUT) {
      dropped += held.length - MAX_HELD_OUTPUT;
      held = held.slice(held.length - MAX_HELD_OUTPUT);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let timedOut = false;
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killTree = (): void => {
    if (child.pid === undefined) return;
    if (IS_WINDOWS) {
      execFile('taskkill', ['/pid', String(child.pid), '/T', '/F'], () => undefined);
      return;
    }
    const group = -child.pid;
    try {
      process.kill(group, 'SIGTERM');
    } catch {
      return; // Already gone.
    }
    killTimer = setTimeout(() => {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, opts.killGraceMs ?? 3000);
    killTimer.unref();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, opts.timeoutMs);
  const onAbort = () => {
    aborted = true;
    killTree();
  };
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('error', (err) => {
        collect(Buffer.from(`could not start the command: ${err.message}\n`));
        resolve({ code: 127, signal: null });
      });
      child.once('exit', (c, s) => {
        // A daemon the command started may hold the pipes open: wait for them a little, not forever.
        const drained = setTimeout(() => resolve({ code: c, signal: s }), 1000);
        child.once('close', () => {
          clearTimeout(drained);
          resolve({ code: c, signal: s });
        });
      });
    });
    if (timedOut || aborted) {
      // The shell has exited; anything still alive in its group goes too.
      if (!IS_WINDOWS && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Nothing left.
        }
      }
    }
    const text = dropped > 0 ? `…(${dropped} characters cut)\n${held}` : held;
    return { exitCode: code, signal, timedOut, aborted, output: boundOutput(text) };
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}

/** A one-line description of how the command failed, e.g. "exited with code 3", "timed out after 60 s". */
export function describeFailure(result: CommandResult, timeoutMs: number): string {
  if (result.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)} s`;
  if (result.aborted) return 'was interrupted (agent stopping)';
  if (result.signal) return `was killed by ${result.signal}`;
  return `exited with code ${String(result.exitCode)}`;
}
