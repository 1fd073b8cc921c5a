// Test helpers that make keys, certificates and chains with the openssl CLI, so that what
// src/pki reads is produced by an independent implementation.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A scratch directory under the OS temp dir; `remove()` deletes it. */
export function scratchDir(): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'certkeeper-pki-'));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs openssl in `cwd` and returns stdout; throws with stderr on failure. */
export function openssl(cwd: string, args: string[], input?: string | Buffer): string {
  return opensslOutput(cwd, args, input).stdout;
}

/** Runs openssl in `cwd` and returns stdout and stderr (where `-info` writes); throws on failure. */
export function opensslOutput(cwd: string, args: string[], input?: string | Buffer): { stdout: string; stderr: string } {
  const r = spawnSync('openssl', args, { cwd, input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Key types the fixture can make, as openssl -newkey arguments. */
export type FixtureKey = 'rsa2048' | 'ec256' | 'ec384';

function newKeyArgs(key: FixtureKey): string[] {
  switch (key) {
    case 'rsa2048': return ['-newkey', 'rsa:2048'];
    case 'ec256': return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    case 'ec384': return ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'];
  }
}

/** A root → intermediate → leaf hierarchy made by openssl, as PEM texts and file names in `dir`. */
export interface OpensslPki {
  dir: string;
  rootPem: string;
  intermediatePem: string;
  leafPem: string;
  leafKeyPem: string;
  /** File names (in dir) of the same objects. */
  files: { root: string; rootKey: string; intermediate: string; intermediateKey: string; leaf: string; leafKey: string };
}

const CA_EXT = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n';

/**
 * Makes a CA hierarchy in `dir` with openssl. `prefix` keeps several hierarchies apart in one
 * directory; `names` go into the leaf's subjectAltName (`DNS:` / `IP:` entries).
 */
export function makeOpensslPki(dir: string, opts: { prefix?: string; leafKey?: FixtureKey; caKey?: FixtureKey; names?: string[]; leafSerial?: string } = {}): OpensslPki {
  const p = opts.prefix ?? 'pki';
  const caKey = opts.caKey ?? 'ec256';
  const names = opts.names ?? ['DNS:leaf.example.com', 'DNS:www.leaf.example.com'];
  const files = {
    root: `${p}-root.pem`, rootKey: `${p}-root.key`,
    intermediate: `${p}-int.pem`, intermediateKey: `${p}-int.key`,
    leaf: `${p}-leaf.pem`, leafKey: `${p}-leaf.key`,
  };
  writeFileSync(join(dir, `${p}-ca.ext`), CA_EXT);
  writeFileSync(join(dir, `${p}-leaf.ext`),
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.join(',')}\nauthorityKeyIdentifier=keyid\n`);
  openssl(dir, ['req', '-x509', ...newKeyArgs(caKey), '-nodes', '-keyout', files.rootKey, '-out', files.root,
    '-subj', `/C=DE/O=Certkeeper Tests/CN=${p} Root`, '-days', '30',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  openssl(dir, ['req', '-new', ...newKeyArgs(caKey), '-nodes', '-keyout', files.intermediateKey, '-out', `${p}-int.csr`,
    '-subj', `/C=DE/O=Certkeeper Tests/CN=${p} Intermediate`]);
  openssl(dir, ['x509', '-req', '-in', `${p}-int.csr`, '-CA', files.root, '-CAkey', files.rootKey, '-set_serial', '0x1001',
    '-days', '30', '-extfile', `${p}-ca.ext`, '-out', files.intermediate]);
  openssl(dir, ['req', '-new', ...newKeyArgs(opts.leafKey ?? 'ec256'), '-nodes', '-keyout', files.leafKey, '-out', `${p}-leaf.csr`,
    '-subj', `/CN=${(names[0] ?? 'DNS:leaf').replace(/^[A-Z]+:/, '')}`]);
  openssl(dir, ['x509', '-req', '-in', `${p}-leaf.csr`, '-CA', files.intermediate, '-CAkey', files.intermediateKey,
    '-set_serial', opts.leafSerial ?? '0x8f1a2b3c4d5e6f7081', '-days', '20', '-extfile', `${p}-leaf.ext`, '-out', files.leaf]);
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    rootPem: read(files.root),
    intermediatePem: read(files.intermediate),
    leafPem: read(files.leaf),
    leafKeyPem: read(files.leafKey),
    files,
  };
}
