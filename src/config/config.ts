/**
 * Configuration of `certkeeper serve`, read once from the environment and validated here
 * (STYLE.md habit 11). Every secret may also come from `<NAME>_FILE`.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve, join } from 'node:path';

/** A host and port to listen on. */
export interface ListenAddress {
  host: string;
  port: number;
}

/**
 * Where certkeeper's own HTTPS certificate comes from (docs/tls.md): a PEM file pair that an
 * external renewer may replace, or an auto certificate of the default tenant.
 */
export type TlsSource =
  | { kind: 'files'; certFile: string; keyFile: string }
  | { kind: 'auto-certificate'; name: string };

/** The validated configuration. */
export interface Config {
  listen: ListenAddress;
  /** null: the API listener speaks plain HTTP. The http-01 responder is plain HTTP always. */
  tls: TlsSource | null;
  /** null disables the built-in http-01 responder (`CERTKEEPER_HTTP01_LISTEN=off`). */
  http01Listen: ListenAddress | null;
  dataDir: string;
  databaseUrl: string;
  /** Base64 of 32 bytes; null means "load or generate in the data dir". */
  masterKey: Buffer | null;
  adminToken: string | null;
  allowPrivateAddresses: boolean;
  logLevel: string;
  /** Days after its own expiry that a superseded or expired version is deleted. */
  retentionDays: number;
  /** Maximum concurrent jobs of this instance. */
  workerConcurrency: number;
  /** Orders in flight at once per CA (per directory host) in this instance. */
  caConcurrency: number;
  /** Seconds between scheduler ticks (due renewals, retries, ARI checks). */
  schedulerIntervalSeconds: number;
  /** Certificates per exact name set per 7 days before the local budget refuses new orders. */
  rateBudgetPerNameSet: number;
  /** Certificates per registered domain (eTLD+1) per 7 days before the local budget refuses new orders. */
  rateBudgetPerDomain: number;
  /** Recursive resolvers (`host:port`) for CNAME and zone-cut lookups; empty means the system's. */
  dnsResolvers: string[];
  /** Days before notAfter at which expiry alerts fire (`CERTKEEPER_EXPIRY_ALERT_DAYS`), descending. */
  expiryAlertDays: number[];
  /** `/metrics` answers without a bearer token (`CERTKEEPER_METRICS_PUBLIC=1`). */
  metricsPublic: boolean;
  /** Per-certificate metric series while the repository has at most this many certificates; 0 turns them off. */
  metricsPerCertificateLimit: number;
}

/** Thrown for a bad setting: the message names the variable and what to fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function readSecret(env: Env, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new ConfigError(`${name}_FILE: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Parses `host:port`, `[v6]:port` or `:port`. */
export function parseListen(name: string, value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${name}: expected host:port (for example 127.0.0.1:8080 or [::1]:8080), got "${value}"`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  if (m[1] && isIP(m[1]) !== 6) throw new ConfigError(`${name}: "${m[1]}" in brackets is not an IPv6 address`);
  return { host, port };
}

function positiveInt(env: Env, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${name}: expected a positive integer, got "${v}"`);
  return n;
}

/** `CERTKEEPER_METRICS_PER_CERTIFICATE`: `on` (default: up to 10,000 certificates), `off`, or another limit (a count of at least 2). */
function perCertificateLimit(env: Env): number {
  const v = (env.CERTKEEPER_METRICS_PER_CERTIFICATE ?? '').trim().toLowerCase();
  if (v === '' || v === 'on' || v === 'true' || v === '1') return 10_000;
  if (v === 'off' || v === 'false' || v === '0') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 1_000_000) {
    throw new ConfigError(`CERTKEEPER_METRICS_PER_CERTIFICATE: expected on, off or a certificate count limit (2 to 1000000), got "${env.CERTKEEPER_METRICS_PER_CERTIFICATE}"`);
  }
  return n;
}

