import { isIPv4, isIPv6 } from 'node:net';

/** True when `text` is an IPv4 or IPv6 literal (IPv6 optionally in brackets). */
export function isIpLiteral(text: string): boolean {
  return isIPv4(text) || isIPv6(unbracket(text));
}

/** The 4 or 16 octets of an IP literal, or null when `text` is not one. */
export function ipToBytes(text: string): Buffer | null {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  const v6 = unbracket(text);
  if (!isIPv6(v6)) return null;
  // Split off a dotted IPv4 tail (::ffff:192.0.2.1) and a zone id (fe80::1%eth0 is not a SAN).
  if (v6.includes('%')) return null;
  let head = v6;
  let tail: number[] = [];
  const lastColon = v6.lastIndexOf(':');
  if (v6.slice(lastColon + 1).includes('.')) {
    tail = v6.slice(lastColon + 1).split('.').map(Number);
    head = `${v6.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').filter((g) => g !== '').map((g) => parseInt(g, 16)) : []);
  const left = parse(halves[0]);
  const right = parse(halves[1]);
  const groups = halves.length === 2 ? [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right] : left;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  if (tail.length === 4) Buffer.from(tail).copy(out, 12);
  return out;
}

/** The canonical text of 4 or 16 IP octets: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function bytesToIp(bytes: Uint8Array): string | null {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return null;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  // RFC 5952 §4.2: compress the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** The canonical form of an IP literal (see {@link bytesToIp}), or null when `text` is not one. */
export function normalizeIp(text: string): string | null {
  const bytes = ipToBytes(text);
  return bytes ? bytesToIp(bytes) : null;
}

function unbracket(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}
