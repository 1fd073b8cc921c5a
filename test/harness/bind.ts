// Starts a throw-away BIND 9 (`named -g`) on a loopback port: primary for the given zones (with
// RFC 2136 updates where a TSIG key is given) and for a local root zone, so that its recursion —
// which Pebble needs to chase `_acme-challenge` CNAMEs across zones — never leaves loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { appendFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dnsQuery } from '../../src/dns/wire/dns-query.js';
import { normalizeName } from '../../src/dns/wire/dns-name.js';
import { parseServerAddress } from '../../src/dns/wire/server-address.js';
import { freePort } from './ports.js';
import { stopChild } from '../../src/demo/child-processes.js';

/** A TSIG key allowed to update a zone. */
export interface BindUpdateKey {
  name: string;
  algorithm: 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';
  /** base64 */
  secret: string;
}

/** One zone BIND serves as primary. */
export interface BindZone {
  /** e.g. `example.test` */
  name: string;
  /** When given, `allow-update { key <name>; }`. */
  updateKey?: BindUpdateKey;
  /**
   * Extra zone-file lines with relative or absolute names, e.g.
   * `_acme-challenge.www CNAME _acme-challenge.www.delegated.test.`
   */
  records?: string[];
}

/** A zone BIND forwards instead of serving (e.g. to a PowerDNS under test). */
export interface BindForwardZone {
  name: string;
  /** `host:port` of the servers to forward to. */
  forwarders: string[];
}

/** Options of {@link startBind}. */
export interface BindOptions {
  zones: BindZone[];
  /**
   * Zones answered by forwarding recursive queries (`forward only`); the root zone delegates them so
   * that recursion reaches the forward zone. Queries with RD=0 get that referral.
   */
  forwardZones?: BindForwardZone[];
  /** A loopback address (127.0.0.0/8) to listen on; default 127.0.0.1. The zones' NS glue points here. */
  listenAddress?: string;
  /** Default: a free port. A fixed port (e.g. 53, as root) is not retried when taken. */
  port?: number;
  /** Also append named's output to this file. */
  logFile?: string;
}

/** A running BIND started by {@link startBind}. */
export interface BindHandle {
  /** `127.0.0.1` unless {@link BindOptions.listenAddress} said otherwise. */
  host: string;
  port: number;
  /** `<host>:<port>` */
  address: string;
  /** Present only when the harness configured rndc (it does not: named runs with `controls { };`). */
  rndcReload?(): Promise<void>;
  /** Stops named (its own PID only), waits for it to exit and removes the temp dir. */
  stop(): Promise<void>;
  /** Everything named wrote so far. */
  logText(): string;
}

const START_ATTEMPTS = 3;
const READY_TRIES = 100;
const READY_DELAY_MS = 50;
const ROOT_NS = 'ns.certkeeper-root.';

// Children still running and their temp dirs, killed and removed on process exit so a crashed
// test leaves nothing behind.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) c.kill('SIGKILL');
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}
function trackChild(child: ChildProcess, dir: string): void {
  installExitHook();
  liveChildren.add(child);
  liveDirs.add(dir);
  child.once('exit', () => liveChildren.delete(child));
}
async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/** Collects a child's output (and copies it to a log file when asked). */
class OutputLog {
  text = '';
  /** Set when the child could not be spawned at all. */
  spawnError: Error | undefined;
  constructor(private readonly logFile?: string) {}
  attach(child: ChildProcess): void {
    child.once('error', (err) => {
      this.spawnError = err;
    });
    const onData = (chunk: Buffer): void => {
      const s = chunk.toString('utf8');
      this.text += s;
      if (this.logFile) appendFileSync(this.logFile, s.replace(/^(?=.)/gm, '[named] '));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
  }
}


/** True when `port` can be bound for UDP on 127.0.0.1 right now (freePort only checked TCP). */
async function udpPortFree(port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

async function freeTcpUdpPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    if (await udpPortFree(port)) return port;
  }
  throw new Error('no loopback port free for both TCP and UDP');
}

