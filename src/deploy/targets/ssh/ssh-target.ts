/**
 * The `ssh` target: puts the certificate files on a server over SFTP and runs its reload command,
 * with no agent installed there. The server's host key is pinned (settings.hostKey). Files are
 * staged, then renamed into place atomically with the previous ones kept until the reload
 * succeeded; a failed reload puts them back (src/deploy/targets/ssh/remote-files.ts). Where a probe
 * is configured, the deployment is done only when the probe sees the new serial.
 */
import ssh2 from 'ssh2';
import { guardedLookup, vetHost } from '../../../lifecycle/address-policy.js';
import { parseCertificate } from '../../../pki/certificate.js';
import { normaliseSerial, waitForServedSerial } from '../../probe.js';
import { DeployError, type DeployMaterial, type DeployOutcome, type DeployTarget, type ProbeSettings } from '../../types.js';
import { redactSecrets, reportOutput } from '../redact-output.js';
import type { FieldReader } from '../target-fields.js';
import { parseHostKey, type HostKeyPin } from './host-key.js';
import { RemoteFileSet, type RemoteFile } from './remote-files.js';
import { SshSession } from './ssh-session.js';

/** Default `timeoutSeconds` (connection, each SFTP step, and the reload command). */
export const SSH_DEFAULT_TIMEOUT_SECONDS = 60;
/** Time a rollback or clean-up may take once the deployment failed or was aborted. */
const CLEANUP_TIMEOUT_MS = 15_000;

/** The path settings, in the order files are written. */
export const SSH_PATH_SETTINGS = ['certificatePath', 'chainPath', 'fullchainPath', 'keyPath', 'combinedPath'] as const;
type PathSetting = (typeof SSH_PATH_SETTINGS)[number];
/** The files that hold the private key (mode 0600 by default). */
const KEY_SETTINGS: readonly PathSetting[] = ['keyPath', 'combinedPath'];

/** The settings and credentials of an `ssh` target. Holds the private key: never log it. */
export interface SshSettings {
  host: string;
  port: number;
  username: string;
  hostKey: HostKeyPin;
  paths: Partial<Record<PathSetting, string>>;
  mode?: number;
  reloadCommand?: string;
  timeoutSeconds: number;
  probe?: ProbeSettings;
  privateKey: string;
  passphrase?: string;
}

/** Reads the settings and credentials (problems go to `r.errors`). */
export function readSshSettings(r: FieldReader): SshSettings {
  const host = r.host('host', { required: true }) ?? '';
  const port = r.port('port', 22);
  const username = r.string('username', { required: true }) ?? '';
  if (username && !/^[^\s:/\\]{1,64}$/.test(username)) r.fail('settings.username', 'must be a user name (no spaces, colons or slashes, at most 64 characters)');
  const hostKeyText = r.string('hostKey', { required: true });
  const hostKey = hostKeyText === undefined ? undefined : parseHostKey(hostKeyText);
  if (hostKeyText !== undefined && !hostKey) {
    r.fail('settings.hostKey', 'must be the server\'s public host key as in /etc/ssh/ssh_host_ed25519_key.pub ("ssh-ed25519 AAAA…"; ecdsa-sha2-* and ssh-rsa too) or its fingerprint ("SHA256:…", from ssh-keygen -lf)');
  }
  const paths: Partial<Record<PathSetting, string>> = {};
  for (const name of SSH_PATH_SETTINGS) {
    const p = r.remotePath(name);
    if (p !== undefined) paths[name] = p;
  }
  const given = Object.entries(paths);
  if (given.length === 0 && SSH_PATH_SETTINGS.every((n) => r.settings[n] === undefined || r.settings[n] === null || r.settings[n] === '')) {
    r.fail('settings.certificatePath', `at least one of ${SSH_PATH_SETTINGS.join(', ')} is required`);
  }
  const seen = new Map<string, string>();
  for (const [name, p] of given) {
    const other = seen.get(p);
    if (other) r.fail(`settings.${name}`, `is the same file as settings.${other}`);
    seen.set(p, name);
  }
  const mode = r.mode('mode');
  if (mode !== undefined && (mode & 0o004) !== 0 && KEY_SETTINGS.some((k) => paths[k])) {
    r.fail('settings.mode', 'gives every user read access, which a file with the private key (keyPath, combinedPath) must not have; use e.g. "0640"');
  }
  const reloadCommand = r.string('reloadCommand');
  const timeoutSeconds = r.timeoutSeconds(SSH_DEFAULT_TIMEOUT_SECONDS);
  const probe = r.probe('probe');
  const privateKey = r.credential('privateKey', { required: true }) ?? '';
  const passphrase = r.credential('passphrase');
  if (privateKey) {
    const problem = privateKeyProblem(privateKey, passphrase);
    if (problem) r.fail(problem.field, problem.message);
  }
  return {
    host,
    port,
    username,
    hostKey: hostKey ?? { kind: 'fingerprint', sha256: '' },
    paths,
    ...(mode !== undefined ? { mode } : {}),
    ...(reloadCommand ? { reloadCommand } : {}),
    timeoutSeconds,
    ...(probe ? { probe } : {}),
    privateKey,
    ...(passphrase ? { passphrase } : {}),
  };
}

