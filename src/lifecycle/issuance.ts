/**
 * The issuance job (DESIGN.md, "the life of an auto certificate", step 3). Each ACME step is
 * persisted in the `orders` row before the next one starts, so a crash or restart resumes the
 * same order at the CA instead of opening another:
 *
 *   new → authorizing → finalizing → downloading → done
 *
 * On resume each step first asks the CA for the order's current status and continues from there.
 */
import { isOrderInFlightConflict } from '../store/order-in-flight.js';
import { randomUUID, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { AcmeClient } from '../acme/index.js';
import { isRetryableAcmeError, isAcmeProblem, AcmeError, AcmeTransportError, AcmeValidationError, ariCertificateId, type AcmeOrder } from '../acme/index.js';
import { generatePrivateKey, privateKeyToPem } from '../pki/keys.js';
import { keyAlgorithmOf } from '../pki/keys.js';
import { createCsr } from '../pki/csr.js';
import { keyMatchesCertificate, parseCertificate, splitPemCertificates } from '../pki/certificate.js';
import type { KeyAlgorithm } from '../pki/key-algorithm.js';
import type { Job } from '../store/jobs.js';
import type { NewEvent } from '../store/events.js';
import type { AutoCertificateRow, OrderRow, ProviderRow } from '../store/repositories.js';
import { iso } from '../store/time.js';
import { certificateKeyContext, orderKeyContext, type Context } from './context.js';
import type { JobHandler, JobOutcome } from './worker.js';
import { nextAttemptAt } from './backoff.js';
import { versionName } from './version-name.js';
import { renewalDecision } from './renewal-plan.js';
import { answerChallenges, ChallengeFailure, cleanupChallenges, prepareChallenges, publishAutomatic } from './challenges.js';
import { PropagationError } from '../dns/dns01-solver.js';
import { registeredDomains } from '../pki/registered-domain.js';
import { OrderDomains } from '../store/order-domains.js';
import * as x509 from '@peculiar/x509';
import { X509Certificate } from 'node:crypto';
import { agentState } from '../deploy/agents.js';
import { scheduleDeployments, startDeployments, type Planned } from '../deploy/orchestrator.js';

/** SHA-256 of the sorted name list: the identity of an exact name set for the rate budget. */
export function namesHash(names: string[]): string {
  return createHash('sha256').update([...names].sort().join('\n')).digest('hex');
}

/** Job kind of an issuance. */
export const ISSUE_JOB = 'certificate.issue';

/** How long to wait for the CA to validate and to issue, per order step. */
const VALIDATION_TIMEOUT_MS = 5 * 60_000;
const ISSUANCE_TIMEOUT_MS = 5 * 60_000;

/** A failure that retrying cannot fix (the order or the request itself is wrong). */
class IssuanceFailure extends Error {
  override name = 'IssuanceFailure';
}

/**
 * The job's lease passed to another instance before the certificate was stored: that instance
 * resumes the same order and stores it. Not a failure of the issuance.
 */
class JobTakenOver extends Error {
  override name = 'JobTakenOver';
}

/** The order waits for its agent's CSR (keys generated on an agent): look again shortly. */
class WaitingForAgent extends Error {
  override name = 'WaitingForAgent';
}

/** The provider cannot be used right now (FAILED or still registering): a reason to fail over. */
class ProviderUnavailable extends Error {
  override name = 'ProviderUnavailable';
}

/** The agent that generates the key is not online: retried with backoff, the order kept open. */
class AgentUnavailable extends Error {
  override name = 'AgentUnavailable';
}

/** Whether a certificate carries the public key of a CSR. */
function csrMatchesCertificate(csrPem: string, leafPem: string): boolean {
  try {
    const spki = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData);
    return new X509Certificate(leafPem).publicKey.export({ type: 'spki', format: 'der' }).equals(spki);
  } catch {
    return false;
  }
}

/** A local rate budget (exact name set, or registered domain) is spent until `retryAfter`. */
export class BudgetExceeded extends Error {
  override name = 'BudgetExceeded';
  constructor(message: string, readonly retryAfter: Date) {
    super(message);
  }
}

