/** Auto certificates: what the user wants kept alive. Every name is checked before anything is stored. */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { normalizeNames } from '../pki/names.js';
import type { KeyAlgorithm } from '../pki/key-algorithm.js';
import { DomainError, notFound, type FieldError } from '../domain-error.js';
import type { AutoCertificateRow } from '../store/repositories.js';
import { iso } from '../store/time.js';
import type { Context } from './context.js';
import { ISSUE_JOB, requestIssuance } from './issuance.js';
import { replanRenewal } from './renewal-plan.js';
import { missingManualRecords, solverFor, validationItems, zoneLookup } from './challenges.js';
import { challengeRecordName } from '../dns/dns01-solver.js';
import { matchZone } from '../dns/zone-match.js';

/** How long the dns-01 coverage check of a create or update may take (CNAME lookups). */
const COVERAGE_TIMEOUT_MS = 10_000;

/** The challenge types an auto certificate may use. */
export const CHALLENGE_TYPES = ['dns-01', 'http-01', 'manual-dns-01', 'manual-http-01'] as const;

/** Writable properties of an auto certificate. */
export interface AutoCertificateInput {
  name: string;
  provider: string;
  fallbackProviders?: string[];
  commonName: string;
  subjectAlternativeNames?: string[];
  keyAlgorithm?: KeyAlgorithm;
  challengeType?: (typeof CHALLENGE_TYPES)[number];
  keyPolicy?: 'rotate' | 'reuse';
  renewBeforeDays?: number | null;
  profile?: string | null;
  /** Deployment targets (ids or names) each new version goes to, in order. */
  deploymentTargets?: string[];
  /** The agent (id or name) that generates and keeps the key; null: the server does. */
  keyAgent?: string | null;
}

/** Resolves deployment target references to ids, naming each unknown one. */
async function resolveTargets(ctx: Context, tenantId: string, refs: string[]): Promise<string[]> {
  const ids: string[] = [];
  const errors: FieldError[] = [];
  for (const [i, ref] of refs.entries()) {
    const t = await ctx.deploymentTargets.find(tenantId, ref);
    if (!t) errors.push({ field: `properties.deploymentTargets[${i}]`, value: ref, message: 'no such deployment target; create it first (POST /api/v1/deployment-targets)' });
    else if (!ids.includes(t.id)) ids.push(t.id);
  }
  if (errors.length) throw new DomainError('validation_failed', 'some deploymentTargets do not exist', errors);
  return ids;
}

/** Resolves the key agent reference. */
async function resolveKeyAgent(ctx: Context, tenantId: string, ref: string | null | undefined): Promise<string | null> {
  if (!ref) return null;
  const agent = await ctx.agents.find(tenantId, ref);
  if (!agent) throw new DomainError('validation_failed', 'keyAgent names no agent', [{ field: 'properties.keyAgent', value: ref, message: 'no such agent' }]);
  return agent.id;
}

/** Normalises the common name and SANs into one list (common name first), or throws naming each bad name. */
export function checkNames(commonName: string, sans: string[], challengeType: string, allowIpAddresses = false): string[] {
  const input = [commonName, ...sans];
  const { names, errors } = normalizeNames(input, { allowIpAddresses });
  const fieldErrors: FieldError[] = errors.map((e) => ({
    field: e.index < 0 ? 'properties.subjectAlternativeNames' : e.index === 0 ? 'properties.commonName' : `properties.subjectAlternativeNames[${e.index - 1}]`,
    ...(e.index >= 0 ? { value: e.name } : {}),
    message: !allowIpAddresses && isIP(input[e.index]?.trim() ?? '') !== 0
      ? 'IP addresses need a CA profile that issues for them (RFC 8738; e.g. Let\'s Encrypt\'s "shortlived"): set "profile" on the auto certificate or its provider'
      : e.reason,
  }));
  if (challengeType.endsWith('dns-01')) {
    names.forEach((n, i) => {
      if (isIP(n)) fieldErrors.push({ field: i === 0 ? 'properties.commonName' : `properties.subjectAlternativeNames[${i - 1}]`, value: n, message: 'IP addresses cannot be validated with dns-01: use http-01' });
    });
  }
  if (challengeType.endsWith('http-01')) {
    input.forEach((n, i) => {
      if (n.trim().startsWith('*.')) {
        fieldErrors.push({ field: i === 0 ? 'properties.commonName' : `properties.subjectAlternativeNames[${i - 1}]`, value: n, message: 'wildcard names can only be validated with dns-01: set challengeType to dns-01 or manual-dns-01' });
      }
    });
  }
  if (fieldErrors.length) {
    throw new DomainError('invalid_names', `${fieldErrors.length} name(s) cannot be used: ${fieldErrors.map((e) => `${e.value ?? e.field}: ${e.message}`).join('; ')}`, fieldErrors);
  }
  return names;
}

