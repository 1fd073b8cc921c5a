/**
 * The resource envelope of the REST contract: `{ id, type, href, metadata, properties }`, and
 * collections `{ id, type: "collection", href, items, offset, limit, total }`.
 */
import type { Page } from '../store/pagination.js';
import type { AutoCertificateRow, CertificateRow, DnsZoneRow, ProviderRow } from '../store/repositories.js';

/** API base path. */
export const BASE = '/api/v1';

interface Audit {
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  state: string;
  message: string;
}

/** The `metadata` every resource carries (DESIGN.md), plus its own fields. */
export function resourceMetadata(row: Audit, extra: Record<string, unknown>) {
  return {
    createdDate: row.created_at,
    createdBy: row.created_by,
    lastModifiedDate: row.updated_at,
    lastModifiedBy: row.updated_by,
    state: row.state,
    message: row.message,
    ...extra,
  };
}

/** A collection of resources. */
export function collection<T>(type: string, path: string, page: Page<T>, map: (row: T) => unknown) {
  return { id: type, type: 'collection', href: `${BASE}/${path}`, items: page.items.map(map), offset: page.offset, limit: page.limit, total: page.total };
}

/** A provider as the API shows it; the account key and EAB secret never appear. */
export function providerResource(row: ProviderRow) {
  return {
    id: row.id,
    type: 'provider',
    href: `${BASE}/providers/${row.id}`,
    metadata: resourceMetadata(row, {
      accountUrl: row.account_url,
      termsOfService: row.terms_of_service,
      profiles: row.profiles_json ? JSON.parse(row.profiles_json) : {},
    }),
    properties: {
      name: row.name,
      email: row.email,
      server: row.server,
      externalAccountBinding: row.eab_key_id ? { keyId: row.eab_key_id } : null,
      profile: row.profile,
      preferredChain: row.preferred_chain,
      caCertificates: row.ca_certificates,
    },
  };
}

/** An auto certificate as the API shows it. */
export function autoCertificateResource(row: AutoCertificateRow, deploymentTargets: string[] = []) {
  const names = JSON.parse(row.names_json) as string[];
  return {
    id: row.id,
    type: 'auto-certificate',
    href: `${BASE}/auto-certificates/${row.id}`,
    metadata: resourceMetadata(row, {
      lastIssuedCertificate: row.last_issued_certificate_id,
      nextRenewalAt: row.next_renewal_at,
      renewalReason: row.renewal_reason,
      lastAttemptAt: row.last_attempt_at,
      nextAttemptAt: row.next_attempt_at,
      failureCount: row.failure_count,
    }),
    properties: {
      name: row.name,
      provider: row.provider_id,
      fallbackProviders: JSON.parse(row.fallback_provider_ids) as string[],
      commonName: row.common_name,
      subjectAlternativeNames: names.slice(1),
      keyAlgorithm: row.key_algorithm,
      challengeType: row.challenge_type,
      keyPolicy: row.key_policy,
      renewBeforeDays: row.renew_before_days,
      profile: row.profile,
      deploymentTargets,
      keyAgent: row.key_agent_id ?? null,
    },
  };
}

/** A certificate version as the API shows it: certificate and chain, never the private key. */
export function certificateResource(row: CertificateRow, now: Date, lastIssued: string | null) {
  return {
    id: row.id,
    type: 'certificate',
    href: `${BASE}/certificates/${row.id}`,
    metadata: resourceMetadata(row, {
      autoCertificate: row.auto_certificate_id,
      lastIssuedCertificate: lastIssued,
      source: row.source,
      commonName: row.common_name,
      subjectAlternativeNames: JSON.parse(row.sans_json) as string[],
      issuer: row.issuer,
      serialNumber: row.serial_number,
      notBefore: row.not_before,
      notAfter: row.not_after,
      expired: Date.parse(row.not_after) <= now.getTime(),
      fingerprintSha256: row.fingerprint_sha256,
      keyAlgorithm: row.key_algorithm,
      deleteAfter: row.delete_after,
      revokedAt: row.revoked_at,
      revocationReason: row.revocation_reason,
    }),
    properties: {
      name: row.name,
      certificate: row.certificate_pem,
      certificateChain: row.chain_pem,
    },
  };
}

/** A DNS zone as the API shows it; credentials never appear, only which ones are set. */
export function dnsZoneResource(row: DnsZoneRow) {
  return {
    id: row.id,
    type: 'dns-zone',
    href: `${BASE}/dns-zones/${row.id}`,
    metadata: resourceMetadata(row, { lastCheck: row.last_check_at, credentialsSet: row.credentials_enc !== null }),
    properties: {
      zoneName: row.zone_name,
      provider: row.provider,
      settings: JSON.parse(row.settings_json) as Record<string, unknown>,
      enabled: row.enabled === 1,
      resolvers: JSON.parse(row.resolvers_json) as string[],
      propagationTimeoutSeconds: row.propagation_timeout_seconds,
      extraDelaySeconds: row.extra_delay_seconds,
    },
  };
}
