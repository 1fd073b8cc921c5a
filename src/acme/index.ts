// Public surface of the ACME (RFC 8555 + RFC 9773 ARI, EAB, profiles) client package.
export type * from './types.js';
export * from './problem.js';
export { parseRetryAfter } from './retry-after.js';
export { createHttpTransport, DEFAULT_USER_AGENT } from './http-transport.js';
export type { AcmeHttp, AcmeHttpRequest, AcmeHttpResponse, HttpTransportOptions } from './http-transport.js';
export { parseLinks, linksWithRel } from './link-header.js';
export type { AcmeLink } from './link-header.js';
export { base64url, createEabJws, generateAccountKey, jwkThumbprint, jwsAlgorithm, publicJwk, signJws } from './jws.js';
export type { AccountKeyAlgorithm, AcmeJwsAlgorithm, FlattenedJws, JwsHeaderInput, PublicJwk } from './jws.js';
export { NoncePool } from './nonce-pool.js';
export { fetchDirectory, parseDirectory } from './directory.js';
export { dns01RecordName, dns01TxtValue, http01Body, http01Path, keyAuthorization } from './challenge-values.js';
export { ariCertificateId, parseRenewalInfo } from './ari.js';
export { AcmeClient } from './client.js';
export type {
  AccountUpdate,
  AcmeAccountResult,
  AcmeClientOptions,
  DownloadOptions,
  DownloadedCertificate,
  RegisterAccountOptions,
  RevokeOptions,
  WaitOptions,
} from './client.js';