async function resolveProviders(ctx: Context, tenantId: string, primary: string, fallbacks: string[]): Promise<{ primary: string; fallbacks: string[]; profile: string | null }> {
  const p = await ctx.providers.find(tenantId, primary);
  if (!p) throw new DomainError('validation_failed', `provider "${primary}" does not exist; create it first or give the id of an existing one`, [{ field: 'properties.provider', value: primary, message: 'no such provider' }]);
  if (p.state === 'FAILED') throw new DomainError('provider_not_available', `provider ${p.name} is FAILED: ${p.message}. Fix the provider first.`, [{ field: 'properties.provider', value: primary, message: p.message }]);
  const fb: string[] = [];
  for (const [i, f] of fallbacks.entries()) {
    const r = await ctx.providers.find(tenantId, f);
    if (!r) throw new DomainError('validation_failed', `fallback provider "${f}" does not exist`, [{ field: `properties.fallbackProviders[${i}]`, value: f, message: 'no such provider' }]);
    if (r.id !== p.id && !fb.includes(r.id)) fb.push(r.id);
  }
  return { primary: p.id, fallbacks: fb, profile: p.profile };
}

/**
 * dns-01 needs every name covered by an enabled zone: the name's `_acme-challenge` record, or the
 * target of its CNAME, must lie in one. Throws listing each uncovered name.
 */
async function checkCoverage(ctx: Context, tenantId: string, names: string[], challengeType: string, signal: AbortSignal): Promise<void> {
  if (challengeType !== 'dns-01') return;
  const zones = await ctx.dnsZones.enabled(tenantId);
  const solver = solverFor(ctx);
  const lookup = zoneLookup(zones);
  const errors: FieldError[] = [];
  await Promise.all(names.map(async (name, i) => {
    const recordName = challengeRecordName(name);
    const target = await solver.resolveTarget(recordName, signal, lookup).catch(() => recordName);
    if (!matchZone(zones, target)) {
      errors.push({
        field: i === 0 ? 'properties.commonName' : `properties.subjectAlternativeNames[${i - 1}]`,
        value: name,
        message: `no enabled DNS zone covers ${target}${target !== recordName ? ` (the CNAME target of ${recordName})` : ''}: register the zone at /api/v1/dns-zones, delegate ${recordName} by CNAME into a registered zone, or use manual-dns-01`,
      });
    }
  }));
  if (errors.length) {
    errors.sort((a, b) => a.field.localeCompare(b.field, 'en', { numeric: true }));
    throw new DomainError('names_not_covered', `${errors.length} name(s) are in no DNS zone certkeeper may write: ${errors.map((e) => e.value).join(', ')}`, errors);
  }
}

