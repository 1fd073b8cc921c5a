/**
 * The Prometheus metrics of one certkeeper process (docs/metrics.md lists every series).
 *
 * Two kinds of series:
 * - counters and histograms of what this process did (ACME requests, issuances), fed by
 *   {@link Metrics.acmeRequest} (the ACME transport's `onRequest` hook) and {@link Metrics.issuance};
 * - gauges of the shared state (certificates, auto certificates, job queue), read from the
 *   database at scrape time by a few bounded queries (repository-snapshot.ts).
 *
 * Every label value is bounded: by code (states, sources, endpoints, outcomes, job kinds), by the
 * number of providers (`ca`, additionally capped), or by the repository (ids and names of the
 * per-certificate series, which switch off above a configured size).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import type { Db } from '../store/database.js';
import type { Clock } from '../store/time.js';
import { acmeEndpoint, BoundedLabel, caHost, statusClass } from './acme-labels.js';
import { EXPIRING_WITHIN_DAYS, readRepository, type RepositorySnapshot } from './repository-snapshot.js';

/** The outcome of one issuance attempt. */
export type IssuanceOutcome = 'issued' | 'retry' | 'failed';

/** Every value the `outcome` label takes. */
export const ISSUANCE_OUTCOMES: readonly IssuanceOutcome[] = ['issued', 'retry', 'failed'];

/** Certificate states and sources, exported as zeros when absent so alerts see 0, not "no data". */
const CERTIFICATE_STATES = ['AVAILABLE', 'SUPERSEDED', 'EXPIRED', 'REVOKED'];
const CERTIFICATE_SOURCES = ['acme', 'imported'];
const AUTO_CERTIFICATE_STATES = ['PROVISIONING', 'AWAITING_VALIDATION', 'AVAILABLE', 'FAILED', 'PAUSED'];
const ACTIVE_JOB_STATES = ['queued', 'running'];

/** At most this many distinct `ca` label values; later new hosts are counted as `other`. */
const MAX_CA_LABELS = 64;

/** Seconds an issuance attempt takes: from a few seconds (http-01) to many minutes (slow DNS). */
const ISSUANCE_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const PREFIX = 'certkeeper_';

/**
 * prom-client's process and Node.js metrics: one set per process, shared by every
 * {@link Metrics} (tests start several servers in one process).
 */
let processRegistry: Registry | undefined;
function defaultMetrics(): Registry {
  if (processRegistry) return processRegistry;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  // `nodejs_active_{handles,requests,resources}_total` are gauges named like counters, which
  // `promtool check metrics` rejects. They are the sums of the `{type}`-labelled gauges
  // `nodejs_active_handles` etc., which stay: sum() over those gives the same number.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    if (registry.getSingleMetric(PREFIX + name)) registry.removeSingleMetric(PREFIX + name);
  }
  processRegistry = registry;
  return registry;
}

/** What {@link Metrics} needs. */
export interface MetricsOptions {
  db: Db;
  clock: Clock;
  logger: Logger;
  /**
   * Largest repository (certificates, and separately auto certificates) for which per-certificate
   * series are exported; above it only the aggregates are, with a warning. 0 turns them off.
   */
  perCertificateLimit: number;
}

/** The metrics of one process; `render()` answers a scrape. */
export class Metrics {
  readonly #opts: MetricsOptions;
  readonly #registry = new Registry();
  readonly #ca = new BoundedLabel(MAX_CA_LABELS);
  #directoryUrls = new Set<string>();
  readonly #jobSeries = new Set<string>();
  #inflight: Promise<void> | undefined;
  #warnedCertificates = false;
  #warnedAutoCertificates = false;

  readonly #acmeRequests: Counter<'ca' | 'endpoint' | 'status_class'>;
  readonly #issuances: Counter<'ca' | 'outcome'>;
  readonly #issuanceDuration: Histogram<'ca' | 'outcome'>;
  readonly #notAfter: Gauge<'certificate_id' | 'name' | 'state' | 'source'>;
  readonly #certificates: Gauge<'state' | 'source'>;
  readonly #expiring: Gauge<'within'>;
  readonly #nextRenewal: Gauge<'auto_certificate_id' | 'name'>;
  readonly #failures: Gauge<'auto_certificate_id' | 'name'>;
  readonly #autoCertificates: Gauge<'state'>;
  readonly #jobs: Gauge<'kind' | 'state'>;
  readonly #oldestQueued: Gauge;
  readonly #databaseUp: Gauge;

