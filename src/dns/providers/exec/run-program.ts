/**
 * Runs a hook program bounded in time: no shell, no stdin, its own process group, and the whole
 * group killed on timeout or abort. Used by the `exec` and `acmesh` providers.
 *
 * `spawn` rather than `execFile`: both run the file directly (no shell, so no word splitting,
 * globbing or `$(…)` in arguments), but only `spawn` documents `detached` (a new process group,
 * so a timeout also reaches the program's own children) and `stdio: 'ignore'` for stdin, and it
 * lets us keep a bounded tail of the output instead of execFile's maxBuffer, which kills the child.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** What {@link runProgram} runs. */
export interface RunProgramOptions {
  /** The executable, run directly (never through a shell). */
  command: string;
  args: readonly string[];
  /** The complete environment of the program (nothing is inherited). */
  env: Record<string, string>;
  cwd?: string;
  /** Wall-clock limit; the process group is killed when it passes. */
  timeoutMs: number;
  /** Aborting kills the process group; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Time between SIGTERM and SIGKILL to the group. Default 2 s. */
  killGraceMs?: number;
  /** How many bytes of the end of stdout and of stderr are kept. Default 64 KiB. */
  maxOutputBytes?: number;
}

/** How a program ended (it ran; a failure to start rejects instead). */
export interface ProgramOutcome {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, if any. */
  signal: NodeJS.Signals | null;
  /** True when the time limit passed and certkeeper killed the process group. */
  timedOut: boolean;
  /** The end of stdout (at most `maxOutputBytes`, UTF-8 decoded). */
  stdout: string;
  /** The end of stderr (at most `maxOutputBytes`, UTF-8 decoded). */
  stderr: string;
  durationMs: number;
}

/** Keeps the last `cap` bytes written to it. */
class TailBuffer {
  #chunks: Buffer[] = [];
  #size = 0;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#chunks.length > 1 && this.#size - (this.#chunks[0]?.length ?? 0) >= this.cap) {
      this.#size -= this.#chunks.shift()?.length ?? 0;
    }
  }
  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.cap)).toString('utf8');
  }
}

/** After the program exits, how long its pipes may stay open (held by a child it left behind). */
const DRAIN_MS = 1000;

/**
 * Runs `command args…` and resolves with how it ended, whatever the exit code. Rejects when the
 * program cannot be started (the spawn error, e.g. ENOENT, EACCES) or with `signal.reason` when
 * aborted — in both the timeout and the abort case only after the program has exited.
 */
export function runProgram(opts: RunProgramOptions): Promise<ProgramOutcome> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const cap = opts.maxOutputBytes ?? 64 * 1024;
  const grace = opts.killGraceMs ?? 2000;
  const started = Date.now();

  return new Promise<ProgramOutcome>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(opts.command, [...opts.args], {
        cwd: opts.cwd,
        env: opts.env,
        shell: false,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      reject(err);
      return;
    }
    const stdout = new TailBuffer(cap);
    const stderr = new TailBuffer(cap);
    child.stdout?.on('data', (c: Buffer) => stdout.push(c));
    child.stderr?.on('data', (c: Buffer) => stderr.push(c));

    let stopping: 'timeout' | 'abort' | undefined;
    let exited = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig); // the negative pid addresses the whole process group
      } catch {
        // ESRCH: the group is gone already.
      }
    };
    const stop = (why: 'timeout' | 'abort') => {
      if (stopping || exited) return;
      stopping = why;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), grace);
    };
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const onAbort = () => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });

    const cleanup = () => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      signal?.removeEventListener('abort', onAbort);
    };

    child.once('error', (err) => {
      // Spawning failed (no 'exit' follows), or the pipes broke.
      if (settled || exited) return;
      settled = true;
      cleanup();
      reject(err);
    });

    child.once('exit', (code, sig) => {
      exited = true;
      if (settled) return;
      // When we stopped the program, nothing of its group may outlive it.
      if (stopping) killGroup('SIGKILL');
      const settle = () => {
        if (settled) return;
        settled = true;
        cleanup();
        if (stopping === 'abort') {
          reject(signal?.reason);
          return;
        }
        resolve({ code, signal: sig, timedOut: stopping === 'timeout', stdout: stdout.text(), stderr: stderr.text(), durationMs: Date.now() - started });
      };
      // A child the program left behind may hold the pipes open: read what is there, then go.
      drainTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle();
      }, DRAIN_MS);
      child.once('close', settle);
    });
  });
}

/** sysexits.h EX_TEMPFAIL: the program says "try again later". */
export const EX_TEMPFAIL = 75;

/** The last `max` characters of `text`, trimmed, or `empty` when there were none. */
export function outputTail(text: string, max = 500, empty = '(nothing on stderr)'): string {
  const t = text.trim();
  if (!t) return empty;
  return t.length > max ? `…${t.slice(t.length - max)}` : t;
}

/** Why a run failed, in words ("exited with code 2"), or undefined when it succeeded. */
export function failureOf(outcome: ProgramOutcome, timeoutMs: number): string | undefined {
  if (outcome.timedOut) return `did not finish within ${timeoutMs / 1000} s and was killed`;
  if (outcome.signal) return `was ended by ${outcome.signal}`;
  if (outcome.code !== 0) return `exited with code ${outcome.code}`;
  return undefined;
}

/** Words for an error that kept a program from starting (ENOENT, EACCES, …). */
export function spawnProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'not found (or its #! interpreter is missing)';
  if (code === 'EACCES') return 'not executable (permission denied)';
  return code ?? (err instanceof Error ? err.message : String(err));
}