/** Creates an auto certificate and starts its first issuance. */
export async function createAutoCertificate(ctx: Context, tenantId: string, actor: string, input: AutoCertificateInput): Promise<AutoCertificateRow> {
  const challengeType = input.challengeType ?? 'http-01';
  const providers = await resolveProviders(ctx, tenantId, input.provider, input.fallbackProviders ?? []);
  const names = checkNames(input.commonName, input.subjectAlternativeNames ?? [], challengeType, !!(input.profile ?? providers.profile));
  await checkCoverage(ctx, tenantId, names, challengeType, AbortSignal.timeout(COVERAGE_TIMEOUT_MS));
  const targetIds = await resolveTargets(ctx, tenantId, input.deploymentTargets ?? []);
  const keyAgentId = await resolveKeyAgent(ctx, tenantId, input.keyAgent);
  const clash = await ctx.autoCertificates.list(tenantId, { name: input.name }, 0, 1);
  if (clash.total > 0) throw new DomainError('conflict', `an auto certificate named "${input.name}" already exists; choose another name`, [{ field: 'properties.name', value: input.name, message: 'already in use' }]);
  const now = iso(ctx.clock());
  const row: AutoCertificateRow = {
    id: randomUUID(),
    tenant_id: tenantId,
    name: input.name,
    provider_id: providers.primary,
    fallback_provider_ids: JSON.stringify(providers.fallbacks),
    common_name: names[0]!,
    names_json: JSON.stringify(names),
    key_algorithm: input.keyAlgorithm ?? 'ecdsa256',
    challenge_type: challengeType,
    key_policy: input.keyPolicy ?? 'rotate',
    renew_before_days: input.renewBeforeDays ?? null,
    profile: input.profile ?? null,
    state: 'PROVISIONING',
    message: 'Waiting for the first issuance',
    last_issued_certificate_id: null,
    next_renewal_at: null,
    renewal_reason: null,
    last_attempt_at: null,
    next_attempt_at: null,
    failure_count: 0,
    ari_window_start: null,
    ari_window_end: null,
    ari_next_check_at: null,
    ari_explanation_url: null,
    current_provider_id: null,
    key_agent_id: keyAgentId,
    created_at: now,
    created_by: actor,
    updated_at: now,
    updated_by: actor,
  };
  await ctx.autoCertificates.insert(row);
  if (targetIds.length) await ctx.deploymentTargets.setForAutoCertificate(row.id, targetIds);
  await ctx.events.append({ tenantId, type: 'auto_certificate.created', subjectType: 'auto-certificate', subjectId: row.id, actor, message: `auto certificate ${row.name} created for ${names.length} name(s)` });
  await requestIssuance(ctx, tenantId, row.id, { reason: 'first issuance' });
  return row;
}