function quote(s: string): string {
  if (/["\\\n]/.test(s)) throw new Error(`unexpected character in BIND configuration value: ${s}`);
  return `"${s}"`;
}

/** The zone among `zones` (or the root) that holds the delegation of `zone`. */
function parentZone(zone: string, zones: readonly string[]): string {
  let best = '';
  for (const z of zones) if (z !== zone && zone.endsWith(`.${z}`) && z.length > best.length) best = z;
  return best;
}

function zoneFile(origin: string, lines: string[]): string {
  const o = origin === '' ? '.' : `${origin}.`;
  const ns = origin === '' ? ROOT_NS : `ns.${o}`;
  return [
    `$ORIGIN ${o}`,
    '$TTL 60',
    // Negative TTL 1 s: a record a test adds is not hidden by a cached "no such name".
    `@ IN SOA ${ns} hostmaster.${origin === '' ? 'certkeeper-root.' : o} 1 3600 600 86400 1`,
    `@ IN NS ${ns}`,
    ...lines,
    '',
  ].join('\n');
}

function namedConf(dir: string, host: string, port: number, opts: BindOptions): string {
  const zones = opts.zones;
  const keys = new Map<string, BindUpdateKey>();
  for (const z of zones) {
    const k = z.updateKey;
    if (!k) continue;
    const name = normalizeName(k.name);
    const seen = keys.get(name);
    if (seen && (seen.secret !== k.secret || seen.algorithm !== k.algorithm)) {
      throw new Error(`startBind: key ${name} is given twice with different algorithms or secrets`);
    }
    keys.set(name, k);
  }
  const out: string[] = [
    'options {',
    `  directory ${quote(dir)};`,
    `  pid-file ${quote(join(dir, 'named.pid'))};`,
    `  lock-file ${quote(join(dir, 'named.lock'))};`,
    `  session-keyfile ${quote(join(dir, 'session.key'))};`,
    `  managed-keys-directory ${quote(dir)};`,
    `  dump-file ${quote(join(dir, 'named_dump.db'))};`,
    `  statistics-file ${quote(join(dir, 'named.stats'))};`,
    `  listen-on port ${port} { ${host}; };`,
    '  listen-on-v6 { none; };',
    // Every query BIND itself sends leaves from loopback; with the local root below it never needs to.
    '  query-source address 127.0.0.1;',
    '  notify-source 127.0.0.1;',
    '  transfer-source 127.0.0.1;',
    '  recursion yes;',
    // Loopback clients only (a client of 127.x.y.z may come from 127.0.0.1 or from that address).
    '  allow-recursion { 127.0.0.0/8; };',
    '  allow-query { 127.0.0.0/8; };',
    '  allow-transfer { none; };',
    '  notify no;',
    '  dnssec-validation no;',
    '  empty-zones-enable no;',
    '  max-cache-size 8m;',
    '  max-ncache-ttl 1;',
    '  max-cache-ttl 1;',
    '};',
    // No rndc: without this, named would open a control channel on 127.0.0.1:953 with /etc/bind/rndc.key.
    'controls { };',
  ];
  for (const [name, k] of keys) {
    out.push(`key ${quote(name)} { algorithm ${k.algorithm}; secret ${quote(k.secret)}; };`);
  }
  out.push('zone "." { type primary; file "root.zone"; };');
  zones.forEach((z, i) => {
    const name = normalizeName(z.name);
    const lines = [
      `zone ${quote(name)} {`,
      '  type primary;',
      `  file ${quote(`zone-${i}.db`)};`,
      `  journal ${quote(join(dir, `zone-${i}.jnl`))};`,
    ];
    if (z.updateKey) lines.push(`  allow-update { key ${quote(normalizeName(z.updateKey.name))}; };`);
    lines.push('};');
    out.push(lines.join('\n'));
  });
  for (const f of opts.forwardZones ?? []) {
    const forwarders = f.forwarders.map((a) => {
      const { host: h, port: p } = parseServerAddress(a);
      return `${h} port ${p};`;
    });
    out.push(`zone ${quote(normalizeName(f.name))} { type forward; forward only; forwarders { ${forwarders.join(' ')} }; };`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * Writes the root zone and one file per zone, each parent delegating to its children with glue
 * (so that walking NS records from the root finds this server), forward zones included.
 */
async function writeZoneFiles(dir: string, host: string, opts: BindOptions): Promise<void> {
  const zones = opts.zones;
  const names = zones.map((z) => normalizeName(z.name));
  const delegations = new Map<string, string[]>([['', []]]);
  for (const n of names) delegations.set(n, []);
  for (const n of names) {
    delegations.get(parentZone(n, names))?.push(`${n}. IN NS ns.${n}.`, `ns.${n}. IN A ${host}`);
  }
  for (const f of opts.forwardZones ?? []) {
    const n = normalizeName(f.name);
    const first = f.forwarders[0];
    const glue = first === undefined ? host : parseServerAddress(first).host;
    delegations.get(parentZone(n, names))?.push(`${n}. IN NS ns.${n}.`, `ns.${n}. IN A ${glue}`);
  }
  await writeFile(join(dir, 'root.zone'), zoneFile('', [`${ROOT_NS} IN A ${host}`, ...(delegations.get('') ?? [])]));
  await Promise.all(zones.map(async (z, i) => {
    const n = normalizeName(z.name);
    const lines = [
      `ns IN A ${host}`,
      // Every other name resolves to loopback too, so http-01 names work without records.
      '* IN A 127.0.0.1',
      ...(delegations.get(n) ?? []),
      ...(z.records ?? []),
    ];
    await writeFile(join(dir, `zone-${i}.db`), zoneFile(n, lines));
  }));
}

/** Waits until named answers SOA authoritatively for the root and every zone (bounded). */
async function waitReady(host: string, port: number, zones: readonly string[], child: ChildProcess, log: OutputLog): Promise<void> {
  const server = { host, port };
  let lastProblem = 'no answer yet';
  for (let i = 0; i < READY_TRIES; i++) {
    if (log.spawnError) throw new Error(`cannot start /usr/sbin/named (Debian package bind9): ${log.spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`named exited (${child.exitCode ?? child.signalCode}) during start-up:\n${log.text.slice(-3000)}`);
    }
    try {
      let ready = true;
      for (const z of ['', ...zones]) {
        const r = await dnsQuery(server, z, 'SOA', { timeoutMs: 200, tries: 1 });
        if (r.rcode !== 'NOERROR' || !r.authoritative || !r.answers.some((a) => a.type === 'SOA')) {
          lastProblem = `SOA ${z || '.'}: ${r.rcode}${r.authoritative ? '' : ' (not authoritative)'}`;
          ready = false;
          break;
        }
      }
      if (ready) return;
    } catch (err) {
      lastProblem = String(err);
    }
    await sleep(READY_DELAY_MS);
  }
  throw new Error(`named did not become ready on ${host}:${port}: ${lastProblem}\n${log.text.slice(-3000)}`);
}

/** Starts `named -g` in a fresh temp dir; resolves once it answers SOA for every zone. */
export async function startBind(opts: BindOptions): Promise<BindHandle> {
  const zoneNames = opts.zones.map((z) => normalizeName(z.name));
  if (zoneNames.includes('')) throw new Error('startBind: the root zone is the harness\'s own');
  if (new Set(zoneNames).size !== zoneNames.length) throw new Error('startBind: a zone is given twice');
  const host = opts.listenAddress ?? '127.0.0.1';
  if (!isIPv4(host) || !host.startsWith('127.')) throw new Error(`startBind: listenAddress must be a 127.0.0.0/8 address, not ${host}`);
  // named listens only on addresses configured on an interface (it scans them; there is no
  // "freebind"), and lo normally carries 127.0.0.1 alone although all of 127/8 routes to it.
  const configured = Object.values(networkInterfaces()).some((list) => list?.some((a) => a.family === 'IPv4' && a.address === host));
  if (!configured) {
    throw new Error(`startBind: named can only listen on an address configured on an interface, and ${host} is not ` +
      `(as root: ip addr add ${host}/32 dev lo — or use 127.0.0.1 with a free port)`);
  }
  let lastError: unknown;
  // A port found free may be taken before named binds it; then start again on another.
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'certkeeper-bind-'));
    const log = new OutputLog(opts.logFile);
    let child: ChildProcess | undefined;
    const cleanup = async (): Promise<void> => {
      if (child) await stopChild(child, 5000);
      await removeDir(dir);
    };
    try {
      const port = opts.port ?? await freeTcpUdpPort();
      await writeFile(join(dir, 'named.conf'), namedConf(dir, host, port, opts));
      await writeZoneFiles(dir, host, opts);
      // -g: foreground, log to stderr; -4: IPv4 only; -n 2: two worker threads are plenty.
      // As root and without -u, named keeps root's rights, so it can write the temp dir.
      child = spawn('/usr/sbin/named', ['-g', '-4', '-n', '2', '-c', join(dir, 'named.conf')], {
        cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
      });
      trackChild(child, dir);
      log.attach(child);
      await waitReady(host, port, zoneNames, child, log);
      const running = child;
      let stopped: Promise<void> | undefined;
      return {
        host,
        port,
        address: `${host}:${port}`,
        logText: () => log.text,
        stop() {
          stopped ??= (async () => {
            await stopChild(running, 5000);
            await removeDir(dir);
          })();
          return stopped;
        },
      };
    } catch (err) {
      lastError = err;
      await cleanup();
      if (opts.port !== undefined || !/address in use|could not listen|unable to listen/i.test(log.text)) break;
    }
  }
  throw lastError;
}