/** `CERTKEEPER_TLS_CERT_FILE` + `CERTKEEPER_TLS_KEY_FILE`, or `CERTKEEPER_TLS_AUTO_CERTIFICATE`, or neither. */
function tlsSource(env: Env): TlsSource | null {
  const certFile = env.CERTKEEPER_TLS_CERT_FILE?.trim() || undefined;
  const keyFile = env.CERTKEEPER_TLS_KEY_FILE?.trim() || undefined;
  const auto = env.CERTKEEPER_TLS_AUTO_CERTIFICATE?.trim() || undefined;
  if (auto !== undefined && (certFile !== undefined || keyFile !== undefined)) {
    const files = [certFile !== undefined ? 'CERTKEEPER_TLS_CERT_FILE' : '', keyFile !== undefined ? 'CERTKEEPER_TLS_KEY_FILE' : ''].filter(Boolean).join(' and ');
    throw new ConfigError(`CERTKEEPER_TLS_AUTO_CERTIFICATE and ${files} are both set: certkeeper's own certificate comes either from an auto certificate or from a file pair; unset one`);
  }
  if (auto !== undefined) {
    if (auto.length > 200) throw new ConfigError('CERTKEEPER_TLS_AUTO_CERTIFICATE: expected the name of an auto certificate of the default tenant (at most 200 characters)');
    return { kind: 'auto-certificate', name: auto };
  }
  if (certFile === undefined && keyFile === undefined) return null;
  if (certFile === undefined) throw new ConfigError('CERTKEEPER_TLS_KEY_FILE is set but CERTKEEPER_TLS_CERT_FILE is not: give both, the certificate file holding the full chain (PEM, leaf first)');
  if (keyFile === undefined) throw new ConfigError('CERTKEEPER_TLS_CERT_FILE is set but CERTKEEPER_TLS_KEY_FILE is not: give both, the key file holding the unencrypted private key (PEM)');
  // Readable now; the contents are checked when the server starts and re-read when they change.
  for (const [name, file] of [['CERTKEEPER_TLS_CERT_FILE', certFile], ['CERTKEEPER_TLS_KEY_FILE', keyFile]] as const) {
    try {
      accessSync(file, constants.R_OK);
    } catch (e) {
      throw new ConfigError(`${name}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }
  return { kind: 'files', certFile: resolve(certFile), keyFile: resolve(keyFile) };
}

/** Reads and validates the configuration from `env`. */
export function loadConfig(env: Env = process.env): Config {
  const dataDir = resolve(env.CERTKEEPER_DATA_DIR || './data');
  const http01 = env.CERTKEEPER_HTTP01_LISTEN ?? '0.0.0.0:80';
  let masterKey: Buffer | null = null;
  const mk = readSecret(env, 'CERTKEEPER_MASTER_KEY');
  if (mk !== undefined) {
    masterKey = Buffer.from(mk, 'base64');
    if (masterKey.length !== 32 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(mk)) {
      throw new ConfigError('CERTKEEPER_MASTER_KEY: expected the base64 encoding of exactly 32 random bytes (make one with `openssl rand -base64 32`)');
    }
  }
  const databaseUrl = readSecret(env, 'CERTKEEPER_DATABASE_URL') ?? `sqlite:${join(dataDir, 'certkeeper.db')}`;
  return {
    listen: parseListen('CERTKEEPER_LISTEN', env.CERTKEEPER_LISTEN || '127.0.0.1:8080'),
    tls: tlsSource(env),
    http01Listen: http01 === 'off' || http01 === '' ? null : parseListen('CERTKEEPER_HTTP01_LISTEN', http01),
    dataDir,
    databaseUrl,
    masterKey,
    adminToken: readSecret(env, 'CERTKEEPER_ADMIN_TOKEN') ?? null,
    allowPrivateAddresses: env.CERTKEEPER_ALLOW_PRIVATE_ADDRESSES === '1' || env.CERTKEEPER_ALLOW_PRIVATE_ADDRESSES === 'true',
    logLevel: env.CERTKEEPER_LOG_LEVEL || 'info',
    retentionDays: positiveInt(env, 'CERTKEEPER_RETENTION_DAYS', 30),
    workerConcurrency: positiveInt(env, 'CERTKEEPER_WORKER_CONCURRENCY', 8),
    rateBudgetPerNameSet: positiveInt(env, 'CERTKEEPER_RATE_BUDGET_PER_NAME_SET', 5),
    rateBudgetPerDomain: positiveInt(env, 'CERTKEEPER_RATE_BUDGET_PER_DOMAIN', 50),
    schedulerIntervalSeconds: positiveInt(env, 'CERTKEEPER_SCHEDULER_INTERVAL_SECONDS', 60),
    caConcurrency: positiveInt(env, 'CERTKEEPER_CA_CONCURRENCY', 4),
    dnsResolvers: (env.CERTKEEPER_DNS_RESOLVERS ?? '').split(/[\s,]+/).filter(Boolean).map((r) => {
      const m = /^(?:\[([^\]]+)\](?::\d{1,5})?|([\d.]+)(?::\d{1,5})?|([0-9a-fA-F:]+))$/.exec(r);
      if (!m || isIP(m[1] ?? m[2] ?? m[3] ?? '') === 0) {
        throw new ConfigError(`CERTKEEPER_DNS_RESOLVERS: "${r}" is not an IP address with an optional port (e.g. 192.0.2.53:53 or [2001:db8::53]:53)`);
      }
      return r;
    }),
    expiryAlertDays: (() => {
      const v = env.CERTKEEPER_EXPIRY_ALERT_DAYS?.trim() || '30,14,7,3,1';
      const days = v.split(/[\s,]+/).filter(Boolean).map(Number);
      if (days.length === 0 || days.length > 20 || days.some((d) => !Number.isInteger(d) || d < 1 || d > 365)) {
        throw new ConfigError(`CERTKEEPER_EXPIRY_ALERT_DAYS: expected a comma-separated list of up to 20 whole days between 1 and 365 (e.g. 30,14,7,3,1), got "${v}"`);
      }
      return [...new Set(days)].sort((a, b) => b - a);
    })(),
    metricsPublic: env.CERTKEEPER_METRICS_PUBLIC === '1' || env.CERTKEEPER_METRICS_PUBLIC === 'true',
    metricsPerCertificateLimit: perCertificateLimit(env),
  };
}
