/** The shapes of the REST resources the UI reads (docs/openapi.json, DESIGN.md "REST API"). */

/** `metadata` of every resource. */
export interface Metadata {
  createdDate: string;
  createdBy: string;
  lastModifiedDate: string;
  lastModifiedBy: string;
  state: string;
  message: string;
}

/** `{ id, type, href, metadata, properties }`. */
export interface Resource<M, P> {
  id: string;
  type: string;
  href: string;
  metadata: Metadata & M;
  properties: P;
}

/** A list answer. */
export interface Collection<T> {
  id: string;
  type: 'collection';
  href: string;
  items: T[];
  offset: number;
  limit: number;
  total: number;
}

/** The roles of docs/access.md. */
export type Role = 'viewer' | 'operator' | 'admin' | 'consumer';

/** GET /api/v1/me. */
export interface Me {
  name: string;
  role: Role;
  tenant: { id: string; name: string };
  userId?: string;
  csrfToken?: string;
}

/** A stored certificate version. */
export type Certificate = Resource<{
  autoCertificate: string | null;
  lastIssuedCertificate: string | null;
  source: 'acme' | 'imported';
  commonName: string;
  subjectAlternativeNames: string[];
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  expired: boolean;
  fingerprintSha256: string;
  keyAlgorithm: string;
  deleteAfter: string | null;
  revokedAt?: string | null;
  revocationReason?: string | null;
}, { name: string; certificate: string; certificateChain: string }>;

/** An auto certificate. */
export type AutoCertificate = Resource<{
  lastIssuedCertificate: string | null;
  nextRenewalAt: string | null;
  renewalReason: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  failureCount: number;
}, {
  name: string;
  provider: string;
  fallbackProviders: string[];
  commonName: string;
  subjectAlternativeNames: string[];
  keyAlgorithm: string;
  challengeType: string;
  keyPolicy: string;
  renewBeforeDays: number | null;
  profile: string | null;
  /** Deployment target ids, in order: every new version goes there. */
  deploymentTargets: string[];
  /** The agent that generates and keeps the private key, if any. */
  keyAgent: string | null;
}>;

/** An ACME provider. */
export type Provider = Resource<{ accountUrl: string | null }, { name: string; email: string | null; server: string; profile: string | null }>;

/** One audit log entry. */
export interface AuditEvent {
  id: string;
  metadata: { createdDate: string; createdBy: string };
  properties: { type: string; subjectType: string | null; subjectId: string | null; actor: string; source: string | null; message: string };
}

/** States of a certificate version. */
export const CERTIFICATE_STATES = ['AVAILABLE', 'SUPERSEDED', 'EXPIRED', 'REVOKED'] as const;
/** States of an auto certificate. */
export const AUTO_CERTIFICATE_STATES = ['PROVISIONING', 'AWAITING_VALIDATION', 'AVAILABLE', 'FAILED', 'PAUSED'] as const;
/** Key algorithms an auto certificate may ask for. */
export const KEY_ALGORITHMS = [
  ['ecdsa256', 'ECDSA P-256'], ['ecdsa384', 'ECDSA P-384'], ['rsa2048', 'RSA 2048'], ['rsa3072', 'RSA 3072'], ['rsa4096', 'RSA 4096'],
] as const;
/** Challenge types, with what each needs. */
export const CHALLENGE_TYPES = [
  ['http-01', 'http-01', 'certkeeper (or an agent) answers on port 80 of each name'],
  ['dns-01', 'dns-01', 'TXT records written through a configured DNS zone; needed for wildcards'],
  ['manual-dns-01', 'manual dns-01', 'you publish the TXT records and press Verify'],
  ['manual-http-01', 'manual http-01', 'you publish the files and press Verify'],
] as const;
/** RFC 5280 revocation reasons the API accepts. */
export const REVOCATION_REASONS = [
  ['unspecified', 'Unspecified'], ['keyCompromise', 'Key compromise'], ['superseded', 'Superseded'],
  ['cessationOfOperation', 'Cessation of operation'], ['affiliationChanged', 'Affiliation changed'], ['privilegeWithdrawn', 'Privilege withdrawn'],
] as const;

/** May this role change things (auto certificates, revoke, delete, export with key)? */
export function mayOperate(role: Role | undefined): boolean {
  return role === 'operator' || role === 'admin';
}

/** A DNS zone (docs/dns-providers.md): credentials are never returned, only whether any are stored. */
export type DnsZone = Resource<{ lastCheck: string | null; credentialsSet: boolean }, {
  zoneName: string;
  provider: string;
  settings: Record<string, unknown>;
  enabled: boolean;
  resolvers: string[];
  propagationTimeoutSeconds: number;
  extraDelaySeconds: number;
}>;

/** States of a DNS zone. */
export const DNS_ZONE_STATES = ['AVAILABLE', 'FAILED', 'DISABLED'] as const;

/** A deployment agent (docs/agent.md); its enrolment token only in the answer that made it. */
export type Agent = Resource<{
  online: boolean;
  enrolledAt: string | null;
  lastSeenAt: string | null;
  revokedAt: string | null;
  enrolmentExpiresAt: string | null;
  hostname: string | null;
  version: string | null;
  platform: string | null;
  http01Mode: string | null;
  enrolmentToken?: string;
}, { name: string; description: string | null; http01Names: string[] }>;

/** States of an agent. */
export const AGENT_STATES = ['PENDING', 'ONLINE', 'OFFLINE', 'REVOKED'] as const;

/** A deployment target: credentials are never returned, only their names. */
export type DeploymentTarget = Resource<{ credentialsSet: string[] }, {
  name: string;
  type: string;
  agent: string | null;
  settings: Record<string, unknown>;
  enabled: boolean;
}>;

/** One certificate version to one target. */
export type Deployment = Resource<{
  attempts: number;
  nextAttemptAt: string | null;
  running: boolean;
  deployedAt: string | null;
  servedSerial: string | null;
  output: string | null;
}, { target: string; certificate: string; autoCertificate: string | null }>;

/** States of a deployment. */
export const DEPLOYMENT_STATES = ['PENDING', 'DEPLOYED', 'FAILED'] as const;