/** Enqueues an issuance of `autoCertificateId` unless one is in flight. */
export async function requestIssuance(ctx: Context, tenantId: string, autoCertificateId: string, opts: { rekey?: boolean; verified?: boolean; reason: string }) {
  const res = await ctx.jobs.enqueue({ tenantId, kind: ISSUE_JOB, subjectId: autoCertificateId, payload: { rekey: !!opts.rekey, verified: !!opts.verified, reason: opts.reason } });
  if (res.created) ctx.kick();
  return res;
}

/** The job handler of {@link ISSUE_JOB}. */
export function issuanceHandler(ctx: Context): JobHandler {
  return async (job: Job, signal: AbortSignal): Promise<JobOutcome> => {
    const ac = await ctx.autoCertificates.get(job.tenant_id, job.subject_id);
    if (!ac) return { status: 'done' };
    if (ac.state === 'PAUSED') return { status: 'done' };
    const payload = JSON.parse(job.payload_json) as { rekey?: boolean; verified?: boolean };
    const now = ctx.clock();
    let order = await ctx.orders.open(ac.id);
    if (!order) {
      order = {
        id: randomUUID(),
        tenant_id: ac.tenant_id,
        auto_certificate_id: ac.id,
        provider_id: ac.current_provider_id ?? ac.provider_id,
        names_json: ac.names_json,
        key_algorithm: ac.key_algorithm,
        rekey: payload.rekey ? 1 : 0,
        step: 'new',
        order_url: null,
        finalize_url: null,
        authorizations_json: '[]',
        key_enc: null,
        certificate_url: null,
        certificate_id: null,
        error: null,
        created_at: iso(now),
        updated_at: iso(now),
        finished_at: null,
        names_hash: namesHash(JSON.parse(ac.names_json) as string[]),
        replaces: null,
      };
      try {
        await ctx.orders.insert(order);
      } catch (err) {
        // The database allows one unfinished order per auto certificate: another instance opened
        // one between our look and our insert. Come back shortly and resume that one.
        if (!isOrderInFlightConflict(err)) throw err;
        return { status: 'retry', at: new Date(ctx.clock().getTime() + 5_000), error: 'an order of this auto certificate is already in flight; resuming it' };
      }
    }
    const provider = await ctx.providers.get(ac.tenant_id, order.provider_id);
    await ctx.autoCertificates.update(ac.tenant_id, ac.id, {
      state: ac.last_issued_certificate_id ? ac.state === 'FAILED' ? 'AVAILABLE' : ac.state : 'PROVISIONING',
      message: `Ordering a certificate from ${provider?.name ?? 'the provider'}`,
      last_attempt_at: iso(now),
      next_attempt_at: null,
      updated_at: iso(now),
    });
    try {
      if (!provider) throw new ProviderUnavailable('the provider of this order no longer exists');
      if (provider.state !== 'AVAILABLE') throw new ProviderUnavailable(`provider ${provider.name} is ${provider.state}: ${provider.message}`);
      const release = await ctx.caLimiter.acquire(new URL(provider.server).host, signal);
      const started = Date.now();
      let result;
      try {
        result = await runOrder(ctx, job, ac, provider, order, signal, { verified: !!payload.verified });
      } finally {
        release();
      }
      if (result === 'issued') ctx.metrics.issuance(provider.server, 'issued', (Date.now() - started) / 1000);
      return { status: 'done' };
    } catch (err) {
      if (signal.aborted) return { status: 'retry', at: new Date(), error: 'interrupted by shutdown' };
      if (err instanceof JobTakenOver) return { status: 'retry', at: new Date(), error: err.message };
      if (err instanceof WaitingForAgent) {
        await ctx.autoCertificates.update(ac.tenant_id, ac.id, { message: err.message, updated_at: iso(ctx.clock()) });
        return { status: 'retry', at: new Date(ctx.clock().getTime() + AGENT_CSR_POLL_MS), error: err.message };
      }
      return recordFailure(ctx, ac, order, job, err);
    }
  };
}

/** Failures the CA is to blame for (unreachable, 5xx, rate-limited, account unusable): fail-over helps. */
function isCaFault(err: unknown): boolean {
  if (err instanceof ProviderUnavailable) return true;
  if (err instanceof AcmeTransportError) return true;
  if (isAcmeProblem(err)) {
    const status = err.status;
    return isAcmeProblem(err, 'rateLimited') || isAcmeProblem(err, 'serverInternal') || isAcmeProblem(err, 'badNonce') || status >= 500;
  }
  return false;
}

