/**
 * The `script` target: runs a local command with the material in a private temporary directory.
 * The command runs through `/bin/sh -c` (on Windows, as a `.cmd` file through `cmd.exe`), in its
 * own process group that is killed on timeout, with a clean environment: PATH, HOME, LANG and the
 * CERTKEEPER_* variables below — nothing of certkeeper's own environment (master key, tokens).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { baseEnvironment } from '../../../dns/providers/exec/program-environment.js';
import { failureOf, runProgram, spawnProblem } from '../../../dns/providers/exec/run-program.js';
import { DeployError, type DeployMaterial, type DeployOutcome, type DeployTarget } from '../../types.js';
import { reportOutput } from '../redact-output.js';
import type { FieldReader } from '../target-fields.js';
import { removeMaterialFiles, writeMaterialFiles, type MaterialFiles } from './material-files.js';

/** Default `timeoutSeconds`. */
export const SCRIPT_DEFAULT_TIMEOUT_SECONDS = 60;

/** The settings of a `script` target. */
export interface ScriptSettings {
  command: string;
  timeoutSeconds: number;
  /** Default: the temporary directory holding the files. */
  workingDirectory?: string;
}

/** Reads the settings (problems go to `r.errors`). */
export function readScriptSettings(r: FieldReader): ScriptSettings {
  const command = r.string('command', { required: true }) ?? '';
  const timeoutSeconds = r.timeoutSeconds(SCRIPT_DEFAULT_TIMEOUT_SECONDS);
  const workingDirectory = r.localPath('workingDirectory');
  return { command, timeoutSeconds, ...(workingDirectory ? { workingDirectory } : {}) };
}

/** The environment of the command: the base variables and what describes the material. */
export function scriptEnvironment(material: DeployMaterial, files: MaterialFiles): Record<string, string> {
  const env: Record<string, string> = { ...baseEnvironment() };
  if (process.platform === 'win32') {
    // cmd.exe and most Windows programs need these to start at all.
    for (const name of ['SystemRoot', 'SystemDrive', 'ComSpec', 'PATHEXT', 'TEMP', 'TMP', 'windir']) {
      const v = process.env[name];
      if (v !== undefined) env[name] = v;
    }
  }
  Object.assign(env, {
    CERTKEEPER_CERTIFICATE_FILE: files.certificate,
    CERTKEEPER_CHAIN_FILE: files.chain,
    CERTKEEPER_FULLCHAIN_FILE: files.fullchain,
    ...(files.key ? { CERTKEEPER_KEY_FILE: files.key } : {}),
    CERTKEEPER_CERTIFICATE_ID: material.certificateId,
    CERTKEEPER_CERTIFICATE_NAME: material.name,
    CERTKEEPER_COMMON_NAME: material.commonName,
    CERTKEEPER_NAMES: material.names.join(' '),
    CERTKEEPER_SERIAL_NUMBER: material.serialNumber,
    CERTKEEPER_NOT_AFTER: material.notAfter,
  });
  return env;
}

/** How the command is started on this platform. */
async function shellInvocation(command: string, files: MaterialFiles): Promise<{ file: string; args: string[] }> {
  if (process.platform === 'win32') {
    // A .cmd file sidesteps cmd.exe's quoting rules, which no argument escaping gets right.
    const script = join(files.dir, 'deploy.cmd');
    await writeFile(script, `@echo off\r\n${command}\r\n`, { mode: 0o600, flag: 'wx' });
    return { file: process.env.ComSpec ?? 'cmd.exe', args: ['/d', '/c', script] };
  }
  // `exec 2>&1` first: stdout and stderr in one stream, interleaved as the command wrote them.
  return { file: '/bin/sh', args: ['-c', `exec 2>&1\n${command}`] };
}

/** A `script` deployment target. */
export class ScriptTarget implements DeployTarget {
  constructor(private readonly settings: ScriptSettings) {}

  async deploy(material: DeployMaterial, signal: AbortSignal): Promise<DeployOutcome> {
    signal.throwIfAborted();
    const files = await writeMaterialFiles(material);
    try {
      const { file, args } = await shellInvocation(this.settings.command, files);
      const timeoutMs = this.settings.timeoutSeconds * 1000;
      let outcome;
      try {
        outcome = await runProgram({
          command: file,
          args,
          env: scriptEnvironment(material, files),
          cwd: this.settings.workingDirectory ?? files.dir,
          timeoutMs,
          signal,
        });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DeployError(`script: the command could not be started: ${file} ${spawnProblem(err)}${this.settings.workingDirectory ? ' (or settings.workingDirectory does not exist)' : ''}`);
      }
      const output = reportOutput(outcome.stderr ? `${outcome.stdout}${outcome.stdout.endsWith('\n') || !outcome.stdout ? '' : '\n'}${outcome.stderr}` : outcome.stdout, [material.privateKeyPem]);
      const failure = failureOf(outcome, timeoutMs);
      if (failure) throw new DeployError(`script: the command ${failure}`, output);
      const seconds = (outcome.durationMs / 1000).toFixed(1);
      return { message: `script: the command succeeded in ${seconds} s`, ...(output ? { output } : {}) };
    } finally {
      await removeMaterialFiles(files);
    }
  }
}