  constructor(opts: MetricsOptions) {
    this.#opts = opts;
    const registers = [this.#registry];
    this.#acmeRequests = new Counter({
      name: `${PREFIX}acme_requests_total`,
      help: 'HTTP requests to ACME CAs, by CA (host of the directory), RFC 8555 resource and status class (error: no response).',
      labelNames: ['ca', 'endpoint', 'status_class'], registers,
    });
    this.#issuances = new Counter({
      name: `${PREFIX}issuances_total`,
      help: 'Issuance attempts of auto certificates, by CA and outcome (issued, retry: failed and scheduled again, failed: gave up).',
      labelNames: ['ca', 'outcome'], registers,
    });
    this.#issuanceDuration = new Histogram({
      name: `${PREFIX}issuance_duration_seconds`,
      help: 'Duration of issuance attempts, by CA and outcome.',
      labelNames: ['ca', 'outcome'], buckets: ISSUANCE_BUCKETS, registers,
    });
    this.#notAfter = new Gauge({
      name: `${PREFIX}certificate_not_after_seconds`,
      help: 'notAfter of each stored certificate version, Unix seconds (omitted above CERTKEEPER_METRICS_PER_CERTIFICATE).',
      labelNames: ['certificate_id', 'name', 'state', 'source'], registers,
    });
    this.#certificates = new Gauge({
      name: `${PREFIX}certificates`,
      help: 'Stored certificate versions, by state and source.',
      labelNames: ['state', 'source'], registers,
    });
    this.#expiring = new Gauge({
      name: `${PREFIX}certificates_expiring`,
      help: 'AVAILABLE certificates that expire within the given time and have not expired yet (cumulative: 7d includes 1d).',
      labelNames: ['within'], registers,
    });
    this.#nextRenewal = new Gauge({
      name: `${PREFIX}auto_certificate_next_renewal_seconds`,
      help: 'When each auto certificate is next due for renewal, Unix seconds (absent while unknown).',
      labelNames: ['auto_certificate_id', 'name'], registers,
    });
    this.#failures = new Gauge({
      name: `${PREFIX}auto_certificate_failures`,
      help: 'Consecutive failed issuance attempts of each auto certificate (0 after a success).',
      labelNames: ['auto_certificate_id', 'name'], registers,
    });
    this.#autoCertificates = new Gauge({
      name: `${PREFIX}auto_certificates`,
      help: 'Auto certificates, by state.',
      labelNames: ['state'], registers,
    });
    this.#jobs = new Gauge({
      name: `${PREFIX}jobs`,
      help: 'Background jobs waiting (queued, including scheduled retries) or running, by kind.',
      labelNames: ['kind', 'state'], registers,
    });
    this.#oldestQueued = new Gauge({
      name: `${PREFIX}job_oldest_queued_age_seconds`,
      help: 'How long the longest-waiting due job has been queued since it fell due, seconds (0 when none waits).',
      registers,
    });
    this.#databaseUp = new Gauge({
      name: `${PREFIX}metrics_database_up`,
      help: '1 when this scrape read the repository and queue gauges from the database, 0 when that failed (those gauges are then absent).',
      registers,
    });
  }

  /** The Content-Type of {@link render}'s text. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /**
   * Counts one ACME HTTP request; matches the ACME transport's `onRequest(method, url, status)`
   * (status 0: no response). Bound to the instance, so it can be passed as is.
   */
  readonly acmeRequest = (_method: string, url: string, status: number): void => {
    this.#acmeRequests.inc({ ca: this.#ca.of(caHost(url)), endpoint: acmeEndpoint(url, this.#directoryUrls), status_class: statusClass(status) });
  };

  /**
   * Records one issuance attempt. `ca` is the provider's directory URL or its host (the same
   * `ca` label as the ACME request counter); `seconds` is how long the attempt took.
   */
  issuance(ca: string, outcome: IssuanceOutcome, seconds: number): void {
    const labels = { ca: this.#ca.of(caHost(ca)), outcome: ISSUANCE_OUTCOMES.includes(outcome) ? outcome : 'other' };
    this.#issuances.inc(labels);
    if (Number.isFinite(seconds) && seconds >= 0) this.#issuanceDuration.observe(labels, seconds);
  }

  /** The exposition text of a scrape: reads the database gauges, then renders every series. */
  async render(): Promise<string> {
    await this.refresh();
    const [own, proc] = await Promise.all([this.#registry.metrics(), defaultMetrics().metrics()]);
    return own + proc;
  }

  /** Reads the database gauges; concurrent scrapes share one read. */
  refresh(): Promise<void> {
    this.#inflight ??= this.#refresh().finally(() => { this.#inflight = undefined; });
    return this.#inflight;
  }

  async #refresh(): Promise<void> {
    const now = this.#opts.clock();
    let snap: RepositorySnapshot;
    try {
      snap = await readRepository(this.#opts.db, now, this.#opts.perCertificateLimit);
    } catch (err) {
      this.#opts.logger.error({ err }, 'metrics: reading the repository gauges failed');
      for (const g of [this.#notAfter, this.#certificates, this.#expiring, this.#nextRenewal, this.#failures, this.#autoCertificates, this.#jobs, this.#oldestQueued]) g.reset();
      this.#databaseUp.set(0);
      return;
    }
    this.#warnOverLimit(snap);
    // From here on synchronous: a concurrent render never sees half-updated gauges.
    this.#directoryUrls = new Set(snap.directoryUrls);
    this.#databaseUp.set(1);

    this.#certificates.reset();
    for (const state of CERTIFICATE_STATES) for (const source of CERTIFICATE_SOURCES) this.#certificates.set({ state, source }, 0);
    for (const r of snap.certificatesByStateSource) this.#certificates.set({ state: r.state, source: r.source }, r.n);

    for (const d of EXPIRING_WITHIN_DAYS) this.#expiring.set({ within: `${d}d` }, snap.expiring.get(d) ?? 0);

    this.#notAfter.reset();
    for (const c of snap.certificates ?? []) {
      this.#notAfter.set({ certificate_id: c.id, name: c.name, state: c.state, source: c.source }, Date.parse(c.not_after) / 1000);
    }

    this.#autoCertificates.reset();
    for (const state of AUTO_CERTIFICATE_STATES) this.#autoCertificates.set({ state }, 0);
    for (const r of snap.autoCertificatesByState) this.#autoCertificates.set({ state: r.state }, r.n);

    this.#nextRenewal.reset();
    this.#failures.reset();
    for (const a of snap.autoCertificates ?? []) {
      const labels = { auto_certificate_id: a.id, name: a.name };
      if (a.next_renewal_at) this.#nextRenewal.set(labels, Date.parse(a.next_renewal_at) / 1000);
      this.#failures.set(labels, a.failure_count);
    }

    // A kind/state seen once stays exported (as 0 when idle): job kinds are bounded by the code.
    this.#jobs.reset();
    for (const r of snap.jobs) this.#jobSeries.add(r.kind);
    for (const kind of this.#jobSeries) for (const state of ACTIVE_JOB_STATES) this.#jobs.set({ kind, state }, 0);
    for (const r of snap.jobs) this.#jobs.set({ kind: r.kind, state: r.state }, r.n);
    this.#oldestQueued.set(snap.oldestDueRunAt ? Math.max(0, (now.getTime() - Date.parse(snap.oldestDueRunAt)) / 1000) : 0);
  }

  /** Warns once each time the repository grows past the per-certificate limit. */
  #warnOverLimit(snap: RepositorySnapshot): void {
    const limit = this.#opts.perCertificateLimit;
    if (limit === 0) return;
    const certs = snap.certificates === null;
    if (certs && !this.#warnedCertificates) {
      this.#opts.logger.warn({ certificates: snap.certificatesTotal, limit },
        'metrics: more certificates than CERTKEEPER_METRICS_PER_CERTIFICATE allows; exporting only the aggregate certificate series (certkeeper_certificates, certkeeper_certificates_expiring)');
    }
    this.#warnedCertificates = certs;
    const autos = snap.autoCertificates === null;
    if (autos && !this.#warnedAutoCertificates) {
      this.#opts.logger.warn({ autoCertificates: snap.autoCertificatesTotal, limit },
        'metrics: more auto certificates than CERTKEEPER_METRICS_PER_CERTIFICATE allows; exporting only certkeeper_auto_certificates');
    }
    this.#warnedAutoCertificates = autos;
  }
}
