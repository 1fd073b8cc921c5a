/**
 * Owner and group of deployed files: numeric ids as given, names resolved through the system's
 * user database (`id -u NAME`, `getent group NAME`; `dscl` on macOS, which has no getent).
 */
import { execFile } from 'node:child_process';

/** Resolved numeric ids; undefined where nothing was asked. */
export interface FileOwner {
  uid?: number;
  gid?: number;
}

/** A user or group name as POSIX tools accept it (never an option, never a path). */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*\$?$/;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : undefined;
}

/** The uid of `user` (a name or a number). Throws an Error naming the user when unknown. */
export async function resolveUser(user: string): Promise<number> {
  const numeric = parseId(user);
  if (numeric !== undefined) return numeric;
  if (!NAME.test(user)) throw new Error(`owner "${user}" is not a valid user name or id`);
  try {
    const uid = parseId(await run('id', ['-u', user]));
    if (uid !== undefined) return uid;
  } catch {
    // Falls through to the error below.
  }
  throw new Error(`owner "${user}": no such user on this system`);
}

/** The gid of `group` (a name or a number). Throws an Error naming the group when unknown. */
export async function resolveGroup(group: string): Promise<number> {
  const numeric = parseId(group);
  if (numeric !== undefined) return numeric;
  if (!NAME.test(group)) throw new Error(`group "${group}" is not a valid group name or id`);
  try {
    if (process.platform === 'darwin') {
      // "PrimaryGroupID: 20"
      const out = await run('dscl', ['.', '-read', `/Groups/${group}`, 'PrimaryGroupID']);
      const gid = parseId(/PrimaryGroupID:\s*(\d+)/.exec(out)?.[1]);
      if (gid !== undefined) return gid;
    } else {
      // "name:x:gid:members"
      const out = await run('getent', ['group', group]);
      const gid = parseId(out.split('\n')[0]?.split(':')[2]);
      if (gid !== undefined) return gid;
    }
  } catch {
    // Falls through to the error below.
  }
  throw new Error(`group "${group}": no such group on this system`);
}

/** Resolves `owner`/`group` settings (POSIX only; on Windows they are refused). */
export async function resolveFileOwner(owner: string | undefined, group: string | undefined): Promise<FileOwner> {
  if (owner === undefined && group === undefined) return {};
  if (process.platform === 'win32') throw new Error('owner and group are POSIX settings; on Windows set the ACLs of the directory instead');
  const out: FileOwner = {};
  if (owner !== undefined && owner !== '') out.uid = await resolveUser(owner);
  if (group !== undefined && group !== '') out.gid = await resolveGroup(group);
  return out;
}
