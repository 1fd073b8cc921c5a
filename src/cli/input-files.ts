/** Files named on the command line (PEM, PKCS#12, password files), read with errors that name them. */
import { readFileSync } from 'node:fs';
import { CliError } from './cli-config.js';

function explain(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (err as Error).message;
}

/** Reads a text file; `what` names it in the error ("certificate", "private key", …). */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${explain(err)}`);
  }
}

/** Reads a binary file; `what` names it in the error. */
export function readBinaryFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CliError(`cannot read ${what} ${path}: ${explain(err)}`);
  }
}
