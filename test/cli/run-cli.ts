// Runs the `certkeeper` CLI as a child process (src/cli/run.ts through tsx), as a user runs it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN = join(ROOT, 'src', 'cli', 'run.ts');
/** Each run loads the whole program through tsx: allow for a loaded machine. */
const CLI_TIMEOUT_MS = 120_000;

/** What one run printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A runner with a base environment; `undefined` in `env` removes a variable. */
export type Cli = (args: string[], env?: Record<string, string | undefined>) => Promise<CliResult>;

/**
 * A runner whose children see only PATH, `base` and the per-run `env`: no CERTKEEPER_* variable
 * of the surrounding environment leaks in.
 */
export function cliRunner(base: () => Record<string, string>): Cli {
  return (args, env = {}) => {
    const merged: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...base() };
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete merged[k];
      else merged[k] = v;
    }
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', RUN, ...args], { cwd: ROOT, env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), CLI_TIMEOUT_MS);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  };
}

/** Runs and asserts exit code 0; returns stdout. */
export async function expectOk(cli: Cli, args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  const r = await cli(args, env);
  assert.equal(r.code, 0, `certkeeper ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}
