/**
 * Where the CLI finds its server and token: flags first, then the environment, then the config
 * file (`~/.config/certkeeper/cli.yaml`, or `$XDG_CONFIG_HOME/certkeeper/cli.yaml`, or the file
 * named by `CERTKEEPER_CLI_CONFIG`), then the default server `http://127.0.0.1:8080`.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { TokenSource } from './api-client.js';

/** The server used when nothing else names one. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** A problem with the CLI's own input (flags, files); printed as `error: <message>`, exit 1. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** What the config file may hold. */
export interface CliFileConfig {
  server?: string;
  token?: string;
}

/** The resolved connection settings. */
export interface Connection {
  server: string;
  token: string | null;
  tokenSource: TokenSource;
  /** The config file that was consulted (whether or not it exists). */
  configPath: string;
}

type Env = Record<string, string | undefined>;

/** Path of the CLI config file for `env`. */
export function cliConfigPath(env: Env = process.env): string {
  if (env.CERTKEEPER_CLI_CONFIG) return env.CERTKEEPER_CLI_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'certkeeper', 'cli.yaml');
}

/** Reads the config file; a missing file is an empty config, a malformed one an error. */
export function readCliConfig(path: string): CliFileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new CliError(`${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`${path} must be a YAML mapping with "server:" and "token:"`);
  const out: CliFileConfig = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (k !== 'server' && k !== 'token') continue;
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string') throw new CliError(`${path}: "${k}" must be a string`);
    out[k] = v;
  }
  return out;
}

/** Resolves server and token from flags, environment and config file, in that order. */
export function resolveConnection(flags: { server?: string; token?: string }, env: Env = process.env): Connection {
  const configPath = cliConfigPath(env);
  let file: CliFileConfig | undefined;
  const fileConfig = () => (file ??= readCliConfig(configPath));

  const server = flags.server || env.CERTKEEPER_SERVER || fileConfig().server || DEFAULT_SERVER;
  let token: string | null = null;
  let tokenSource: TokenSource = 'none';
  if (flags.token) {
    token = flags.token;
    tokenSource = 'flag';
  } else if (env.CERTKEEPER_TOKEN) {
    token = env.CERTKEEPER_TOKEN;
    tokenSource = 'CERTKEEPER_TOKEN';
  } else if (env.CERTKEEPER_ADMIN_TOKEN) {
    token = env.CERTKEEPER_ADMIN_TOKEN;
    tokenSource = 'CERTKEEPER_ADMIN_TOKEN';
  } else if (fileConfig().token) {
    token = fileConfig().token!;
    tokenSource = 'config';
  }
  return { server, token, tokenSource, configPath };
}

/** The sentence a 401 ends with: which setting supplied the rejected token, or how to give one. */
export function tokenHint(source: TokenSource, configPath: string): string {
  const how = `set it with --token, the CERTKEEPER_TOKEN environment variable (CERTKEEPER_ADMIN_TOKEN also works), or "token:" in ${configPath}`;
  switch (source) {
    case 'none':
      return `no API token was given; ${how}`;
    case 'flag':
      return `the token given with --token was refused; check it (--token takes precedence over CERTKEEPER_TOKEN, CERTKEEPER_ADMIN_TOKEN and "token:" in ${configPath})`;
    case 'config':
      return `the token from ${configPath} was refused; fix "token:" there, or pass --token or CERTKEEPER_TOKEN`;
    default:
      return `the token from the ${source} environment variable was refused; fix ${source}, or pass --token`;
  }
}
