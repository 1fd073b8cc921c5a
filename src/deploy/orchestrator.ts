/**
 * Deployment orchestration. Each (certificate version, target) pair gets one deployment row, which
 * is its own queue entry: `next_attempt_at` says when an attempt is due, a lease says who runs it.
 * Agent targets are claimed by their agent's long poll; agentless targets by a job of the worker.
 * A failed attempt leaves the deployment `FAILED` with the reason and the command output, and
 * schedules the next attempt with backoff, up to {@link MAX_ATTEMPTS}. A newer version replaces the
 * unfinished deployments of older ones on the same target.
 */
import { randomUUID } from 'node:crypto';
import type { Job } from '../store/jobs.js';
import type { CertificateRow, Executor } from '../store/repositories.js';
import type { AgentRow, DeploymentRow, DeploymentTargetRow } from '../store/deployments.js';
import { iso } from '../store/time.js';
import { DomainError, notFound } from '../domain-error.js';
import { certificateKeyContext, type Context } from '../lifecycle/context.js';
import type { JobHandler, JobOutcome } from '../lifecycle/worker.js';
import { backoffDelayMs } from '../lifecycle/backoff.js';
import type { NewEvent } from '../store/events.js';
import { DEPLOY_TARGETS } from './targets/index.js';
import { AGENT_TARGET, agentSettings, targetCredentials } from './deployment-targets.js';
import { boundOutput, DeployError, type AgentDeploymentResult, type AgentDeploymentWork, type DeployMaterial, type DeployOutcome } from './types.js';

/** Job kind of an agentless deployment attempt. */
export const DEPLOY_JOB = 'deployment.run';
/** Attempts per deployment before it stays FAILED (about a day with the backoff below). */
export const MAX_ATTEMPTS = 10;
const RETRY_BASE_MS = 60_000;
const RETRY_CAP_MS = 6 * 3600_000;
/** How long an attempt may run before another may take it over. */
export const ATTEMPT_LEASE_MS = 10 * 60_000;

/** The material of a certificate version; the key only when asked for and held by the server. */
export function deployMaterial(ctx: Pick<Context, 'vault'>, cert: CertificateRow, includeKey: boolean): DeployMaterial {
  const names = JSON.parse(cert.sans_json) as string[];
  const m: DeployMaterial = {
    certificateId: cert.id,
    name: cert.name,
    commonName: cert.common_name ?? names[0] ?? cert.name,
    names,
    serialNumber: cert.serial_number,
    notAfter: cert.not_after,
    certificatePem: cert.certificate_pem,
    chainPem: cert.chain_pem,
    fullchainPem: cert.certificate_pem + cert.chain_pem,
  };
  if (cert.agent_key_id) m.agentKeyId = cert.agent_key_id;
  else if (includeKey && cert.private_key_enc) m.privateKeyPem = ctx.vault.openText(cert.private_key_enc, certificateKeyContext(cert.id));
  return m;
}

/** Whether a target gets the private key. */
function targetGetsKey(target: DeploymentTargetRow): boolean {
  if (target.type === AGENT_TARGET) {
    const s = agentSettings(target);
    return !!(s.keyPath ?? s.combinedPath ?? s.pkcs12Path);
  }
  const settings = JSON.parse(target.settings_json) as Record<string, unknown>;
  return DEPLOY_TARGETS.get(target.type)?.needsPrivateKey === true || settings.includePrivateKey === true;
}

/** What {@link scheduleDeployments} planned; pass it to {@link startDeployments} after the commit. */
export interface Planned {
  rows: DeploymentRow[];
  targets: DeploymentTargetRow[];
}

/**
 * Creates one PENDING deployment per enabled target for a certificate version, inside the caller's
 * transaction (so a stored version never lacks its deployments), and closes the unfinished
 * deployments of older versions of the same auto certificate on those targets.
 */
