/**
 * Atomic file replacement: the new content is written to a temporary file in the target's
 * directory, flushed to disk, given its mode and owner, and only then renamed over the target, so
 * a reader (nginx reloading, a crash half-way) sees the old file or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';

/** Mode and ownership of a written file. */
export interface FileAttributes {
  /** Permission bits, e.g. 0o600. Ignored on Windows (ACLs of the directory apply). */
  mode: number;
  /** Numeric owner and group (POSIX only); undefined keeps the writer's. */
  uid?: number;
  gid?: number;
}

const IS_WINDOWS = process.platform === 'win32';

/**
 * Writes `data` to a new temporary file next to `path` (same directory, so the later rename stays
 * on one file system), fsyncs it, applies `attrs`, and returns its path. The caller renames it into
 * place with {@link commitTempFile} or removes it.
 */
export async function writeTempFile(path: string, data: string | Uint8Array, attrs: FileAttributes): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.certkeeper-${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse something already there; created owner-only, widened by chmod below.
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
    if (!IS_WINDOWS) {
      await handle.chmod(attrs.mode);
      if (attrs.uid !== undefined || attrs.gid !== undefined) await handle.chown(attrs.uid ?? -1, attrs.gid ?? -1);
    }
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  return temp;
}

/** Renames `temp` over `path` and flushes the directory entry (POSIX), so the rename survives a crash. */
export async function commitTempFile(temp: string, path: string): Promise<void> {
  await rename(temp, path);
  await syncDirectory(dirname(path));
}

/** Writes `data` to `path` atomically (see {@link writeTempFile}). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, attrs: FileAttributes): Promise<void> {
  const temp = await writeTempFile(path, data, attrs);
  try {
    await commitTempFile(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** fsync of a directory, where the platform allows it (not on Windows). Best effort. */
export async function syncDirectory(dir: string): Promise<void> {
  if (IS_WINDOWS) return;
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some file systems refuse fsync on directories; the rename itself has happened.
  }
}

/**
 * Creates `dir` and its missing parents with exactly `mode` (the process umask — 0077 under the
 * suggested systemd unit — would otherwise narrow it, and a web server or service user could not
 * read what is deployed into them). Existing directories are left as they are.
 */
export async function ensureDirectory(dir: string, mode = 0o755): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode });
  if (first === undefined || IS_WINDOWS) return;
  let current = first;
  await chmod(current, mode);
  for (const part of relative(first, dir).split(sep).filter(Boolean)) {
    current = join(current, part);
    await chmod(current, mode);
  }
}
