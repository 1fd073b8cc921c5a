/**
 * Replacing a set of files on a server over SFTP so that each destination always holds either the
 * old or the new content, and the old can be put back:
 *
 * 1. stage: every new content goes to `<path>.certkeeper-tmp-<random>` with its final mode;
 * 2. commit: per file, the current one is kept as `<path>.certkeeper-bak` (a hard link where the
 *    server allows, else a copy with the same mode), then the staged file is renamed over it;
 * 3. after the reload succeeded: {@link RemoteFileSet.discardBackups}; after it failed:
 *    {@link RemoteFileSet.rollback} puts the backups back (and removes files that were new).
 *
 * A destination that is a symbolic link is followed: the file it points to is replaced, so
 * layouts like certbot's `live/` → `archive/` keep their links.
 */
import { randomBytes } from 'node:crypto';
import type { SshSession } from './ssh-session.js';

/** One file to put in place. */
export interface RemoteFile {
  /** The setting it comes from, e.g. `keyPath` (for messages). */
  setting: string;
  path: string;
  content: string;
  mode: number;
}

/** Suffix of the previous file while a deployment is in progress. */
export const BACKUP_SUFFIX = '.certkeeper-bak';
/** Infix of a staged new file. */
export const STAGING_INFIX = '.certkeeper-tmp-';

interface FileState {
  file: RemoteFile;
  /** The path actually written (symbolic links resolved). */
  dest: string;
  staged?: string;
  /** The previous file was kept at `dest + BACKUP_SUFFIX`. */
  backedUp: boolean;
  /** There was no file before: a rollback removes the new one. */
  wasAbsent: boolean;
  committed: boolean;
}

/** The files of one deployment on one connection. */
export class RemoteFileSet {
  readonly #session: SshSession;
  readonly #states: FileState[];

  constructor(session: SshSession, files: RemoteFile[]) {
    this.#session = session;
    this.#states = files.map((file) => ({ file, dest: file.path, backedUp: false, wasAbsent: false, committed: false }));
  }

  /** Uploads every file next to its destination. Nothing visible changes yet. */
  async stage(): Promise<void> {
    for (const s of this.#states) {
      const link = await this.#session.stat(s.file.path, false);
      if (link && (link.mode & 0o170000) === 0o120000) s.dest = await this.#session.realpath(s.file.path);
      const staged = `${s.dest}${STAGING_INFIX}${randomBytes(6).toString('hex')}`;
      s.staged = staged;
      await this.#session.writeNewFile(staged, s.file.content, s.file.mode);
    }
  }

  /** Keeps each current file as a backup and renames the staged one over it. */
  async commit(): Promise<void> {
    for (const s of this.#states) {
      const bak = `${s.dest}${BACKUP_SUFFIX}`;
      await this.#session.unlinkIfPresent(bak);
      const current = await this.#session.stat(s.dest);
      if (current) {
        if (!(await this.#session.hardlink(s.dest, bak))) {
          const old = await this.#session.readFile(s.dest);
          await this.#session.writeNewFile(bak, old, current.mode & 0o7777);
        }
        s.backedUp = true;
      } else {
        s.wasAbsent = true;
      }
      await this.#session.replace(s.staged!, s.dest);
      s.staged = undefined;
      s.committed = true;
    }
  }

  /** Puts the previous files back (new ones are removed) and removes what is still staged. */
  async rollback(): Promise<string[]> {
    const problems: string[] = [];
    for (const s of [...this.#states].reverse()) {
      try {
        if (s.committed && s.backedUp) await this.#session.replace(`${s.dest}${BACKUP_SUFFIX}`, s.dest);
        else if (s.committed && s.wasAbsent) await this.#session.unlinkIfPresent(s.dest);
        if (s.committed) s.committed = false;
      } catch (err) {
        problems.push(`${s.file.setting} ${s.dest} could not be restored: ${(err as Error).message}`);
      }
    }
    problems.push(...(await this.removeStaged()));
    return problems;
  }

  /** Removes staged files that were never renamed into place. */
  async removeStaged(): Promise<string[]> {
    const problems: string[] = [];
    for (const s of this.#states) {
      if (!s.staged) continue;
      try {
        await this.#session.unlinkIfPresent(s.staged);
        s.staged = undefined;
      } catch (err) {
        problems.push(`${s.staged} could not be removed: ${(err as Error).message}`);
      }
    }
    return problems;
  }

  /** Removes the backups once the new files are in service. */
  async discardBackups(): Promise<string[]> {
    const problems: string[] = [];
    for (const s of this.#states) {
      if (!s.backedUp) continue;
      try {
        await this.#session.unlinkIfPresent(`${s.dest}${BACKUP_SUFFIX}`);
        s.backedUp = false;
      } catch (err) {
        problems.push(`${s.dest}${BACKUP_SUFFIX} could not be removed: ${(err as Error).message}`);
      }
    }
    return problems;
  }

  /** Whether any destination has been replaced (a rollback has work to do). */
  get anyCommitted(): boolean {
    return this.#states.some((s) => s.committed);
  }
}