/** Changes an auto certificate; a changed name list or key algorithm triggers a new issuance. */
export async function updateAutoCertificate(ctx: Context, tenantId: string, actor: string, id: string, input: Partial<AutoCertificateInput>): Promise<AutoCertificateRow> {
  const row = await ctx.autoCertificates.get(tenantId, id);
  if (!row) throw notFound('auto certificate', id);
  const set: Partial<AutoCertificateRow> = { updated_at: iso(ctx.clock()), updated_by: actor };
  const challengeType = input.challengeType ?? row.challenge_type;
  const oldNames = JSON.parse(row.names_json) as string[];
  if (input.commonName !== undefined || input.subjectAlternativeNames !== undefined || input.challengeType !== undefined) {
    const provider = await ctx.providers.get(tenantId, input.provider ?? row.provider_id);
    const profile = input.profile !== undefined ? input.profile : row.profile ?? provider?.profile ?? null;
    const names = checkNames(input.commonName ?? row.common_name, input.subjectAlternativeNames ?? oldNames.slice(1), challengeType, !!profile);
    set.common_name = names[0]!;
    set.names_json = JSON.stringify(names);
    await checkCoverage(ctx, tenantId, names, challengeType, AbortSignal.timeout(COVERAGE_TIMEOUT_MS));
  }
  if (input.name !== undefined && input.name !== row.name) {
    const clash = await ctx.autoCertificates.list(tenantId, { name: input.name }, 0, 1);
    if (clash.total > 0) throw new DomainError('conflict', `an auto certificate named "${input.name}" already exists`, [{ field: 'properties.name', value: input.name, message: 'already in use' }]);
    set.name = input.name;
  }
  if (input.provider !== undefined || input.fallbackProviders !== undefined) {
    const p = await resolveProviders(ctx, tenantId, input.provider ?? row.provider_id, input.fallbackProviders ?? JSON.parse(row.fallback_provider_ids));
    set.provider_id = p.primary;
    set.fallback_provider_ids = JSON.stringify(p.fallbacks);
  }
  if (input.keyAlgorithm !== undefined) set.key_algorithm = input.keyAlgorithm;
  if (input.challengeType !== undefined) set.challenge_type = input.challengeType;
  if (input.keyPolicy !== undefined) set.key_policy = input.keyPolicy;
  if (input.renewBeforeDays !== undefined) set.renew_before_days = input.renewBeforeDays;
  if (input.profile !== undefined) set.profile = input.profile;
  if (input.keyAgent !== undefined) set.key_agent_id = await resolveKeyAgent(ctx, tenantId, input.keyAgent);
  const targetIds = input.deploymentTargets !== undefined ? await resolveTargets(ctx, tenantId, input.deploymentTargets) : undefined;
  await ctx.autoCertificates.update(tenantId, id, set);
  if (targetIds) await ctx.deploymentTargets.setForAutoCertificate(id, targetIds);
  await ctx.events.append({ tenantId, type: 'auto_certificate.updated', subjectType: 'auto-certificate', subjectId: id, actor, message: `auto certificate ${row.name} updated` });
  const namesChanged = set.names_json !== undefined && set.names_json !== row.names_json;
  const keyChanged = set.key_algorithm !== undefined && set.key_algorithm !== row.key_algorithm;
  const updated = (await ctx.autoCertificates.get(tenantId, id))!;
  await replanRenewal(ctx, updated);
  if ((namesChanged || keyChanged) && row.state !== 'PAUSED') {
    await requestIssuance(ctx, tenantId, id, { reason: namesChanged ? 'names changed' : 'key algorithm changed', rekey: keyChanged });
  }
  return (await ctx.autoCertificates.get(tenantId, id))!;
}

/** Deletes an auto certificate; its stored versions stay in the repository. */
export async function deleteAutoCertificate(ctx: Context, tenantId: string, actor: string, id: string): Promise<void> {
  const row = await ctx.autoCertificates.get(tenantId, id);
  if (!row) throw notFound('auto certificate', id);
  const active = await ctx.jobs.active(ISSUE_JOB, id);
  if (active?.state === 'running') throw new DomainError('conflict', `an order for ${row.name} is in flight; pause it and retry, or wait until it ends`);
  await ctx.jobs.cancelQueued(ISSUE_JOB, id);
  await ctx.autoCertificates.delete(tenantId, id);
  await ctx.events.append({ tenantId, type: 'auto_certificate.deleted', subjectType: 'auto-certificate', subjectId: id, actor, message: `auto certificate ${row.name} deleted; its versions stay in the repository` });
}

/** Renews now (202): enqueues an issuance unless one is in flight. */
export async function renewAutoCertificate(ctx: Context, tenantId: string, actor: string, id: string, rekey: boolean): Promise<{ created: boolean }> {
  const row = await ctx.autoCertificates.get(tenantId, id);
  if (!row) throw notFound('auto certificate', id);
  if (row.state === 'PAUSED') throw new DomainError('operation_not_allowed', `${row.name} is paused; resume it before renewing`);
  const res = await requestIssuance(ctx, tenantId, id, { rekey, reason: 'renewal requested' });
  if (res.created) {
    await ctx.events.append({ tenantId, type: 'certificate.renewal_requested', subjectType: 'auto-certificate', subjectId: id, actor, message: `renewal of ${row.name} requested${rekey ? ' with a new key' : ''}` });
  }
  return { created: res.created };
}