/**
 * Why the login key cannot be used, in words that quote nothing of it; undefined when it can.
 * An encrypted key in OpenSSH's own format is not decrypted here: its bcrypt KDF takes about a
 * second of CPU in ssh2's JavaScript, too long for a validation on the API's event loop. A wrong
 * passphrase then shows at the first connection. (Encrypted PEM keys decrypt fast and are checked.)
 */
function privateKeyProblem(privateKey: string, passphrase: string | undefined): { field: string; message: string } | undefined {
  const parse = (pass?: string) => {
    try {
      const parsed = ssh2.utils.parseKey(privateKey, pass);
      return Array.isArray(parsed) ? (parsed[0] as typeof parsed | undefined) ?? new Error('no key') : parsed;
    } catch {
      return new Error('unreadable');
    }
  };
  let key = parse();
  const encrypted = key instanceof Error && /passphrase|encrypt/i.test(key.message);
  if (encrypted) {
    if (!passphrase) return { field: 'credentials.passphrase', message: 'is required: credentials.privateKey is encrypted' };
    if (privateKey.includes('-----BEGIN OPENSSH PRIVATE KEY-----')) return undefined;
    key = parse(passphrase);
    if (key instanceof Error) return { field: 'credentials.passphrase', message: 'does not decrypt credentials.privateKey' };
  }
  if (key instanceof Error) return { field: 'credentials.privateKey', message: 'is not a private key in OpenSSH or PEM form' };
  if (!key.isPrivateKey()) return { field: 'credentials.privateKey', message: 'is a public key; give the private key (the public one goes into the server\'s authorized_keys)' };
  return undefined;
}

/** The files of `material` for the configured paths. */
export function remoteFiles(settings: SshSettings, material: DeployMaterial): RemoteFile[] {
  const nl = (s: string) => (s === '' || s.endsWith('\n') ? s : `${s}\n`);
  const contents: Record<PathSetting, () => string> = {
    certificatePath: () => nl(material.certificatePem),
    chainPath: () => nl(material.chainPem),
    fullchainPath: () => nl(material.fullchainPem),
    keyPath: () => nl(material.privateKeyPem ?? ''),
    // Key, then leaf, then chain (HAProxy and others).
    combinedPath: () => `${nl(material.privateKeyPem ?? '')}${nl(material.fullchainPem)}`,
  };
  const files: RemoteFile[] = [];
  for (const setting of SSH_PATH_SETTINGS) {
    const path = settings.paths[setting];
    if (!path) continue;
    const withKey = KEY_SETTINGS.includes(setting);
    files.push({ setting, path, content: contents[setting](), mode: settings.mode ?? (withKey ? 0o600 : 0o644) });
  }
  return files;
}

/** Runs `fn` with its own short time limit (clean-up that must run even after an abort). */
async function bounded<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([fn(), new Promise<T>((resolve) => { timer = setTimeout(() => resolve(fallback), CLEANUP_TIMEOUT_MS); })]);
  } finally {
    clearTimeout(timer);
  }
}

/** An `ssh` deployment target. */
export class SshTarget implements DeployTarget {
  constructor(private readonly settings: SshSettings, private readonly allowPrivateAddresses: boolean) {}

