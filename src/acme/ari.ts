// RFC 9773 ACME Renewal Information (ARI): certificate identifiers and renewalInfo responses.
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { AuthorityKeyIdentifierExtension, X509Certificate as PeculiarCertificate } from '@peculiar/x509';
import { AcmeProtocolError } from './problem.js';
import type { AcmeRenewalInfo } from './types.js';

/**
 * RFC 9773 §4.1: the certificate identifier, base64url(AKI keyIdentifier) '.' base64url(serial),
 * where the serial is the DER INTEGER's content octets (a leading 0x00 kept when the high bit is set).
 * Takes one PEM certificate (the first of a chain) or its DER.
 */
export function ariCertificateId(certPemOrDer: string | Buffer): string {
  const cert = new X509Certificate(certPemOrDer);
  const der = cert.raw;
  const aki = new PeculiarCertificate(der).getExtension(AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) throw new TypeError('certificate has no Authority Key Identifier keyIdentifier; ARI needs one');
  const keyId = Buffer.from(aki.keyId, 'hex');
  return `${keyId.toString('base64url')}.${serialContentOctets(cert.serialNumber).toString('base64url')}`;
}

/** Content octets of a positive DER INTEGER given as hex (as node:crypto prints serial numbers). */
function serialContentOctets(hex: string): Buffer {
  let h = hex.replace(/[^0-9a-fA-F]/g, '');
  if (h.length % 2 === 1) h = `0${h}`;
  let bytes = Buffer.from(h, 'hex');
  // Minimal encoding: drop redundant leading zero bytes, then add one back if the high bit is set.
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && ((bytes[i + 1] ?? 0) & 0x80) === 0) i++;
  bytes = bytes.subarray(i);
  if (((bytes[0] ?? 0) & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return bytes;
}

/** Validates a renewalInfo body (RFC 9773 §4.2); `retryAfter` comes from the response header. */
export function parseRenewalInfo(json: unknown, url: string, retryAfter?: Date): AcmeRenewalInfo {
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const w = (typeof o.suggestedWindow === 'object' && o.suggestedWindow !== null ? o.suggestedWindow : {}) as Record<string, unknown>;
  const start = typeof w.start === 'string' ? new Date(w.start) : undefined;
  const end = typeof w.end === 'string' ? new Date(w.end) : undefined;
  if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
    throw new AcmeProtocolError('renewalInfo lacks a valid suggestedWindow', url);
  }
  // RFC 9773 §4.2: a window whose end is not after its start is invalid; clients treat it as absent.
  if (end.getTime() <= start.getTime()) throw new AcmeProtocolError('renewalInfo suggestedWindow ends before it starts', url);
  const info: AcmeRenewalInfo = { suggestedWindow: { start, end } };
  if (typeof o.explanationURL === 'string') info.explanationURL = o.explanationURL;
  if (retryAfter) info.retryAfter = retryAfter;
  return info;
}
