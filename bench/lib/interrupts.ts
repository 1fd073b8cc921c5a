/**
 * One benchmark run's abort signal, Ctrl-C handling and undo stack: the first SIGINT/SIGTERM kills
 * the running measured children, aborts every wait and lets `finally` undo what was started; a
 * second one exits at once (the harnesses' exit hooks still SIGKILL Pebble, BIND and the server).
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { killGroup, runningGroups } from './proc.js';
import { fmt } from './report.js';

const abort = new AbortController();
/** Aborted on the first SIGINT/SIGTERM; every wait of the benchmark takes it. */
export const signal: AbortSignal = abort.signal;
// Every request and wait in flight listens to it (hundreds at once in the throughput figures).
setMaxListeners(0, signal);

/** One line of progress on stderr (stdout carries the report only). */
export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

let interrupts = 0;
function onSignal(sig: NodeJS.Signals): void {
  interrupts++;
  if (interrupts > 1) {
    console.error(`\n${sig} again: exiting now`);
    process.exit(130);
  }
  console.error(`\n${sig}: stopping the benchmark and everything it started …`);
  for (const child of runningGroups) killGroup(child);
  abort.abort(new Error(`interrupted by ${sig}`));
}

/** Installs the SIGINT/SIGTERM handlers; returns their removal. */
export function handleInterrupts(): () => void {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

const cleanups: { what: string; run: () => Promise<void> }[] = [];

/** Registers an undo step; {@link cleanupAll} runs them in reverse order. */
export function onCleanup(what: string, run: () => Promise<void>): void {
  cleanups.push({ what, run });
}

/** Runs (and forgets) every undo step, newest first; a failing step is reported, not thrown. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const c = cleanups.pop()!;
    const t0 = performance.now();
    try {
      await c.run();
      if (signal.aborted) log(`stopped/removed: ${c.what} (${fmt((performance.now() - t0) / 1000, 1)} s)`);
    } catch (err) {
      console.error(`cleanup (${c.what}) failed: ${String(err)}`);
    }
  }
}

/**
 * Runs `main` with the handlers installed and everything undone afterwards; sets the exit code
 * (130 when interrupted, 1 on an error).
 */
export async function runBenchmark(main: () => Promise<void>): Promise<void> {
  const uninstall = handleInterrupts();
  try {
    await main();
  } catch (err) {
    if (signal.aborted) console.error(String(signal.reason instanceof Error ? signal.reason.message : signal.reason));
    else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = signal.aborted ? 130 : 1;
  } finally {
    await cleanupAll();
    uninstall();
  }
}
