/**
 * The figures of bench/compare (certkeeper against uacme, lego and certbot, and Pebble's own
 * ceiling) and their plain-text report: one table of measurements, one of ratios against each
 * peer, one of the issue's targets, and where the ACME requests went.
 */
import { ENDPOINTS, total, type RequestCounts } from './acme-log.js';
import { fmt, table } from './report.js';
import { summarize, type Summary } from './stats.js';

/** The figures, in report order. */
export const FIGURES = ['latency-http01', 'latency-dns01', 'throughput', 'ceiling'] as const;
export type Figure = (typeof FIGURES)[number];

/** The clients, in report order (`ceiling` is the raw src/acme loop against the always-valid Pebble). */
export const CLIENTS = ['certkeeper', 'uacme', 'lego', 'certbot', 'ceiling'] as const;
export type Client = (typeof CLIENTS)[number];
export type Peer = Exclude<Client, 'certkeeper' | 'ceiling'>;
export const PEERS: readonly Peer[] = ['uacme', 'lego', 'certbot'];

/** RFC 8555's fewest requests for one single-name certificate with an existing account and chained nonces. */
export const PROTOCOL_MINIMUM = 7;

/** One measured figure of one client. */
export interface Measurement {
  figure: Figure;
  client: Client;
  /** Certificates measured (per run, for throughput). */
  n: number;
  /** Processes or orders in flight ("server default" for certkeeper's own worker concurrency). */
  parallel: string;
  /** How this client did it, e.g. "http-01 standalone (--http)". */
  how: string;
  /** Latency rows: each certificate's wall time; throughput rows: completion time from the burst's start (certkeeper, ceiling) or each process's wall time (peers). */
  perCertificateMs: number[];
  perCertificate: Summary;
  /** Throughput rows: wall time of each run of the whole batch. */
  runsMs: number[];
  /** N ÷ wall time (median over runs). */
  certificatesPerSecond: number;
  acmeRequests: RequestCounts;
  acmeRequestsPerCertificate: number;
  cpuMsPerCertificate: number | undefined;
  peakRssMiB: number | undefined;
  /** What the RSS figure is (server VmHWM, largest process, …). */
  rssSource: string;
  /** Peers: process runs that failed with a badNonce the client gave up on and were run again (their time counts). */
  reruns?: number;
}

/** A figure a client could not be measured for, and why. */
export interface NotMeasured {
  figure: Figure;
  client: Client;
  reason: string;
}

/** Work done before the measurements (account registration, warm-up), excluded from every figure. */
export interface Excluded {
  client: Client;
  what: string;
  wallMs: number;
  acmeRequests: number;
}

/** Everything a report is made of. */
export interface Comparison {
  measurements: Measurement[];
  notMeasured: NotMeasured[];
  excluded: Excluded[];
  /** Median wall time of starting each peer program alone (prints its version), ms. */
  processStartMs: Partial<Record<Peer, number>>;
  notes: string[];
}

const FIGURE_LABEL: Record<Figure, string> = {
  'latency-http01': 'one certificate, http-01',
  'latency-dns01': 'one certificate, dns-01',
  throughput: 'throughput, http-01',
  ceiling: "Pebble's ceiling",
};
const CLIENT_LABEL: Record<Client, string> = { certkeeper: 'certkeeper', uacme: 'uacme', lego: 'lego', certbot: 'certbot', ceiling: 'src/acme loop' };

const find = (c: Comparison, figure: Figure, client: Client): Measurement | undefined =>
  c.measurements.find((m) => m.figure === figure && m.client === client);

const isLatency = (f: Figure): boolean => f === 'latency-http01' || f === 'latency-dns01';

/** "12.3×" for a ratio, "n/a" when either side is missing. */
function times(a: number | undefined, b: number | undefined, decimals = 1): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return `${(a / b).toFixed(decimals)}×`;
}

