/**
 * bench/compare — certkeeper against the Debian ACME clients uacme, lego and certbot on one local
 * Pebble in one run: one certificate's latency (http-01, and dns-01 through RFC 2136 on BIND 9),
 * throughput of many certificates, ACME requests per certificate, peak RSS, and Pebble's own
 * ceiling. See bench/README.md and docs/performance.md. Run: `npm run bench -- --help`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startPebble, type PebbleHandle } from '../test/harness/pebble.js';
import { freePort } from '../test/harness/ports.js';
import { diffCounts, settledCounts, total, type RequestCounts } from './lib/acme-log.js';
import { startBenchDns, type BenchDns } from './lib/bench-dns.js';
import { ceilingBurst, registerCeilingClient } from './lib/ceiling.js';
import { issueBurst, issueOne, POLL_MS, startCertkeeper, type ChallengeType } from './lib/certkeeper.js';
import {
  CLIENTS, FIGURES, PEERS, renderComparison,
  type Client, type Comparison, type Figure, type Measurement, type Peer,
} from './lib/compare-report.js';
import { ensureBuilt, machineFacts, packageVersion, ROOT, type MachineFacts } from './lib/environment.js';
import { log, onCleanup, runBenchmark, signal } from './lib/interrupts.js';
import { runLanes } from './lib/lanes.js';
import { createCertbot, certbotDnsPluginVersion } from './lib/peers/certbot.js';
import { createLego } from './lib/peers/lego.js';
import type { HttpMode, PeerClient, PeerRun, PeerSetup } from './lib/peers/peer.js';
import { createUacme } from './lib/peers/uacme.js';
import { GNU_TIME, cpuMs, memoryKiB } from './lib/proc.js';
import { fmt } from './lib/report.js';
import { writeResults } from './lib/results.js';
import { startWebrootServer, type WebrootServer } from './lib/webroot-server.js';
import { summarize } from './lib/stats.js';

const USAGE = `usage: npm run bench -- [options]

  --repeats R              single-certificate runs per client and challenge (default 10; median and p90)
  --throughput-n N         certificates of the throughput figure for certkeeper, uacme and the ceiling (default 200)
  --peer-throughput-n M    certificates of the throughput figure for lego and certbot (default 20)
  --lanes L                peer processes at once in the throughput figure (default 4)
  --throughput-runs K      runs of each throughput figure; certs/s is their median (default 1)
  --ceiling-concurrency C  orders in flight in the ceiling loop (default 16)
  --only LIST              comma-separated clients (certkeeper, uacme, lego, certbot, ceiling) and/or
                           figures (latency-http01, latency-dns01, throughput, ceiling); default all
  --quick                  R = 3, N = 40, M = 8 unless given (about 2 minutes)
  --nonce-reject PCT       PEBBLE_WFE_NONCEREJECT (Pebble's default rejects 5 % of good nonces); 0 turns it off
  --timeout SECONDS        limit per certificate or client process (default 120)
  --write-docs             also replace the results block of docs/performance.md with this run
`;

/** Fewest runs of the ceiling burst (certs/s is their median). */
const CEILING_RUNS = 5;
/** How often one ceiling run may be run again after Pebble stopped answering. */
const CEILING_RERUNS = 2;
/** Certificates of the ceiling's excluded warm-up burst. */
const CEILING_WARM_UP = 32;

