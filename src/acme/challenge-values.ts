// What a client publishes to answer a challenge (RFC 8555 §8). Pure functions: the caller passes
// the account key's RFC 7638 thumbprint (see jwkThumbprint).
import { createHash } from 'node:crypto';

/** RFC 8555 §8.1: key authorization = token || '.' || base64url(JWK thumbprint). */
export function keyAuthorization(token: string, thumbprint: string): string {
  return `${token}.${thumbprint}`;
}

/** RFC 8555 §8.3: the path the CA fetches over plain HTTP on port 80. */
export function http01Path(token: string): string {
  return `/.well-known/acme-challenge/${token}`;
}

/** RFC 8555 §8.3: the body to serve at {@link http01Path} (the key authorization itself). */
export function http01Body(token: string, thumbprint: string): string {
  return keyAuthorization(token, thumbprint);
}

/** RFC 8555 §8.4: the TXT value, base64url(SHA-256(key authorization)). */
export function dns01TxtValue(token: string, thumbprint: string): string {
  return createHash('sha256').update(keyAuthorization(token, thumbprint), 'utf8').digest('base64url');
}

/** RFC 8555 §8.4: the TXT record name for a DNS identifier (a wildcard's `*.` is dropped, §7.1.3). */
export function dns01RecordName(identifierValue: string): string {
  const name = identifierValue.startsWith('*.') ? identifierValue.slice(2) : identifierValue;
  return `_acme-challenge.${name.replace(/\.$/, '')}`;
}
