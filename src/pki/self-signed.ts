/** Throw-away self-signed certificates (a placeholder until a real one is issued). */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { isIP } from 'node:net';
import { encodePem } from './pem.js';

type Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1]>;
type Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

/** A self-signed certificate and its key, both PEM. */
export interface SelfSignedCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * A fresh P-256 key and a self-signed end-entity certificate for `names` (DNS names or IP
 * literals, all in subjectAltName), valid from an hour ago for `days` days. The subject is
 * `commonName`. Nothing is stored: the caller keeps the key in memory only.
 */
export async function createSelfSignedCertificate(commonName: string, names: string[], days: number): Promise<SelfSignedCertificate> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // RFC 5280 §4.1.2.2: a positive integer.
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: [{ CN: [commonName] }],
      notBefore: new Date(now - 3_600_000),
      notAfter: new Date(now + days * 86_400_000),
      keys: keys as unknown as Keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n }))),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certificatePem: encodePem(new Uint8Array(cert.rawData), 'CERTIFICATE'), privateKeyPem: encodePem(new Uint8Array(pkcs8), 'PRIVATE KEY') };
}
