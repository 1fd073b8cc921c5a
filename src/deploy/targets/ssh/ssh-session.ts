/**
 * One SSH connection of an `ssh` target (npm `ssh2`), as promises: connect with the pinned host
 * key, SFTP file operations, and running a command with a time limit. The TCP connection is opened
 * here through {@link guardedLookup}, so a host that resolves to a private address is refused
 * unless CERTKEEPER_ALLOW_PRIVATE_ADDRESSES is set, exactly as for URLs.
 */
import { connect as netConnect, isIP } from 'node:net';
import ssh2, { type Client, type ClientChannel, type SFTPWrapper, type Stats } from 'ssh2';
import { guardedLookup, PrivateAddressError, vetHost } from '../../../lifecycle/address-policy.js';
import { DeployError } from '../../types.js';
import { describeHostKey, hostKeyAlgorithms, hostKeyMatches, type HostKeyPin } from './host-key.js';

/** How to reach and log in to the server. Holds the private key: never log it. */
export interface SshConnectOptions {
  host: string;
  port: number;
  username: string;
  hostKey: HostKeyPin;
  privateKey: string;
  passphrase?: string;
  allowPrivateAddresses: boolean;
  /** Limit of the connection and handshake, and of each SFTP operation. */
  timeoutMs: number;
}

/** How long a stopped command's channel may take to close before it is abandoned. */
const EXEC_KILL_GRACE_MS = 2000;

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7) that callers test for. */
export const SFTP_NO_SUCH_FILE = 2;

/** An SFTP operation that failed: `code` is the SFTP status code where the server sent one. */
export class SftpError extends Error {
  override readonly name = 'SftpError';
  constructor(message: string, readonly code: number | undefined) {
    super(message);
  }
}

/** Runs `start` (which calls back like Node's fs) under a time limit that ends the connection. */
function op<T>(session: SshSession, what: string, start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new SftpError(`${what}: no answer within ${session.timeoutMs / 1000} s`, undefined));
      session.destroy();
    }, session.timeoutMs);
    try {
      start((err, value) => {
        clearTimeout(timer);
        if (err) reject(new SftpError(`${what}: ${err.message}`, (err as { code?: unknown }).code as number | undefined));
        else resolve(value as T);
      });
    } catch (err) {
      clearTimeout(timer);
      reject(new SftpError(`${what}: ${(err as Error).message}`, undefined));
    }
  });
}

/** How a remote command ended. */
export interface RemoteCommandOutcome {
  /** Exit status, or undefined when the server sent none (signal, closed channel). */
  code: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  /** stdout and stderr as they arrived, the last `maxOutputBytes` of them. */
  output: string;
}

/** An open connection. `close()` MUST be called (in `finally`). */
export class SshSession {
  #sftp: SFTPWrapper | undefined;

  private constructor(private readonly client: Client, readonly timeoutMs: number, readonly where: string) {}