  #open(signal: AbortSignal): Promise<SshSession> {
    const s = this.settings;
    return SshSession.open({
      host: s.host,
      port: s.port,
      username: s.username,
      hostKey: s.hostKey,
      privateKey: s.privateKey,
      ...(s.passphrase ? { passphrase: s.passphrase } : {}),
      allowPrivateAddresses: this.allowPrivateAddresses,
      timeoutMs: s.timeoutSeconds * 1000,
    }, signal);
  }

  async deploy(material: DeployMaterial, signal: AbortSignal): Promise<DeployOutcome> {
    const s = this.settings;
    const secrets = [s.privateKey, s.passphrase, material.privateKeyPem];
    const needsKey = KEY_SETTINGS.filter((k) => s.paths[k]);
    if (needsKey.length && !material.privateKeyPem) {
      throw new DeployError(`ssh: settings.${needsKey[0]} is set but the certificate version holds no private key`);
    }
    const files = remoteFiles(s, material);
    const session = await this.#open(signal);
    const set = new RemoteFileSet(session, files);
    let reloaded = false;
    let output: string | undefined;
    try {
      try {
        await set.stage();
        signal.throwIfAborted();
        await set.commit();
        signal.throwIfAborted();
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeployError(`ssh: ${session.where}: ${redactSecrets((err as Error).message, secrets)}`);
      }
      if (s.reloadCommand) {
        const outcome = await session.exec(s.reloadCommand, s.timeoutSeconds * 1000, signal);
        output = reportOutput(outcome.output, secrets);
        const failure = outcome.timedOut ? `did not finish within ${s.timeoutSeconds} s (it was sent SIGKILL and abandoned)`
          : outcome.code === undefined ? `ended without an exit status${outcome.signal ? ` (signal ${outcome.signal})` : ''}`
            : outcome.code !== 0 ? `exited with code ${outcome.code}` : undefined;
        if (failure) {
          const problems = await bounded(() => set.rollback(), ['the rollback did not finish in time']);
          let restored = problems.length ? `; restoring the previous files failed: ${problems.join('; ')}` : '; the previous files were restored';
          if (!problems.length && !signal.aborted && !outcome.timedOut) {
            // Back to the previous files: reload once more so the service serves them again (not
            // after a timeout: that command may still be running).
            const again = await session.exec(s.reloadCommand, s.timeoutSeconds * 1000, signal).catch((e: Error) => ({ code: undefined, timedOut: false, output: e.message, signal: undefined }));
            restored += again.code === 0 ? ' and reloaded' : ', but reloading them failed too';
            output = [output, reportOutput(again.output, secrets)].filter(Boolean).join('\n--- reload after restoring ---\n');
          }
          throw new DeployError(`ssh: the reload command on ${session.where} ${failure}${restored}`, output || undefined);
        }
      }
      reloaded = true;
      const leftovers = await set.discardBackups();
      const written = files.map((f) => f.path).join(', ');
      const note = leftovers.length ? ` (${leftovers.join('; ')})` : '';
      const outcome: DeployOutcome = {
        message: `ssh: wrote ${written} on ${session.where}${s.reloadCommand ? ' and ran the reload command' : ''}${note}`,
        ...(output ? { output } : {}),
      };
      if (s.probe) outcome.servedSerial = await this.#probe(s.probe, material, signal, output);
      return outcome;
    } catch (err) {
      if (!reloaded && set.anyCommitted) await bounded(() => set.rollback(), []);
      else await bounded(() => set.removeStaged(), []);
      throw err;
    } finally {
      session.close();
    }
  }

  /** Waits until the probe sees the new serial; throws a DeployError when it does not. */
  async #probe(probe: ProbeSettings, material: DeployMaterial, signal: AbortSignal, output: string | undefined): Promise<string> {
    const where = `${probe.host}:${probe.port}`;
    const out = output || undefined;
    try {
      // The probe connects on its own: vet its host by the same private-address rule first.
      await vetHost(guardedLookup({ allowPrivate: this.allowPrivateAddresses }), probe.host.replace(/^\[|\]$/g, ''));
    } catch (err) {
      throw new DeployError(`ssh: files written and reloaded, but the probe of ${where} is refused: ${(err as Error).message}`, out);
    }
    let result: { matched: boolean; servedSerial: string };
    try {
      result = await waitForServedSerial(probe, material.commonName, material.serialNumber, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DeployError(`ssh: files written and reloaded, but the probe failed: ${(err as Error).message}`, out);
    }
    if (!result.matched) {
      throw new DeployError(`ssh: files written and reloaded, but ${where} still serves serial ${result.servedSerial}, not ${normaliseSerial(material.serialNumber)}`, out, result.servedSerial);
    }
    return result.servedSerial;
  }

  /** The serial of the certificate file on the server (certificatePath, else fullchainPath, else combinedPath). */
  async servedSerial(_material: DeployMaterial, signal: AbortSignal): Promise<string | undefined> {
    const s = this.settings;
    const path = s.paths.certificatePath ?? s.paths.fullchainPath ?? s.paths.combinedPath;
    if (!path) return undefined;
    let session: SshSession | undefined;
    try {
      session = await this.#open(signal);
      if (!(await session.stat(path))) return undefined;
      const text = (await session.readFile(path)).toString('utf8');
      return parseCertificate(text).serialNumber;
    } catch (err) {
      if (signal.aborted) throw err;
      // Cannot tell cheaply: the deployment runs and reports the real error.
      return undefined;
    } finally {
      session?.close();
    }
  }
}
