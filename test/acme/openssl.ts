// openssl CLI helpers for the ACME tests: CSRs made independently of our own code, and chain checks.
import { execFile } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

let counter = 0;

/** A P-256 key and a DER CSR for `names` (first is the CN), made by `openssl req` in `dir`. */
export async function opensslCsr(dir: string, names: string[]): Promise<{ csrDer: Buffer; key: KeyObject; keyPem: string }> {
  const n = ++counter;
  const keyFile = join(dir, `csr-${n}.key`);
  const csrFile = join(dir, `csr-${n}.der`);
  await execFileAsync('openssl', [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-subj', `/CN=${names[0] ?? 'example'}`,
    '-addext', `subjectAltName=${names.map((x) => `DNS:${x}`).join(',')}`,
    '-outform', 'DER', '-out', csrFile,
  ]);
  const keyPem = await readFile(keyFile, 'utf8');
  return { csrDer: await readFile(csrFile), key: createPrivateKey(keyPem), keyPem };
}

/** The PEM certificate blocks of a chain, in order. */
export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((b) => `${b}\n`) ?? [];
}

/** Runs `openssl verify` of the chain's leaf against `rootPem`, the rest of the chain untrusted. */
export async function opensslVerify(dir: string, chainPem: string, rootPem: string): Promise<string> {
  const n = ++counter;
  const [leaf, ...rest] = pemBlocks(chainPem);
  if (!leaf) throw new Error('empty chain');
  const leafFile = join(dir, `verify-${n}-leaf.pem`);
  const restFile = join(dir, `verify-${n}-untrusted.pem`);
  const rootFile = join(dir, `verify-${n}-root.pem`);
  await writeFile(leafFile, leaf);
  await writeFile(restFile, rest.join(''));
  await writeFile(rootFile, rootPem);
  const args = ['verify', '-CAfile', rootFile];
  if (rest.length > 0) args.push('-untrusted', restFile);
  args.push(leafFile);
  const { stdout } = await execFileAsync('openssl', args);
  return stdout;
}

/** `openssl x509 -noout -ext subjectAltName` output for a PEM certificate. */
export async function opensslSan(dir: string, certPem: string): Promise<string> {
  const file = join(dir, `san-${++counter}.pem`);
  await writeFile(file, certPem);
  const { stdout } = await execFileAsync('openssl', ['x509', '-in', file, '-noout', '-ext', 'subjectAltName']);
  return stdout;
}