/** Base and cap of the retry backoff (issue 4: 5 minutes doubling to a 24-hour cap). */
const RETRY_BASE_MS = 5 * 60_000;
const RETRY_CAP_MS = 24 * 3_600_000;

/**
 * Records a failed attempt: the next provider in line when the CA is at fault (fail-over), else
 * the next attempt after exponential backoff (never before the CA's Retry-After). A retryable
 * failure keeps the order open, so the next attempt resumes it at the same CA.
 */
async function recordFailure(ctx: Context, ac: AutoCertificateRow, order: OrderRow, _job: Job, err: unknown): Promise<JobOutcome> {
  const now = ctx.clock();
  const message = describeError(err);
  const retryAfter = (err as { retryAfter?: Date }).retryAfter;
  const resumable = !(err instanceof IssuanceFailure) && !(err instanceof ChallengeFailure) && !(err instanceof PropagationError) && !(err instanceof BudgetExceeded)
    && (isRetryableAcmeError(err) || !(err instanceof AcmeError));
  const failureCount = ac.failure_count + 1;
  const chain = [ac.provider_id, ...(JSON.parse(ac.fallback_provider_ids) as string[])];
  const position = Math.max(0, chain.indexOf(order.provider_id));
  const failover = isCaFault(err) && position < chain.length - 1;
  let nextProvider: string | null = null;
  let at: Date;
  if (failover) {
    nextProvider = chain[position + 1]!;
    at = now;
  } else {
    at = err instanceof BudgetExceeded ? err.retryAfter : nextAttemptAt(now, failureCount, { baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS, retryAfter });
  }
  const closeOrder = failover || !resumable;
  if (closeOrder) {
    await ctx.orders.update(order.id, { error: message, finished_at: iso(now), updated_at: iso(now) });
    await cleanupChallenges(ctx, order);
  }
  const active = ac.last_issued_certificate_id ? await ctx.certificates.get(ac.tenant_id, ac.last_issued_certificate_id) : undefined;
  // The louder alert: the active version will have expired before the next attempt.
  const critical = !!active && active.state !== 'REVOKED' && Date.parse(active.not_after) <= at.getTime();
  const nextProviderName = nextProvider ? (await ctx.providers.get(ac.tenant_id, nextProvider))?.name ?? nextProvider : null;
  const summary = failover
    ? `Attempt ${failureCount} failed at the CA (${message}); failing over to provider ${nextProviderName} now`
    : `Attempt ${failureCount} failed: ${message}. Next attempt at ${iso(at)}${critical ? ' — AFTER the active certificate expires' : ''}`;
  ctx.logger.warn({ autoCertificate: ac.id, order: order.id, failover, resumable, error: message }, 'issuance failed');
  await ctx.autoCertificates.update(ac.tenant_id, ac.id, {
    state: 'FAILED',
    failure_count: failureCount,
    next_attempt_at: iso(at),
    // After the last fallback, the next round starts again at the primary.
    current_provider_id: failover ? nextProvider : null,
    message: summary,
    updated_at: iso(now),
  });
  await ctx.events.append({
    tenantId: ac.tenant_id, type: 'certificate.renewal_failed', subjectType: 'auto-certificate', subjectId: ac.id, actor: 'system', message: summary,
    data: { failureCount, retryAt: iso(at), critical, error: message, provider: order.provider_id, ...(nextProvider ? { failoverTo: nextProvider } : {}), ...(active ? { activeNotAfter: active.not_after } : {}) },
  });
  const provider = await ctx.providers.get(ac.tenant_id, order.provider_id);
  ctx.metrics.issuance(provider?.server ?? 'unknown', closeOrder && !failover ? 'failed' : 'retry', Math.max(0, (now.getTime() - Date.parse(order.created_at)) / 1000));
  if (failover) ctx.kick();
  return { status: 'done' };
}

/** A user-facing description of an error; never carries key material. */
function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

const WEEK_MS = 7 * 86_400_000;