export async function scheduleDeployments(ctx: Context, ex: Executor, p: { tenantId: string; certificate: CertificateRow; targetIds: string[]; actor: string }): Promise<Planned> {
  const now = iso(ctx.clock());
  const rows: DeploymentRow[] = [];
  const targets: DeploymentTargetRow[] = [];
  for (const targetId of p.targetIds) {
    const target = await ctx.deploymentTargets.get(p.tenantId, targetId, ex);
    if (!target || !target.enabled) continue;
    if (p.certificate.auto_certificate_id) await ctx.deployments.closeOlder(target.id, p.certificate.auto_certificate_id, p.certificate.id, now, ex);
    const row: DeploymentRow = {
      id: randomUUID(), tenant_id: p.tenantId, target_id: target.id, certificate_id: p.certificate.id,
      auto_certificate_id: p.certificate.auto_certificate_id, state: 'PENDING',
      message: target.type === AGENT_TARGET ? 'Waiting for the agent to take it' : 'Queued',
      output: null, served_serial: null, attempts: 0, next_attempt_at: now, lease_owner: null, lease_expires_at: null,
      deployed_at: null, created_at: now, created_by: p.actor, updated_at: now, updated_by: p.actor,
    };
    await ctx.deployments.insert(row, ex);
    rows.push(row);
    targets.push(target);
  }
  return { rows, targets };
}

/** After the commit: start agentless attempts, wake agents, record the requests. */
export async function startDeployments(ctx: Context, planned: Planned, actor: string): Promise<void> {
  for (const [i, row] of planned.rows.entries()) {
    const target = planned.targets[i]!;
    if (target.type === AGENT_TARGET) ctx.agentSignals.signal(target.agent_id);
    else await ctx.jobs.enqueue({ tenantId: row.tenant_id, kind: DEPLOY_JOB, subjectId: row.id });
    await ctx.events.append({ tenantId: row.tenant_id, type: 'deployment.requested', subjectType: 'deployment', subjectId: row.id, actor, message: `deployment to ${target.name} requested`, data: { target: target.id, certificate: row.certificate_id, autoCertificate: row.auto_certificate_id } });
  }
  if (planned.rows.some((_, i) => planned.targets[i]!.type !== AGENT_TARGET)) ctx.kick();
}

async function deployNow(ctx: Context, tenantId: string, actor: string, cert: CertificateRow, targetIds: string[]): Promise<DeploymentRow[]> {
  const planned = await ctx.db.kysely.transaction().execute((tx) => scheduleDeployments(ctx, tx, { tenantId, certificate: cert, targetIds, actor }));
  await startDeployments(ctx, planned, actor);
  return planned.rows;
}

/** `POST /auto-certificates/{id}/deploy`: the active version again, to every target, without re-issuing. */
export async function redeployAutoCertificate(ctx: Context, tenantId: string, actor: string, id: string): Promise<DeploymentRow[]> {
  const ac = await ctx.autoCertificates.get(tenantId, id);
  if (!ac) throw notFound('auto certificate', id);
  if (!ac.last_issued_certificate_id) throw new DomainError('operation_not_allowed', `auto certificate ${ac.name} has no certificate yet; it is deployed once issued`);
  const cert = await ctx.certificates.get(tenantId, ac.last_issued_certificate_id);
  if (!cert) throw new DomainError('operation_not_allowed', `the active certificate of ${ac.name} is gone; renew it`);
  const targetIds = await ctx.deploymentTargets.ofAutoCertificate(ac.id);
  if (targetIds.length === 0) throw new DomainError('operation_not_allowed', `auto certificate ${ac.name} lists no deploymentTargets; set them with PATCH first`);
  return deployNow(ctx, tenantId, actor, cert, targetIds);
}

