import 'reflect-metadata';
import { createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { toDer } from './der.js';
import { ipToBytes } from './ip-address.js';
import { PkiError } from './pki-error.js';

/** The longest commonName RFC 5280 allows (ub-common-name). */
const MAX_COMMON_NAME = 64;
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

type CreateParams = Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0];
type CryptoProvider = NonNullable<Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[1]>;

interface SigningParams {
  importParams: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams;
  signingAlgorithm: webcrypto.RsaHashedImportParams | webcrypto.EcdsaParams;
}

/**
 * A DER PKCS#10 request for `names` (DNS names, or IP literals as iPAddress) signed with `key`:
 * every name in subjectAltName, the first also as the subject's commonName unless it is longer
 * than 64 characters (then the subject is empty and subjectAltName critical, RFC 5280 §4.2.1.6).
 * RSA keys sign with SHA-256 (PKCS#1 v1.5); P-256 with ECDSA-SHA-256; P-384 with ECDSA-SHA-384.
 * Names are expected already normalised (see `normalizeNames`).
 */
export async function createCsr(names: string[], key: KeyObject): Promise<Buffer> {
  const first = names[0];
  if (first === undefined) throw new PkiError('invalid_name', 'A certificate request needs at least one name.');
  if (key.type !== 'private') throw new PkiError('invalid_key', 'A certificate request must be signed with a private key.');
  const params = signingParams(key);
  const subtle = webcrypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', key.export({ format: 'der', type: 'pkcs8' }), params.importParams, false, ['sign']);
  const publicKey = await subtle.importKey(
    'spki',
    createPublicKey(key).export({ format: 'der', type: 'spki' }),
    params.importParams,
    true,
    ['verify'],
  );
  const withCn = first.length <= MAX_COMMON_NAME;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: withCn ? [{ CN: [first] }] : [],
      keys: { privateKey, publicKey } as unknown as CreateParams['keys'],
      signingAlgorithm: params.signingAlgorithm,
      extensions: [new x509.Extension(OID_SUBJECT_ALT_NAME, !withCn, subjectAltName(names))],
    },
    webcrypto as unknown as CryptoProvider,
  );
  return Buffer.from(csr.rawData);
}

function signingParams(key: KeyObject): SigningParams {
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const p = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      return { importParams: p, signingAlgorithm: p };
    }
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1') return { importParams: { name: 'ECDSA', namedCurve: 'P-256' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } };
      if (curve === 'secp384r1') return { importParams: { name: 'ECDSA', namedCurve: 'P-384' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } };
      throw new PkiError('unsupported_algorithm', `EC curve ${curve ?? 'unknown'} is not supported for certificate keys; use P-256 or P-384.`);
    }
    default:
      throw new PkiError('unsupported_algorithm', `Key type ${key.asymmetricKeyType ?? 'unknown'} is not supported for certificate keys; use RSA or ECDSA (P-256, P-384).`);
  }
}

/** The DER of a GeneralNames value listing `names` as dNSName or iPAddress. */
function subjectAltName(names: string[]): Buffer {
  const generalNames = names.map((name) => {
    const ip = ipToBytes(name);
    if (ip) return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 7 }, valueHex: ip }); // iPAddress
    if (!/^[\x21-\x7e]+$/.test(name)) {
      throw new PkiError('invalid_name', `"${name.slice(0, 80)}" is not an ASCII domain name; normalise names (IDNA to punycode) before creating a request.`);
    }
    return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 }, valueHex: Buffer.from(name, 'ascii') }); // dNSName
  });
  return toDer(new asn1js.Sequence({ value: generalNames }));
}
