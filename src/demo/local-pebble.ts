// Starts the Debian `pebble` ACME test CA (and, unless told otherwise,
// `pebble-challtestsrv` as its DNS server) on loopback ports, with a throw-away TLS root made
// by the `openssl` CLI because the Debian package ships no certificate for Pebble's listener.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { stopChild, trackChild } from './child-processes.js';

const execFileAsync = promisify(execFile);

/** Options for {@link startPebble}. */
export interface PebbleOptions {
  /** Port on 127.0.0.1 where Pebble's VA connects for http-01 validation. */
  httpPort: number;
  /** `host:port` of the DNS server Pebble resolves names with; absent: a fresh pebble-challtestsrv. */
  dnsServer?: string;
  /** Extra environment for Pebble, e.g. `PEBBLE_VA_ALWAYS_VALID: '1'`. */
  env?: Record<string, string>;
  /** Default true: sets `PEBBLE_VA_NOSLEEP=1`. */
  noSleep?: boolean;
  /** kid → base64url HMAC key; when given, External Account Binding is required. */
  eab?: Record<string, string>;
  /** Also append Pebble's (and challtestsrv's) output to this file. */
  logFile?: string;
}

/** A running Pebble started by {@link startPebble}. */
export interface PebbleHandle {
  /** The ACME directory URL (`https://127.0.0.1:<port>/dir`). */
  directoryUrl: string;
  /** Base URL of Pebble's management interface. */
  managementUrl: string;
  /** PEM of the throw-away root that signs Pebble's own HTTPS listener certificate. */
  tlsCaPem: string;
  /** Path of a file holding {@link tlsCaPem} (for `NODE_EXTRA_CA_CERTS`, curl, …). */
  tlsCaFile: string;
  /** PEM of Pebble's issuing root (`GET <management>/roots/0`); regenerated at every start. */
  issuingRootPem(): Promise<string>;
  /**
   * ACME requests Pebble logged so far ("<METHOD> <path> -> calling handler()" lines), including
   * the harness's own readiness GET of the directory; management requests are not counted.
   * Log lines arrive through a pipe, so take differences and allow a moment for the last ones.
   */
  requestCount(): number;
  /** Everything Pebble (and challtestsrv) wrote so far. */
  logText(): string;
  /** Present when the harness started pebble-challtestsrv itself. */
  challtestsrv?: { managementUrl: string };
  /** Stops the processes this handle started and removes its temp dir. */
  stop(): Promise<void>;
}

const READY_TRIES = 100;
const READY_DELAY_MS = 50;


async function openssl(cwd: string, args: string[]): Promise<void> {
  await execFileAsync('openssl', args, { cwd });
}

/** Makes a root CA and a leaf for localhost/127.0.0.1/::1 in `dir`; returns the file paths. */
async function makeListenerCertificates(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const caFile = join(dir, 'tls-root.pem');
  const caKey = join(dir, 'tls-root.key');
  const certFile = join(dir, 'tls-leaf.pem');
  const keyFile = join(dir, 'tls-leaf.key');
  const csrFile = join(dir, 'tls-leaf.csr');
  const extFile = join(dir, 'tls-leaf.ext');
  await openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', caKey, '-out', caFile, '-days', '7', '-subj', '/CN=certkeeper test Pebble listener root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(dir, [
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyFile, '-out', csrFile, '-subj', '/CN=localhost',
  ]);
  await writeFile(extFile, [
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    '',
  ].join('\n'));
  await openssl(dir, [
    'x509', '-req', '-in', csrFile, '-CA', caFile, '-CAkey', caKey, '-set_serial', '1',
    '-days', '7', '-out', certFile, '-extfile', extFile,
  ]);
  return { caFile, certFile, keyFile };
}

