/**
 * bench/issue — certkeeper's issuance speed against the Debian `lego` client, on one local Pebble
 * in one run. See bench/README.md. Run: `npm run bench:issue -- --n 10`.
 */
import { randomBytes } from 'node:crypto';
import { cpus, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startPebble, type PebbleHandle } from '../test/harness/pebble.js';
import { freePort } from '../test/harness/ports.js';
import { ENDPOINTS, countRequests, diffCounts, settledCounts, total, type RequestCounts } from './lib/acme-log.js';
import { issueBurst, issueOne, POLL_MS, startCertkeeper } from './lib/certkeeper.js';
import { ensureBuilt, packageVersion } from './lib/environment.js';
import { log, onCleanup, runBenchmark, signal } from './lib/interrupts.js';
import { createLego } from './lib/peers/lego.js';
import { GNU_TIME, cpuMs, memoryKiB, type MeasuredRun } from './lib/proc.js';
import { fmt, ratio, table } from './lib/report.js';
import { writeResults } from './lib/results.js';
import { summarize, type Summary } from './lib/stats.js';

const USAGE = `usage: npm run bench:issue -- [--n N] [--nonce-reject PERCENT] [--timeout SECONDS] [--only certkeeper|lego]

  --n N                  certificates per measured phase (default 20)
  --nonce-reject PCT     sets PEBBLE_WFE_NONCEREJECT (Pebble's default rejects 5 % of good nonces); 0 turns it off
  --timeout SECONDS      limit per certificate (default 120); the concurrent burst gets SECONDS × ceil(N/8)
  --only CLIENT          run only certkeeper or only lego
`;

// ---------------------------------------------------------------------------------------------
// Arguments

interface Options {
  n: number;
  nonceReject: number | undefined;
  timeoutMs: number;
  only: 'certkeeper' | 'lego' | undefined;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      n: { type: 'string', default: '20' },
      'nonce-reject': { type: 'string' },
      timeout: { type: 'string', default: '120' },
      only: { type: 'string' },
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
  const only = values.only;
  if (only !== undefined && only !== 'certkeeper' && only !== 'lego') throw new Error(`--only: expected certkeeper or lego, got "${only}"`);
  return {
    n: int('n', values.n, 1, 500),
    nonceReject: values['nonce-reject'] === undefined ? undefined : int('nonce-reject', values['nonce-reject'], 0, 100),
    timeoutMs: int('timeout', values.timeout, 1, 3600) * 1000,
    only,
  };
}

// ---------------------------------------------------------------------------------------------
// Results

/** One measured mode of one client. */
interface ModeResult {
  client: 'certkeeper' | 'lego';
  mode: 'sequential' | 'concurrent';
  n: number;
  /** Per certificate: sequential = that certificate's wall time; concurrent = latency from the burst's start. */
  perCertificateMs: number[];
  perCertificate: Summary;
  /** Wall time of the whole phase (sequential: sum of the runs incl. the gaps; concurrent: burst). */
  phaseMs: number;
  certificatesPerSecond: number;
  acmeRequests: RequestCounts;
  acmeRequestsPerCertificate: number;
  cpuMsPerCertificate: number | undefined;
  peakRssMiB: number | undefined;
  /** certkeeper only: REST requests (create + polls) the benchmark made per certificate. */
  restRequestsPerCertificate?: number;
}

interface Excluded {
  what: string;
  wallMs: number;
  acmeRequests: RequestCounts;
}

interface CertkeeperResults {
  modes: ModeResult[];
  excluded: Excluded[];
  pid: number;
  workerConcurrency: string;
  certificatesStored: number;
}

interface LegoResults {
  modes: ModeResult[];
  excluded: Excluded[];
  processStartMs: Summary;
  peakRssSource: string;
}

const MiB = (kib: number | undefined): number | undefined => (kib === undefined ? undefined : kib / 1024);

// ---------------------------------------------------------------------------------------------
// certkeeper