/**
 * The local rate budgets: refuse a new order when its exact name set already got
 * `CERTKEEPER_RATE_BUDGET_PER_NAME_SET` certificates in the last 7 days, or any registered domain
 * among its names got `CERTKEEPER_RATE_BUDGET_PER_DOMAIN` (Let's Encrypt: 5 and 50), so a loop (a
 * script renewing on every run, a flapping deployment) cannot burn the CA's limits. The next
 * attempt is when every spent budget has room again: when the certificate whose leaving the week
 * brings its count under the limit leaves it.
 *
 * Both count the orders of this install that ended with a certificate, across all tenants and all
 * providers: the CA counts a registered domain (and a name set) whoever asks, so tenants sharing a
 * domain share its limit too. The counts reveal nothing Certificate Transparency does not publish.
 */
async function checkBudget(ctx: Context, order: OrderRow, names: string[]): Promise<void> {
  const weekAgo = iso(new Date(ctx.clock().getTime() - WEEK_MS));
  const spent: BudgetExceeded[] = [];
  if (order.names_hash) {
    const issued = await ctx.db.kysely.selectFrom('orders').select('created_at')
      .where('names_hash', '=', order.names_hash).where('created_at', '>', weekAgo).where('certificate_id', 'is not', null)
      .orderBy('created_at').execute();
    const budget = ctx.config.rateBudgetPerNameSet;
    if (issued.length >= budget) {
      const until = new Date(Date.parse(issued[issued.length - budget]!.created_at) + WEEK_MS);
      spent.push(new BudgetExceeded(`the local rate budget is spent: ${issued.length} certificates for exactly these names in the last 7 days (limit ${budget}, CERTKEEPER_RATE_BUDGET_PER_NAME_SET); next possible at ${iso(until)}`, until));
    }
  }
  const budget = ctx.config.rateBudgetPerDomain;
  for (const d of await new OrderDomains(ctx.db).spent(registeredDomains(names), weekAgo, budget)) {
    const until = new Date(Date.parse(d.freedBy) + WEEK_MS);
    spent.push(new BudgetExceeded(`the local rate budget is spent: ${d.issued} certificates for the registered domain ${d.registeredDomain} in the last 7 days (limit ${budget}, CERTKEEPER_RATE_BUDGET_PER_DOMAIN); next possible at ${iso(until)}`, until));
  }
  // Several spent: report the one that frees last, so the next attempt is not refused again.
  const last = spent.sort((a, b) => b.retryAfter.getTime() - a.retryAfter.getTime())[0];
  if (last) throw last;
}

/** The ARI certificate ID of the version this order replaces, when the CA supports ARI (RFC 9773 §5). */
async function replacedCertificateId(ctx: Context, client: AcmeClient, ac: AutoCertificateRow, order: OrderRow, signal: AbortSignal): Promise<string | null> {
  if (!ac.last_issued_certificate_id) return null;
  const active = await ctx.certificates.get(ac.tenant_id, ac.last_issued_certificate_id);
  if (!active || active.provider_id !== order.provider_id) return null;
  const directory = await client.getDirectory(signal);
  if (!directory.renewalInfo) return null;
  try {
    return ariCertificateId(active.certificate_pem);
  } catch {
    return null;
  }
}

/** Parks the order until the user has published the manual challenges and called verify. */
async function awaitValidation(ctx: Context, ac: AutoCertificateRow, count: number): Promise<void> {
  const what = ac.challenge_type === 'manual-dns-01' ? 'TXT record(s)' : 'HTTP file(s)';
  const message = `Waiting for you to publish ${count} ${what}: see GET /api/v1/auto-certificates/${ac.id}/validations, then POST .../verify`;
  await ctx.autoCertificates.update(ac.tenant_id, ac.id, { state: 'AWAITING_VALIDATION', message, updated_at: iso(ctx.clock()) });
  await ctx.events.append({ tenantId: ac.tenant_id, type: 'auto_certificate.awaiting_validation', subjectType: 'auto-certificate', subjectId: ac.id, actor: 'system', message });
}

