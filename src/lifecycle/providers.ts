/**
 * Providers (ACME accounts): creation stores a fresh account key sealed in the vault and
 * enqueues the registration job, which registers or finds the account at the CA and makes the
 * provider AVAILABLE, or FAILED with the CA's message.
 */
import { randomUUID } from 'node:crypto';
import { generateAccountKey, isAcmeProblem, isRetryableAcmeError } from '../acme/index.js';
import { privateKeyToPem } from '../pki/keys.js';
import { splitPemCertificates } from '../pki/certificate.js';
import { DomainError, notFound } from '../domain-error.js';
import type { ProviderRow } from '../store/repositories.js';
import type { Job } from '../store/jobs.js';
import { iso } from '../store/time.js';
import { accountKeyContext, eabContext } from './acme-clients.js';
import { checkOutboundUrl } from './address-policy.js';
import type { Context } from './context.js';
import type { JobHandler, JobOutcome } from './worker.js';
import { nextAttemptAt } from './backoff.js';

/** Job kind of an account registration. */
export const REGISTER_JOB = 'provider.register';

/** Writable properties of a provider. */
export interface ProviderInput {
  name: string;
  email?: string | null;
  server: string;
  externalAccountBinding?: { keyId: string; keySecret: string } | null;
  profile?: string | null;
  preferredChain?: string | null;
  caCertificates?: string | null;
}

function checkCaCertificates(pem: string | null | undefined): void {
  if (!pem) return;
  try {
    if (splitPemCertificates(pem).length === 0) throw new Error('empty');
  } catch {
    throw new DomainError('validation_failed', 'caCertificates must be one or more PEM certificates', [{ field: 'properties.caCertificates', message: 'expected PEM "-----BEGIN CERTIFICATE-----" blocks' }]);
  }
}

function checkEab(eab: ProviderInput['externalAccountBinding']): void {
  if (!eab) return;
  if (!/^[A-Za-z0-9_-]+=*$/.test(eab.keySecret) || Buffer.from(eab.keySecret, 'base64url').length < 16) {
    throw new DomainError('validation_failed', 'externalAccountBinding.keySecret must be the base64url HMAC key your CA gave you (at least 16 bytes)', [{ field: 'properties.externalAccountBinding.keySecret', message: 'expected base64url, at least 16 bytes' }]);
  }
}

/** Creates a provider and starts its registration. */
export async function createProvider(ctx: Context, tenantId: string, actor: string, input: ProviderInput): Promise<ProviderRow> {
  await checkOutboundUrl(input.server, 'properties.server', ctx.config.allowPrivateAddresses);
  checkCaCertificates(input.caCertificates);
  checkEab(input.externalAccountBinding);
  const existing = await ctx.providers.list(tenantId, { name: input.name }, 0, 1);
  if (existing.total > 0) throw new DomainError('conflict', `a provider named "${input.name}" already exists; choose another name`, [{ field: 'properties.name', value: input.name, message: 'already in use' }]);
  const id = randomUUID();
  const now = iso(ctx.clock());
  const key = await generateAccountKey('ES256');
  const row: ProviderRow = {
    id,
    tenant_id: tenantId,
    name: input.name,
    email: input.email ?? null,
    server: input.server,
    eab_key_id: input.externalAccountBinding?.keyId ?? null,
    eab_secret_enc: input.externalAccountBinding ? ctx.vault.seal(input.externalAccountBinding.keySecret, eabContext(id)) : null,
    ca_certificates: input.caCertificates ?? null,
    profile: input.profile ?? null,
    preferred_chain: input.preferredChain ?? null,
    account_key_enc: ctx.vault.seal(privateKeyToPem(key), accountKeyContext(id)),
    account_url: null,
    terms_of_service: null,
    profiles_json: null,
    state: 'PROVISIONING',
    message: 'Registering the ACME account',
    created_at: now,
    created_by: actor,
    updated_at: now,
    updated_by: actor,
  };
  await ctx.providers.insert(row);
  await ctx.events.append({ tenantId, type: 'provider.created', subjectType: 'provider', subjectId: id, actor, message: `provider ${input.name} created for ${input.server}` });
  await ctx.jobs.enqueue({ tenantId, kind: REGISTER_JOB, subjectId: id });
  ctx.kick();
  return row;
}

