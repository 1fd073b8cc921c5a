/**
 * certkeeper's own HTTPS (docs/tls.md): which certificate the API listener serves, where it comes
 * from (a PEM file pair or an auto certificate of the default tenant), and its swap into the
 * running server without a restart. Existing connections keep their session; new handshakes get
 * the new certificate (`tls.Server#setSecureContext`).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, type TlsSource } from '../config/config.js';
import { certificateKeyContext, type Context } from '../lifecycle/context.js';
import { keyMatchesCertificate, parseCertificate, splitPemCertificates } from '../pki/certificate.js';
import { parsePrivateKey } from '../pki/keys.js';
import { createSelfSignedCertificate } from '../pki/self-signed.js';
import { DEFAULT_TENANT } from '../store/migration-access.js';

/** How often the source is checked for a new certificate. */
export const TLS_POLL_INTERVAL_MS = 5_000;
/** RFC 8996 deprecates TLS 1.0 and 1.1. */
const MIN_VERSION = 'TLSv1.2';
/** Lifetime of the self-signed placeholder; it is replaced as soon as the auto certificate is issued. */
const PLACEHOLDER_DAYS = 30;

/** What the logs (and tests) may know about the served certificate: never the key. */
export interface ServedCertificateInfo {
  /** The variable that chose the source. */
  source: 'CERTKEEPER_TLS_CERT_FILE' | 'CERTKEEPER_TLS_AUTO_CERTIFICATE';
  /** The version's name (auto certificate), the subject's common name (files), or `self-signed placeholder`. */
  certificate: string;
  serialNumber: string;
  notAfter: string;
  fingerprintSha256: string;
  placeholder: boolean;
  autoCertificate?: string;
  certFile?: string;
}

/** A certificate ready to serve. The key stays in memory, here only. */
interface ServedCertificate {
  /** Identifies what was loaded: a certificate version id, or a hash of the files' contents. */
  version: string;
  /** The leaf, then its chain (PEM). */
  chainPem: string;
  keyPem: string;
  info: ServedCertificateInfo;
}

/** The answer of one look at the source. */
type Probe =
  | { kind: 'unchanged' }
  /** Nothing to serve yet (no such auto certificate, not issued yet, or its version is not AVAILABLE). */
  | { kind: 'pending'; reason: string }
  | { kind: 'ready'; certificate: ServedCertificate };

/** A source of certificates. `probe` MUST answer `unchanged` when `currentVersion` is still the newest, and throws on broken input. */
interface CertificateSource {
  probe(currentVersion: string | null): Promise<Probe>;
}

/**
 * Checks a certificate chain and key (PEM) and describes them. `where` names the variables in
 * the messages. The messages never quote the key.
 */
function prepare(chainText: string, keyText: string, version: string, where: { cert: string; key: string }, info: Omit<ServedCertificateInfo, 'certificate' | 'serialNumber' | 'notAfter' | 'fingerprintSha256'>): ServedCertificate {
  let chain: string[];
  try {
    chain = splitPemCertificates(chainText);
  } catch (err) {
    throw new Error(`${where.cert}: ${(err as Error).message}`);
  }
  const leaf = chain[0]!;
  let key;
  try {
    key = parsePrivateKey(keyText);
  } catch (err) {
    throw new Error(`${where.key}: ${(err as Error).message}`);
  }
  if (!keyMatchesCertificate(key, leaf)) {
    throw new Error(`the private key of ${where.key} does not belong to the first certificate of ${where.cert} (give the leaf first, then its chain)`);
  }
  const chainPem = chain.join('');
  try {
    createSecureContext({ cert: chainPem, key: keyText, minVersion: MIN_VERSION });
  } catch (err) {
    throw new Error(`${where.cert}: OpenSSL refuses the certificate and key: ${(err as Error).message}`);
  }
  const facts = parseCertificate(leaf);
  return {
    version,
    chainPem,
    keyPem: keyText,
    info: {
      ...info,
      certificate: info.placeholder ? 'self-signed placeholder' : facts.commonName ?? facts.subject,
      serialNumber: facts.serialNumber,
      notAfter: facts.notAfter.toISOString(),
      fingerprintSha256: facts.fingerprintSha256,
    },
  };
}