/** Pauses or resumes automation. */
export async function setPaused(ctx: Context, tenantId: string, actor: string, id: string, paused: boolean): Promise<AutoCertificateRow> {
  const row = await ctx.autoCertificates.get(tenantId, id);
  if (!row) throw notFound('auto certificate', id);
  const now = iso(ctx.clock());
  if (paused) {
    await ctx.jobs.cancelQueued(ISSUE_JOB, id);
    await ctx.autoCertificates.update(tenantId, id, { state: 'PAUSED', message: `Paused by ${actor}`, next_attempt_at: null, updated_at: now, updated_by: actor });
    await ctx.events.append({ tenantId, type: 'auto_certificate.paused', subjectType: 'auto-certificate', subjectId: id, actor, message: `${row.name} paused` });
  } else if (row.state === 'PAUSED') {
    const state = row.last_issued_certificate_id ? 'AVAILABLE' : 'PROVISIONING';
    await ctx.autoCertificates.update(tenantId, id, { state, message: `Resumed by ${actor}`, updated_at: now, updated_by: actor });
    await ctx.events.append({ tenantId, type: 'auto_certificate.resumed', subjectType: 'auto-certificate', subjectId: id, actor, message: `${row.name} resumed` });
    if (!row.last_issued_certificate_id || (await ctx.orders.open(id))) await requestIssuance(ctx, tenantId, id, { reason: 'resumed' });
  }
  return (await ctx.autoCertificates.get(tenantId, id))!;
}

/** The challenges of the order in flight, as validation items. */
export async function listValidations(ctx: Context, tenantId: string, id: string) {
  const ac = await ctx.autoCertificates.get(tenantId, id);
  if (!ac) throw notFound('auto certificate', id);
  const order = await ctx.orders.open(ac.id);
  return validationItems(order ? await ctx.challenges.forOrder(order.id) : []);
}

/**
 * The user has published the manual challenges: check them first (unless `force`), answering with
 * what is still missing, and only then let the CA validate, so a premature click does not burn a
 * failed validation.
 */
export async function verifyAutoCertificate(ctx: Context, tenantId: string, actor: string, id: string, force: boolean): Promise<AutoCertificateRow> {
  const ac = await ctx.autoCertificates.get(tenantId, id);
  if (!ac) throw notFound('auto certificate', id);
  if (!ac.challenge_type.startsWith('manual-')) {
    throw new DomainError('operation_not_allowed', `${ac.name} uses ${ac.challenge_type}, which certkeeper validates by itself; verify is for manual-dns-01 and manual-http-01`);
  }
  const order = await ctx.orders.open(ac.id);
  const rows = order ? (await ctx.challenges.forOrder(order.id)).filter((r) => r.status === 'pending') : [];
  if (ac.state !== 'AWAITING_VALIDATION' || !order || rows.length === 0) {
    throw new DomainError('operation_not_allowed', `${ac.name} is ${ac.state}, not waiting for validation: there is nothing to verify`);
  }
  if (!force) {
    const missing = await missingManualRecords(ctx, tenantId, rows, AbortSignal.timeout(30_000));
    if (missing.length) {
      throw new DomainError('records_not_visible', `${missing.length} record(s) are not visible yet; publish them (see validations), wait for your DNS to serve them, and verify again, or send {"force": true} to let the CA try anyway`,
        missing.map((m) => ({ field: m.identifier, value: m.identifier, message: m.message })));
    }
  }
  await ctx.autoCertificates.update(tenantId, id, { state: ac.last_issued_certificate_id ? 'AVAILABLE' : 'PROVISIONING', message: `Verified by ${actor}${force ? ' (forced)' : ''}: asking the CA to validate`, updated_at: iso(ctx.clock()), updated_by: actor });
  await requestIssuance(ctx, tenantId, id, { verified: true, reason: 'manual challenges verified' });
  return (await ctx.autoCertificates.get(tenantId, id))!;
}
