/** A throw-away root and a leaf valid for a chosen number of days, made with the OpenSSL CLI. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM texts of the leaf, its key and the root that issued it. */
export interface ShortLivedChain {
  leafPem: string;
  leafKeyPem: string;
  rootPem: string;
}

/** A leaf for `cn` valid from now for `days` days, issued by a fresh root. */
export function makeShortLivedChain(cn: string, days: number): ShortLivedChain {
  const dir = mkdtempSync(join(tmpdir(), 'ck-notify-ca-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    for (const k of ['root.key', 'leaf.key']) run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', k]);
    run(['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=certkeeper notify test root', '-days', '3650', '-out', 'root.pem',
      '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    writeFileSync(join(dir, 'leaf.ext'), `basicConstraints=CA:false\nsubjectAltName=DNS:${cn}\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n`);
    run(['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${cn}`, '-out', 'leaf.csr']);
    run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', String(days), '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    return { leafPem: read('leaf.pem'), leafKeyPem: read('leaf.key'), rootPem: read('root.pem') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
