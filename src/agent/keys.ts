/**
 * Keys generated on the agent (keys that never leave the server they protect): the agent makes the
 * key, keeps it as PKCS#8 PEM in `<state-dir>/keys/<keyId>.pem` (0600), and answers with a CSR
 * signed by it. Later deployments name the key in `material.agentKeyId`.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCsr } from '../pki/csr.js';
import { generatePrivateKey, keyAlgorithmOf, parsePrivateKey, privateKeyToPem } from '../pki/keys.js';
import { normalizeNames } from '../pki/names.js';
import { encodePem } from '../pki/pem.js';
import type { AgentCsrWork } from '../deploy/types.js';
import { writeFileAtomic } from './atomic-file.js';

/** A key id usable as a file name on every platform: no separators, no leading dot. */
const KEY_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** The directory of the agent's keys. */
export function keysDirectory(stateDir: string): string {
  return join(stateDir, 'keys');
}

/** The file of key `keyId`; throws when the id could name anything but a file in the keys directory. */
export function agentKeyPath(stateDir: string, keyId: string): string {
  if (!KEY_ID.test(keyId)) throw new Error(`key id "${keyId.slice(0, 80)}" is not a valid key id`);
  return join(keysDirectory(stateDir), `${keyId}.pem`);
}

/** The PEM of key `keyId`, or undefined when the agent keeps no such key. */
export async function loadAgentKey(stateDir: string, keyId: string): Promise<string | undefined> {
  try {
    return await readFile(agentKeyPath(stateDir, keyId), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Generates (or, when asked again for the same id, reuses) the key of `work` and returns the CSR
 * PEM: the common name as subject CN and first subjectAltName, then the other names. The key is
 * stored before the CSR is returned, so a CSR the server receives always has its key on disk.
 */
export async function createAgentCsr(stateDir: string, work: AgentCsrWork): Promise<string> {
  const { names, errors } = normalizeNames([work.commonName, ...work.names], { allowIpAddresses: true });
  if (errors.length > 0) throw new Error(`CSR ${work.id}: ${errors.map((e) => `${e.name}: ${e.reason}`).join('; ')}`);
  const path = agentKeyPath(stateDir, work.keyId);
  const existing = await loadAgentKey(stateDir, work.keyId);
  let key;
  if (existing !== undefined) {
    // A retry of a request whose answer was lost: the same key, so a CSR already sent stays valid.
    key = parsePrivateKey(existing);
    const alg = keyAlgorithmOf(key);
    if (alg !== work.keyAlgorithm) {
      throw new Error(`CSR ${work.id}: key ${work.keyId} already exists as ${alg ?? 'another algorithm'}, not ${work.keyAlgorithm}; it is left untouched`);
    }
  } else {
    key = await generatePrivateKey(work.keyAlgorithm);
    await mkdir(keysDirectory(stateDir), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, privateKeyToPem(key), { mode: 0o600 });
  }
  return encodePem(await createCsr(names, key), 'CERTIFICATE REQUEST');
}
