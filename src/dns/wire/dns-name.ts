/**
 * Domain names on the wire (RFC 1035 §3.1 and §4.1.4): validation, uncompressed encoding, and
 * reading possibly compressed names out of a received message.
 */

const MAX_NAME_OCTETS = 255; // RFC 1035 §3.1, including the length octets and the root label
const MAX_LABEL_OCTETS = 63;
const MAX_POINTER_HOPS = 128;

/**
 * Lower case, no trailing dot; the root (`.` or the empty string) is `''`. Throws a TypeError for an
 * empty label, a label over 63 octets or a name over 255 octets on the wire.
 */
export function normalizeName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n === '') return '';
  const lower = n.toLowerCase();
  let wireLength = 1;
  for (const label of lower.split('.')) {
    const octets = Buffer.byteLength(label, 'utf8');
    if (octets === 0) throw new TypeError(`invalid domain name "${name}": empty label`);
    if (octets > MAX_LABEL_OCTETS) throw new TypeError(`invalid domain name "${name}": a label is longer than 63 octets`);
    wireLength += octets + 1;
  }
  if (wireLength > MAX_NAME_OCTETS) throw new TypeError(`invalid domain name "${name}": longer than 255 octets`);
  return lower;
}

/**
 * The uncompressed wire form of `name`, lower case: this is also the canonical form of RFC 4034 §6.2
 * that TSIG digests use (RFC 8945 §4.3.3).
 */
export function encodeName(name: string): Buffer {
  const n = normalizeName(name);
  if (n === '') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of n.split('.')) {
    const bytes = Buffer.from(label, 'utf8');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A name read from a message, and the offset just after it where it was written. */
export interface ReadName {
  /** Lower case, no trailing dot; `''` for the root. */
  name: string;
  next: number;
}

/**
 * Reads the (possibly compressed) name at `offset` of `message`. Throws a RangeError for a name that
 * runs past the end, a pointer that does not point backwards, or a reserved label type.
 */
export function readName(message: Buffer, offset: number): ReadName {
  const labels: string[] = [];
  let pos = offset;
  let next: number | undefined;
  let octets = 1;
  for (let hops = 0; ; ) {
    const len = message[pos];
    if (len === undefined) throw new RangeError('name runs past the end of the message');
    if (len === 0) {
      next ??= pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      const low = message[pos + 1];
      if (low === undefined) throw new RangeError('name runs past the end of the message');
      const target = ((len & 0x3f) << 8) | low;
      // RFC 1035 §4.1.4: a pointer refers to a prior occurrence; requiring it to point backwards
      // also rules out loops.
      if (target >= pos) throw new RangeError('compression pointer does not point backwards');
      if (++hops > MAX_POINTER_HOPS) throw new RangeError('too many compression pointers');
      next ??= pos + 2;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new RangeError('reserved label type');
    if (pos + 1 + len > message.length) throw new RangeError('name runs past the end of the message');
    octets += len + 1;
    if (octets > MAX_NAME_OCTETS) throw new RangeError('name longer than 255 octets');
    labels.push(message.toString('utf8', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** True when `name` equals `zone` or lies below it (both normalised by {@link normalizeName}). */
export function isInZone(name: string, zone: string): boolean {
  return zone === '' || name === zone || name.endsWith(`.${zone}`);
}
