/**
 * Executes one agent deployment: writes the requested files atomically (keeping the previous ones
 * as `<path>.certkeeper-bak`), runs the reload command, probes that the new serial is served, and
 * on any failure puts the previous files back and reloads again, so the service keeps running on
 * what it had. The result is what the agent reports to the server; this module never throws for a
 * failed deployment.
 */
import { copyFile, link, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Logger } from 'pino';
import { keyMatchesCertificate, splitPemCertificates } from '../pki/certificate.js';
import { parsePrivateKey } from '../pki/keys.js';
import { createPkcs12 } from '../pki/pkcs12.js';
import { probeServedSerial, sameSerial, waitForServedSerial } from '../deploy/probe.js';
import {
  DeployError, type AgentDeploymentResult, type AgentDeploymentWork, type AgentFileSettings,
} from '../deploy/types.js';
import { redactSecrets, reportOutput } from '../deploy/targets/redact-output.js';
import { commitTempFile, ensureDirectory, syncDirectory, writeTempFile } from './atomic-file.js';
import { resolveFileOwner, type FileOwner } from './file-owner.js';
import { loadAgentKey } from './keys.js';
import { describeFailure, runShellCommand, type CommandResult } from './run-command.js';

/** Suffix of the copy of a replaced file, kept until the deployment is known good. */
export const BACKUP_SUFFIX = '.certkeeper-bak';

/** Default seconds the reload command may run. */
export const DEFAULT_RELOAD_TIMEOUT_SECONDS = 60;

/** The longest a rollback's reload may run, even when the deployment's own timeout is longer. */
const ROLLBACK_RELOAD_TIMEOUT_MS = 60_000;

/** What {@link executeDeployment} needs besides the work. */
export interface DeploymentContext {
  /** The agent's state directory (agent-generated keys live under `keys/`). */
  stateDir: string;
  logger: Logger;
  /**
   * Aborts the deployment (the agent is stopping and its grace period ran out): the reload
   * command is killed, the previous files restored and the service reloaded on them.
   */
  signal?: AbortSignal;
}

/** One file to write. */
interface PlannedFile {
  /** The setting it comes from, e.g. `keyPath`. */
  field: keyof AgentFileSettings;
  path: string;
  data: string | Buffer;
  hasKey: boolean;
}

/** One file put in place, and how to undo it. */
interface InstalledFile {
  path: string;
  /** The previous file, when there was one. */
  backup?: string;
}

const FILE_FIELDS = ['certificatePath', 'chainPath', 'fullchainPath', 'keyPath', 'combinedPath', 'pkcs12Path'] as const;
const KEY_FIELDS = new Set<string>(['keyPath', 'combinedPath', 'pkcs12Path']);

/** Ends PEM text with exactly one newline (empty stays empty). */
const pemText = (text: string): string => (text.trim() === '' ? '' : `${text.trim()}\n`);

/**
 * Parses an octal mode setting ("0640", "640"); throws for anything else. Only permission bits
 * are allowed (no setuid, setgid or sticky bit on a certificate).
 */
export function parseMode(mode: string): number {
  if (!/^0?[0-7]{3}$/.test(mode.trim())) throw new DeployError(`mode "${mode}" is not an octal permission such as "0640"`);
  return parseInt(mode.trim(), 8);
}

/** The private key PEM of a deployment: sent with the material, or kept by the agent. */
async function privateKeyOf(work: AgentDeploymentWork, stateDir: string, needs: string[]): Promise<string | undefined> {
  const { material } = work;
  if (material.privateKeyPem) return material.privateKeyPem;
  if (needs.length === 0) return undefined;
  if (material.agentKeyId) {
    const pem = await loadAgentKey(stateDir, material.agentKeyId);
    if (pem === undefined) {
      throw new DeployError(`${needs.join(', ')} need the private key ${material.agentKeyId}, which this agent does not have (looked in ${stateDir}/keys)`);
    }
    return pem;
  }
  throw new DeployError(`${needs.join(', ')} need the private key, but the deployment carries none (the target may not be allowed the key); remove those paths or allow the key`);
}

