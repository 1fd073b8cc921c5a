/** Loads the master key from configuration, or generates one into the data dir (mode 0600). */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Returns the master key and whether it was just generated. */
export function loadOrCreateMasterKey(configured: Buffer | null, dataDir: string): { key: Buffer; generatedAt: string | null } {
  if (configured) return { key: configured, generatedAt: null };
  const file = join(dataDir, 'master.key');
  if (existsSync(file)) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) chmodSync(file, 0o600);
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold the base64 of 32 bytes; restore it from backup or set CERTKEEPER_MASTER_KEY`);
    return { key, generatedAt: null };
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, generatedAt: file };
}