async function runOrder(ctx: Context, job: Job, ac: AutoCertificateRow, provider: ProviderRow, order: OrderRow, signal: AbortSignal, opts: { verified: boolean }): Promise<'issued' | 'awaiting_validation'> {
  const client = ctx.acme.for(provider);
  const names = JSON.parse(order.names_json) as string[];
  const save = async (set: Partial<OrderRow>) => {
    Object.assign(order, set, { updated_at: iso(ctx.clock()) });
    await ctx.orders.update(order.id, { ...set, updated_at: order.updated_at });
  };

  /** The order as the CA last answered in this run; null when it must be fetched (a resumed order). */
  let fresh: AcmeOrder | null = null;

  if (order.step === 'new') {
    // The order's registered domains, for the budget per registered domain. Recorded at this step,
    // which every order passes before the CA is asked, rather than next to the order's insert:
    // recording is idempotent, so an order resumed after a crash between the two still counts.
    await new OrderDomains(ctx.db).record(order, registeredDomains(names));
    await checkBudget(ctx, order, names);
    const replaces = await replacedCertificateId(ctx, client, ac, order, signal);
    const request = {
      // RFC 8738: IP addresses are identifiers of type "ip".
      identifiers: names.map((value) => ({ type: isIP(value) ? 'ip' as const : 'dns' as const, value })),
      ...(ac.profile ?? provider.profile ? { profile: (ac.profile ?? provider.profile)! } : {}),
    };
    let created;
    try {
      created = await client.newOrder({ ...request, ...(replaces ? { replaces } : {}) }, signal);
    } catch (err) {
      // RFC 9773 §5: the version was already replaced (by an earlier attempt): order without it.
      if (!replaces || !isAcmeProblem(err, 'alreadyReplaced')) throw err;
      created = await client.newOrder(request, signal);
    }
    if (replaces) await save({ replaces });
    await save({ step: 'authorizing', order_url: created.url, finalize_url: created.order.finalize, authorizations_json: JSON.stringify(created.order.authorizations) });
    fresh = created.order;
    await ctx.events.append({ tenantId: ac.tenant_id, type: 'certificate.order_created', subjectType: 'auto-certificate', subjectId: ac.id, actor: 'system', message: `Order ${created.url} created at ${provider.name} for ${names.length} name(s)`, data: { orderUrl: created.url } });
  }
  const orderUrl = order.order_url!;

  if (order.step === 'authorizing') {
    // Just created: the order object is fresh, no need to fetch it again (a resumed order is).
    let current = fresh ?? await client.getOrder(orderUrl, signal);
    if (current.status === 'pending') {
      const rows = await prepareChallenges(ctx, client, ac, order, current.authorizations, signal);
      const manual = ac.challenge_type.startsWith('manual-');
      if (manual && !opts.verified) {
        await awaitValidation(ctx, ac, rows.length);
        return 'awaiting_validation';
      }
      try {
        if (!manual) await publishAutomatic(ctx, ac, order, rows, signal);
        await ctx.autoCertificates.update(ac.tenant_id, ac.id, { message: `Waiting for ${provider.name} to validate ${names.length} name(s)` });
        await answerChallenges(ctx, client, rows, signal);
        current = await waitValidated(client, orderUrl, current, signal);
      } catch (err) {
        // Failed or aborted: remove what was published now, with its own timeout. On success the
        // records stay until the order is valid (the downloading step cleans up): a CA may still be
        // fetching a challenge it validates more than once, and a 404 then would invalidate it.
        await cleanupChallenges(ctx, order);
        throw err;
      }
    }
    if (current.status === 'invalid') throw new IssuanceFailure(await explainInvalidOrder(client, current.authorizations, signal));
    await save({ step: 'finalizing' });
    fresh = current;
  }

  if (order.step === 'finalizing') {
    let current = fresh ?? await client.getOrder(orderUrl, signal);
    if (current.status === 'ready') {
      const csr = ac.key_agent_id ? await agentCsr(ctx, ac, order) : await createCsr(names, await certificateKey(ctx, ac, order));
      const finalizeUrl = order.finalize_url ?? current.finalize;
      try {
        current = await client.finalize(finalizeUrl, csr, signal);
      } catch (err) {
        // Finalized on the strength of its one valid authorization, before the CA moved the order
        // to "ready": wait for that, then finalize again.
        if (!isAcmeProblem(err, 'orderNotReady')) throw err;
        current = await waitOrder(client, orderUrl, ['ready', 'processing', 'valid', 'invalid'], VALIDATION_TIMEOUT_MS, signal);
        if (current.status === 'ready') current = await client.finalize(finalizeUrl, csr, signal);
      }
    }
    if (current.status === 'processing' || current.status === 'ready') {
      current = await waitOrder(client, orderUrl, ['valid', 'invalid'], ISSUANCE_TIMEOUT_MS, signal, 'issuance');
    }
    if (current.status === 'invalid') throw new IssuanceFailure(`the CA refused to issue: ${current.error?.detail ?? 'order became invalid'}`);
    if (current.status !== 'valid' || !current.certificate) throw new IssuanceFailure(`unexpected order status ${current.status} after finalize`);
    await save({ step: 'downloading', certificate_url: current.certificate });
  }

  if (order.step === 'downloading') {
    const downloaded = await client.downloadCertificate(order.certificate_url!, { ...(provider.preferred_chain ? { preferredChain: provider.preferred_chain } : {}) }, signal);
    // The order is valid, so the CA validates nothing more: remove the records before the
    // certificate is reported AVAILABLE, so that AVAILABLE means nothing is left behind.
    await cleanupChallenges(ctx, order);
    await storeVersion(ctx, job, ac, provider, order, downloaded.pem);
  }
  return 'issued';
}

