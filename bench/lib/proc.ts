/** Process measurements on Linux: peak RSS from /proc, CPU ticks, and timed child runs. */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/** `VmHWM` (peak resident set) and `VmRSS` of a live process, in KiB; undefined once it is gone. */
export function memoryKiB(pid: number): { hwm: number; rss: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { hwm: field('VmHWM'), rss: field('VmRSS') };
}

let clockTicks: number | undefined;
/** User + system CPU time of a live process so far, in milliseconds. */
export function cpuMs(pid: number): number {
  clockTicks ??= (() => {
    try {
      return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      return 100;
    }
  })();
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name start with field 3 (state); utime is 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / clockTicks;
}

/** GNU time, for peak RSS and CPU of a short-lived child; absent when the `time` package is not installed. */
export const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Outcome of {@link runMeasured}. */
export interface MeasuredRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Wall time from spawn to exit, as seen by this process. */
  wallMs: number;
  /** Peak resident set of the measured program (GNU time, or the last /proc sample). */
  peakRssKiB: number | undefined;
  /** User + system CPU (GNU time only). */
  cpuMs: number | undefined;
  output: string;
}

/** The currently running measured children, so an interrupt can kill them. */
export const runningGroups = new Set<ChildProcess>();

/** Kills a child started by {@link runMeasured} together with its process group (its own PID). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/**
 * Runs `cmd args` in its own process group under GNU time (when installed), and measures it.
 * Without GNU time the peak RSS is the last `VmHWM` read from /proc while it ran (every 10 ms).
 * Killed (whole group) when `timeoutMs` passes or `signal` aborts.
 */
export async function runMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, signal: AbortSignal): Promise<MeasuredRun> {
  signal.throwIfAborted();
  const timeFile = join(tmpdir(), `certkeeper-bench-time-${randomBytes(6).toString('hex')}.txt`);
  const [file, argv] = GNU_TIME ? [GNU_TIME, ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args];
  const started = performance.now();
  const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  runningGroups.add(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString('utf8')));
  let sampledHwm: number | undefined;
  const sampler = GNU_TIME ? undefined : setInterval(() => {
    const m = child.pid === undefined ? undefined : memoryKiB(child.pid);
    if (m && !Number.isNaN(m.hwm)) sampledHwm = Math.max(sampledHwm ?? 0, m.hwm);
  }, 10);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, timeoutMs);
  const onAbort = (): void => killGroup(child);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { code, sig } = await new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve({ code: c, sig: s }));
    });
    const wallMs = performance.now() - started;
    signal.throwIfAborted();
    if (timedOut) throw new Error(`${cmd} did not finish within ${timeoutMs / 1000} s:\n${output.slice(-2000)}`);
    let peakRssKiB = sampledHwm;
    let cpu: number | undefined;
    if (GNU_TIME) {
      const t = await readFile(timeFile, 'utf8').catch(() => '');
      const num = (re: RegExp): number | undefined => {
        const m = re.exec(t);
        return m ? Number(m[1]) : undefined;
      };
      peakRssKiB = num(/Maximum resident set size \(kbytes\): (\d+)/);
      const user = num(/User time \(seconds\): ([\d.]+)/);
      const sys = num(/System time \(seconds\): ([\d.]+)/);
      cpu = user !== undefined && sys !== undefined ? (user + sys) * 1000 : undefined;
      // GNU time reports the program's own exit status ("Command exited with non-zero status N").
    }
    return { exitCode: code, signal: sig, wallMs, peakRssKiB, cpuMs: cpu, output };
  } finally {
    clearTimeout(timer);
    if (sampler) clearInterval(sampler);
    signal.removeEventListener('abort', onAbort);
    killGroup(child);
    runningGroups.delete(child);
    await rm(timeFile, { force: true });
  }
}
