/** The certificate repository: import, export, revoke and delete versions. */
import { randomUUID, createPrivateKey } from 'node:crypto';
import { parseImportedBundle } from '../pki/import-bundle.js';
import { PkiError } from '../pki/pki-error.js';
import { privateKeyToPem } from '../pki/keys.js';
import { createPkcs12 } from '../pki/pkcs12.js';
import { buildPemExport } from '../pki/pem-export.js';
import { pemToDer, splitPemCertificates } from '../pki/certificate.js';
import { AcmeClient, createHttpTransport, isAcmeProblem } from '../acme/index.js';
import { DomainError, notFound } from '../domain-error.js';
import type { CertificateRow } from '../store/repositories.js';
import { iso } from '../store/time.js';
import { certificateKeyContext, type Context } from './context.js';
import { guardedLookup } from './address-policy.js';

/** What an import accepts: PEM fields or a base64 PKCS#12 with its password. */
export interface ImportInput {
  name?: string;
  certificate?: string;
  certificateChain?: string;
  privateKey?: string;
  pkcs12?: string;
  password?: string;
}

/** RFC 5280 §5.3.1 revocation reason codes by name. */
export const REVOCATION_REASONS: Record<string, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
};

/** Imports a certificate with its key; nothing is stored unless everything checks out. */
export async function importCertificate(ctx: Context, tenantId: string, actor: string, input: ImportInput): Promise<CertificateRow> {
  let bundle;
  try {
    bundle = parseImportedBundle(input);
  } catch (err) {
    if (err instanceof PkiError) {
      const field = `properties.${err.field ?? (input.pkcs12 ? 'pkcs12' : 'certificate')}`;
      throw new DomainError('invalid_certificate_input', err.message, [{ field, message: err.message }]);
    }
    throw err;
  }
  const { facts } = bundle;
  const now = ctx.clock();
  const id = randomUUID();
  const expired = facts.notAfter <= now;
  const row: CertificateRow = {
    id,
    tenant_id: tenantId,
    name: input.name || `${facts.commonName ?? facts.subjectAlternativeNames[0] ?? 'certificate'}_imported_${iso(now).replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}`,
    auto_certificate_id: null,
    provider_id: null,
    source: 'imported',
    state: expired ? 'EXPIRED' : 'AVAILABLE',
    message: expired ? `Imported; expired on ${iso(facts.notAfter)}` : `Imported by ${actor}`,
    common_name: facts.commonName,
    sans_json: JSON.stringify(facts.subjectAlternativeNames),
    issuer: facts.issuer,
    serial_number: facts.serialNumber,
    not_before: iso(facts.notBefore),
    not_after: iso(facts.notAfter),
    fingerprint_sha256: facts.fingerprintSha256,
    key_algorithm: facts.keyAlgorithm ?? facts.keyDescription,
    certificate_pem: bundle.leafPem,
    chain_pem: bundle.chainPems.join(''),
    private_key_enc: ctx.vault.seal(privateKeyToPem(bundle.privateKey), certificateKeyContext(id)),
    delete_after: null,
    revoked_at: null,
    revocation_reason: null,
    created_at: iso(now),
    created_by: actor,
    updated_at: iso(now),
    updated_by: actor,
  };
  await ctx.certificates.insert(row);
  await ctx.events.append({ tenantId, type: 'certificate.imported', subjectType: 'certificate', subjectId: id, actor, message: `${row.name} imported (${facts.subject}, serial ${facts.serialNumber})` });
  return row;
}

/** Deletes a version from the repository without revoking it. */
export async function deleteCertificate(ctx: Context, tenantId: string, actor: string, id: string): Promise<void> {
  const row = await ctx.certificates.get(tenantId, id);
  if (!row) throw notFound('certificate', id);
  await ctx.db.kysely.transaction().execute(async (tx) => {
    await tx.updateTable('auto_certificates').set({ last_issued_certificate_id: null }).where('tenant_id', '=', tenantId).where('last_issued_certificate_id', '=', id).execute();
    await ctx.certificates.delete(tenantId, id, tx);
  });
  await ctx.events.append({ tenantId, type: 'certificate.deleted', subjectType: 'certificate', subjectId: id, actor, message: `${row.name} deleted from the repository (not revoked)` });
}