/** Changes a provider; a new e-mail is sent to the CA by re-running the registration. */
export async function updateProvider(ctx: Context, tenantId: string, actor: string, id: string, input: Partial<Omit<ProviderInput, 'server' | 'externalAccountBinding'>>): Promise<ProviderRow> {
  const row = await ctx.providers.get(tenantId, id);
  if (!row) throw notFound('provider', id);
  checkCaCertificates(input.caCertificates);
  if (input.name && input.name !== row.name) {
    const clash = await ctx.providers.list(tenantId, { name: input.name }, 0, 1);
    if (clash.total > 0) throw new DomainError('conflict', `a provider named "${input.name}" already exists`, [{ field: 'properties.name', value: input.name, message: 'already in use' }]);
  }
  const set: Partial<ProviderRow> = { updated_at: iso(ctx.clock()), updated_by: actor };
  if (input.name !== undefined) set.name = input.name;
  if (input.email !== undefined) set.email = input.email;
  if (input.profile !== undefined) set.profile = input.profile;
  if (input.preferredChain !== undefined) set.preferred_chain = input.preferredChain;
  if (input.caCertificates !== undefined) set.ca_certificates = input.caCertificates;
  const reRegister = (input.email !== undefined && input.email !== row.email) || row.state === 'FAILED' || input.caCertificates !== undefined;
  if (reRegister) Object.assign(set, { state: 'PROVISIONING', message: 'Updating the ACME account' });
  await ctx.providers.update(tenantId, id, set);
  await ctx.events.append({ tenantId, type: 'provider.updated', subjectType: 'provider', subjectId: id, actor, message: `provider ${row.name} updated` });
  if (reRegister) {
    await ctx.jobs.enqueue({ tenantId, kind: REGISTER_JOB, subjectId: id });
    ctx.kick();
  }
  return (await ctx.providers.get(tenantId, id))!;
}

/** Deletes a provider no auto certificate uses. The account stays at the CA. */
export async function deleteProvider(ctx: Context, tenantId: string, actor: string, id: string): Promise<void> {
  const row = await ctx.providers.get(tenantId, id);
  if (!row) throw notFound('provider', id);
  const users = await ctx.autoCertificates.countByProvider(tenantId, id);
  if (users > 0) throw new DomainError('conflict', `provider ${row.name} is used by ${users} auto certificate(s); move or delete them first`);
  await ctx.jobs.cancelQueued(REGISTER_JOB, id);
  await ctx.providers.delete(tenantId, id);
  ctx.acme.forget(id);
  await ctx.events.append({ tenantId, type: 'provider.deleted', subjectType: 'provider', subjectId: id, actor, message: `provider ${row.name} deleted` });
}

/** The job handler of {@link REGISTER_JOB}. */
export function registrationHandler(ctx: Context): JobHandler {
  return async (job: Job, signal: AbortSignal): Promise<JobOutcome> => {
    const row = await ctx.providers.get(job.tenant_id, job.subject_id);
    if (!row) return { status: 'done' };
    const client = ctx.acme.for(row);
    try {
      const directory = await client.getDirectory(signal);
      const { accountUrl } = await client.registerAccount({
        ...(row.email ? { contact: [`mailto:${row.email}`] } : {}),
        termsOfServiceAgreed: true,
        ...(row.eab_key_id && row.eab_secret_enc ? { externalAccountBinding: { keyId: row.eab_key_id, hmacKey: ctx.vault.openText(row.eab_secret_enc, eabContext(row.id)) } } : {}),
      }, signal);
      if (row.account_url && row.email) {
        await client.updateAccount({ contact: [`mailto:${row.email}`] }, signal).catch(() => undefined);
      }
      const profiles = directory.meta?.profiles ?? null;
      await ctx.providers.update(row.tenant_id, row.id, {
        account_url: accountUrl,
        terms_of_service: directory.meta?.termsOfService ?? null,
        profiles_json: profiles ? JSON.stringify(profiles) : null,
        state: 'AVAILABLE',
        message: `ACME account ${accountUrl} is ready`,
        updated_at: iso(ctx.clock()),
      });
      await ctx.events.append({ tenantId: row.tenant_id, type: 'provider.available', subjectType: 'provider', subjectId: row.id, actor: 'system', message: `account ${accountUrl} registered` });
      return { status: 'done' };
    } catch (err) {
      if (signal.aborted) return { status: 'retry', at: new Date(), error: 'interrupted' };
      const message = `${isAcmeProblem(err) ? 'the CA refused the account' : 'cannot reach the CA'}: ${(err as Error).message}`;
      // A couple of quick retries ride out a hiccup (badNonce streaks, a 503); after that the
      // provider is FAILED with the reason, so a typo in the URL shows within seconds. PATCHing a
      // FAILED provider registers again.
      if (isRetryableAcmeError(err) && !isAcmeProblem(err, 'externalAccountRequired') && job.attempts < 3) {
        const at = nextAttemptAt(ctx.clock(), job.attempts, { baseMs: 1_000, capMs: 10_000, retryAfter: (err as { retryAfter?: Date }).retryAfter });
        await ctx.providers.update(row.tenant_id, row.id, { message: `${message}; retrying at ${iso(at)}` });
        return { status: 'retry', at, error: message };
      }
      await ctx.providers.update(row.tenant_id, row.id, { state: 'FAILED', message, updated_at: iso(ctx.clock()) });
      await ctx.events.append({ tenantId: row.tenant_id, type: 'provider.failed', subjectType: 'provider', subjectId: row.id, actor: 'system', message });
      return { status: 'failed', error: message };
    }
  };
}