/** The burst's collection poll interval: 200 certificates listed every 10 ms would tax the server under test. */
const BURST_POLL_MS = 50;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  repeats: number;
  throughputN: number;
  peerThroughputN: number;
  lanes: number;
  throughputRuns: number;
  ceilingConcurrency: number;
  clients: Set<Client>;
  figures: Set<Figure>;
  quick: boolean;
  nonceReject: number | undefined;
  timeoutMs: number;
  writeDocs: boolean;
  argv: string[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      repeats: { type: 'string' },
      'throughput-n': { type: 'string' },
      'peer-throughput-n': { type: 'string' },
      lanes: { type: 'string', default: '4' },
      'throughput-runs': { type: 'string', default: '1' },
      'ceiling-concurrency': { type: 'string', default: '16' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'nonce-reject': { type: 'string' },
      timeout: { type: 'string', default: '120' },
      'write-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, v: string, min: number, max: number): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < min || x > max) throw new Error(`--${name}: expected an integer from ${min} to ${max}, got "${v}"\n\n${USAGE}`);
    return x;
  };
  const quick = values.quick;
  const clients = new Set<Client>();
  const figures = new Set<Figure>();
  for (const item of (values.only ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    if ((CLIENTS as readonly string[]).includes(item)) clients.add(item as Client);
    if ((FIGURES as readonly string[]).includes(item)) figures.add(item as Figure);
    if (!(CLIENTS as readonly string[]).includes(item) && !(FIGURES as readonly string[]).includes(item)) {
      throw new Error(`--only: "${item}" is neither a client (${CLIENTS.join(', ')}) nor a figure (${FIGURES.join(', ')})`);
    }
  }
  if (clients.size === 0) for (const c of CLIENTS) clients.add(c);
  if (figures.size === 0) for (const f of FIGURES) figures.add(f);
  // The ceiling is both a client and a figure: asking for either one alone means it.
  if (!clients.has('ceiling')) figures.delete('ceiling');
  if (!figures.has('ceiling')) clients.delete('ceiling');
  return {
    repeats: int('repeats', values.repeats ?? (quick ? '3' : '10'), 1, 200),
    throughputN: int('throughput-n', values['throughput-n'] ?? (quick ? '40' : '200'), 1, 2000),
    peerThroughputN: int('peer-throughput-n', values['peer-throughput-n'] ?? (quick ? '8' : '20'), 1, 2000),
    lanes: int('lanes', values.lanes, 1, 64),
    throughputRuns: int('throughput-runs', values['throughput-runs'], 1, 20),
    ceilingConcurrency: int('ceiling-concurrency', values['ceiling-concurrency'], 1, 256),
    clients,
    figures,
    quick,
    nonceReject: values['nonce-reject'] === undefined ? undefined : int('nonce-reject', values['nonce-reject'], 0, 100),
    timeoutMs: int('timeout', values.timeout, 1, 3600) * 1000,
    writeDocs: values['write-docs'],
    argv,
  };
}

// ---------------------------------------------------------------------------------------------
// The run's shared state

interface Run {
  opts: Options;
  runId: string;
  pebble: PebbleHandle;
  dns: BenchDns;
  httpPort: number;
  webroot: string;
  comparison: Comparison;
  /** Clients that failed (their remaining figures are n/a); the exit code is 1 then. */
  failed: Client[];
}

const MiB = (kib: number | undefined): number | undefined => (kib === undefined || Number.isNaN(kib) ? undefined : kib / 1024);
const name = (run: Run, client: string, tag: string, i: number | string): string => `${client}-${tag}-${i}-${run.runId}.bench.test`;

/** Runs `fn` and records it as excluded work, with the ACME requests it made. */
async function excluded<T>(run: Run, client: Client, what: string, fn: () => Promise<T>): Promise<T> {
  const before = await settledCounts(run.pebble, signal);
  const t0 = performance.now();
  const result = await fn();
  const wallMs = performance.now() - t0;
  const after = await settledCounts(run.pebble, signal);
  run.comparison.excluded.push({ client, what, wallMs, acmeRequests: total(diffCounts(after, before)) });
  log(`${client}: ${what}: ${fmt(wallMs / 1000, 3)} s (excluded)`);
  return result;
}

/** Switches the webroot server on the http-01 port on and off (standalone clients need the port). */
class WebrootSwitch {
  private server: WebrootServer | undefined;
  constructor(private readonly dir: string, private readonly port: number) {
    onCleanup('webroot server', () => this.set(false));
  }
  async set(on: boolean): Promise<void> {
    if (on && !this.server) {
      this.server = await startWebrootServer(this.dir, this.port);
    } else if (!on && this.server) {
      const s = this.server;
      this.server = undefined;
      await s.stop();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// certkeeper

function workerConcurrency(): string {
  if (process.env.CERTKEEPER_WORKER_CONCURRENCY) return `${process.env.CERTKEEPER_WORKER_CONCURRENCY} (exported)`;
  try {
    const m = /CERTKEEPER_WORKER_CONCURRENCY',\s*(\d+)/.exec(readFileSync(join(ROOT, 'dist', 'config', 'config.js'), 'utf8'));
    return m ? `default ${m[1]}` : 'default';
  } catch {
    return 'default';
  }
}

async function benchCertkeeper(run: Run): Promise<void> {
  const { opts, pebble, dns } = run;
  const figures = opts.figures;
  const server = await startCertkeeper(run.httpPort, signal, { CERTKEEPER_DNS_RESOLVERS: dns.address });
  const { api, pid } = server;
  const concurrency = workerConcurrency();
  try {
    await excluded(run, 'certkeeper', 'provider (account registration)', async () => {
      const id = await api.create('providers', { name: 'pebble', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem });
      await api.waitAvailable('providers', id, opts.timeoutMs);
    });
    const dnsWanted = figures.has('latency-dns01');
    if (dnsWanted) {
      await excluded(run, 'certkeeper', 'DNS zone (rfc2136 on BIND, TSIG checked)', async () => {
        const id = await api.create('dns-zones', {
          zoneName: dns.zone, provider: 'rfc2136',
          settings: { nameserver: dns.address, tsigKeyName: dns.key.name, tsigAlgorithm: dns.key.algorithm },
          credentials: { tsigSecret: dns.key.secret },
          // Propagation is checked at BIND itself (its port is not 53, where NS records would lead).
          resolvers: [dns.address],
        });
        await api.waitAvailable('dns-zones', id, opts.timeoutMs);
      });
    }
    let stored = 0;
    await excluded(run, 'certkeeper', 'warm-up certificate (http-01)', () => issueOne(api, 'warm-http', name(run, 'certkeeper', 'warm', 'h'), opts.timeoutMs));
    stored++;
    if (dnsWanted) {
      await excluded(run, 'certkeeper', 'warm-up certificate (dns-01)', () => issueOne(api, 'warm-dns', name(run, 'certkeeper', 'warm', 'd'), opts.timeoutMs, 'dns-01'));
      stored++;
    }

    for (const [figure, challenge] of [['latency-http01', 'http-01'], ['latency-dns01', 'dns-01']] as const) {
      if (!figures.has(figure)) continue;
      const before = await settledCounts(pebble, signal);
      const cpu0 = cpuMs(pid);
      const times: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < opts.repeats; i++) {
        const tag = challenge === 'http-01' ? 'lh' : 'ld';
        times.push(await issueOne(api, `${tag}-${i}`, name(run, 'certkeeper', tag, i), opts.timeoutMs, challenge));
        log(`certkeeper ${figure} ${i + 1}/${opts.repeats}: ${fmt(times.at(-1)! / 1000, 3)} s`);
      }
      const phaseMs = performance.now() - t0;
      stored += opts.repeats;
      run.comparison.measurements.push(finish(await settledCounts(pebble, signal), before, {
        figure, client: 'certkeeper', n: opts.repeats, parallel: '1',
        how: `POST /api/v1/auto-certificates (${challenge}${challenge === 'dns-01' ? ', rfc2136 zone' : ', built-in responder'}) until GET shows AVAILABLE, polled every ${POLL_MS} ms`,
        perCertificateMs: times, runsMs: [phaseMs], cpuMsPerCertificate: (cpuMs(pid) - cpu0) / opts.repeats,
        peakRssMiB: MiB(memoryKiB(pid)?.hwm), rssSource: 'server VmHWM (its whole life so far)',
      }));
    }

    if (figures.has('throughput')) {
      const before = await settledCounts(pebble, signal);
      const cpu0 = cpuMs(pid);
      const latencies: number[] = [];
      const runsMs: number[] = [];
      for (let k = 0; k < opts.throughputRuns; k++) {
        log(`certkeeper throughput run ${k + 1}/${opts.throughputRuns}: posting ${opts.throughputN} auto certificates at once …`);
        const burst = await issueBurst(
          api,
          Array.from({ length: opts.throughputN }, (_, i) => ({ name: `tp${k}-${i}`, commonName: name(run, 'certkeeper', `tp${k}`, i) })),
          opts.timeoutMs * Math.max(1, Math.ceil(opts.throughputN / 8)),
          BURST_POLL_MS,
        );
        latencies.push(...burst.latenciesMs);
        runsMs.push(burst.totalMs);
        stored += opts.throughputN;
        log(`certkeeper throughput run ${k + 1}: ${opts.throughputN} AVAILABLE after ${fmt(burst.totalMs / 1000, 2)} s (${fmt(opts.throughputN / (burst.totalMs / 1000), 2)}/s)`);
      }
      run.comparison.measurements.push(finish(await settledCounts(pebble, signal), before, {
        figure: 'throughput', client: 'certkeeper', n: opts.throughputN, parallel: concurrency,
        how: `${opts.throughputN} auto certificates (http-01) POSTed at once; the collection polled every ${BURST_POLL_MS} ms until all AVAILABLE; worker concurrency ${concurrency}`,
        perCertificateMs: latencies, runsMs, cpuMsPerCertificate: (cpuMs(pid) - cpu0) / (opts.throughputN * opts.throughputRuns),
        peakRssMiB: MiB(memoryKiB(pid)?.hwm), rssSource: 'server VmHWM (its whole life so far)',
      }));
    }

    const certs = await api.call<{ total: number }>('GET', '/certificates?limit=1');
    if (certs.body.total !== stored) throw new Error(`expected ${stored} stored certificates, found ${certs.body.total}`);
  } catch (err) {
    if (!signal.aborted) log(`certkeeper server output (last 3000 characters):\n${server.proc.output().slice(-3000)}`);
    throw err;
  } finally {
    await server.stop(); // frees the http-01 port for the peers
  }
}

/** Completes a measurement from the phase's Pebble counts and per-certificate times. */
function finish(
  after: RequestCounts,
  before: RequestCounts,
  m: Omit<Measurement, 'perCertificate' | 'certificatesPerSecond' | 'acmeRequests' | 'acmeRequestsPerCertificate'>,
): Measurement {
  const acmeRequests = diffCounts(after, before);
  const runs = Math.max(1, m.runsMs.length);
  return {
    ...m,
    perCertificate: summarize(m.perCertificateMs),
    certificatesPerSecond: summarize(m.runsMs.map((ms) => m.n / (ms / 1000))).median,
    acmeRequests,
    acmeRequestsPerCertificate: total(acmeRequests) / (m.n * runs),
  };
}

// ---------------------------------------------------------------------------------------------
// Peers

const HOW: Record<Peer, Record<'http-01 standalone' | 'http-01 webroot' | 'dns-01', string>> = {
  uacme: {
    'http-01 standalone': '',
    'http-01 webroot': 'uacme issue under unshare -m (test root bind-mounted over the system bundle), hook writes the token into the webroot the bench serves',
    'dns-01': 'uacme issue under unshare -m, hook runs nsupdate -k (RFC 2136 + TSIG) to BIND',
  },
  lego: {
    'http-01 standalone': 'lego run --http --http.port (its own server on the port)',
    'http-01 webroot': 'lego run --http --http.webroot (the bench serves the webroot)',
    'dns-01': 'lego run --dns rfc2136 --dns.resolvers <BIND> --dns.disable-cp',
  },
  certbot: {
    'http-01 standalone': 'certbot certonly --standalone --http-01-port (its own server on the port)',
    'http-01 webroot': 'certbot certonly --webroot (the bench serves the webroot); one config dir and account per lane',
    'dns-01': 'certbot certonly --dns-rfc2136 (plugin) --dns-rfc2136-propagation-seconds 0',
  },
};

async function measurePeer(
  run: Run, peer: PeerClient, webroot: WebrootSwitch, figure: Figure, tag: string, n: number,
  challenge: ChallengeType, http: HttpMode, lanes: number,
): Promise<void> {
  await webroot.set(challenge === 'dns-01' || http === 'webroot');
  const before = await settledCounts(run.pebble, signal);
  const t0 = performance.now();
  let done = 0;
  const runs: PeerRun[] = await runLanes(n, lanes, async (i, lane) => {
    const r = await peer.issue(name(run, peer.name, tag, i), challenge, http, lane);
    done++;
    if (lanes === 1 || done % 10 === 0 || done === n) log(`${peer.name} ${figure} ${done}/${n}: ${fmt(r.wallMs / 1000, 3)} s`);
    return r;
  });
  const phaseMs = performance.now() - t0;
  const cpu = runs.every((r) => r.cpuMs !== undefined) ? runs.reduce((a, r) => a + r.cpuMs!, 0) / n : undefined;
  const peak = runs.reduce<number | undefined>((a, r) => (r.peakRssKiB === undefined ? a : Math.max(a ?? 0, r.peakRssKiB)), undefined);
  const key = challenge === 'dns-01' ? 'dns-01' : `http-01 ${http}` as const;
  run.comparison.measurements.push(finish(await settledCounts(run.pebble, signal), before, {
    figure, client: peer.name, n, parallel: String(lanes),
    how: `${HOW[peer.name][key]}; time = process spawn to exit, start-up included${lanes > 1 ? `; ${lanes} processes at once` : ''}`,
    perCertificateMs: runs.map((r) => r.wallMs), runsMs: [phaseMs], cpuMsPerCertificate: cpu, peakRssMiB: MiB(peak),
    reruns: runs.reduce((a, r) => a + r.attempts - 1, 0),
    rssSource: GNU_TIME
      ? `largest maximum resident set size of one run (GNU time)${peer.name === 'uacme' ? ', its hook\'s processes included' : ''}`
      : 'largest VmHWM sampled every 10 ms (GNU time not installed)',
  }));
}

/** A lane's set-up (account registration) as excluded work; nothing is recorded when the client needs none. */
async function prepareLane(run: Run, peer: PeerClient, lane: number): Promise<void> {
  const before = await settledCounts(run.pebble, signal);
  const runs = await peer.prepareLane(lane);
  if (runs.length === 0) return;
  const after = await settledCounts(run.pebble, signal);
  const wallMs = runs.reduce((a, r) => a + r.wallMs, 0);
  run.comparison.excluded.push({ client: peer.name, what: `account registration${lane > 0 ? ` (lane ${lane})` : ''}`, wallMs, acmeRequests: total(diffCounts(after, before)) });
  log(`${peer.name}: lane ${lane} set-up: ${fmt(wallMs / 1000, 3)} s (excluded)`);
}

async function benchPeer(run: Run, peer: PeerClient, webroot: WebrootSwitch): Promise<void> {
  const { opts } = run;
  const notMeasured = (figure: Figure, reason: string): void => {
    run.comparison.notMeasured.push({ figure, client: peer.name, reason });
    log(`${peer.name}: ${figure}: n/a — ${reason}`);
  };
  const latencyHttp = peer.latencyHttpMode;
  // Without its most direct http-01 way (uacme without root) there is no warm-up either.
  const blocked = peer.unsupported('http-01', latencyHttp);
  if (blocked) {
    for (const figure of FIGURES) if (figure !== 'ceiling' && opts.figures.has(figure)) notMeasured(figure, blocked);
    return;
  }
  const starts: number[] = [];
  for (let i = 0; i < 3; i++) starts.push((await peer.startOnly()).wallMs);
  run.comparison.processStartMs[peer.name] = summarize(starts).median;

  await prepareLane(run, peer, 0);
  await webroot.set(latencyHttp === 'webroot');
  await excluded(run, peer.name, `warm-up certificate (http-01 ${latencyHttp}${peer.name === 'lego' ? ', registers the account' : ''})`,
    () => peer.issue(name(run, peer.name, 'warm', 'h'), 'http-01', latencyHttp, 0));

  if (opts.figures.has('latency-http01')) {
    const why = peer.unsupported('http-01', latencyHttp);
    if (why) notMeasured('latency-http01', why);
    else await measurePeer(run, peer, webroot, 'latency-http01', 'lh', opts.repeats, 'http-01', latencyHttp, 1);
  }
  if (opts.figures.has('latency-dns01')) {
    const why = peer.unsupported('dns-01', 'webroot');
    if (why) notMeasured('latency-dns01', why);
    else await measurePeer(run, peer, webroot, 'latency-dns01', 'ld', opts.repeats, 'dns-01', 'webroot', 1);
  }
  if (opts.figures.has('throughput')) {
    const why = peer.unsupported('http-01', 'webroot');
    if (why) notMeasured('throughput', why);
    else {
      const n = peer.name === 'uacme' ? opts.throughputN : opts.peerThroughputN;
      for (let lane = 1; lane < opts.lanes; lane++) await prepareLane(run, peer, lane);
      for (let k = 0; k < opts.throughputRuns; k++) {
        await measurePeer(run, peer, webroot, 'throughput', `tp${k}`, n, 'http-01', 'webroot', opts.lanes);
      }
      mergeThroughputRuns(run, peer.name);
    }
  }
}

/** Folds the K throughput measurements of one client into one (median certs/s, all requests). */
function mergeThroughputRuns(run: Run, client: Client): void {
  const list = run.comparison.measurements.filter((m) => m.figure === 'throughput' && m.client === client);
  if (list.length < 2) return;
  const first = list[0]!;
  const acmeRequests: RequestCounts = {};
  for (const m of list) for (const [k, v] of Object.entries(m.acmeRequests)) acmeRequests[k] = (acmeRequests[k] ?? 0) + v;
  const perCertificateMs = list.flatMap((m) => m.perCertificateMs);
  const runsMs = list.flatMap((m) => m.runsMs);
  const cpus = list.map((m) => m.cpuMsPerCertificate);
  const merged: Measurement = {
    ...first,
    perCertificateMs,
    perCertificate: summarize(perCertificateMs),
    runsMs,
    certificatesPerSecond: summarize(runsMs.map((ms) => first.n / (ms / 1000))).median,
    acmeRequests,
    acmeRequestsPerCertificate: total(acmeRequests) / (first.n * list.length),
    cpuMsPerCertificate: cpus.every((c) => c !== undefined) ? cpus.reduce((a, c) => a + c!, 0) / cpus.length : undefined,
    peakRssMiB: Math.max(...list.map((m) => m.peakRssMiB ?? 0)) || undefined,
    reruns: list.reduce((a, m) => a + (m.reruns ?? 0), 0),
  };
  run.comparison.measurements = [...run.comparison.measurements.filter((m) => !list.includes(m)), merged];
}

// ---------------------------------------------------------------------------------------------
// Pebble's ceiling

async function benchCeiling(run: Run, pebbleEnv: Record<string, string>): Promise<void> {
  const { opts } = run;
  const latencies: number[] = [];
  const runsMs: number[] = [];
  const acmeRequests: RequestCounts = {};
  let registrationsMs = 0;
  let registrationRequests = 0;
  let hung = 0;
  let cpuMsTotal = 0;
  // A burst takes only a second or two, so one busy moment of the machine would move it a lot:
  // at least CEILING_RUNS runs, and the median of their rates. Each run gets a fresh Pebble and
  // account: with PEBBLE_VA_ALWAYS_VALID=1 and this many orders at once, Pebble 2.4's newOrder now
  // and then stops answering for good (its other endpoints keep working), so a run that fails is
  // run again (up to CEILING_RERUNS times) on another fresh Pebble, and counted as such.
  const runs = Math.max(CEILING_RUNS, opts.throughputRuns);
  for (let k = 0; k < runs; k++) {
    for (let attempt = 0; ; attempt++) {
      log(`ceiling run ${k + 1}/${runs}: starting a Pebble with PEBBLE_VA_ALWAYS_VALID=1 …`);
      const pebble = await startPebble({ httpPort: run.httpPort, dnsServer: run.dns.address, env: { ...pebbleEnv, PEBBLE_VA_ALWAYS_VALID: '1' } });
      onCleanup('ceiling pebble', () => pebble.stop());
      try {
        const before0 = await settledCounts(pebble, signal);
        const client = await registerCeilingClient(pebble.directoryUrl, pebble.tlsCaPem, signal);
        registrationsMs += client.registrationMs;
        registrationRequests += total(diffCounts(await settledCounts(pebble, signal), before0));
        if (k === 0 && attempt === 0) {
          // The loop runs in this process: its first certificates pay for JIT compilation and
          // first use of the crypto code, which would count against Pebble.
          const ceilingRun: Run = { ...run, pebble };
          const warm = Array.from({ length: CEILING_WARM_UP }, (_, i) => name(run, 'ceiling', 'warm', i));
          await excluded(ceilingRun, 'ceiling', `warm-up burst (${CEILING_WARM_UP} certificates)`, () => ceilingBurst(client, warm, opts.ceilingConcurrency, opts.timeoutMs, signal));
        }
        const before = await settledCounts(pebble, signal);
        const cpu0 = process.cpuUsage();
        const names = Array.from({ length: opts.throughputN }, (_, i) => name(run, 'ceiling', `tp${k}${attempt ? `r${attempt}` : ''}`, i));
        const burst = await ceilingBurst(client, names, opts.ceilingConcurrency, opts.timeoutMs, signal);
        const cpu = process.cpuUsage(cpu0);
        cpuMsTotal += (cpu.user + cpu.system) / 1000;
        const after = await settledCounts(pebble, signal);
        for (const [key, v] of Object.entries(diffCounts(after, before))) acmeRequests[key] = (acmeRequests[key] ?? 0) + v;
        latencies.push(...burst.latenciesMs);
        runsMs.push(burst.totalMs);
        log(`ceiling run ${k + 1}/${runs}: ${opts.throughputN} certificates in ${fmt(burst.totalMs / 1000, 2)} s (${fmt(opts.throughputN / (burst.totalMs / 1000), 2)}/s)`);
        break;
      } catch (err) {
        if (signal.aborted || attempt >= CEILING_RERUNS) {
          if (!signal.aborted) log(`ceiling: Pebble's last log lines:\n${pebble.logText().split('\n').slice(-30).join('\n')}`);
          throw err;
        }
        hung++;
        log(`ceiling run ${k + 1}: failed (${err instanceof Error ? err.message : String(err)}); once more on a fresh Pebble`);
      } finally {
        await pebble.stop();
      }
    }
  }
  run.comparison.excluded.push({ client: 'ceiling', what: `account registrations (a fresh account on each run's Pebble, ${runs + hung} in all)`, wallMs: registrationsMs, acmeRequests: registrationRequests });
  const m = finish(acmeRequests, {}, {
    figure: 'ceiling', client: 'ceiling', n: opts.throughputN, parallel: String(opts.ceilingConcurrency),
    how: `certkeeper's RFC 8555 client (src/acme) in a loop, ${opts.ceilingConcurrency} orders in flight, against a fresh Pebble with PEBBLE_VA_ALWAYS_VALID=1 (nothing validated) and a fresh account per run; ` +
      `certs/s = median of ${runs} runs (${runsMs.map((ms) => fmt(opts.throughputN / (ms / 1000), 1)).join(', ')})${hung ? `; ${hung} run(s) failed (Pebble stopped answering newOrder) and were run again` : ''}`,
    perCertificateMs: latencies, runsMs, cpuMsPerCertificate: cpuMsTotal / (opts.throughputN * runs),
    peakRssMiB: undefined, rssSource: 'not measured (runs inside the bench process)',
  });
  run.comparison.measurements.push(m);
}

// ---------------------------------------------------------------------------------------------
// Report and docs

function gitRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} + uncommitted src/ changes` : head;
  } catch {
    return 'unknown';
  }
}

function versions(): Record<string, string> {
  return {
    certkeeper: gitRevision(),
    pebble: packageVersion('pebble'),
    uacme: packageVersion('uacme'),
    lego: packageVersion('lego'),
    certbot: packageVersion('certbot'),
    'certbot-dns-rfc2136': certbotDnsPluginVersion(),
    bind9: packageVersion('bind9'),
  };
}

function machineLine(m: MachineFacts): string {
  return `${m.cpuModel}, ${m.cpus} logical CPUs, ${m.memoryGiB} GiB RAM, ${m.os}, Linux ${m.kernel}, Node ${m.node}`;
}

const DOCS_START = '<!-- bench:results:start -->';
const DOCS_END = '<!-- bench:results:end -->';

async function writeDocs(startedAt: Date, seconds: number, command: string, machine: MachineFacts, report: string): Promise<string> {
  const file = join(ROOT, 'docs', 'performance.md');
  const text = await readFile(file, 'utf8');
  const a = text.indexOf(DOCS_START);
  const b = text.indexOf(DOCS_END);
  if (a < 0 || b < a) throw new Error(`docs/performance.md has no ${DOCS_START} … ${DOCS_END} block to replace`);
  const v = versions();
  const block = [
    DOCS_START,
    `Measured ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC with \`${command}\` (${Math.round(seconds)} s).`,
    '',
    `- **Machine:** ${machineLine(machine)}`,
    `- **Versions:** certkeeper ${v.certkeeper}; Debian packages pebble ${v.pebble}, uacme ${v.uacme}, lego ${v.lego}, certbot ${v.certbot} (python3-certbot-dns-rfc2136 ${v['certbot-dns-rfc2136']}), bind9 ${v.bind9}`,
    '',
    '```text',
    report,
    '```',
    DOCS_END,
  ].join('\n');
  await writeFile(file, text.slice(0, a) + block + text.slice(b + DOCS_END.length));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const runId = randomBytes(3).toString('hex');
  const machine = machineFacts();
  const loadAtStart = loadavg()[0]!;
  await ensureBuilt(signal);

  const dns = await startBenchDns();
  onCleanup('BIND', () => dns.bind.stop());
  const httpPort = await freePort();
  const pebbleEnv: Record<string, string> = { PEBBLE_VA_NOSLEEP: '1' };
  if (opts.nonceReject !== undefined) pebbleEnv.PEBBLE_WFE_NONCEREJECT = String(opts.nonceReject);
  log(`bench: BIND on ${dns.address}; starting Pebble (DNS ${dns.address}, http-01 port 127.0.0.1:${httpPort}) …`);
  const pebble = await startPebble({ httpPort, dnsServer: dns.address, env: pebbleEnv });
  onCleanup('pebble', () => pebble.stop());
  signal.throwIfAborted();

  const webrootDir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-webroot-'));
  onCleanup('webroot dir', () => rm(webrootDir, { recursive: true, force: true }));
  await mkdir(join(webrootDir, '.well-known', 'acme-challenge'), { recursive: true });
  const run: Run = {
    opts, runId, pebble, dns, httpPort, webroot: webrootDir, failed: [],
    comparison: { measurements: [], notMeasured: [], excluded: [], processStartMs: {}, notes: [] },
  };
  const webroot = new WebrootSwitch(webrootDir, httpPort);
  const setup: PeerSetup = { directoryUrl: pebble.directoryUrl, caFile: pebble.tlsCaFile, httpPort, webroot: webrootDir, dns, timeoutMs: opts.timeoutMs, signal };
  const create: Record<Peer, (s: PeerSetup) => Promise<PeerClient>> = { uacme: createUacme, lego: createLego, certbot: createCertbot };

  const wanted = (client: Client): Figure[] => (client === 'ceiling' ? ['ceiling' as const] : [...opts.figures].filter((f) => f !== 'ceiling'));
  const attempt = async (client: Client, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      if (signal.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      log(`${client} FAILED: ${err instanceof Error ? (err.stack ?? message) : message}`);
      run.failed.push(client);
      for (const figure of wanted(client)) {
        const seen = run.comparison.measurements.some((m) => m.client === client && m.figure === figure) || run.comparison.notMeasured.some((m) => m.client === client && m.figure === figure);
        if (!seen) run.comparison.notMeasured.push({ figure, client, reason: `failed: ${message.split('\n')[0]!.slice(0, 300)}` });
      }
    }
  };

  // One client at a time: they share Pebble, the http-01 port and the machine's CPUs.
  if (opts.clients.has('certkeeper')) await attempt('certkeeper', () => benchCertkeeper(run));
  for (const p of PEERS) {
    if (!opts.clients.has(p)) continue;
    if (packageVersion(p) === 'not installed') {
      for (const figure of wanted(p)) run.comparison.notMeasured.push({ figure, client: p, reason: `Debian package ${p} is not installed (apt-get install ${p})` });
      continue;
    }
    await attempt(p, async () => benchPeer(run, await create[p](setup), webroot));
  }
  await webroot.set(false);
  if (opts.clients.has('ceiling')) {
    await pebble.stop(); // frees its CPU for the ceiling's Pebble
    await attempt('ceiling', () => benchCeiling(run, pebbleEnv));
  }

  const c = run.comparison;
  c.notes.push(
    `Pebble ${packageVersion('pebble')}: PEBBLE_VA_NOSLEEP=1, nonce rejection ${opts.nonceReject === undefined ? "Pebble's default (5 %)" : `${opts.nonceReject} %`}; every badNonce costs a retried request.`,
    'One client at a time on one Pebble; each certificate has a unique name under bench.test (no authorization reuse); all keys P-256.',
    'certkeeper is one long-running server (times are REST round trips to AVAILABLE); every peer row is whole process runs, start-up, account lookup and file writes included.',
    `Throughput: certkeeper and the ceiling run ${opts.throughputN} certificates; uacme ${opts.throughputN} with ${opts.lanes} processes at once; lego and certbot ${opts.peerThroughputN} (subset) with ${opts.lanes} at once.`,
    'dns-01: records go by RFC 2136 + TSIG to a BIND 9 that is also the DNS Pebble validates against; lego skips its port-53 authoritative check (--dns.disable-cp), certbot waits 0 s.',
    'lego waits its default ~5 s back-off whenever the first authorization poll is still pending (Pebble sends no Retry-After).',
    `Load average (1 min) of the machine: ${fmt(loadAtStart, 2)} at the start, ${fmt(loadavg()[0], 2)} at the end (${machine.cpus} CPUs; other work moves every figure).`,
  );
  const report = renderComparison(c);
  const header = `bench/compare — ${startedAt.toISOString()} — ${machineLine(machine)}`;
  const versionLine = Object.entries(versions()).map(([k, v]) => `${k} ${v}`).join(', ');
  process.stdout.write(`\n${header}\n${versionLine}\n\n${report}\n`);

  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const command = `npm run bench${opts.argv.filter((a) => a !== '--write-docs').length ? ` -- ${opts.argv.filter((a) => a !== '--write-docs').join(' ')}` : ''}`;
  const file = await writeResults('compare', startedAt, {
    benchmark: 'compare',
    startedAt: startedAt.toISOString(),
    durationSeconds: seconds,
    command,
    options: { ...opts, clients: [...opts.clients], figures: [...opts.figures], timeoutSeconds: opts.timeoutMs / 1000, nonceRejectPercent: opts.nonceReject ?? 'pebble default (5)' },
    machine,
    versions: versions(),
    comparison: c,
    failed: run.failed,
  });
  process.stdout.write(`\nResults written to ${file} (${Math.round(seconds)} s)\n`);
  if (opts.writeDocs) process.stdout.write(`docs updated: ${await writeDocs(startedAt, seconds, command, machine, `${header}\n${versionLine}\n\n${report}`)}\n`);
  if (run.failed.length) {
    process.exitCode = 1;
    log(`bench: failed: ${run.failed.join(', ')} (see above; their figures are n/a)`);
  }
}

await runBenchmark(main);
