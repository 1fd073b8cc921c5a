import * as asn1js from 'asn1js';

/**
 * A decoded ASN.1 TLV. Reading goes through asn1js (with its resource limits for untrusted
 * input); this flat view keeps callers independent of asn1js' class hierarchy.
 */
export interface DerNode {
  /** Tag class: 1 universal, 2 application, 3 context-specific, 4 private. */
  cls: number;
  /** Tag number. */
  tag: number;
  /** Constructed encoding (SEQUENCE, SET, explicit tags, BER-constructed strings). */
  constructed: boolean;
  /** The whole TLV as it appeared in the input. */
  raw: Uint8Array;
  /** The value octets of a primitive node (empty for constructed ones). */
  content: Uint8Array;
  /** The children of a constructed node. */
  children: DerNode[];
}

/** Thrown by the readers in this file; callers turn it into a {@link PkiError} with their code. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Universal tag numbers used in this package. */
export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  NULL: 5,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  NUMERIC_STRING: 18,
  PRINTABLE_STRING: 19,
  TELETEX_STRING: 20,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
  VISIBLE_STRING: 26,
  UNIVERSAL_STRING: 28,
  BMP_STRING: 30,
} as const;

/** Decodes exactly one BER/DER value filling all of `bytes`; throws {@link DerError} otherwise. */
export function parseDer(bytes: Uint8Array): DerNode {
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(bytes, { parseEmbedded: false, maxDepth: 40, maxNodes: 200_000 });
  } catch (err) {
    throw new DerError(`not valid ASN.1 (${(err as Error).message})`);
  }
  if (parsed.offset === -1 || parsed.result.error) {
    throw new DerError(`not valid ASN.1 (${parsed.result.error || 'decoding failed'})`);
  }
  if (parsed.offset !== bytes.byteLength) throw new DerError('trailing bytes after the ASN.1 value');
  return convert(parsed.result);
}

function convert(block: asn1js.BaseBlock): DerNode {
  const id = block.idBlock;
  const raw = block.valueBeforeDecodeView;
  if (block.error) throw new DerError(block.error);
  const header = id.blockLength + block.lenBlock.blockLength;
  const node: DerNode = { cls: id.tagClass, tag: id.tagNumber, constructed: id.isConstructed, raw, content: new Uint8Array(0), children: [] };
  if (id.isConstructed) {
    const value = (block.valueBlock as unknown as { value?: asn1js.BaseBlock[] }).value ?? [];
    // Indefinite-length encodings end with an end-of-contents marker (universal tag 0).
    node.children = value.filter((c) => !(c.idBlock.tagClass === 1 && c.idBlock.tagNumber === 0)).map(convert);
  } else {
    node.content = raw.subarray(header);
  }
  return node;
}

/** `node` when it has universal tag `tag`, else a {@link DerError} naming `what`. */
export function expect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.cls !== 1 || node.tag !== tag) throw new DerError(`${what} is missing or has the wrong type`);
  return node;
}

/** The children of a SEQUENCE `node`. */
export function sequence(node: DerNode | undefined, what: string): DerNode[] {
  return expect(node, TAG.SEQUENCE, what).children;
}

/** `node` when it is context-specific tag `[tag]`. */
export function expectContext(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.cls !== 3 || node.tag !== tag) throw new DerError(`${what} is missing or has the wrong tag`);
  return node;
}

/** The single child of an explicitly tagged `[tag]` node. */
export function explicit(node: DerNode | undefined, tag: number, what: string): DerNode {
  const n = expectContext(node, tag, what);
  const inner = n.children[0];
  if (!n.constructed || n.children.length !== 1 || !inner) throw new DerError(`${what} is not a single explicitly tagged value`);
  return inner;
}

/** The octets of an OCTET STRING (or an implicitly tagged one), joining BER-constructed segments. */
export function octets(node: DerNode | undefined, what: string): Buffer {
  if (!node) throw new DerError(`${what} is missing`);
  if (node.cls === 1 && node.tag !== TAG.OCTET_STRING) throw new DerError(`${what} is not an OCTET STRING`);
  return joinSegments(node);
}