  /**
   * Connects and authenticates. Throws {@link DeployError}: host key mismatch (naming the key the
   * server presented), refused address, connection failure, authentication failure, timeout.
   */
  static async open(opts: SshConnectOptions, signal: AbortSignal): Promise<SshSession> {
    signal.throwIfAborted();
    const where = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
    const lookup = guardedLookup({ allowPrivate: opts.allowPrivateAddresses });
    if (isIP(opts.host)) {
      // Node calls no lookup for an IP literal: vet it before connecting.
      try {
        await vetHost(lookup, opts.host);
      } catch (err) {
        throw new DeployError(`ssh: ${err instanceof PrivateAddressError ? err.message : `${where}: ${(err as Error).message}`}`);
      }
    }
    const client = new ssh2.Client();
    let presented: Buffer | undefined;
    let rejected = false;
    return await new Promise<SshSession>((resolve, reject) => {
      let settled = false;
      const sock = netConnect({ host: opts.host, port: opts.port, lookup });
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        client.end();
        sock.destroy();
        reject(err);
      };
      const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        fail(new DeployError(err instanceof PrivateAddressError ? `ssh: ${err.message}` : `ssh: cannot connect to ${where}: ${err.code ?? err.message}`));
      });
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        client.on('error', () => { /* later errors surface through the operations that fail */ });
        resolve(new SshSession(client, opts.timeoutMs, where));
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (rejected) {
          fail(new DeployError(`ssh: ${where} presented host key ${presented ? describeHostKey(presented) : '(none)'}, which does not match settings.hostKey; refusing to connect (no trust on first use). If the server's key was changed on purpose, update settings.hostKey.`));
        } else if (err.level === 'client-authentication') {
          fail(new DeployError(`ssh: ${where} did not accept user ${opts.username} with credentials.privateKey (is its public key in that user's authorized_keys?)`));
        } else if (err.level === 'client-timeout') {
          fail(new DeployError(`ssh: ${where}: no SSH handshake within ${opts.timeoutMs / 1000} s`));
        } else if (err.level === 'client-socket') {
          const code = (err as NodeJS.ErrnoException).code;
          fail(new DeployError(err instanceof PrivateAddressError ? `ssh: ${err.message}` : `ssh: cannot connect to ${where}: ${code ?? err.message}`));
        } else {
          fail(new DeployError(`ssh: ${where}: ${err.message}`));
        }
      });
      client.once('close', () => fail(new DeployError(`ssh: ${where} closed the connection during the handshake`)));
      const algorithms = hostKeyAlgorithms(opts.hostKey);
      try {
        client.connect({
          sock,
          username: opts.username,
          privateKey: opts.privateKey,
          ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
          readyTimeout: opts.timeoutMs,
          ...(algorithms ? { algorithms: { serverHostKey: algorithms } } : {}),
          // RFC 4253 §8: the host key is checked during key exchange, before user authentication,
          // so the private key is never offered to a server that is not the pinned one.
          hostVerifier: (key: Buffer) => {
            presented = key;
            const ok = hostKeyMatches(opts.hostKey, key);
            if (!ok) rejected = true;
            return ok;
          },
        });
      } catch {
        // ssh2 parses the private key synchronously; its message may quote parts of the input.
        fail(new DeployError('ssh: credentials.privateKey could not be read (not an OpenSSH or PEM private key, or credentials.passphrase is missing or wrong)'));
      }
    });
  }

  /** Ends the connection at once (used on timeouts). */
  destroy(): void {
    this.client.destroy();
  }

  /** Ends the connection. */
  close(): void {
    this.client.end();
  }

  async #sftpSession(): Promise<SFTPWrapper> {
    if (this.#sftp) return this.#sftp;
    this.#sftp = await op<SFTPWrapper>(this, `ssh: ${this.where}: starting SFTP`, (cb) => this.client.sftp((err, sftp) => cb(err, sftp)));
    return this.#sftp;
  }

  /** Writes `data` to a new file `path` (fails when it exists) with exactly `mode`. */
  async writeNewFile(path: string, data: string | Buffer, mode: number): Promise<void> {
    const sftp = await this.#sftpSession();
    await op<void>(this, `writing ${path}`, (cb) => sftp.writeFile(path, data, { mode, flag: 'wx' }, (err) => cb(err)));
    // The server's umask may have narrowed the mode at creation; set it exactly.
    await op<void>(this, `setting the mode of ${path}`, (cb) => sftp.chmod(path, mode, (err) => cb(err)));
  }

  /** The whole content of `path`. */
  async readFile(path: string): Promise<Buffer> {
    const sftp = await this.#sftpSession();
    return await op<Buffer>(this, `reading ${path}`, (cb) => sftp.readFile(path, (err, data) => cb(err, data)));
  }

  /** stat (follows links) or lstat; undefined when the path does not exist. */
  async stat(path: string, follow = true): Promise<Stats | undefined> {
    const sftp = await this.#sftpSession();
    try {
      return await op<Stats>(this, `examining ${path}`, (cb) => (follow ? sftp.stat(path, (err, st) => cb(err, st)) : sftp.lstat(path, (err, st) => cb(err, st))));
    } catch (err) {
      if (err instanceof SftpError && err.code === SFTP_NO_SUCH_FILE) return undefined;
      throw err;
    }
  }

  /** The canonical path (symbolic links resolved by the server). */
  async realpath(path: string): Promise<string> {
    const sftp = await this.#sftpSession();
    return await op<string>(this, `resolving ${path}`, (cb) => sftp.realpath(path, (err, p) => cb(err, p)));
  }

  /** Removes `path`; a missing file is not an error. */
  async unlinkIfPresent(path: string): Promise<void> {
    const sftp = await this.#sftpSession();
    try {
      await op<void>(this, `removing ${path}`, (cb) => sftp.unlink(path, (err) => cb(err)));
    } catch (err) {
      if (err instanceof SftpError && err.code === SFTP_NO_SUCH_FILE) return;
      throw err;
    }
  }

  /** A second name for a file (hardlink@openssh.com); false when the server lacks the extension. */
  async hardlink(target: string, link: string): Promise<boolean> {
    const sftp = await this.#sftpSession();
    try {
      await op<void>(this, `linking ${link}`, (cb) => sftp.ext_openssh_hardlink(target, link, (err) => cb(err)));
      return true;
    } catch (err) {
      // Not offered by the server (ssh2 throws before sending), or refused (e.g. a file system without hard links).
      if (err instanceof SftpError) return false;
      throw err;
    }
  }

  /**
   * Renames `from` over `to`, atomically with posix-rename@openssh.com where the server offers it
   * (plain SFTP v3 rename fails when `to` exists: then `to` is removed first, a short window).
   */
  async replace(from: string, to: string): Promise<void> {
    const sftp = await this.#sftpSession();
    let supported = true;
    try {
      await op<void>(this, `renaming ${from} to ${to}`, (cb) => {
        try {
          sftp.ext_openssh_rename(from, to, (err) => cb(err));
        } catch {
          supported = false;
          cb(null);
        }
      });
    } catch (err) {
      if (supported) throw err;
    }
    if (supported) return;
    await this.unlinkIfPresent(to);
    await op<void>(this, `renaming ${from} to ${to}`, (cb) => sftp.rename(from, to, (err) => cb(err)));
  }

  /**
   * Runs `command` (through the user's login shell, as ssh does) and collects its output. On
   * timeout or abort the process group is sent SIGKILL and the channel is closed; OpenSSH honours
   * the signal (RFC 4254 §6.9) only for sessions of non-root users, so after a short grace the
   * command is abandoned rather than waited for (without a pty, closing the channel does not end it).
   */
  async exec(command: string, timeoutMs: number, signal: AbortSignal, maxOutputBytes = 64 * 1024): Promise<RemoteCommandOutcome> {
    signal.throwIfAborted();
    const channel = await op<ClientChannel>(this, `ssh: ${this.where}: starting the command`, (cb) => this.client.exec(command, (err, ch) => cb(err, ch)));
    return await new Promise<RemoteCommandOutcome>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const push = (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        while (chunks.length > 1 && size - chunks[0]!.length >= maxOutputBytes) size -= chunks.shift()!.length;
      };
      let code: number | undefined;
      let sig: string | undefined;
      let timedOut = false;
      let settled = false;
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(graceTimer);
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) {
          reject(signal.reason);
          return;
        }
        const all = Buffer.concat(chunks);
        resolve({ code: timedOut ? undefined : code, signal: sig, timedOut, output: all.subarray(Math.max(0, all.length - maxOutputBytes)).toString('utf8') });
      };
      const stop = () => {
        try {
          channel.signal('KILL');
        } catch { /* the channel is gone already */ }
        channel.close();
        graceTimer = setTimeout(finish, EXEC_KILL_GRACE_MS);
      };
      const timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, timeoutMs);
      const onAbort = () => stop();
      signal.addEventListener('abort', onAbort, { once: true });
      channel.on('data', push);
      channel.stderr.on('data', push);
      channel.on('exit', (c: number | null, s?: string) => {
        if (typeof c === 'number') code = c;
        if (s) sig = s;
      });
      channel.once('close', finish);
    });
  }
}
