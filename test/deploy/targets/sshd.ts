/**
 * A real OpenSSH server (Debian `openssh-server`) for the `ssh` target's tests: on 127.0.0.1 at a
 * free port, with its own host key, authorized_keys and pid file in a temporary directory, public
 * key authentication only, and SFTP through `internal-sftp`. Stopped by its PID.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/demo/free-port.js';

const SSHD = '/usr/sbin/sshd';

/** A key pair made with ssh-keygen (OpenSSH formats). */
export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
  /** `SHA256:…` as ssh-keygen -lf prints it. */
  fingerprint: string;
}

/** A running sshd. */
export interface TestSshd {
  port: number;
  dir: string;
  username: string;
  hostKey: SshKeyPair;
  /** Authorized to log in. */
  clientKey: SshKeyPair;
  /** Authorized too, encrypted with {@link TestSshd.passphrase}. */
  encryptedClientKey: SshKeyPair;
  passphrase: string;
  /** What sshd logged (stderr, -e). */
  log(): string;
  stop(): Promise<void>;
}

/** Makes a key pair with ssh-keygen in `dir`. */
export function sshKeygen(dir: string, name: string, type: 'ed25519' | 'rsa' = 'ed25519', passphrase = '', format?: 'PEM'): SshKeyPair {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), ...(format ? ['-m', format] : []), '-N', passphrase, '-C', `certkeeper-test-${name}`, '-f', file], { stdio: 'ignore' });
  const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(/\s+/)[1]!;
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint: fp };
}

/** Why the ssh tests cannot run here, or undefined. */
export function sshdMissing(): string | undefined {
  const missing = [];
  if (!existsSync(SSHD)) missing.push('openssh-server');
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') missing.push('openssh-client');
  }
  return missing.length ? `the ssh target's tests need the Debian package(s) ${missing.join(' ')}: apt-get install -y ${missing.join(' ')}` : undefined;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with code ${child.exitCode}:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts sshd. */
export async function startSshd(): Promise<TestSshd> {
  const missing = sshdMissing();
  if (missing) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'ck-sshd-'));
  const hostKey = sshKeygen(dir, 'ssh_host_ed25519_key');
  const clientKey = sshKeygen(dir, 'client');
  const passphrase = 'correct horse battery staple';
  const encryptedClientKey = sshKeygen(dir, 'client-encrypted', 'ed25519', passphrase);
  writeFileSync(join(dir, 'authorized_keys'), `${clientKey.publicKey}\n${encryptedClientKey.publicKey}\n`, { mode: 0o600 });
  const port = await freePort();
  const username = userInfo().username;
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'ssh_host_ed25519_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'UsePAM no',
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    `AllowUsers ${username}`,
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    '',
  ].join('\n'));
  // sshd (as root) refuses to start without its privilege separation directory.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755, recursive: true });
  let log = '';
  const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => { log += c.toString('utf8'); });
  child.stderr?.on('data', (c: Buffer) => { log += c.toString('utf8'); });
  try {
    await waitForPort(port, child, () => log);
  } catch (err) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    throw err;
  }
  return {
    port,
    dir,
    username,
    hostKey,
    clientKey,
    encryptedClientKey,
    passphrase,
    log: () => log,
    async stop() {
      if (child.pid !== undefined && child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        process.kill(child.pid, 'SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