async function benchCertkeeper(opts: Options, pebble: PebbleHandle, httpPort: number, runId: string): Promise<CertkeeperResults> {
  const server = await startCertkeeper(httpPort, signal);
  const { proc, pid, api } = server;
  const excluded: Excluded[] = [];
  const modes: ModeResult[] = [];
  try {
    // Provider (ACME account registration): excluded.
    let before = await settledCounts(pebble, signal);
    let t0 = performance.now();
    const providerId = await api.create('providers', { name: 'pebble', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem });
    await api.waitAvailable('providers', providerId, opts.timeoutMs);
    excluded.push({ what: 'provider (account registration)', wallMs: performance.now() - t0, acmeRequests: {} });
    let after = await settledCounts(pebble, signal);
    excluded.at(-1)!.acmeRequests = diffCounts(after, before);

    // One warm-up certificate: excluded.
    before = after;
    t0 = performance.now();
    await issueOne(api, 'bench-warmup', `ck-warmup-${runId}.bench.test`, opts.timeoutMs);
    excluded.push({ what: 'warm-up certificate', wallMs: performance.now() - t0, acmeRequests: {} });
    after = await settledCounts(pebble, signal);
    excluded.at(-1)!.acmeRequests = diffCounts(after, before);
    log(`certkeeper: provider ${fmt(excluded[0]!.wallMs / 1000, 3)} s, warm-up certificate ${fmt(excluded[1]!.wallMs / 1000, 3)} s (excluded)`);

    // Sequential.
    before = after;
    let cpu0 = cpuMs(pid);
    let rest0 = api.requests;
    const times: number[] = [];
    t0 = performance.now();
    for (let i = 0; i < opts.n; i++) {
      const ms = await issueOne(api, `bench-seq-${i}`, `ck-seq-${i}-${runId}.bench.test`, opts.timeoutMs);
      times.push(ms);
      log(`certkeeper sequential ${i + 1}/${opts.n}: ${fmt(ms / 1000, 3)} s`);
    }
    let phaseMs = performance.now() - t0;
    after = await settledCounts(pebble, signal);
    let cpu1 = cpuMs(pid);
    let requests = diffCounts(after, before);
    modes.push({
      client: 'certkeeper', mode: 'sequential', n: opts.n, perCertificateMs: times, perCertificate: summarize(times), phaseMs,
      certificatesPerSecond: opts.n / (phaseMs / 1000), acmeRequests: requests, acmeRequestsPerCertificate: total(requests) / opts.n,
      cpuMsPerCertificate: (cpu1 - cpu0) / opts.n, peakRssMiB: MiB(memoryKiB(pid)?.hwm), restRequestsPerCertificate: (api.requests - rest0) / opts.n,
    });

    // Concurrent: N posted at once.
    before = after;
    cpu0 = cpu1;
    rest0 = api.requests;
    log(`certkeeper concurrent: posting ${opts.n} auto certificates at once …`);
    const burst = await issueBurst(
      api,
      Array.from({ length: opts.n }, (_, i) => ({ name: `bench-con-${i}`, commonName: `ck-con-${i}-${runId}.bench.test` })),
      opts.timeoutMs * Math.max(1, Math.ceil(opts.n / 8)),
    );
    phaseMs = burst.totalMs;
    log(`certkeeper concurrent: all ${opts.n} AVAILABLE after ${fmt(phaseMs / 1000, 3)} s`);
    after = await settledCounts(pebble, signal);
    cpu1 = cpuMs(pid);
    requests = diffCounts(after, before);
    modes.push({
      client: 'certkeeper', mode: 'concurrent', n: opts.n, perCertificateMs: burst.latenciesMs, perCertificate: summarize(burst.latenciesMs), phaseMs,
      certificatesPerSecond: opts.n / (phaseMs / 1000), acmeRequests: requests, acmeRequestsPerCertificate: total(requests) / opts.n,
      cpuMsPerCertificate: (cpu1 - cpu0) / opts.n, peakRssMiB: MiB(memoryKiB(pid)?.hwm), restRequestsPerCertificate: (api.requests - rest0) / opts.n,
    });

    // Sanity: every certificate is in the repository.
    const certs = await api.call<{ total: number }>('GET', '/certificates?limit=1');
    const expected = 2 * opts.n + 1;
    if (certs.body.total !== expected) throw new Error(`expected ${expected} stored certificates, found ${certs.body.total}`);
    return { modes, excluded, pid, workerConcurrency: process.env.CERTKEEPER_WORKER_CONCURRENCY ?? '8 (default)', certificatesStored: certs.body.total };
  } catch (err) {
    if (!signal.aborted) log(`certkeeper server output (last 3000 characters):\n${proc.output().slice(-3000)}`);
    throw err;
  } finally {
    // Free the http-01 port for lego.
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// lego

async function benchLego(opts: Options, pebble: PebbleHandle, httpPort: number, runId: string): Promise<LegoResults> {
  const lego = await createLego({
    directoryUrl: pebble.directoryUrl, caFile: pebble.tlsCaFile, httpPort, webroot: '', dns: undefined, timeoutMs: opts.timeoutMs, signal,
  });
  const run = (domain: string): Promise<MeasuredRun> => lego.issue(domain, 'http-01', 'standalone', 0);

  // Process start of lego alone (the `lego --version` wall time), for context.
  const startTimes: number[] = [];
  for (let i = 0; i < 5; i++) startTimes.push((await lego.startOnly()).wallMs);

  // Warm-up: account registration + first certificate, excluded.
  let before = await settledCounts(pebble, signal);
  const warm = await run(`lego-warmup-${runId}.bench.test`);
  let after = await settledCounts(pebble, signal);
  const excluded: Excluded[] = [{ what: 'warm-up run (account registration + 1 certificate)', wallMs: warm.wallMs, acmeRequests: diffCounts(after, before) }];
  log(`lego: warm-up run ${fmt(warm.wallMs / 1000, 3)} s (excluded)`);

  before = after;
  const times: number[] = [];
  let cpu = 0;
  let cpuKnown = true;
  let peak: number | undefined;
  const t0 = performance.now();
  for (let i = 0; i < opts.n; i++) {
    const r = await run(`lego-seq-${i}-${runId}.bench.test`);
    times.push(r.wallMs);
    if (r.cpuMs === undefined) cpuKnown = false;
    else cpu += r.cpuMs;
    if (r.peakRssKiB !== undefined) peak = Math.max(peak ?? 0, r.peakRssKiB);
    log(`lego sequential ${i + 1}/${opts.n}: ${fmt(r.wallMs / 1000, 3)} s`);
  }
  const phaseMs = performance.now() - t0;
  after = await settledCounts(pebble, signal);
  const requests = diffCounts(after, before);
  return {
    modes: [{
      client: 'lego', mode: 'sequential', n: opts.n, perCertificateMs: times, perCertificate: summarize(times), phaseMs,
      certificatesPerSecond: opts.n / (phaseMs / 1000), acmeRequests: requests, acmeRequestsPerCertificate: total(requests) / opts.n,
      cpuMsPerCertificate: cpuKnown ? cpu / opts.n : undefined, peakRssMiB: MiB(peak),
    }],
    excluded,
    processStartMs: summarize(startTimes),
    peakRssSource: GNU_TIME ? 'GNU time -v (maximum resident set size), largest of the N runs' : '/proc VmHWM sampled every 10 ms, largest of the N runs (GNU time not installed)',
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function report(opts: Options, ck: CertkeeperResults | undefined, lego: LegoResults | undefined): string {
  const out: string[] = [];
  const modes = [...(ck?.modes ?? []), ...(lego?.modes ?? [])];
  const rows: string[][] = [['client', 'mode', 'N', 'median s/cert', 'p90 s/cert', 'mean s/cert', 'certs/s', 'ACME req/cert', 'CPU ms/cert', 'peak RSS MiB']];
  for (const m of modes) {
    rows.push([
      m.client, m.mode, String(m.n), fmt(m.perCertificate.median / 1000, 3), fmt(m.perCertificate.p90 / 1000, 3), fmt(m.perCertificate.mean / 1000, 3),
      fmt(m.certificatesPerSecond, 2), fmt(m.acmeRequestsPerCertificate, 2), fmt(m.cpuMsPerCertificate, 0), fmt(m.peakRssMiB, 1),
    ]);
  }
  if (lego) rows.push(['lego', 'concurrent', '-', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a']);
  out.push(table(rows));
  out.push('');
  out.push('Concurrent rows: s/cert is each certificate\'s latency from the start of the burst; certs/s is N / time until all were AVAILABLE.');
  if (lego) out.push('lego concurrent: not measured — N lego processes cannot all listen on the one http-01 port Pebble validates against.');

  const find = (client: string, mode: string): ModeResult | undefined => modes.find((m) => m.client === client && m.mode === mode);
  const cs = find('certkeeper', 'sequential');
  const cc = find('certkeeper', 'concurrent');
  const ls = find('lego', 'sequential');
  if (cs && ls) {
    out.push('');
    out.push(table([
      ['certkeeper vs lego', 'value'],
      ['median s/cert, sequential (lego ÷ certkeeper: how many times faster)', ratio(ls.perCertificate.median, cs.perCertificate.median)],
      ['certs/s, sequential (certkeeper ÷ lego)', ratio(cs.certificatesPerSecond, ls.certificatesPerSecond)],
      ['certs/s, certkeeper concurrent ÷ lego sequential', ratio(cc?.certificatesPerSecond, ls.certificatesPerSecond)],
      ['ACME requests/cert, sequential (certkeeper ÷ lego)', ratio(cs.acmeRequestsPerCertificate, ls.acmeRequestsPerCertificate)],
      ['CPU ms/cert, sequential (certkeeper ÷ lego)', ratio(cs.cpuMsPerCertificate, ls.cpuMsPerCertificate)],
      ['peak RSS (certkeeper server ÷ largest lego process)', ratio(cc?.peakRssMiB ?? cs.peakRssMiB, ls.peakRssMiB)],
    ], 1));
  }

  // Where the requests go.
  const keys = new Set(modes.flatMap((m) => Object.keys(m.acmeRequests)));
  const ordered = [...ENDPOINTS.filter((e) => keys.has(e.key)), ...[...keys].filter((k) => !ENDPOINTS.some((e) => e.key === k)).sort().map((k) => ({ key: k, label: k }))];
  const bd: string[][] = [['ACME requests per certificate', ...modes.map((m) => `${m.client} ${m.mode.slice(0, 3)}`)]];
  for (const e of ordered) bd.push([e.label, ...modes.map((m) => fmt((m.acmeRequests[e.key] ?? 0) / m.n, 2))]);
  bd.push(['total', ...modes.map((m) => fmt(m.acmeRequestsPerCertificate, 2))]);
  out.push('');
  out.push(table(bd, 1));
  out.push('Protocol minimum for one single-name http-01 certificate with an existing account: about 6–7');
  out.push('(newOrder, authorization, challenge, one poll, finalize, download; nonces taken from responses).');

  out.push('');
  out.push('Excluded from the figures above:');
  const ex = (client: string, e: Excluded): string => `  ${client}: ${e.what}: ${fmt(e.wallMs / 1000, 3)} s, ${total(e.acmeRequests)} ACME requests`;
  for (const e of ck?.excluded ?? []) out.push(ex('certkeeper', e));
  for (const e of lego?.excluded ?? []) out.push(ex('lego', e));
  out.push('');
  out.push('Notes:');
  out.push(`  Pebble: PEBBLE_VA_NOSLEEP=1, nonce rejection ${opts.nonceReject === undefined ? "Pebble's default (5 %)" : `${opts.nonceReject} %`}; every badNonce costs the client a retried request.`);
  if (ck) {
    out.push(`  certkeeper: times are POST → state AVAILABLE seen by polling the REST API every ${POLL_MS} ms; worker concurrency ${ck.workerConcurrency};`);
    out.push('        peak RSS = server VmHWM (whole life, incl. start-up and warm-up);');
    out.push(`        CPU includes answering the benchmark's REST requests (${ck.modes.map((m) => `${m.mode} ${fmt(m.restRequestsPerCertificate, 1)}`).join(', ')} per certificate).`);
  }
  if (lego) {
    out.push(`  lego: times are whole process runs, process start included (lego --version alone: median ${fmt(lego.processStartMs.median, 1)} ms);`);
    out.push('        when the challenge is not yet valid, lego polls the authorization again after its default 5 s (randomised back-off;');
    out.push('        Pebble sends no Retry-After) — that wait dominates most lego runs.');
    out.push(`        peak RSS: ${lego.peakRssSource}.`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const runId = randomBytes(3).toString('hex');
  await ensureBuilt(signal);

  const httpPort = await freePort();
  const pebbleEnv: Record<string, string> = { PEBBLE_VA_NOSLEEP: '1' };
  if (opts.nonceReject !== undefined) pebbleEnv.PEBBLE_WFE_NONCEREJECT = String(opts.nonceReject);
  log(`bench: starting Pebble (http-01 port 127.0.0.1:${httpPort}) …`);
  const pebble = await startPebble({ httpPort, env: pebbleEnv });
  onCleanup('pebble', () => pebble.stop());
  signal.throwIfAborted();

  // One client at a time on the http-01 port: certkeeper's server is stopped before lego starts.
  const ck = opts.only === 'lego' ? undefined : await benchCertkeeper(opts, pebble, httpPort, runId);
  const lego = opts.only === 'certkeeper' ? undefined : await benchLego(opts, pebble, httpPort, runId);

  const text = report(opts, ck, lego);
  const header = `bench/issue — ${startedAt.toISOString()} — node ${process.version}, lego ${packageVersion('lego')}, pebble ${packageVersion('pebble')}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`;
  process.stdout.write(`\n${header}\n\n${text}\n`);

  const file = await writeResults('issue', startedAt, {
    benchmark: 'issue',
    startedAt: startedAt.toISOString(),
    options: { n: opts.n, nonceRejectPercent: opts.nonceReject ?? 'pebble default (5)', timeoutSeconds: opts.timeoutMs / 1000, only: opts.only ?? null, pollMs: POLL_MS },
    environment: {
      node: process.version, lego: packageVersion('lego'), pebble: packageVersion('pebble'), kernel: release(),
      cpus: cpus().length, cpuModel: cpus()[0]?.model, gnuTime: GNU_TIME !== undefined,
    },
    certkeeper: ck ?? null,
    lego: lego ?? null,
    pebbleTotalRequests: total(countRequests(pebble.logText())),
  });
  process.stdout.write(`\nResults written to ${file}\n`);
}

await runBenchmark(main);