/** `CERTKEEPER_TLS_CERT_FILE` + `CERTKEEPER_TLS_KEY_FILE`: re-read at every poll, used when their contents changed. */
function fileSource(certFile: string, keyFile: string): CertificateSource {
  const read = async (file: string, variable: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`${variable}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    async probe(currentVersion) {
      const [chainText, keyText] = await Promise.all([read(certFile, 'CERTKEEPER_TLS_CERT_FILE'), read(keyFile, 'CERTKEEPER_TLS_KEY_FILE')]);
      const version = createHash('sha256').update(chainText).update('\0').update(keyText).digest('hex');
      if (version === currentVersion) return { kind: 'unchanged' };
      const certificate = prepare(chainText, keyText, version, { cert: `CERTKEEPER_TLS_CERT_FILE (${certFile})`, key: `CERTKEEPER_TLS_KEY_FILE (${keyFile})` },
        { source: 'CERTKEEPER_TLS_CERT_FILE', certFile, placeholder: false });
      return { kind: 'ready', certificate };
    },
  };
}

/** `CERTKEEPER_TLS_AUTO_CERTIFICATE`: the newest version of the default tenant's auto certificate of that name. */
function autoCertificateSource(ctx: Context, name: string): CertificateSource {
  return {
    async probe(currentVersion) {
      const { items: [ac] } = await ctx.autoCertificates.list(DEFAULT_TENANT, { name }, 0, 1);
      if (!ac) return { kind: 'pending', reason: `the default tenant has no auto certificate named "${name}" yet` };
      const id = ac.last_issued_certificate_id;
      if (!id) return { kind: 'pending', reason: `auto certificate "${name}" has no issued version yet (${ac.state})` };
      if (id === currentVersion) return { kind: 'unchanged' };
      const row = await ctx.certificates.get(DEFAULT_TENANT, id);
      if (!row) return { kind: 'pending', reason: `the newest version of auto certificate "${name}" was deleted` };
      if (row.state !== 'AVAILABLE') return { kind: 'pending', reason: `the newest version of auto certificate "${name}", ${row.name}, is ${row.state}` };
      // The key is opened in memory only, as an export would, but never leaves this process.
      const keyPem = ctx.vault.openText(row.private_key_enc, certificateKeyContext(row.id));
      const where = { cert: `certificate ${row.name}`, key: `certificate ${row.name}` };
      const certificate = prepare(row.certificate_pem + (row.chain_pem ?? ''), keyPem, row.id, where, { source: 'CERTKEEPER_TLS_AUTO_CERTIFICATE', autoCertificate: name, placeholder: false });
      certificate.info.certificate = row.name;
      return { kind: 'ready', certificate };
    },
  };
}

/** A self-signed certificate for loopback and the listen host, until the auto certificate exists. */
async function placeholder(autoCertificate: string, listenHost: string): Promise<ServedCertificate> {
  const names = ['localhost', '127.0.0.1', '::1'];
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && !names.includes(listenHost) && (isIP(listenHost) || /^[a-z0-9.-]+$/i.test(listenHost))) names.push(listenHost);
  const { certificatePem, privateKeyPem } = await createSelfSignedCertificate(`certkeeper placeholder for ${autoCertificate}`.slice(0, 64), names, PLACEHOLDER_DAYS);
  const where = { cert: 'placeholder', key: 'placeholder' };
  return prepare(certificatePem, privateKeyPem, 'placeholder', where, { source: 'CERTKEEPER_TLS_AUTO_CERTIFICATE', autoCertificate, placeholder: true });
}

/**
 * The certificate of certkeeper's HTTPS listener and its updates. `start` loads the first one;
 * then the source is polled every {@link TLS_POLL_INTERVAL_MS} until `stop`, and every server
 * made by {@link SelfTls.createServer} gets a new secure context when the certificate changes.
 */
export class SelfTls {
  private readonly servers = new Set<HttpsServer>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | null = null;
  /** The last warning logged, so a lasting problem is logged once, not at every poll. */
  private lastProblem: string | null = null;

  private constructor(
    private current: ServedCertificate,
    private readonly source: CertificateSource,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /**
   * Loads the first certificate. A file pair MUST be readable and valid (else a ConfigError);
   * an auto certificate without an AVAILABLE version is stood in for by a self-signed placeholder.
   */
  static async start(ctx: Context, config: TlsSource, opts: { logger: Logger; listenHost: string; intervalMs?: number }): Promise<SelfTls> {
    const { logger } = opts;
    const intervalMs = opts.intervalMs ?? TLS_POLL_INTERVAL_MS;
    let self: SelfTls;
    if (config.kind === 'files') {
      const source = fileSource(config.certFile, config.keyFile);
      let first: Probe;
      try {
        first = await source.probe(null);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
      if (first.kind !== 'ready') throw new ConfigError('CERTKEEPER_TLS_CERT_FILE: no certificate to serve');
      self = new SelfTls(first.certificate, source, logger, intervalMs);
    } else {
      const source = autoCertificateSource(ctx, config.name);
      let first: Probe;
      try {
        first = await source.probe(null);
      } catch (err) {
        first = { kind: 'pending', reason: `the auto certificate "${config.name}" cannot be loaded: ${(err as Error).message}` };
      }
      if (first.kind === 'ready') {
        self = new SelfTls(first.certificate, source, logger, intervalMs);
      } else {
        const reason = first.kind === 'pending' ? first.reason : 'no version';
        self = new SelfTls(await placeholder(config.name, opts.listenHost), source, logger, intervalMs);
        self.lastProblem = self.stillServing(reason);
        logger.warn({ tls: self.current.info }, `CERTKEEPER_TLS_AUTO_CERTIFICATE=${config.name}: ${reason}; serving a temporary self-signed certificate until a version is issued (clients will not trust it)`);
      }
    }
    if (!self.current.info.placeholder) logger.info({ tls: self.current.info }, `serving certificate ${self.current.info.certificate} (serial ${self.current.info.serialNumber}, valid until ${self.current.info.notAfter})`);
    self.schedule();
    return self;
  }

  /** What is served now. */
  served(): ServedCertificateInfo {
    return { ...this.current.info };
  }

  /** Options for a new TLS server or secure context with the current certificate. */
  private secureOptions(): SecureContextOptions {
    return { cert: this.current.chainPem, key: this.current.keyPem, minVersion: MIN_VERSION };
  }

  /**
   * An HTTPS server for `app` that serves the current certificate and follows its updates.
   * Fastify's own server never listens: requests go to `app.routing` (call `app.ready()` first),
   * and its timeouts and its answer to malformed requests are carried over.
   */
  createServer(app: FastifyInstance): HttpsServer {
    const server = createServer(this.secureOptions(), (req, res) => app.routing(req, res));
    const plain: HttpServer = app.server;
    server.keepAliveTimeout = plain.keepAliveTimeout;
    server.headersTimeout = plain.headersTimeout;
    server.requestTimeout = plain.requestTimeout;
    server.timeout = plain.timeout;
    server.maxRequestsPerSocket = plain.maxRequestsPerSocket;
    for (const listener of plain.listeners('clientError')) server.on('clientError', listener as (...args: unknown[]) => void);
    server.on('tlsClientError', (err) => this.logger.debug({ err: err.message }, 'TLS handshake failed'));
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /** Stops polling; waits for a poll in flight. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.timer);
    await this.inflight;
  }

  private schedule(): void {
    if (this.abort.signal.aborted) return;
    this.timer = setTimeout(() => {
      this.inflight = this.poll().finally(() => {
        this.inflight = null;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One look at the source; a new certificate is swapped in, a problem keeps the current one. */
  private async poll(): Promise<void> {
    let probe: Probe;
    try {
      probe = await this.source.probe(this.current.version);
    } catch (err) {
      this.problem(this.stillServing((err as Error).message));
      return;
    }
    if (this.abort.signal.aborted) return;
    if (probe.kind === 'unchanged') {
      this.lastProblem = null;
      return;
    }
    if (probe.kind === 'pending') {
      this.problem(this.stillServing(probe.reason), this.current.info.placeholder ? 'info' : 'warn');
      return;
    }
    const previous = this.current.info;
    this.current = probe.certificate;
    for (const server of this.servers) server.setSecureContext(this.secureOptions());
    this.lastProblem = null;
    const info = this.current.info;
    this.logger.info({ tls: info, previous: { certificate: previous.certificate, serialNumber: previous.serialNumber } },
      `now serving certificate ${info.certificate} (serial ${info.serialNumber}, valid until ${info.notAfter}) in place of ${previous.certificate} (serial ${previous.serialNumber}); no restart`);
  }

  private stillServing(reason: string): string {
    return `${reason}; still serving ${this.current.info.certificate} (serial ${this.current.info.serialNumber})`;
  }

  private problem(message: string, level: 'info' | 'warn' = 'warn'): void {
    if (message === this.lastProblem) return;
    this.lastProblem = message;
    this.logger[level]({ tls: this.current.info }, message);
  }
}
