// ACME resource objects, RFC 8555 §7.1 (plus RFC 9773 ARI and the draft "profiles" extension).
// Only the members a client reads are typed; servers MAY add more, which are kept as-is.

/** An identifier an order or authorization is about (RFC 8555 §7.1.3, RFC 8738 for `ip`). */
export interface AcmeIdentifier {
  type: 'dns' | 'ip';
  value: string;
}

/** A problem document (RFC 8555 §6.7, RFC 7807) as the server sent it. */
export interface AcmeProblemDocument {
  type: string;
  title?: string;
  detail?: string;
  status?: number;
  instance?: string;
  /** RFC 8555 §6.7.1: per-identifier problems of a compound error. */
  subproblems?: AcmeSubproblem[];
  identifier?: AcmeIdentifier;
}

/** One entry of a problem's `subproblems` (RFC 8555 §6.7.1). */
export interface AcmeSubproblem {
  type: string;
  detail?: string;
  identifier?: AcmeIdentifier;
}

/** The directory's `meta` object (RFC 8555 §7.1.1; `profiles` from draft-ietf-acme-profiles). */
export interface AcmeDirectoryMeta {
  termsOfService?: string;
  website?: string;
  caaIdentities?: string[];
  externalAccountRequired?: boolean;
  /** Profile name → human-readable description. */
  profiles?: Record<string, string>;
}

/** The directory object (RFC 8555 §7.1.1; `renewalInfo` from RFC 9773 §4). */
export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  /** Pre-authorization (RFC 8555 §7.4.1); most CAs omit it. */
  newAuthz?: string;
  revokeCert: string;
  keyChange: string;
  /** RFC 9773 §4: base URL of the ACME Renewal Information resource. */
  renewalInfo?: string;
  meta?: AcmeDirectoryMeta;
}

/** Account status values (RFC 8555 §7.1.6). */
export type AcmeAccountStatus = 'valid' | 'deactivated' | 'revoked';

/** An account object (RFC 8555 §7.1.2). */
export interface AcmeAccount {
  status: AcmeAccountStatus;
  contact?: string[];
  termsOfServiceAgreed?: boolean;
  externalAccountBinding?: unknown;
  /** URL of the account's order list (RFC 8555 §7.1.2.1). */
  orders?: string;
}

/** Order status values (RFC 8555 §7.1.6). */
export type AcmeOrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';

/** An order object (RFC 8555 §7.1.3; `replaces` RFC 9773 §5, `profile` draft-ietf-acme-profiles). */
export interface AcmeOrder {
  status: AcmeOrderStatus;
  expires?: string;
  identifiers: AcmeIdentifier[];
  notBefore?: string;
  notAfter?: string;
  error?: AcmeProblemDocument;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  profile?: string;
  replaces?: string;
}

/** Authorization status values (RFC 8555 §7.1.6). */
export type AcmeAuthorizationStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';

/** An authorization object (RFC 8555 §7.1.4). */
export interface AcmeAuthorization {
  identifier: AcmeIdentifier;
  status: AcmeAuthorizationStatus;
  expires?: string;
  challenges: AcmeChallenge[];
  wildcard?: boolean;
}

/** Challenge status values (RFC 8555 §7.1.6). */
export type AcmeChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';

/** A challenge object (RFC 8555 §7.1.5, §8). */
export interface AcmeChallenge {
  /** `http-01`, `dns-01`, `tls-alpn-01`, … */
  type: string;
  url: string;
  status: AcmeChallengeStatus;
  token?: string;
  validated?: string;
  error?: AcmeProblemDocument;
}

/** Fields a client may send when creating an order (RFC 8555 §7.4). */
export interface AcmeNewOrderRequest {
  identifiers: AcmeIdentifier[];
  /** draft-ietf-acme-profiles: a name from `meta.profiles`. */
  profile?: string;
  /** RFC 9773 §5: the ARI certificate ID of the certificate this order replaces. */
  replaces?: string;
  notBefore?: string | Date;
  notAfter?: string | Date;
}

/** A renewal information response (RFC 9773 §4.2). */
export interface AcmeRenewalInfo {
  suggestedWindow: { start: Date; end: Date };
  explanationURL?: string;
  /** From the `Retry-After` header: when to ask again. */
  retryAfter?: Date;
}
