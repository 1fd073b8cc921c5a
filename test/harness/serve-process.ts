/**
 * Runs `certkeeper serve` as a separate process, exactly as `npm start` does (bin/certkeeper.js
 * over the built dist/), so a test can kill it with SIGKILL and start it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(import.meta.dirname, '..', '..');
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** A server process. */
export interface ServeProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<void>;
}

/** Starts `certkeeper serve` with `env` and waits until `/healthz` answers at `apiUrl`. */
export async function startServeProcess(env: Record<string, string>, apiUrl: string, args: string[] = []): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(root, 'bin', 'certkeeper.js'), 'serve', ...args], {
    cwd: root,
    env: { ...process.env, CERTKEEPER_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    children.delete(child);
    resolve();
  }));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`certkeeper serve exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${apiUrl}/healthz`);
      if (res.ok) break;
    } catch { /* not up yet */ }
    if (i > 300) throw new Error(`certkeeper serve did not come up at ${apiUrl}:\n${out}`);
    await sleep(50);
  }
  return {
    child,
    output: () => out,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
