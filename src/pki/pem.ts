import { PkiError } from './pki-error.js';

/** One decoded PEM block (RFC 7468). */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`. */
  label: string;
  /** RFC 1421 headers inside the block (`Proc-Type: 4,ENCRYPTED`), keyed as written. */
  headers: Record<string, string>;
  /** The decoded contents. */
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9][A-Z0-9 ]*)-----([\s\S]*?)-----END ([A-Z0-9][A-Z0-9 ]*)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block of `text`, in order. Text between blocks (such as the "Bag Attributes" lines
 * that `openssl pkcs12` writes) is ignored. Throws `invalid_pem` when there is no block, when a
 * block is unterminated or mislabelled, or when its body is not base64.
 */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let consumed = 0;
  for (const m of text.matchAll(BLOCK)) {
    const [whole, begin = '', body = '', end = ''] = m;
    if (begin !== end) {
      throw new PkiError('invalid_pem', `PEM block "BEGIN ${begin}" ends with "END ${end}"; the labels must match.`);
    }
    if (text.slice(consumed, m.index).includes('-----BEGIN ')) {
      throw new PkiError('invalid_pem', 'A PEM block has a BEGIN line but no matching END line; paste the complete block.');
    }
    consumed = m.index + whole.length;
    blocks.push(decodeBody(begin, body));
  }
  if (text.slice(consumed).includes('-----BEGIN ')) {
    throw new PkiError('invalid_pem', 'A PEM block has a BEGIN line but no matching END line; paste the complete block.');
  }
  if (blocks.length === 0) {
    throw new PkiError('invalid_pem', 'No PEM block found; expected text starting with "-----BEGIN ...-----".');
  }
  return blocks;
}

function decodeBody(label: string, body: string): PemBlock {
  if (body.includes('-----')) {
    throw new PkiError('invalid_pem', `A "${label}" PEM block has a BEGIN line but no matching END line; paste the complete block.`);
  }
  const headers: Record<string, string> = {};
  let lines = body.split(/\r?\n|\r/).map((l) => l.trim()).filter((l) => l !== '');
  // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...") precede the base64 text.
  while (lines.length > 0 && /^[A-Za-z][A-Za-z0-9-]*:/.test(lines[0] ?? '')) {
    const line = lines[0] ?? '';
    const colon = line.indexOf(':');
    headers[line.slice(0, colon)] = line.slice(colon + 1).trim();
    lines = lines.slice(1);
  }
  const b64 = lines.join('').replace(/\s+/g, '');
  if (!BASE64.test(b64) || b64.length % 4 !== 0 || b64.length === 0) {
    throw new PkiError('invalid_pem', `The "${label}" PEM block is not valid base64; paste it again without changes.`);
  }
  return { label, headers, der: Buffer.from(b64, 'base64') };
}

/** PEM text for `der` under `label`: 64-character lines, `\n` endings, a final newline. */
export function encodePem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** True when `text` looks like PEM rather than base64 or binary. */
export function looksLikePem(text: string): boolean {
  return text.includes('-----BEGIN ');
}