/** Revokes a version at its CA, signed by the account key or, on request, by the certificate's own key. */
export async function revokeCertificate(ctx: Context, tenantId: string, actor: string, id: string, opts: { reason?: string; provider?: string; signWithCertificateKey?: boolean }): Promise<CertificateRow> {
  const row = await ctx.certificates.get(tenantId, id);
  if (!row) throw notFound('certificate', id);
  if (row.state === 'REVOKED') throw new DomainError('conflict', `${row.name} is already revoked`);
  const reasonName = opts.reason ?? 'unspecified';
  const reason = REVOCATION_REASONS[reasonName];
  if (reason === undefined) {
    throw new DomainError('validation_failed', `unknown revocation reason "${reasonName}"; use one of ${Object.keys(REVOCATION_REASONS).join(', ')}`, [{ field: 'reason', value: reasonName, message: 'unknown reason' }]);
  }
  const providerRef = opts.provider ?? row.provider_id;
  if (!providerRef) throw new DomainError('validation_failed', `${row.name} was imported: name the ACME provider whose CA issued it in "provider"; it is revoked with the certificate's own key`, [{ field: 'provider', message: 'required for an imported certificate' }]);
  const provider = await ctx.providers.find(tenantId, providerRef);
  if (!provider) throw new DomainError('validation_failed', `provider ${providerRef} does not exist`, [{ field: 'provider', value: providerRef, message: 'no such provider' }]);
  const certKey = createPrivateKey(ctx.vault.openText(row.private_key_enc, certificateKeyContext(row.id)));
  const useCertKey = opts.signWithCertificateKey || row.source === 'imported' || row.provider_id !== provider.id;
  try {
    if (useCertKey) {
      // RFC 8555 §7.6: a revocation request may be signed by the certificate's key with a jwk header.
      const client = new AcmeClient({ directoryUrl: provider.server, accountKey: certKey, http: createHttpTransport({
        ...(provider.ca_certificates ? { caCertificates: provider.ca_certificates } : {}),
        lookup: guardedLookup({ allowPrivate: ctx.config.allowPrivateAddresses }),
      }) });
      await client.revokeCertificate(pemToDer(row.certificate_pem), { reason, certificateKey: certKey });
    } else {
      await ctx.acme.for(provider).revokeCertificate(pemToDer(row.certificate_pem), { reason });
    }
  } catch (err) {
    if (!isAcmeProblem(err, 'alreadyRevoked')) {
      throw new DomainError('acme_error', `the CA did not revoke ${row.name}: ${(err as Error).message}`, [], (err as { retryAfter?: Date }).retryAfter);
    }
  }
  const now = iso(ctx.clock());
  await ctx.certificates.update(tenantId, id, { state: 'REVOKED', revoked_at: now, revocation_reason: reasonName, message: `Revoked by ${actor} (${reasonName})`, updated_at: now, updated_by: actor });
  await ctx.events.append({ tenantId, type: 'certificate.revoked', subjectType: 'certificate', subjectId: id, actor, message: `${row.name} revoked (${reasonName})`, data: { reason: reasonName, serialNumber: row.serial_number } });
  return (await ctx.certificates.get(tenantId, id))!;
}

/** An export download. */
export interface ExportResult {
  filename: string;
  contentType: string;
  body: Buffer | string;
}

