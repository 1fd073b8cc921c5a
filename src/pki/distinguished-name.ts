import { DerError, directoryString, expect, oid, TAG, type DerNode } from './der.js';

/** One attribute of a distinguished name. */
export interface NameAttribute {
  /** The attribute type as a dotted OID. */
  oid: string;
  /** The value as text, or null when it is not a string type. */
  value: string | null;
  /** The value's DER encoding (for `#hex` output). */
  raw: Uint8Array;
}

/** The OID of commonName. */
export const OID_COMMON_NAME = '2.5.4.3';

// RFC 4514 §3 names, plus the ones OpenSSL prints in its RFC 2253 mode.
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

/** The relative distinguished names of a Name, in encoded order (most significant first). */
export function nameRdns(name: DerNode): NameAttribute[][] {
  return expect(name, TAG.SEQUENCE, 'Name').children.map((rdn) => {
    const set = expect(rdn, TAG.SET, 'RelativeDistinguishedName');
    if (set.children.length === 0) throw new DerError('an empty RelativeDistinguishedName');
    return set.children.map((atv) => {
      const [type, value] = expect(atv, TAG.SEQUENCE, 'AttributeTypeAndValue').children;
      if (!value) throw new DerError('an AttributeTypeAndValue without a value');
      return { oid: oid(type, 'attribute type'), value: directoryString(value), raw: value.raw };
    });
  });
}

/**
 * The RFC 4514 string of a Name: RDNs in reverse encoded order (most specific first) joined by
 * `,`, the values of a multi-valued RDN by `+` (also reversed, as OpenSSL prints them), short attribute names where known, special characters escaped.
 * Non-ASCII text stays as UTF-8 (OpenSSL's `-nameopt RFC2253` would escape it as `\XX`).
 */
export function formatName(name: DerNode): string {
  return nameRdns(name)
    .reverse()
    .map((rdn) => [...rdn].reverse().map(formatAttribute).join('+'))
    .join(',');
}

function formatAttribute(a: NameAttribute): string {
  const type = SHORT_NAMES[a.oid] ?? a.oid;
  if (a.value === null) return `${type}=#${Buffer.from(a.raw).toString('hex')}`;
  return `${type}=${escapeValue(a.value)}`;
}

/** Escapes an attribute value as RFC 4514 §2.4 asks (and control characters as `\XX`). */
export function escapeValue(value: string): string {
  let out = '';
  const chars = Array.from(value);
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0) ?? 0;
    if ('"+,;<>\\'.includes(ch) || (ch === '#' && i === 0) || (ch === ' ' && (i === 0 || i === chars.length - 1))) {
      out += `\\${ch}`;
    } else if (code < 0x20 || code === 0x7f) {
      out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    } else {
      out += ch;
    }
  });
  return out;
}

/** The most specific (last encoded) commonName of a Name, or null when it has none. */
export function commonNameOf(name: DerNode): string | null {
  const cns = nameRdns(name).flat().filter((a) => a.oid === OID_COMMON_NAME && a.value !== null);
  return cns.at(-1)?.value ?? null;
}
