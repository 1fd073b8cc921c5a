/** Writes a run's full results as JSON to bench/results/ (git-ignored). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './environment.js';

/** `bench/results/<name>-<UTC timestamp>.json`, numbers rounded to 3 decimals; returns the path. */
export async function writeResults(name: string, startedAt: Date, data: unknown): Promise<string> {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const dir = join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}-${stamp}.json`);
  const round = (_key: string, value: unknown): unknown => (typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value);
  await writeFile(file, `${JSON.stringify(data, round, 2)}\n`);
  return file;
}
