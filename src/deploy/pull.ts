/**
 * Pull by consumers: `GET /auto-certificates/{id}/certificate` answers the active version as one PEM
 * bundle (leaf, intermediates, then the key where asked and allowed), with an ETag that changes with
 * the version, so load balancers, CDNs and gateways can poll cheaply (`If-None-Match` → 304).
 */
import { DomainError } from '../domain-error.js';
import type { AutoCertificateRow } from '../store/repositories.js';
import { certificateKeyContext, type Context } from '../lifecycle/context.js';

/** What the route sends. */
export interface Pulled {
  certificateId: string;
  etag: string;
  issuedAt: string;
  notModified: boolean;
  body: string;
}

/** The active version of an auto certificate as a bundle; audited when it carries the key. */
export async function pullCertificate(ctx: Context, tenantId: string, actor: string, ac: AutoCertificateRow, withKey: boolean, ifNoneMatch: string | undefined): Promise<Pulled> {
  if (!ac.last_issued_certificate_id) throw new DomainError('operation_not_allowed', `auto certificate ${ac.name} has no certificate yet (state ${ac.state}); try again once it is AVAILABLE`);
  const cert = await ctx.certificates.get(tenantId, ac.last_issued_certificate_id);
  if (!cert) throw new DomainError('operation_not_allowed', `the active certificate of ${ac.name} is gone; renew it`);
  if (withKey && (cert.agent_key_id || !cert.private_key_enc)) {
    throw new DomainError('operation_not_allowed', `the key of ${cert.name} was generated on an agent and never left it; pull without includePrivateKey`);
  }
  const etag = `"${cert.fingerprint_sha256.replace(/[^0-9A-Fa-f]/g, '').slice(0, 32).toLowerCase()}${withKey ? '-k' : ''}"`;
  const tags = (ifNoneMatch ?? '').split(',').map((t) => t.trim().replace(/^W\//, ''));
  const base = { certificateId: cert.id, etag, issuedAt: cert.created_at };
  if (tags.includes(etag) || tags.includes('*')) return { ...base, notModified: true, body: '' };
  let body = cert.certificate_pem + cert.chain_pem;
  if (withKey) {
    body += ctx.vault.openText(cert.private_key_enc, certificateKeyContext(cert.id));
    await ctx.events.append({ tenantId, type: 'certificate.private_key_exported', subjectType: 'certificate', subjectId: cert.id, actor, message: `${cert.name} pulled with its private key` });
  }
  return { ...base, notModified: false, body };
}
