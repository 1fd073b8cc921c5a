/**
 * The agent's settings, from command-line flags and CERTKEEPER_AGENT_* environment variables
 * (flags win), validated once here and typed everywhere after.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

/** A setting that cannot work; the CLI prints it and exits with code 2. */
export class AgentConfigError extends Error {
  override name = 'AgentConfigError';
}

/** The flags of `certkeeper agent` as commander hands them over. */
export interface AgentFlags {
  server?: string;
  token?: string;
  tokenFile?: string;
  stateDir?: string;
  caFile?: string;
  http01Listen?: string;
  http01Webroot?: string;
  logLevel?: string;
}

/** The validated settings. */
export interface AgentSettings {
  server: string;
  /** Enrolment token or credential; used only when no credential is stored yet. */
  token?: string;
  stateDir: string;
  caPem?: string;
  http01Listen?: { host: string; port: number };
  http01Webroot?: string;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The default state directory: /var/lib/certkeeper-agent, or %ProgramData%\certkeeper-agent on Windows. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return join(env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData', 'certkeeper-agent');
  return '/var/lib/certkeeper-agent';
}

/** Parses `host:port` (`[::1]:80` for IPv6). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new AgentConfigError(`--http01-listen "${text}" is not host:port (e.g. 0.0.0.0:80 or [::]:80)`);
  return { host: (m[1] ?? m[2]) as string, port };
}

async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError(`cannot read the token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new AgentConfigError(`the token file ${path} is empty`);
  return token;
}

/** Validates flags and environment into {@link AgentSettings}; throws {@link AgentConfigError}. */
export async function resolveAgentSettings(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): Promise<AgentSettings> {
  const pick = (flag: string | undefined, name: string): string | undefined => {
    const v = flag ?? env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const server = pick(flags.server, 'CERTKEEPER_AGENT_SERVER');
  if (!server) throw new AgentConfigError('no server: give --server https://certkeeper.example.com (or CERTKEEPER_AGENT_SERVER)');
  try {
    const url = new URL(server);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new AgentConfigError(`--server "${server}" is not an http(s) URL`);
  }

  if (flags.token !== undefined && flags.tokenFile !== undefined) throw new AgentConfigError('give --token or --token-file, not both');
  let token: string | undefined;
  if (flags.token !== undefined) token = flags.token.trim() || undefined;
  else if (flags.tokenFile !== undefined) token = await readTokenFile(flags.tokenFile);
  else if (pick(undefined, 'CERTKEEPER_AGENT_TOKEN')) token = pick(undefined, 'CERTKEEPER_AGENT_TOKEN');
  else {
    const file = pick(undefined, 'CERTKEEPER_AGENT_TOKEN_FILE');
    if (file) token = await readTokenFile(file);
  }

  const stateDir = resolve(pick(flags.stateDir, 'CERTKEEPER_AGENT_STATE_DIR') ?? defaultStateDir(env));

  let caPem: string | undefined;
  const caFile = pick(flags.caFile, 'CERTKEEPER_AGENT_CA_FILE');
  if (caFile) {
    try {
      caPem = await readFile(caFile, 'utf8');
    } catch (err) {
      throw new AgentConfigError(`cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new AgentConfigError(`the CA file ${caFile} holds no PEM certificate`);
  }

  const listen = pick(flags.http01Listen, 'CERTKEEPER_AGENT_HTTP01_LISTEN');
  const webroot = pick(flags.http01Webroot, 'CERTKEEPER_AGENT_HTTP01_WEBROOT');
  if (listen && webroot) throw new AgentConfigError('give --http01-listen or --http01-webroot, not both');
  if (webroot && !isAbsolute(webroot)) throw new AgentConfigError(`--http01-webroot "${webroot}" must be an absolute path`);

  const logLevel = (pick(flags.logLevel, 'CERTKEEPER_AGENT_LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) throw new AgentConfigError(`--log-level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);

  return {
    server,
    ...(token ? { token } : {}),
    stateDir,
    ...(caPem ? { caPem } : {}),
    ...(listen ? { http01Listen: parseListen(listen) } : {}),
    ...(webroot ? { http01Webroot: webroot } : {}),
    logLevel,
  };
}