/** One GET with a short timeout; resolves with the status and body, rejects on network errors. */
function get(url: string, ca?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const requestFn = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = requestFn(url, { method: 'GET', ca, agent: false, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout on ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Collects a child's output; also counts Pebble's "<METHOD> <path> -> calling handler()" lines. */
class OutputLog {
  text = '';
  requests = 0;
  private partial = '';
  constructor(private readonly prefix: string, private readonly logFile?: string) {}
  attach(child: ChildProcess): void {
    const onData = (chunk: Buffer): void => this.append(chunk.toString('utf8'));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }
  append(s: string): void {
    this.text += s;
    if (this.logFile) appendFileSync(this.logFile, s.replace(/^(?=.)/gm, this.prefix));
    const lines = (this.partial + s).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) if (/ (?:GET|HEAD|POST) \S+ -> calling handler\(\)/.test(line)) this.requests++;
  }
}


function exitedEarly(child: ChildProcess, log: OutputLog, name: string): Error | undefined {
  if (child.exitCode === null && child.signalCode === null) return undefined;
  return new Error(`${name} exited (${child.exitCode ?? child.signalCode}) during start-up:\n${log.text.slice(-2000)}`);
}

async function startChalltestsrv(log: OutputLog): Promise<{ child: ChildProcess; dnsServer: string; managementUrl: string }> {
  const dnsPort = await freePort();
  const mgmtPort = await freePort();
  const child = spawn('pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dnsPort}`,
    '-management', `127.0.0.1:${mgmtPort}`,
    '-defaultIPv4', '127.0.0.1',
    '-defaultIPv6', '',
    '-http01', '', '-https01', '', '-tlsalpn01', '',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child);
  log.attach(child);
  const managementUrl = `http://127.0.0.1:${mgmtPort}`;
  for (let i = 0; ; i++) {
    const early = exitedEarly(child, log, 'pebble-challtestsrv');
    if (early) throw early;
    try {
      await get(`${managementUrl}/`);
      break; // any HTTP answer means the listeners are up (it starts DNS before management)
    } catch (err) {
      if (i >= READY_TRIES) {
        await stopChild(child);
        throw new Error(`pebble-challtestsrv did not start: ${String(err)}`);
      }
      await sleep(READY_DELAY_MS);
    }
  }
  return { child, dnsServer: `127.0.0.1:${dnsPort}`, managementUrl };
}

/** Starts Pebble (and pebble-challtestsrv as its DNS unless `dnsServer` is given) on loopback. */
export async function startPebble(opts: PebbleOptions): Promise<PebbleHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-pebble-'));
  const started: ChildProcess[] = [];
  const log = new OutputLog('[pebble] ', opts.logFile);
  const dnsLog = new OutputLog('[challtestsrv] ', opts.logFile);
  const cleanup = async (): Promise<void> => {
    for (const child of started.reverse()) await stopChild(child);
    started.length = 0;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const { caFile, certFile, keyFile } = await makeListenerCertificates(dir);
    const tlsCaPem = await readFile(caFile, 'utf8');

    let dnsServer = opts.dnsServer;
    let challtestsrv: PebbleHandle['challtestsrv'];
    if (dnsServer === undefined) {
      const c = await startChalltestsrv(dnsLog);
      started.push(c.child);
      dnsServer = c.dnsServer;
      challtestsrv = { managementUrl: c.managementUrl };
    }

    const listenPort = await freePort();
    const mgmtPort = await freePort();
    const tlsPort = await freePort();
    const eab = opts.eab !== undefined && Object.keys(opts.eab).length > 0;
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${listenPort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: certFile,
        privateKey: keyFile,
        httpPort: opts.httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: eab,
        ...(eab ? { externalAccountMACKeys: opts.eab } : {}),
      },
    };
    const configFile = join(dir, 'pebble-config.json');
    await writeFile(configFile, JSON.stringify(config, null, 2));

    // Pebble's behaviour is set here only: inherited PEBBLE_* variables (e.g. a developer's
    // PEBBLE_WFE_NONCEREJECT=0) are dropped so every run sees Pebble's defaults plus opts.env.
    const env: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PEBBLE_')) env[k] = v;
    if (opts.noSleep ?? true) env.PEBBLE_VA_NOSLEEP = '1';
    Object.assign(env, opts.env ?? {});
    const child = spawn('pebble', ['-config', configFile, '-dnsserver', dnsServer], {
      cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    trackChild(child);
    log.attach(child);

    const directoryUrl = `https://127.0.0.1:${listenPort}/dir`;
    const managementUrl = `https://127.0.0.1:${mgmtPort}`;
    for (let i = 0; ; i++) {
      const early = exitedEarly(child, log, 'pebble');
      if (early) throw early;
      try {
        const res = await get(directoryUrl, tlsCaPem);
        if (res.status === 200) break;
        throw new Error(`HTTP ${res.status}`);
      } catch (err) {
        if (i >= READY_TRIES) throw new Error(`pebble did not answer at ${directoryUrl}: ${String(err)}\n${log.text.slice(-2000)}`);
        await sleep(READY_DELAY_MS);
      }
    }

    let stopped: Promise<void> | undefined;
    return {
      directoryUrl,
      managementUrl,
      tlsCaPem,
      tlsCaFile: caFile,
      async issuingRootPem() {
        const res = await get(`${managementUrl}/roots/0`, tlsCaPem);
        if (res.status !== 200) throw new Error(`GET roots/0: HTTP ${res.status}`);
        return res.body;
      },
      requestCount: () => log.requests,
      logText: () => log.text + (challtestsrv ? dnsLog.text : ''),
      ...(challtestsrv ? { challtestsrv } : {}),
      stop() {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
