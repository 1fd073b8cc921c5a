/** What a benchmark ran on and with: the build step, package versions, machine facts. */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { log } from './interrupts.js';

/** The repository root. */
export const ROOT = join(import.meta.dirname, '..', '..');

/** Runs `node scripts/ensure-built.mjs` (the server under test runs from dist/). */
export async function ensureBuilt(signal: AbortSignal): Promise<void> {
  log('bench: node scripts/ensure-built.mjs …');
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'ensure-built.mjs')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  signal.throwIfAborted();
  if (code !== 0) throw new Error(`scripts/ensure-built.mjs failed (exit ${code}); if someone's src/ change is half-done, retry in a few minutes`);
}

/** The installed version of a Debian package, or "not installed". */
export function packageVersion(pkg: string): string {
  try {
    const v = execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return v || 'not installed';
  } catch {
    return 'not installed';
  }
}

/** The machine and software a run measured on. */
export interface MachineFacts {
  cpuModel: string;
  cpus: number;
  memoryGiB: number;
  kernel: string;
  os: string;
  node: string;
}

/** CPU model, logical CPUs, RAM, kernel, distribution and Node version of this machine. */
export function machineFacts(): MachineFacts {
  let os = 'unknown';
  try {
    os = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch { /* no os-release */ }
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    os,
    node: process.version,
  };
}
