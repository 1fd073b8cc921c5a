// JSON Web Signature for ACME (RFC 8555 §6.2): flattened JSON serialization (RFC 7515 §7.2.2),
// `jwk` or `kid` protected headers, RFC 7638 thumbprints and External Account Binding (§7.3.4).
import { createHash, createHmac, createPublicKey, generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Algorithms an ACME account key (or a certificate key, for revocation) can sign with here. */
export type AcmeJwsAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256';

/** Algorithms {@link generateAccountKey} can make a key for. */
export type AccountKeyAlgorithm = 'ES256' | 'ES384' | 'RS256';

/** The public JWK of an account key, with only the members RFC 7638 §3.2 requires. */
export type PublicJwk =
  | { kty: 'EC'; crv: 'P-256' | 'P-384' | 'P-521'; x: string; y: string }
  | { kty: 'RSA'; e: string; n: string };

/** A JWS in flattened JSON serialization (RFC 7515 §7.2.2), the body of every ACME POST. */
export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

/** Protected header fields the caller chooses (RFC 8555 §6.2); `alg` is derived from the key. */
export interface JwsHeaderInput {
  url: string;
  /** RFC 8555 §6.5: absent only in the inner JWS of key rollover and in EAB. */
  nonce?: string;
  /** Account URL; when absent the public key goes in `jwk` (newAccount, revocation by cert key). */
  kid?: string;
}

/** base64url without padding (RFC 7515 §2). */
export function base64url(data: Buffer | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url');
}

/** Makes a fresh account key: ES256 (P-256, default), ES384 (P-384) or RS256 (RSA 2048). */
export async function generateAccountKey(alg: AccountKeyAlgorithm = 'ES256'): Promise<KeyObject> {
  switch (alg) {
    case 'ES256':
      return (await generateKeyPairAsync('ec', { namedCurve: 'P-256' })).privateKey;
    case 'ES384':
      return (await generateKeyPairAsync('ec', { namedCurve: 'P-384' })).privateKey;
    case 'RS256':
      return (await generateKeyPairAsync('rsa', { modulusLength: 2048 })).privateKey;
    default:
      throw new TypeError(`unsupported account key algorithm: ${String(alg)}`);
  }
}

const jwkCache = new WeakMap<KeyObject, PublicJwk>();

/** The public JWK of a (private or public) EC or RSA key. */
export function publicJwk(key: KeyObject): PublicJwk {
  const cached = jwkCache.get(key);
  if (cached) return cached;
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const jwk = pub.export({ format: 'jwk' });
  let out: PublicJwk;
  if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-384' || jwk.crv === 'P-521') && jwk.x && jwk.y) {
    out = { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
  } else if (jwk.kty === 'RSA' && key.asymmetricKeyType === 'rsa' && jwk.e && jwk.n) {
    out = { kty: 'RSA', e: jwk.e, n: jwk.n };
  } else {
    throw new TypeError(`unsupported key type for ACME: ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  jwkCache.set(key, out);
  return out;
}

/** The JWS `alg` for a key: ES256/ES384/ES512 by curve, RS256 for RSA. */
export function jwsAlgorithm(key: KeyObject): AcmeJwsAlgorithm {
  const jwk = publicJwk(key);
  if (jwk.kty === 'RSA') return 'RS256';
  return jwk.crv === 'P-256' ? 'ES256' : jwk.crv === 'P-384' ? 'ES384' : 'ES512';
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a key or public JWK. */
export function jwkThumbprint(keyOrJwk: KeyObject | PublicJwk): string {
  const jwk = 'kty' in keyOrJwk ? keyOrJwk : publicJwk(keyOrJwk);
  // RFC 7638 §3.3: required members only, lexicographic order, no whitespace.
  const canonical = jwk.kty === 'EC'
    ? JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
    : JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  return base64url(createHash('sha256').update(canonical).digest());
}

const HASH: Record<AcmeJwsAlgorithm, string> = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512', RS256: 'sha256' };

/**
 * Signs an ACME request body. `payload` undefined means POST-as-GET (RFC 8555 §6.3: the payload
 * is the empty string); any other value is JSON-encoded. A string is taken as already-encoded JSON.
 */
export function signJws(key: KeyObject, header: JwsHeaderInput, payload: unknown): FlattenedJws {
  if (key.type !== 'private') throw new TypeError('signJws needs a private key');
  const alg = jwsAlgorithm(key);
  // RFC 8555 §6.2: exactly one of "jwk" and "kid".
  const protectedHeader: Record<string, unknown> = { alg };
  if (header.kid !== undefined) protectedHeader.kid = header.kid;
  else protectedHeader.jwk = publicJwk(key);
  if (header.nonce !== undefined) protectedHeader.nonce = header.nonce;
  protectedHeader.url = header.url;
  const protectedB64 = base64url(JSON.stringify(protectedHeader));
  const payloadB64 = payload === undefined ? '' : base64url(typeof payload === 'string' ? payload : JSON.stringify(payload));
  const signingInput = Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii');
  // RFC 7518 §3.4: ECDSA signatures are r||s of fixed length, not DER.
  const signature = alg === 'RS256'
    ? sign(HASH[alg], signingInput, key)
    : sign(HASH[alg], signingInput, { key, dsaEncoding: 'ieee-p1363' });
  return { protected: protectedB64, payload: payloadB64, signature: base64url(signature) };
}

/**
 * RFC 8555 §7.3.4 External Account Binding: a JWS over the account's public JWK, MACed with
 * HS256 under the CA-issued key (`hmacKey`, base64url), with `kid` = the CA's key id and
 * `url` = the newAccount URL. It goes in the newAccount payload as `externalAccountBinding`.
 */
export function createEabJws(accountKey: KeyObject, eab: { keyId: string; hmacKey: string }, newAccountUrl: string): FlattenedJws {
  const macKey = Buffer.from(eab.hmacKey.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
  if (macKey.length === 0) throw new TypeError('EAB HMAC key is empty or not base64url');
  const protectedB64 = base64url(JSON.stringify({ alg: 'HS256', kid: eab.keyId, url: newAccountUrl }));
  const payloadB64 = base64url(JSON.stringify(publicJwk(accountKey)));
  const mac = createHmac('sha256', macKey).update(`${protectedB64}.${payloadB64}`, 'ascii').digest();
  return { protected: protectedB64, payload: payloadB64, signature: base64url(mac) };
}
