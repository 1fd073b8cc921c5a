/**
 * Writing exported certificates to disk. Files appear atomically (temp file + rename) with their
 * final mode from the first byte: private keys and PKCS#12 files 0600, the rest 0644.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CliError } from './cli-config.js';

/** Mode of files that hold a private key. */
export const SECRET_MODE = 0o600;
/** Mode of files that hold only public certificates. */
export const PUBLIC_MODE = 0o644;

/** The PEM export as the API returns it. */
export interface PemExport {
  certificate: string;
  certificateChain: string;
  fullchain: string;
  privateKey?: string;
}

/** True when `out` names a directory: it ends with a slash or is an existing directory. */
export function isDirectoryTarget(out: string): boolean {
  if (/[/\\]$/.test(out)) return true;
  try {
    return statSync(out).isDirectory();
  } catch {
    return false;
  }
}

/** Writes `data` to `path` atomically with `mode`, replacing what was there. */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file was never created or is already renamed
    }
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

/** Creates `dir` (and parents) when missing; a new directory is private to the user. */
export function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CliError(`cannot create directory ${dir}: ${(err as Error).message}`);
  }
}

/**
 * Writes a PEM export into `dir` the way certbot lays out a live directory: `cert.pem`,
 * `chain.pem`, `fullchain.pem` and, when the key is included, `privkey.pem` (0600).
 */
export function writePemDirectory(dir: string, pem: PemExport): string[] {
  ensureDirectory(dir);
  const files: Array<[string, string, number]> = [
    ['cert.pem', pem.certificate, PUBLIC_MODE],
    ['chain.pem', pem.certificateChain, PUBLIC_MODE],
    ['fullchain.pem', pem.fullchain, PUBLIC_MODE],
  ];
  if (pem.privateKey) files.push(['privkey.pem', pem.privateKey, SECRET_MODE]);
  return files.map(([name, text, mode]) => {
    const file = join(dir, name);
    writeFileAtomic(file, text, mode);
    return file;
  });
}

/** Writes the full chain and, when included, the key into one file. */
export function writePemFile(file: string, pem: PemExport): string {
  ensureDirectory(dirname(file));
  writeFileAtomic(file, pem.fullchain + (pem.privateKey ?? ''), pem.privateKey ? SECRET_MODE : PUBLIC_MODE);
  return file;
}
