/**
 * The material of a deployment as files in a fresh private directory, for a local command to read:
 * the directory is 0700, the key file 0600, and the whole directory is removed afterwards.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployMaterial } from '../../types.js';

/** Paths of the written files; `key` only when the material holds the key. */
export interface MaterialFiles {
  dir: string;
  certificate: string;
  chain: string;
  fullchain: string;
  key?: string;
}

/** Writes `material` to a new private temporary directory. Remove it with {@link removeMaterialFiles}. */
export async function writeMaterialFiles(material: DeployMaterial): Promise<MaterialFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-deploy-'));
  try {
    // mkdtemp already creates 0700 on POSIX; say so explicitly rather than rely on it.
    await chmod(dir, 0o700);
    const files: MaterialFiles = {
      dir,
      certificate: join(dir, 'cert.pem'),
      chain: join(dir, 'chain.pem'),
      fullchain: join(dir, 'fullchain.pem'),
    };
    // `wx`: the names are fresh; never follow something planted in between.
    await writeFile(files.certificate, material.certificatePem, { mode: 0o644, flag: 'wx' });
    await writeFile(files.chain, material.chainPem, { mode: 0o644, flag: 'wx' });
    await writeFile(files.fullchain, material.fullchainPem, { mode: 0o644, flag: 'wx' });
    if (material.privateKeyPem) {
      files.key = join(dir, 'key.pem');
      await writeFile(files.key, material.privateKeyPem, { mode: 0o600, flag: 'wx' });
    }
    return files;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Removes the directory and everything in it (also what the command left there). */
export async function removeMaterialFiles(files: MaterialFiles): Promise<void> {
  await rm(files.dir, { recursive: true, force: true, maxRetries: 3 });
}