async function waitOrder(client: AcmeClient, url: string, targets: string[], timeoutMs: number, signal: AbortSignal, learn?: 'validation' | 'issuance') {
  return client.waitForOrder(url, targets as any, { timeoutMs, ...(learn ? { learn, firstPollDelayMs: FIRST_POLL_DELAY_MS } : {}) }, signal);
}

/**
 * How long after telling the CA something (a challenge is ready, the CSR) the first look waits
 * until the client has learned how long this CA takes (WaitOptions.learn): the CA cannot have
 * finished at once, and an early look only costs a request. Later looks back off, and honour
 * Retry-After.
 */
const FIRST_POLL_DELAY_MS = 40;

/**
 * Waits until the answered challenges are validated. With one authorization, that authorization
 * is polled (the protocol minimum: the order is then ready, and finalize follows at once; a CA
 * that lags behind answers orderNotReady, handled at finalize). With several, the order is polled:
 * one request per look, however many names.
 */
async function waitValidated(client: AcmeClient, orderUrl: string, order: AcmeOrder, signal: AbortSignal): Promise<AcmeOrder> {
  const [only, ...others] = order.authorizations;
  if (!only || others.length > 0) return waitOrder(client, orderUrl, ['ready', 'processing', 'valid', 'invalid'], VALIDATION_TIMEOUT_MS, signal, 'validation');
  try {
    await client.waitForAuthorization(only, { timeoutMs: VALIDATION_TIMEOUT_MS, firstPollDelayMs: FIRST_POLL_DELAY_MS, learn: 'validation' }, signal);
  } catch (err) {
    if (err instanceof AcmeValidationError) return { ...order, status: 'invalid' };
    throw err;
  }
  return { ...order, status: 'ready' };
}

async function explainInvalidOrder(client: AcmeClient, authorizationUrls: string[], signal: AbortSignal): Promise<string> {
  const reasons: string[] = [];
  for (const url of authorizationUrls) {
    const authz = await client.getAuthorization(url, signal);
    if (authz.status === 'valid') continue;
    const failed = authz.challenges.find((c) => c.error);
    reasons.push(`${authz.identifier.value}: ${failed?.error?.detail ?? authz.status}${failed?.error?.type ? ` (${failed.error.type.replace('urn:ietf:params:acme:error:', '')})` : ''}`);
  }
  return `validation failed: ${reasons.join('; ') || 'the order became invalid'}`;
}

/** How often an order waiting for its agent's CSR looks again. */
const AGENT_CSR_POLL_MS = 2_000;

/**
 * The CSR of a key generated on the auto certificate's agent: the order gets a key id (the previous
 * version's with the `reuse` key policy), the agent's poll picks the request up, and the CSR it
 * answers is checked on arrival (src/deploy/agent-keys.ts). Until then the job looks again shortly;
 * an agent that is not online is a failure with backoff (the order stays open).
 */