/** `POST /certificates/{id}/deploy { targets }`: any version (an imported one too) to the given targets. */
export async function deployCertificate(ctx: Context, tenantId: string, actor: string, id: string, targets: string[]): Promise<DeploymentRow[]> {
  const cert = await ctx.certificates.get(tenantId, id);
  if (!cert) throw notFound('certificate', id);
  if (cert.state === 'REVOKED' || Date.parse(cert.not_after) <= ctx.clock().getTime()) {
    throw new DomainError('operation_not_allowed', `certificate ${cert.name} is ${cert.state === 'REVOKED' ? 'revoked' : 'expired'}; deploy a valid version`);
  }
  const ids: string[] = [];
  const errors = [];
  for (const [i, t] of targets.entries()) {
    const row = await ctx.deploymentTargets.find(tenantId, t);
    if (!row) errors.push({ field: `targets[${i}]`, value: t, message: 'no such deployment target' });
    else if (!row.enabled) errors.push({ field: `targets[${i}]`, value: t, message: 'this target is disabled' });
    else ids.push(row.id);
  }
  if (errors.length) throw new DomainError('validation_failed', 'some targets cannot be used', errors);
  return deployNow(ctx, tenantId, actor, cert, [...new Set(ids)]);
}

/** `POST /deployments/{id}/retry`: the next attempt now. */
export async function retryDeployment(ctx: Context, tenantId: string, actor: string, id: string): Promise<DeploymentRow> {
  const row = await ctx.deployments.get(tenantId, id);
  if (!row) throw notFound('deployment', id);
  const now = iso(ctx.clock());
  if (row.lease_expires_at && row.lease_expires_at > now) throw new DomainError('conflict', 'an attempt of this deployment is running; wait for its result');
  if (row.state === 'DEPLOYED') throw new DomainError('operation_not_allowed', 'this deployment succeeded; to deploy again use POST /auto-certificates/{id}/deploy or /certificates/{id}/deploy');
  await ctx.deployments.update(id, { next_attempt_at: now, attempts: 0, state: 'PENDING', message: 'Retry requested', updated_at: now, updated_by: actor });
  const target = await ctx.deploymentTargets.get(tenantId, row.target_id);
  if (target?.type === AGENT_TARGET) ctx.agentSignals.signal(target.agent_id);
  else {
    // The failed attempt's job waits for its backoff: replace it with one due now.
    await ctx.jobs.cancelQueued(DEPLOY_JOB, id);
    await ctx.jobs.enqueue({ tenantId, kind: DEPLOY_JOB, subjectId: id });
    ctx.kick();
  }
  return (await ctx.deployments.get(tenantId, id))!;
}

/** Records the outcome of an attempt held under `owner`; false when the lease was lost. */
async function recordOutcome(ctx: Context, dep: DeploymentRow, target: DeploymentTargetRow, owner: string, result: AgentDeploymentResult, hopeless = false): Promise<boolean> {
  const now = ctx.clock();
  const ok = result.state === 'DEPLOYED';
  const attempts = dep.attempts;
  const giveUp = !ok && (hopeless || attempts >= MAX_ATTEMPTS);
  const next = ok || giveUp ? null : new Date(now.getTime() + backoffDelayMs(attempts, RETRY_BASE_MS, RETRY_CAP_MS));
  const message = ok ? result.message
    : `${result.message}${giveUp ? ` (attempt ${attempts} of ${MAX_ATTEMPTS}; no more attempts: fix it and retry)` : ` (attempt ${attempts} of ${MAX_ATTEMPTS}; next at ${iso(next!)})`}`;
  const changed = await ctx.deployments.update(dep.id, {
    state: ok ? 'DEPLOYED' : 'FAILED', message, output: result.output === undefined ? null : boundOutput(result.output),
    served_serial: result.servedSerial ?? null, next_attempt_at: next ? iso(next) : null, lease_owner: null, lease_expires_at: null,
    deployed_at: ok ? iso(now) : dep.deployed_at, updated_at: iso(now), updated_by: owner,
  }, { leaseOwner: owner });
  if (changed !== 1) return false;
  const cert = await ctx.certificates.get(dep.tenant_id, dep.certificate_id);
  const event: NewEvent = {
    tenantId: dep.tenant_id, type: ok ? 'deployment.succeeded' : 'deployment.failed', subjectType: 'deployment', subjectId: dep.id, actor: owner,
    message: ok ? `${cert?.name ?? dep.certificate_id} deployed to ${target.name}${result.skipped ? ' (already served)' : ''}` : `deployment of ${cert?.name ?? dep.certificate_id} to ${target.name} failed: ${message}`,
    data: { target: target.id, targetName: target.name, certificate: dep.certificate_id, autoCertificate: dep.auto_certificate_id, attempt: attempts, willRetry: !!next, ...(result.servedSerial ? { servedSerial: result.servedSerial } : {}) },
  };
  await ctx.events.append(event);
  return true;
}

