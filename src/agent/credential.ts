/**
 * The agent's state directory and its credential: `<state-dir>/credential` (0600) holds the
 * bearer credential the server gave at enrolment; `<state-dir>/agent.json` the agent's id and name
 * (not secret). The credential is never logged.
 */
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

/** What the agent knows about itself after enrolment. */
export interface AgentIdentity {
  agentId: string;
  name: string;
  server: string;
  enrolledAt: string;
}

/** The file of the credential. */
export function credentialPath(stateDir: string): string {
  return join(stateDir, 'credential');
}

/** Creates the state directory (0700) when missing. */
export async function ensureStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
}

/**
 * The stored credential, or undefined when there is none. A credential file readable by others is
 * narrowed to 0600 (and `onWarning` told so): the credential is as good as the agent's identity.
 */
export async function readStoredCredential(stateDir: string, onWarning?: (message: string) => void): Promise<string | undefined> {
  const path = credentialPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (process.platform !== 'win32') {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      await chmod(path, 0o600);
      onWarning?.(`${path} was readable by others (mode ${(mode & 0o777).toString(8)}); changed to 0600`);
    }
  }
  const credential = text.trim();
  return credential === '' ? undefined : credential;
}

/** Stores the credential (atomically, 0600) and the agent's identity. */
export async function storeCredential(stateDir: string, credential: string, identity: AgentIdentity): Promise<void> {
  await ensureStateDir(stateDir);
  await writeFileAtomic(credentialPath(stateDir), `${credential}\n`, { mode: 0o600 });
  await writeFileAtomic(join(stateDir, 'agent.json'), `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o644 });
}