/** The table of every measurement (and of every figure that could not be measured). */
export function measurementsTable(c: Comparison): string {
  const rows: string[][] = [[
    'figure', 'client', 'N', 'parallel', 'median s', 'p90 s', 'certs/s', 'wall s', `ACME req/cert (min ${PROTOCOL_MINIMUM})`, 'CPU ms/cert', 'peak RSS MiB',
  ]];
  for (const figure of FIGURES) {
    let first = true;
    for (const client of CLIENTS) {
      const m = find(c, figure, client);
      const label = first ? FIGURE_LABEL[figure] : '';
      if (m) {
        first = false;
        const lat = isLatency(figure);
        rows.push([
          label, CLIENT_LABEL[client], String(m.n), m.parallel,
          lat ? fmt(m.perCertificate.median / 1000, 3) : '-', lat ? fmt(m.perCertificate.p90 / 1000, 3) : '-',
          lat ? '-' : fmt(m.certificatesPerSecond, 2), lat ? '-' : fmt(summarize(m.runsMs).median / 1000, 1),
          fmt(m.acmeRequestsPerCertificate, 2), fmt(m.cpuMsPerCertificate, 0), fmt(m.peakRssMiB, 1),
        ]);
        continue;
      }
      const na = c.notMeasured.find((x) => x.figure === figure && x.client === client);
      if (na) {
        first = false;
        rows.push([label, CLIENT_LABEL[client], '-', '-', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a']);
      }
    }
  }
  return table(rows, 2);
}

/** certkeeper against each peer (and against the ceiling): how many times better. */
export function ratiosTable(c: Comparison): string {
  const peers = PEERS.filter((p) => c.measurements.some((m) => m.client === p));
  const rows: string[][] = [['certkeeper vs …', ...peers.map((p) => CLIENT_LABEL[p])]];
  const line = (label: string, f: (peer: Peer) => string): void => {
    rows.push([label, ...peers.map(f)]);
  };
  const ck = (figure: Figure): Measurement | undefined => find(c, figure, 'certkeeper');
  line('one certificate http-01, median (peer ÷ certkeeper: × faster)', (p) => times(find(c, 'latency-http01', p)?.perCertificate.median, ck('latency-http01')?.perCertificate.median));
  line('one certificate dns-01, median (peer ÷ certkeeper: × faster)', (p) => times(find(c, 'latency-dns01', p)?.perCertificate.median, ck('latency-dns01')?.perCertificate.median));
  line('throughput, certs/s (certkeeper ÷ peer)', (p) => times(ck('throughput')?.certificatesPerSecond, find(c, 'throughput', p)?.certificatesPerSecond));
  line('ACME requests/cert, one certificate http-01 (peer ÷ certkeeper)', (p) => times(find(c, 'latency-http01', p)?.acmeRequestsPerCertificate, ck('latency-http01')?.acmeRequestsPerCertificate, 2));
  line('ACME requests/cert, throughput (peer ÷ certkeeper)', (p) => times(find(c, 'throughput', p)?.acmeRequestsPerCertificate, ck('throughput')?.acmeRequestsPerCertificate, 2));
  line('CPU ms/cert, one certificate http-01 (peer ÷ certkeeper)', (p) => times(find(c, 'latency-http01', p)?.cpuMsPerCertificate, ck('latency-http01')?.cpuMsPerCertificate, 2));
  line('peak RSS (certkeeper server ÷ largest peer process)', (p) => {
    const peak = Math.max(...c.measurements.filter((m) => m.client === p && m.peakRssMiB !== undefined).map((m) => m.peakRssMiB!));
    const mine = Math.max(...c.measurements.filter((m) => m.client === 'certkeeper' && m.peakRssMiB !== undefined).map((m) => m.peakRssMiB!));
    return Number.isFinite(peak) && Number.isFinite(mine) ? times(mine, peak, 1) : 'n/a';
  });
  const ceiling = find(c, 'ceiling', 'ceiling');
  const out = [table(rows, 1)];
  if (ceiling) {
    out.push('');
    out.push(`certkeeper throughput ÷ Pebble's ceiling: ${times(ck('throughput')?.certificatesPerSecond, ceiling.certificatesPerSecond, 2)}` +
      ` (${fmt(ck('throughput')?.certificatesPerSecond, 2)} of ${fmt(ceiling.certificatesPerSecond, 2)} certs/s)`);
  }
  return out.join('\n');
}

/** The issue's targets, each with this run's value and whether it is met. */
export function targetsTable(c: Comparison): string {
  const ck = (figure: Figure): Measurement | undefined => find(c, figure, 'certkeeper');
  const rows: string[][] = [['target (issue #9)', 'this run', 'met']];
  const verdict = (ok: boolean | undefined): string => (ok === undefined ? 'n/a' : ok ? 'yes' : 'NO');
  const faster = (figure: Figure, peer: Peer, factor: number): void => {
    const a = find(c, figure, peer)?.perCertificate.median;
    const b = ck(figure)?.perCertificate.median;
    const r = a !== undefined && b !== undefined ? a / b : undefined;
    rows.push([`one certificate (${figure === 'latency-http01' ? 'http-01' : 'dns-01'}) ≥ ${factor}× faster than ${peer} (medians)`, times(a, b), verdict(r === undefined || !Number.isFinite(r) ? undefined : r >= factor)]);
  };
  for (const figure of ['latency-http01', 'latency-dns01'] as const) {
    const m = ck(figure)?.perCertificate.median;
    rows.push([`one certificate (${figure === 'latency-http01' ? 'http-01' : 'dns-01'}) ≤ 0.2 s (certkeeper median)`, m === undefined ? 'n/a' : `${fmt(m / 1000, 3)} s`, verdict(m === undefined ? undefined : m <= 200)]);
    faster(figure, 'uacme', 4);
    faster(figure, 'certbot', 15);
  }
  const t = ck('throughput');
  const u = find(c, 'throughput', 'uacme');
  const ceiling = find(c, 'ceiling', 'ceiling');
  rows.push([`${t?.n ?? 'N'} certificates at ≥ 10 per second (certkeeper)`, t ? `${fmt(t.certificatesPerSecond, 2)}/s` : 'n/a', verdict(t ? t.certificatesPerSecond >= 10 : undefined)]);
  rows.push([`≥ 3× uacme with ${u?.parallel ?? 4} processes`, times(t?.certificatesPerSecond, u?.certificatesPerSecond, 2), verdict(t && u ? t.certificatesPerSecond >= 3 * u.certificatesPerSecond : undefined)]);
  rows.push(["within 2× of Pebble's ceiling (certkeeper ≥ ceiling ÷ 2)", times(t?.certificatesPerSecond, ceiling?.certificatesPerSecond, 2), verdict(t && ceiling ? t.certificatesPerSecond * 2 >= ceiling.certificatesPerSecond : undefined)]);
  const mine = c.measurements.filter((m) => m.client === 'certkeeper');
  const n = mine.reduce((a, m) => a + m.n * Math.max(1, m.runsMs.length), 0);
  const req = mine.reduce((a, m) => a + total(m.acmeRequests), 0);
  rows.push([`≤ ${PROTOCOL_MINIMUM} ACME requests per certificate on average (certkeeper, all measured)`, n ? fmt(req / n, 2) : 'n/a', verdict(n ? req / n <= PROTOCOL_MINIMUM : undefined)]);
  return table(rows, 1);
}

const SHORT: Record<string, string> = {
  'GET /dir': 'dir', 'HEAD /nonce-plz': 'nonce', 'GET /nonce-plz': 'nonce', 'POST /sign-me-up': 'newAcct', 'POST /my-account/': 'acct',
  'POST /order-plz': 'newOrder', 'POST /authZ/': 'authz', 'POST /chalZ/': 'chal', 'POST /finalize-order/': 'finalize', 'POST /my-order/': 'orderPoll', 'POST /certZ/': 'cert',
};

/** ACME requests per certificate, per endpoint, for each measurement. */
export function requestsTable(c: Comparison): string {
  const columns = [...new Set(ENDPOINTS.map((e) => SHORT[e.key] ?? e.key))];
  const rows: string[][] = [['figure', 'client', ...columns, 'other', 'total']];
  for (const m of c.measurements) {
    const n = m.n * Math.max(1, m.runsMs.length);
    const per: Record<string, number> = {};
    let other = 0;
    for (const [k, v] of Object.entries(m.acmeRequests)) {
      const col = SHORT[k];
      if (col) per[col] = (per[col] ?? 0) + v;
      else other += v;
    }
    rows.push([FIGURE_LABEL[m.figure], CLIENT_LABEL[m.client], ...columns.map((col) => fmt((per[col] ?? 0) / n, 2)), fmt(other / n, 2), fmt(m.acmeRequestsPerCertificate, 2)]);
  }
  return table(rows, 2);
}

/** The whole report: tables, what was not measured and why, what was excluded, notes. */
export function renderComparison(c: Comparison): string {
  const out: string[] = [measurementsTable(c), '', ratiosTable(c), '', targetsTable(c), ''];
  out.push(`ACME requests per certificate by endpoint (protocol minimum ${PROTOCOL_MINIMUM}: newOrder, authz, chal, one poll, finalize, one poll, cert):`);
  out.push(requestsTable(c));
  if (c.notMeasured.length) {
    out.push('', 'n/a:');
    for (const x of c.notMeasured) out.push(`  ${FIGURE_LABEL[x.figure]}, ${CLIENT_LABEL[x.client]}: ${x.reason}`);
  }
  out.push('', 'How each row was measured:');
  for (const m of c.measurements) {
    const reruns = m.reruns ? `; ${m.reruns} run(s) failed on a badNonce the client did not retry and were run again (both runs' time counts)` : '';
    out.push(`  ${FIGURE_LABEL[m.figure]}, ${CLIENT_LABEL[m.client]}: ${m.how}${reruns}; peak RSS: ${m.rssSource}`);
  }
  if (c.excluded.length) {
    out.push('', 'Excluded from the figures:');
    for (const e of c.excluded) out.push(`  ${CLIENT_LABEL[e.client]}: ${e.what}: ${fmt(e.wallMs / 1000, 3)} s, ${e.acmeRequests} ACME requests`);
  }
  const starts = Object.entries(c.processStartMs);
  if (starts.length) out.push('', `Process start alone (median of 3 runs printing the version): ${starts.map(([k, v]) => `${k} ${fmt(v, 0)} ms`).join(', ')}.`);
  if (c.notes.length) out.push('', 'Notes:', ...c.notes.map((n) => `  ${n}`));
  return out.join('\n');
}