async function agentCsr(ctx: Context, ac: AutoCertificateRow, order: OrderRow): Promise<Buffer> {
  if (order.csr_pem) return Buffer.from(new x509.Pkcs10CertificateRequest(order.csr_pem).rawData);
  if (!order.agent_key_id) {
    let keyId: string = randomUUID();
    if (ac.key_policy === 'reuse' && !order.rekey && ac.last_issued_certificate_id) {
      const prev = await ctx.certificates.get(ac.tenant_id, ac.last_issued_certificate_id);
      if (prev?.agent_key_id && prev.key_algorithm === order.key_algorithm) keyId = prev.agent_key_id;
    }
    await ctx.orders.update(order.id, { agent_key_id: keyId });
    order.agent_key_id = keyId;
    ctx.agentSignals.signal(ac.key_agent_id);
  }
  const agent = ac.key_agent_id ? await ctx.agents.get(ac.tenant_id, ac.key_agent_id) : undefined;
  if (!agent) throw new IssuanceFailure('the agent that generates this certificate\'s key no longer exists; set keyAgent to another agent or to null');
  const state = agentState(agent, ctx.clock());
  if (state.state !== 'ONLINE') throw new AgentUnavailable(`agent ${agent.name} generates this certificate's key and is ${state.state}: ${state.message}`);
  throw new WaitingForAgent(`Waiting for agent ${agent.name} to generate the key and send its CSR`);
}

/** The key for the CSR: persisted on the order before finalize, so a resumed order uses the same key. */
async function certificateKey(ctx: Context, ac: AutoCertificateRow, order: OrderRow): Promise<KeyObject> {
  if (order.key_enc) return createPrivateKey(ctx.vault.openText(order.key_enc, orderKeyContext(order.id)));
  let key: KeyObject | null = null;
  if (ac.key_policy === 'reuse' && !order.rekey && ac.last_issued_certificate_id) {
    const prev = await ctx.certificates.get(ac.tenant_id, ac.last_issued_certificate_id);
    if (prev?.private_key_enc) {
      const prevKey = createPrivateKey(ctx.vault.openText(prev.private_key_enc, certificateKeyContext(prev.id)));
      if (keyAlgorithmOf(prevKey) === order.key_algorithm) key = prevKey;
    }
  }
  key ??= await generatePrivateKey(order.key_algorithm as KeyAlgorithm);
  const sealed = ctx.vault.seal(privateKeyToPem(key), orderKeyContext(order.id));
  await ctx.orders.update(order.id, { key_enc: sealed });
  order.key_enc = sealed;
  return key;
}

/**
 * Stores the downloaded chain as the new active version and supersedes the previous one, and marks
 * the job done in the same transaction.
 */