/** The worker's handler of an agentless deployment attempt. */
export function deploymentJobHandler(ctx: Context): JobHandler {
  return async (job: Job, signal: AbortSignal): Promise<JobOutcome> => {
    const dep = await ctx.deployments.get(job.tenant_id, job.subject_id);
    if (!dep || !dep.next_attempt_at) return { status: 'done' };
    const now = ctx.clock();
    if (Date.parse(dep.next_attempt_at) > now.getTime()) return { status: 'retry', at: new Date(dep.next_attempt_at), error: 'not due yet' };
    const target = await ctx.deploymentTargets.get(dep.tenant_id, dep.target_id);
    const cert = await ctx.certificates.get(dep.tenant_id, dep.certificate_id);
    const owner = `server:${job.lease_owner ?? 'worker'}`;
    if (!target || !cert || target.type === AGENT_TARGET) {
      await ctx.deployments.update(dep.id, { state: 'FAILED', message: !target ? 'The target was deleted' : !cert ? 'The certificate was deleted' : 'An agent target is deployed by its agent', next_attempt_at: null, updated_at: iso(now) });
      return { status: 'done' };
    }
    if (!(await ctx.deployments.claim(dep.id, owner, iso(now), iso(new Date(now.getTime() + ATTEMPT_LEASE_MS))))) {
      return { status: 'retry', at: new Date(now.getTime() + 30_000), error: 'another attempt of this deployment is running' };
    }
    const claimed = (await ctx.deployments.get(dep.tenant_id, dep.id))!;
    const manifest = DEPLOY_TARGETS.get(target.type);
    let result: AgentDeploymentResult;
    let hopeless = false;
    if (!manifest) {
      result = { state: 'FAILED', message: `this version of certkeeper knows no target type "${target.type}"` };
      hopeless = true;
    } else if (cert.agent_key_id && targetGetsKey(target)) {
      // Another attempt cannot help: the key exists only on the agent that generated it.
      result = { state: 'FAILED', message: `${cert.name}'s key was generated on an agent and never left it: ${target.name} (${target.type}) needs the key; deploy this certificate through that agent, or drop keyAgent` };
      hopeless = true;
    } else {
      const material = deployMaterial(ctx, cert, targetGetsKey(target));
      const impl = manifest.create({ settings: JSON.parse(target.settings_json), credentials: targetCredentials(ctx, target), allowPrivateAddresses: ctx.config.allowPrivateAddresses, logger: ctx.logger.child({ deployment: dep.id, target: target.name }) });
      try {
        const served = await impl.servedSerial?.(material, signal).catch(() => undefined);
        let outcome: DeployOutcome;
        if (served && normalSerial(served) === normalSerial(material.serialNumber)) outcome = { message: `${target.name} already has ${cert.name}`, servedSerial: served, skipped: true };
        else outcome = await impl.deploy(material, signal);
        result = { state: 'DEPLOYED', message: outcome.message, ...(outcome.output !== undefined ? { output: outcome.output } : {}), ...(outcome.servedSerial ? { servedSerial: outcome.servedSerial } : {}), ...(outcome.skipped ? { skipped: true } : {}) };
      } catch (err) {
        if (signal.aborted && !(err instanceof DeployError)) {
          await ctx.deployments.update(dep.id, { lease_owner: null, lease_expires_at: null, attempts: claimed.attempts - 1 }, { leaseOwner: owner });
          return { status: 'retry', at: new Date(ctx.clock().getTime() + 1_000), error: 'interrupted' };
        }
        const e = err instanceof DeployError ? err : new DeployError(err instanceof Error ? err.message : String(err));
        result = { state: 'FAILED', message: e.message, ...(e.output !== undefined ? { output: e.output } : {}), ...(e.servedSerial ? { servedSerial: e.servedSerial } : {}) };
      } finally {
        await impl.close?.().catch(() => undefined);
      }
    }
    await recordOutcome(ctx, claimed, target, owner, result, hopeless);
    const after = await ctx.deployments.get(dep.tenant_id, dep.id);
    if (after?.next_attempt_at) return { status: 'retry', at: new Date(after.next_attempt_at), error: after.message };
    return { status: 'done' };
  };
}

