/** Makes throw-away certificates with the OpenSSL CLI: a root, an intermediate, leaves. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM texts of a root → intermediate → leaf chain. */
export interface TestChain {
  dir: string;
  rootPem: string;
  intermediatePem: string;
  leafPem: string;
  leafKeyPem: string;
  otherKeyPem: string;
}

const run = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** Creates a chain for `cn` (plus `sans`); `days` may be negative for an expired leaf. */
export function makeChain(cn: string, sans: string[] = [], opts: { expired?: boolean; keyType?: 'ec' | 'rsa' } = {}): TestChain {
  const dir = mkdtempSync(join(tmpdir(), 'ck-ca-'));
  const key = (name: string) => run(dir, opts.keyType === 'rsa'
    ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', name]
    : ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);
  key('root.key');
  key('int.key');
  key('leaf.key');
  key('other.key');
  run(dir, ['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=certkeeper test root', '-days', '3650', '-out', 'root.pem',
    '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  run(dir, ['req', '-new', '-key', 'int.key', '-subj', '/CN=certkeeper test intermediate', '-out', 'int.csr']);
  run(dir, ['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '3650', '-extfile', 'ca.ext', '-out', 'int.pem']);
  const names = [cn, ...sans].map((n) => `DNS:${n}`).join(',');
  writeFileSync(join(dir, 'leaf.ext'), `basicConstraints=CA:false\nsubjectAltName=${names}\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n`);
  run(dir, ['req', '-new', '-key', 'leaf.key', '-subj', `/CN=${cn}`, '-out', 'leaf.csr']);
  if (opts.expired) {
    // OpenSSL 3.0's x509 cannot back-date; `openssl ca` can, with explicit dates.
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(join(dir, 'ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nserial=serial\nnew_certs_dir=.\ndefault_md=sha256\npolicy=p\nunique_subject=no\ncopy_extensions=none\n[p]\ncommonName=supplied\n`);
    run(dir, ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'int.pem', '-keyfile', 'int.key', '-in', 'leaf.csr', '-startdate', '20200101000000Z', '-enddate', '20200301000000Z', '-extfile', 'leaf.ext', '-notext', '-out', 'leaf.pem']);
  } else {
    run(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-days', '90', '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
  }
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { dir, rootPem: read('root.pem'), intermediatePem: read('int.pem'), leafPem: read('leaf.pem'), leafKeyPem: read('leaf.key'), otherKeyPem: read('other.key') };
}

/** A PKCS#12 of the chain's leaf, key and chain (`legacy` uses RC2/3DES as old Windows exports do). */
export function makePkcs12(chain: TestChain, password: string, legacy = false): Buffer {
  writeFileSync(join(chain.dir, 'bundle.pem'), chain.intermediatePem + chain.rootPem);
  run(chain.dir, ['pkcs12', '-export', ...(legacy ? ['-legacy'] : []), '-inkey', 'leaf.key', '-in', 'leaf.pem', '-certfile', 'bundle.pem', '-passout', `pass:${password}`, '-out', 'out.p12']);
  return readFileSync(join(chain.dir, 'out.p12'));
}