async function storeVersion(ctx: Context, job: Job, ac: AutoCertificateRow, provider: ProviderRow, order: OrderRow, pem: string): Promise<void> {
  const certs = splitPemCertificates(pem);
  const leaf = certs[0];
  if (!leaf) throw new IssuanceFailure('the CA returned no certificate');
  // A key generated on an agent: the server holds none; the certificate must carry the CSR's key.
  const key = order.agent_key_id ? null : createPrivateKey(ctx.vault.openText(order.key_enc!, orderKeyContext(order.id)));
  if (key ? !keyMatchesCertificate(key, leaf) : !csrMatchesCertificate(order.csr_pem ?? '', leaf)) throw new IssuanceFailure('the CA returned a certificate for another key');
  const facts = parseCertificate(leaf);
  const now = ctx.clock();
  const id = randomUUID();
  const name = versionName(ac.common_name, now);
  const retentionMs = ctx.config.retentionDays * 86_400_000;
  let superseded: string | null = null;
  let planned: Planned = { rows: [], targets: [] };
  await ctx.db.kysely.transaction().execute(async (tx) => {
    // The job is done in the transaction that stores its certificate. Were it left to the worker
    // afterwards, a crash (or the database going away) between the two would leave the job
    // running; its next run, finding no open order, would order and store a second certificate.
    // Only while this instance still holds the lease: otherwise the instance that took the job
    // over resumes this same order and stores its certificate itself.
    const held = await tx.updateTable('jobs')
      .set({ state: 'done', active_key: null, lease_owner: null, lease_expires_at: null, last_error: null, updated_at: iso(now) })
      .where('id', '=', job.id).where('lease_owner', '=', job.lease_owner ?? '').where('state', '=', 'running')
      .executeTakeFirst();
    if (Number(held.numUpdatedRows) !== 1) throw new JobTakenOver('another instance took this issuance over before its certificate was stored; it stores it');
    await ctx.certificates.insert({
      id,
      tenant_id: ac.tenant_id,
      name,
      auto_certificate_id: ac.id,
      provider_id: provider.id,
      source: 'acme',
      state: 'AVAILABLE',
      message: `Issued by ${provider.name}`,
      common_name: facts.commonName ?? ac.common_name,
      sans_json: JSON.stringify(facts.subjectAlternativeNames),
      issuer: facts.issuer,
      serial_number: facts.serialNumber,
      not_before: iso(facts.notBefore),
      not_after: iso(facts.notAfter),
      fingerprint_sha256: facts.fingerprintSha256,
      key_algorithm: facts.keyAlgorithm,
      certificate_pem: leaf,
      chain_pem: certs.slice(1).join(''),
      private_key_enc: key ? ctx.vault.seal(privateKeyToPem(key), certificateKeyContext(id)) : '',
      agent_key_id: order.agent_key_id ?? null,
      delete_after: null,
      revoked_at: null,
      revocation_reason: null,
      created_at: iso(now),
      created_by: 'system',
      updated_at: iso(now),
      updated_by: 'system',
    }, tx);
    const current = await tx.selectFrom('auto_certificates').select('last_issued_certificate_id').where('id', '=', ac.id).executeTakeFirst();
    const prevId = current?.last_issued_certificate_id;
    if (prevId) {
      const prev = await ctx.certificates.get(ac.tenant_id, prevId, tx);
      if (prev && prev.state === 'AVAILABLE') {
        superseded = prev.id;
        await ctx.certificates.update(ac.tenant_id, prev.id, {
          state: 'SUPERSEDED',
          message: `Superseded by ${name}; kept valid until it expires, deleted after ${iso(new Date(Date.parse(prev.not_after) + retentionMs))}`,
          delete_after: iso(new Date(Date.parse(prev.not_after) + retentionMs)),
          updated_at: iso(now),
          updated_by: 'system',
        }, tx);
      }
    }
    const inserted = (await ctx.certificates.get(ac.tenant_id, id, tx))!;
    // A new version: the CA's window for the old one no longer applies until fetched for this one.
    const fresh = { ...ac, ari_window_start: null, ari_window_end: null };
    const renewal = renewalDecision(now, fresh, inserted);
    await ctx.autoCertificates.update(ac.tenant_id, ac.id, {
      last_issued_certificate_id: id,
      state: 'AVAILABLE',
      message: `Certificate ${name} issued by ${provider.name}, valid until ${iso(facts.notAfter)}`,
      failure_count: 0,
      next_attempt_at: null,
      current_provider_id: null,
      ari_window_start: null,
      ari_window_end: null,
      ari_explanation_url: null,
      ari_next_check_at: iso(now),
      next_renewal_at: iso(renewal.at),
      renewal_reason: `${renewal.reason}: ${renewal.message}`,
      updated_at: iso(now),
    }, tx);
    await ctx.orders.update(order.id, { step: 'done', certificate_id: id, finished_at: iso(now), updated_at: iso(now), key_enc: null }, tx);
    // Its deployments are created with it, so a stored version never lacks them.
    const targetIds = await ctx.deploymentTargets.ofAutoCertificate(ac.id, tx);
    if (targetIds.length) planned = await scheduleDeployments(ctx, tx, { tenantId: ac.tenant_id, certificate: inserted, targetIds, actor: 'system' });
  });
  // Stored and done: a failure from here on (the database going away) must not be taken for a
  // failed issuance, which would schedule another order. A few tries, then a loud log line.
  const events: NewEvent[] = [{ tenantId: ac.tenant_id, type: 'certificate.issued', subjectType: 'certificate', subjectId: id, actor: 'system', message: `${name} issued for ${ac.name}`, data: { autoCertificate: ac.id, serialNumber: facts.serialNumber, notAfter: iso(facts.notAfter) } }];
  if (superseded) events.push({ tenantId: ac.tenant_id, type: 'certificate.superseded', subjectType: 'certificate', subjectId: superseded, actor: 'system', message: `superseded by ${name}` });
  try {
    await startDeployments(ctx, planned, 'system');
  } catch (err) {
    // The rows exist: the scheduler's tick enqueues what is due (resumeDeployments), agents poll.
    ctx.logger.error({ err, certificate: id }, 'deployments of a new version could not be started now; the next scheduler tick starts them');
  }
  for (const event of events) {
    for (let attempt = 1; ; attempt++) {
      try {
        await ctx.events.append(event);
        break;
      } catch (err) {
        if (attempt >= 3) {
          ctx.logger.error({ err, autoCertificate: ac.id, certificate: id, event: event.type }, 'certificate stored, but its event could not be recorded');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, attempt * 1_000));
      }
    }
  }
}