/** The files of a deployment, their contents built and checked; throws {@link DeployError} for bad settings. */
async function planFiles(work: AgentDeploymentWork, stateDir: string): Promise<{ files: PlannedFile[]; keyPem?: string }> {
  const { settings } = work.target;
  const { material } = work;
  const wanted = FILE_FIELDS.filter((f) => typeof settings[f] === 'string' && settings[f] !== '');
  if (wanted.length === 0) throw new DeployError('the target names no file to write (set certificatePath, fullchainPath, keyPath, …)');
  const seen = new Map<string, string>();
  for (const field of wanted) {
    const path = settings[field] as string;
    if (!isAbsolute(path)) throw new DeployError(`${field} "${path}" is not an absolute path`);
    const key = process.platform === 'win32' ? resolve(path).toLowerCase() : resolve(path);
    const other = seen.get(key);
    if (other) throw new DeployError(`${field} and ${other} are the same file (${path})`);
    seen.set(key, field);
  }
  if (!material.certificatePem || !material.serialNumber) throw new DeployError('the deployment carries no certificate');

  const needs = wanted.filter((f) => KEY_FIELDS.has(f));
  const keyPem = await privateKeyOf(work, stateDir, needs);
  if (keyPem !== undefined && needs.length > 0) {
    let matches = false;
    try {
      matches = keyMatchesCertificate(parsePrivateKey(keyPem), material.certificatePem);
    } catch (err) {
      throw new DeployError(`the private key is not usable: ${(err as Error).message}`);
    }
    // Writing a key that does not fit would take the service down at the reload.
    if (!matches) throw new DeployError(`the private key does not belong to certificate ${material.name}`);
  }

  const leaf = pemText(material.certificatePem);
  const chain = pemText(material.chainPem);
  const key = keyPem === undefined ? '' : pemText(keyPem);
  const files = wanted.map((field): PlannedFile => {
    const path = resolve(settings[field] as string);
    switch (field) {
      case 'certificatePath': return { field, path, data: leaf, hasKey: false };
      case 'chainPath': return { field, path, data: chain, hasKey: false };
      case 'fullchainPath': return { field, path, data: pemText(material.fullchainPem) || leaf + chain, hasKey: false };
      case 'keyPath': return { field, path, data: key, hasKey: true };
      case 'combinedPath': return { field, path, data: key + leaf + chain, hasKey: true };
      case 'pkcs12Path': {
        if (work.pkcs12Password === undefined) throw new DeployError('pkcs12Path is set but the target has no pkcs12Password credential');
        const der = createPkcs12({
          certificatePem: leaf,
          chainPems: chain === '' ? [] : splitPemCertificates(chain),
          privateKey: parsePrivateKey(key),
          password: work.pkcs12Password,
          friendlyName: material.name,
        });
        return { field, path, data: der, hasKey: true };
      }
    }
  });
  return { files, ...(keyPem !== undefined ? { keyPem } : {}) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Puts every planned file in place: all temporary files are written first (a full disk or a bad
 * owner fails before anything changes), then each target is backed up and replaced. On an error
 * half-way, what was replaced is restored before the error is rethrown.
 */
async function installFiles(plan: PlannedFile[], settings: AgentFileSettings, owner: FileOwner): Promise<InstalledFile[]> {
  const explicitMode = settings.mode !== undefined && settings.mode !== '' ? parseMode(settings.mode) : undefined;
  const temps: string[] = [];
  const installed: InstalledFile[] = [];
  try {
    for (const file of plan) {
      await ensureDirectory(dirname(file.path));
      const mode = explicitMode ?? (file.hasKey ? 0o600 : 0o644);
      temps.push(await writeTempFile(file.path, file.data, { mode, ...owner }));
    }
    for (const [i, file] of plan.entries()) {
      const entry: InstalledFile = { path: file.path };
      if (await exists(file.path)) {
        const backup = file.path + BACKUP_SUFFIX;
        await rm(backup, { force: true });
        try {
          // A hard link keeps the old file exactly (content, mode, owner) at no cost.
          await link(file.path, backup);
        } catch {
          await copyFile(file.path, backup);
        }
        entry.backup = backup;
      }
      await commitTempFile(temps[i] as string, file.path);
      temps[i] = '';
      installed.push(entry);
    }
    return installed;
  } catch (err) {
    await restoreFiles(installed);
    throw err;
  } finally {
    for (const t of temps) if (t) await rm(t, { force: true });
  }
}

/** Puts the previous files back (files that did not exist before are removed). Returns the problems. */
async function restoreFiles(installed: InstalledFile[]): Promise<string[]> {
  const problems: string[] = [];
  for (const file of installed) {
    try {
      if (file.backup) await rename(file.backup, file.path);
      else await rm(file.path, { force: true });
      await syncDirectory(dirname(file.path));
    } catch (err) {
      problems.push(`${file.path}: ${(err as Error).message}`);
    }
  }
  return problems;
}

async function discardBackups(installed: InstalledFile[]): Promise<void> {
  for (const file of installed) if (file.backup) await rm(file.backup, { force: true });
}

/** The last lines of command output, for a one-line message. */
function tail(output: string, max = 300): string {
  const text = output.trim().replace(/\s*\n\s*/g, ' | ');
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}

/** The longest result message the server takes (ResultBody.message). */
const MAX_MESSAGE = 2000;

/**
 * Executes `work` (see the module comment) and returns the result to report. Never throws for a
 * deployment that fails: a FAILED result says why.
 */
export async function executeDeployment(work: AgentDeploymentWork, ctx: DeploymentContext): Promise<AgentDeploymentResult> {
  const result = await execute(work, ctx);
  if (result.message.length > MAX_MESSAGE) result.message = `${result.message.slice(0, MAX_MESSAGE - 1)}…`;
  return result;
}

async function execute(work: AgentDeploymentWork, ctx: DeploymentContext): Promise<AgentDeploymentResult> {
  const { settings } = work.target;
  const { material } = work;
  const log = ctx.logger.child({ deployment: work.id, certificate: material.name });
  const signal = ctx.signal ?? new AbortController().signal;
  const env: Record<string, string> = {
    CERTKEEPER_DEPLOYMENT_ID: work.id,
    CERTKEEPER_CERTIFICATE_NAME: material.name,
    CERTKEEPER_COMMON_NAME: material.commonName,
    CERTKEEPER_SERIAL_NUMBER: material.serialNumber,
  };
  // A script that imports the PKCS#12 file (Windows certificate store, Java keystore) needs its password.
  if (settings.pkcs12Path && work.pkcs12Password !== undefined) env.CERTKEEPER_PKCS12_PASSWORD = work.pkcs12Password;
  // What a reload command prints may echo a secret it read: never report one.
  const secrets: (string | undefined)[] = [material.privateKeyPem, work.pkcs12Password];
  const clean = (text: string): string => redactSecrets(text, secrets);
  const reloadTimeoutMs = Math.max(1, settings.reloadTimeoutSeconds ?? DEFAULT_RELOAD_TIMEOUT_SECONDS) * 1000;
  const reload = async (rollback: boolean, reloadSignal: AbortSignal): Promise<CommandResult | undefined> => {
    if (!settings.reloadCommand) return undefined;
    log.info({ rollback }, 'running the reload command');
    return runShellCommand(settings.reloadCommand, {
      timeoutMs: rollback ? Math.min(reloadTimeoutMs, ROLLBACK_RELOAD_TIMEOUT_MS) : reloadTimeoutMs,
      signal: reloadSignal,
      env: rollback ? { ...env, CERTKEEPER_ROLLBACK: '1' } : env,
    });
  };

  let installed: InstalledFile[] = [];
  let output = '';
  /** Restores the previous files, reloads the service on them, and builds the FAILED result. */
  const rollBack = async (message: string, servedSerial?: string): Promise<AgentDeploymentResult> => {
    const problems = await restoreFiles(installed);
    installed = [];
    let note = problems.length === 0 ? 'the previous files were restored' : `restoring the previous files failed: ${problems.join('; ')}`;
    // Cleanup runs even when the deployment was aborted, with its own bounded timeout.
    const again = await reload(true, new AbortController().signal);
    if (again) {
      output += `\n--- reload after restoring the previous files: ${again.exitCode === 0 ? 'ok' : describeFailure(again, ROLLBACK_RELOAD_TIMEOUT_MS)} ---\n${again.output}`;
      if (again.exitCode !== 0) note += `, but reloading on them ${describeFailure(again, ROLLBACK_RELOAD_TIMEOUT_MS)}`;
    }
    log.warn({ reason: clean(message) }, 'deployment failed; rolled back');
    return {
      state: 'FAILED', message: clean(`${message}; ${note}`),
      ...(output ? { output: reportOutput(output.trim(), secrets) } : {}), ...(servedSerial ? { servedSerial } : {}),
    };
  };

  try {
    const planned = await planFiles(work, ctx.stateDir);
    const plan = planned.files;
    secrets.push(planned.keyPem);
    if (settings.probe) {
      try {
        const served = await probeServedSerial(settings.probe, material.commonName, signal);
        if (sameSerial(served, material.serialNumber)) {
          log.info({ serial: served }, 'already served; nothing to do');
          return { state: 'DEPLOYED', message: 'already served', servedSerial: served, skipped: true };
        }
      } catch (err) {
        signal.throwIfAborted();
        // Not reachable yet (first deployment, service down): deploy and let the reload fix it.
        log.debug({ err }, 'probe before deployment failed; deploying');
      }
    }
    const owner = await resolveFileOwner(settings.owner, settings.group).catch((err: Error) => {
      throw new DeployError(err.message);
    });
    signal.throwIfAborted();
    installed = await installFiles(plan, settings, owner);
    log.info({ files: plan.map((f) => f.path) }, 'files written');

    const result = await reload(false, signal);
    if (result) {
      output = result.output;
      if (result.exitCode !== 0 || result.timedOut || result.aborted) {
        // Redacted before it is cut, so no fragment of a secret survives the cut.
        const said = tail(clean(result.output));
        return await rollBack(`reload command ${describeFailure(result, reloadTimeoutMs)}${said ? `: ${said}` : ''}`);
      }
    }

    let servedSerial: string | undefined;
    if (settings.probe) {
      let seen;
      try {
        seen = await waitForServedSerial(settings.probe, material.commonName, material.serialNumber, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        return await rollBack((err as Error).message);
      }
      if (!seen.matched) {
        return await rollBack(`probe saw serial ${seen.servedSerial}, expected ${material.serialNumber}`, seen.servedSerial);
      }
      servedSerial = seen.servedSerial;
    }

    await discardBackups(installed);
    const files = plan.length === 1 ? '1 file' : `${plan.length} files`;
    const message = `wrote ${files}${settings.reloadCommand ? ', reloaded' : ''}${servedSerial ? `, serial ${servedSerial} served` : ''}`;
    log.info({ servedSerial }, 'deployed');
    return {
      state: 'DEPLOYED', message,
      ...(output.trim() ? { output: reportOutput(output.trim(), secrets) } : {}),
      ...(servedSerial ? { servedSerial } : {}),
    };
  } catch (err) {
    const message = signal.aborted ? 'interrupted: the agent is stopping' : (err as Error).message;
    if (installed.length > 0) return await rollBack(message);
    log.warn({ reason: clean(message) }, 'deployment failed before any file was replaced');
    return { state: 'FAILED', message: clean(message), ...(err instanceof DeployError && err.output ? { output: reportOutput(err.output, secrets) } : {}) };
  }
}