function joinSegments(node: DerNode): Buffer {
  if (!node.constructed) return Buffer.from(node.content);
  return Buffer.concat(node.children.map((c) => {
    if (c.cls !== 1 || c.tag !== TAG.OCTET_STRING) throw new DerError('a constructed OCTET STRING holds a non-OCTET STRING segment');
    return joinSegments(c);
  }));
}

/** The dotted form of an OBJECT IDENTIFIER. */
export function oid(node: DerNode | undefined, what: string): string {
  const c = expect(node, TAG.OID, what).content;
  if (c.length === 0 || (c[c.length - 1] ?? 0) & 0x80) throw new DerError(`${what} is a malformed OBJECT IDENTIFIER`);
  const arcs: bigint[] = [];
  let v = 0n;
  for (const b of c) {
    v = (v << 7n) | BigInt(b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0n;
    }
  }
  const first = arcs[0] ?? 0n;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

/** A non-negative INTEGER that fits a JavaScript number (iteration counts, versions). */
export function smallInt(node: DerNode | undefined, what: string): number {
  const c = expect(node, TAG.INTEGER, what).content;
  if (c.length === 0 || (c[0] ?? 0) & 0x80 || c.length > 6) throw new DerError(`${what} is not a small non-negative INTEGER`);
  let v = 0;
  for (const b of c) v = v * 256 + b;
  return v;
}

/** The big-endian content octets of an INTEGER, as encoded. */
export function integerBytes(node: DerNode | undefined, what: string): Buffer {
  const c = expect(node, TAG.INTEGER, what).content;
  if (c.length === 0) throw new DerError(`${what} is an empty INTEGER`);
  return Buffer.from(c);
}

/** The instant of a UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5 forms, fractions tolerated). */
export function time(node: DerNode | undefined, what: string): Date {
  if (!node || node.cls !== 1 || (node.tag !== TAG.UTC_TIME && node.tag !== TAG.GENERALIZED_TIME)) {
    throw new DerError(`${what} is not a time`);
  }
  const s = Buffer.from(node.content).toString('latin1');
  const m = node.tag === TAG.UTC_TIME
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(s);
  if (!m) throw new DerError(`${what} is not a UTC time`);
  let year = Number(m[1]);
  // RFC 5280 §4.1.2.5.1: two-digit years 50..99 are 19xx, 00..49 are 20xx.
  if (node.tag === TAG.UTC_TIME) year += year >= 50 ? 1900 : 2000;
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  return new Date(ms);
}

/** The text of a directory string (UTF8String, PrintableString, IA5String, BMPString, ...), or null for other types. */
export function directoryString(node: DerNode): string | null {
  if (node.cls !== 1 || node.constructed) return null;
  const c = Buffer.from(node.content);
  switch (node.tag) {
    case TAG.UTF8_STRING:
      return c.toString('utf8');
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.NUMERIC_STRING:
    case TAG.VISIBLE_STRING:
    case TAG.TELETEX_STRING: // T.61 in theory; Latin-1 in practice.
      return c.toString('latin1');
    case TAG.BMP_STRING:
      return decodeUtf16Be(c);
    case TAG.UNIVERSAL_STRING: {
      let out = '';
      for (let i = 0; i + 3 < c.length; i += 4) out += String.fromCodePoint(c.readUInt32BE(i));
      return out;
    }
    default:
      return null;
  }
}

/** UTF-16BE (BMPString) to a JavaScript string. */
export function decodeUtf16Be(bytes: Uint8Array): string {
  const swapped = Buffer.from(bytes);
  if (swapped.length % 2 !== 0) throw new DerError('a BMPString has an odd number of octets');
  swapped.swap16();
  return swapped.toString('utf16le');
}

/** The DER encoding of an asn1js value as a Buffer. */
export function toDer(value: asn1js.BaseBlock): Buffer {
  return Buffer.from(value.toBER(false));
}

/** An asn1js SET OF whose elements are sorted by encoding, as DER (X.690 §11.6) requires. */
export function derSetOf(values: asn1js.BaseBlock[]): asn1js.Set {
  const sorted = values
    .map((v) => ({ v, der: toDer(v) }))
    .sort((a, b) => Buffer.compare(a.der, b.der))
    .map((x) => x.v);
  return new asn1js.Set({ value: sorted });
}