/** Exports a version as PEM (JSON of parts) or PKCS#12. With the private key it is audited. */
export async function exportCertificate(ctx: Context, tenantId: string, actor: string, id: string, opts: { format: 'pem' | 'pkcs12'; includePrivateKey: boolean; password?: string }): Promise<{ pem?: ReturnType<typeof buildPemExport>; pkcs12?: Buffer; row: CertificateRow }> {
  const row = await ctx.certificates.get(tenantId, id);
  if (!row) throw notFound('certificate', id);
  const chainPems = row.chain_pem ? splitPemCertificates(row.chain_pem) : [];
  if ((opts.format === 'pkcs12' || opts.includePrivateKey) && (row.agent_key_id || !row.private_key_enc)) {
    throw new DomainError('operation_not_allowed', `the key of ${row.name} was generated on an agent and never left it: export the certificate without its key (format pem, includePrivateKey false)`);
  }
  if (opts.format === 'pkcs12') {
    if (!opts.password || opts.password.length < 4) throw new DomainError('validation_failed', 'a PKCS#12 export needs a password of at least 4 characters', [{ field: 'password', message: 'required for pkcs12' }]);
    const key = createPrivateKey(ctx.vault.openText(row.private_key_enc, certificateKeyContext(row.id)));
    const der = createPkcs12({ certificatePem: row.certificate_pem, chainPems, privateKey: key, password: opts.password, friendlyName: row.name });
    await ctx.events.append({ tenantId, type: 'certificate.private_key_exported', subjectType: 'certificate', subjectId: id, actor, message: `${row.name} exported as PKCS#12 with its private key` });
    return { pkcs12: der, row };
  }
  const privateKeyPem = opts.includePrivateKey ? ctx.vault.openText(row.private_key_enc, certificateKeyContext(row.id)) : undefined;
  await ctx.events.append({
    tenantId,
    type: opts.includePrivateKey ? 'certificate.private_key_exported' : 'certificate.exported',
    subjectType: 'certificate', subjectId: id, actor,
    message: `${row.name} exported as PEM${opts.includePrivateKey ? ' with its private key' : ''}`,
  });
  return { pem: buildPemExport({ leafPem: row.certificate_pem, chainPems, ...(privateKeyPem ? { privateKeyPem } : {}) }), row };
}

/** Deletes versions whose retention ended; marks versions past notAfter EXPIRED. */
export async function sweepRepository(ctx: Context): Promise<{ deleted: number; expired: number }> {
  const now = iso(ctx.clock());
  let deleted = 0;
  for (;;) {
    const due = await ctx.certificates.dueForDeletion(now, 100);
    if (due.length === 0) break;
    for (const c of due) {
      await ctx.certificates.delete(c.tenant_id, c.id);
      await ctx.events.append({ tenantId: c.tenant_id, type: 'certificate.deleted', subjectType: 'certificate', subjectId: c.id, actor: 'system', message: `${c.name} deleted: its retention period after expiry ended` });
      deleted++;
    }
    if (due.length < 100) break;
  }
  // A version in use that lapsed is news (certificate.expired feeds alerts); a superseded one is not.
  const lapsed = await ctx.db.kysely.selectFrom('certificates').select(['id', 'tenant_id', 'name', 'auto_certificate_id', 'not_after'])
    .where('state', '=', 'AVAILABLE').where('not_after', '<=', now).limit(1000).execute();
  const res = await ctx.db.kysely.updateTable('certificates').set({ state: 'EXPIRED', message: 'Expired', updated_at: now, updated_by: 'system' })
    .where('state', 'in', ['AVAILABLE', 'SUPERSEDED']).where('not_after', '<=', now).executeTakeFirst();
  for (const c of lapsed) {
    await ctx.events.append({
      tenantId: c.tenant_id, type: 'certificate.expired', subjectType: 'certificate', subjectId: c.id, actor: 'system',
      message: `${c.name} expired at ${c.not_after} while still the version in use`, data: { autoCertificate: c.auto_certificate_id, notAfter: c.not_after, critical: true },
    });
  }
  return { deleted, expired: Number(res.numUpdatedRows) };
}
