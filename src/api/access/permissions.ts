/**
 * Who may do what. Every route of the API declares the access it needs (`config.access`); the
 * app refuses to start when a route under /api/v1 declares none, so a new route cannot be open by
 * omission. Roles are ordered: a viewer reads, an operator also runs certificates, an admin also
 * manages the tenant (providers, DNS zones, channels, agents, users, tokens). A consumer token is
 * outside the order: it reads the auto certificates it names and their certificates, and nothing else.
 */

/** The roles of users and tokens. */
export const ROLES = ['admin', 'operator', 'viewer'] as const;
/** A role of a user or a role token. */
export type Role = (typeof ROLES)[number];
/** A role token or a consumer token. */
export type TokenRole = Role | 'consumer';

/** What a route needs. */
export type Access =
  /** Read anything of the tenant except secrets and private keys. */
  | 'read'
  /** Auto certificates and certificates: create, import, renew, revoke, delete, export a key. */
  | 'operate'
  /** Tenant settings, users, tokens, providers, DNS zones, channels, agents. */
  | 'administer';

/** What a consumer token is limited to. */
export interface TokenScope {
  /** Names of the auto certificates it may read. */
  autoCertificates: string[];
  /** Whether it may export the private key with the certificate. */
  includePrivateKey: boolean;
}

/** A consumer token's scope with its names resolved to ids at authentication. */
export interface ResolvedScope extends TokenScope {
  autoCertificateIds: string[];
}

/** The principal of a request. */
export interface Principal {
  tenantId: string;
  /** Shown in `createdBy` / `lastModifiedBy` and the audit log: `user:<email>`, `token:<name>`, `admin`. */
  name: string;
  role: TokenRole;
  /** Set for consumer tokens. */
  scope?: ResolvedScope;
  /** Set for browser sessions: the token the client echoes in `X-CSRF-Token` on every change. */
  session?: { id: string; userId: string; csrfToken: string };
  /** Set for users (sessions). */
  userId?: string;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
const NEEDS: Record<Access, number> = { read: 0, operate: 1, administer: 2 };

/**
 * Whether the principal may use a route. Consumer tokens reach only routes marked `consumer`
 * (reading an auto certificate or a certificate, and exporting one), and the route then checks that
 * the object is in the token's scope.
 */
export function allowed(principal: Principal, access: Access, consumerRoute: boolean): boolean {
  if (principal.role === 'consumer') return consumerRoute;
  return RANK[principal.role] >= NEEDS[access];
}

/** Whether a consumer token may see an object of this auto certificate (every other principal may). */
export function inScope(principal: Principal, autoCertificateId: string | null): boolean {
  if (principal.role !== 'consumer') return true;
  return !!autoCertificateId && !!principal.scope?.autoCertificateIds.includes(autoCertificateId);
}

/** The ids a list must be limited to for this principal, or undefined for no limit. */
export function scopeIds(principal: Principal): string[] | undefined {
  return principal.role === 'consumer' ? principal.scope?.autoCertificateIds ?? [] : undefined;
}

/** Whether the role may export private keys (operators and admins). */
export function mayExportKeys(principal: Principal): boolean {
  if (principal.role === 'consumer') return principal.scope?.includePrivateKey === true;
  return RANK[principal.role] >= NEEDS.operate;
}

/** Whether `role` may hand out `granted` (to a token or a user): never more than it holds. */
export function mayGrant(role: TokenRole, granted: TokenRole): boolean {
  if (role === 'consumer') return false;
  if (granted === 'consumer') return RANK[role] >= NEEDS.operate;
  return RANK[role] >= RANK[granted];
}
