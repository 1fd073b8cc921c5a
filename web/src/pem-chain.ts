/**
 * Reads the chain the API returns (PEM) far enough to show it: each certificate's subject and
 * issuer (CN, else O), its expiry, and its SHA-256 fingerprint. A minimal DER walk over the
 * TBSCertificate (RFC 5280 §4.1), not a validator: anything odd shows as "unreadable".
 */

/** One certificate of a chain as shown. */
export interface ChainEntry {
  pem: string;
  subject: string;
  issuer: string;
  notAfter: string | null;
  der: Uint8Array | null;
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function tlv(b: Uint8Array, pos: number): Tlv {
  const tag = b[pos]!;
  let len = b[pos + 1]!;
  let off = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[off++]!;
  }
  if (off + len > b.length) throw new Error('truncated');
  return { tag, start: off, end: off + len };
}

function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end;) {
    const c = tlv(b, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

const CN = '550403';
const O = '55040a';
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

function text(b: Uint8Array, t: Tlv): string {
  const bytes = b.subarray(t.start, t.end);
  if (t.tag === 0x1e) {
    // BMPString: UTF-16BE.
    let s = '';
    for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
    return s;
  }
  return new TextDecoder().decode(bytes);
}

/** "CN" of a Name, else its "O", else "(no name)". */
function nameOf(b: Uint8Array, name: Tlv): string {
  const found: Record<string, string> = {};
  for (const set of children(b, name)) {
    for (const atv of children(b, set)) {
      const [oid, value] = children(b, atv);
      if (oid && value && oid.tag === 0x06) found[hex(b.subarray(oid.start, oid.end))] = text(b, value);
    }
  }
  return found[CN] ?? found[O] ?? '(no name)';
}

function timeOf(b: Uint8Array, t: Tlv): string | null {
  const s = new TextDecoder().decode(b.subarray(t.start, t.end));
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return null;
  // RFC 5280 §4.1.2.5.1: two-digit years 50–99 are 19xx.
  const year = t.tag === 0x17 ? (Number(m[1]) >= 50 ? 1900 : 2000) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))).toISOString();
}

function parse(der: Uint8Array): Omit<ChainEntry, 'pem' | 'der'> {
  const cert = tlv(der, 0);
  const tbs = children(der, cert)[0]!;
  const f = children(der, tbs);
  let i = f[0]?.tag === 0xa0 ? 1 : 0;
  i += 2; // serialNumber, signature algorithm
  const issuer = f[i]!;
  const validity = f[i + 1]!;
  const subject = f[i + 2]!;
  const [, notAfter] = children(der, validity);
  return { issuer: nameOf(der, issuer), subject: nameOf(der, subject), notAfter: notAfter ? timeOf(der, notAfter) : null };
}

/** Splits PEM text into certificates and reads each. */
export function readChain(pemText: string): ChainEntry[] {
  const blocks = pemText.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((pem) => {
    try {
      const b64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
      const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      return { pem, der, ...parse(der) };
    } catch {
      return { pem, der: null, subject: 'unreadable', issuer: 'unreadable', notAfter: null };
    }
  });
}

/**
 * SHA-256 of the DER, as colon-separated upper-case hex (the form of `fingerprintSha256`), or null
 * where the browser offers no Web Crypto (a page over plain HTTP from another host).
 */
export async function sha256Fingerprint(der: Uint8Array): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', der as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':');
}