/** Lower-case hex without separators or leading zeros. */
export function normalSerial(s: string): string {
  return s.replace(/[^0-9a-fA-F]/g, '').toLowerCase().replace(/^0+(?=.)/, '');
}

/** Re-enqueues agentless deployments that are due but have no job (a crash between commit and enqueue). */
export async function resumeDeployments(ctx: Context): Promise<number> {
  const now = iso(ctx.clock());
  const rows = await ctx.db.kysely.selectFrom('deployments')
    .innerJoin('deployment_targets', 'deployment_targets.id', 'deployments.target_id')
    .select(['deployments.id', 'deployments.tenant_id'])
    .where('deployment_targets.type', '!=', AGENT_TARGET)
    .where('deployments.next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('deployments.lease_expires_at', 'is', null), eb('deployments.lease_expires_at', '<=', now)]))
    .limit(500).execute();
  let n = 0;
  for (const r of rows) if ((await ctx.jobs.enqueue({ tenantId: r.tenant_id, kind: DEPLOY_JOB, subjectId: r.id })).created) n++;
  if (n) ctx.kick();
  return n;
}

// ---- the agent side of the protocol ----

/** The deployments due for an agent, claimed for it, as work items. */
export async function claimAgentDeployments(ctx: Context, agent: AgentRow, limit = 10): Promise<AgentDeploymentWork[]> {
  const targets = (await ctx.deploymentTargets.byAgent(agent.tenant_id, agent.id)).filter((t) => t.enabled);
  const now = ctx.clock();
  const due = await ctx.deployments.due(targets.map((t) => t.id), iso(now), limit);
  const owner = `agent:${agent.id}`;
  const work: AgentDeploymentWork[] = [];
  for (const dep of due) {
    if (!(await ctx.deployments.claim(dep.id, owner, iso(now), iso(new Date(now.getTime() + ATTEMPT_LEASE_MS))))) continue;
    const target = targets.find((t) => t.id === dep.target_id)!;
    const cert = await ctx.certificates.get(dep.tenant_id, dep.certificate_id);
    if (!cert) {
      await ctx.deployments.update(dep.id, { state: 'FAILED', message: 'The certificate was deleted', next_attempt_at: null, lease_owner: null, lease_expires_at: null, updated_at: iso(now) });
      continue;
    }
    await ctx.deployments.update(dep.id, { message: `Taken by agent ${agent.name}`, updated_at: iso(now) });
    const creds = targetCredentials(ctx, target);
    work.push({
      kind: 'deployment', id: dep.id, attempt: dep.attempts + 1,
      target: { id: target.id, name: target.name, settings: agentSettings(target) },
      ...(creds.pkcs12Password ? { pkcs12Password: creds.pkcs12Password } : {}),
      material: deployMaterial(ctx, cert, targetGetsKey(target)),
    });
  }
  return work;
}

/** An agent reports the outcome of a deployment it holds. */
export async function recordAgentResult(ctx: Context, agent: AgentRow, deploymentId: string, result: AgentDeploymentResult): Promise<void> {
  const dep = await ctx.deployments.get(agent.tenant_id, deploymentId);
  if (!dep) throw notFound('deployment', deploymentId);
  const target = await ctx.deploymentTargets.get(agent.tenant_id, dep.target_id);
  const owner = `agent:${agent.id}`;
  if (!target || target.agent_id !== agent.id || dep.lease_owner !== owner) {
    throw new DomainError('conflict', 'this deployment is not held by this agent (its lease ran out, or a newer version replaced it); its result was not recorded');
  }
  if (!(await recordOutcome(ctx, dep, target, owner, result))) throw new DomainError('conflict', 'this deployment was taken back before its result arrived');
}
