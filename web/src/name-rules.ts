/**
 * The name checks of src/pki/names.ts and checkNames (src/lifecycle/auto-certificates.ts), as the
 * browser can run them while the user types: syntax, IDNA to punycode (through the URL parser's
 * UTS #46 mapping), wildcard only as the whole leftmost label and only with dns-01, no duplicates,
 * at most 100 names. The server checks again; this only saves a round trip.
 */

/** Most names in one certificate (common name + 99). */
export const MAX_NAMES = 100;

/** One line's verdict. */
export interface NameCheck {
  line: number;
  input: string;
  /** The name as it will be requested (punycode, lower case), when it is good. */
  ascii?: string;
  error?: string;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIp(name: string): boolean {
  if (IPV4.test(name)) return true;
  const v6 = name.replace(/^\[|\]$/g, '');
  if (!v6.includes(':') || !/^[0-9a-f:.]+$/i.test(v6)) return false;
  try {
    return new URL(`http://[${v6}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function toAscii(name: string): string | null {
  if (/[/\\?#@:[\]%<>^|]/.test(name)) return null;
  try {
    const host = new URL(`http://${name}/`).hostname;
    return host === '' ? null : host;
  } catch {
    return null;
  }
}

function labelProblem(label: string): string | null {
  if (label === '') return 'has an empty label (two dots in a row, or a leading dot)';
  if (label.length > 63) return `has a label of ${label.length} characters; each label may have at most 63`;
  if (!LABEL.test(label)) {
    if (label.startsWith('-') || label.endsWith('-')) return `the label "${label}" starts or ends with a hyphen`;
    return `the label "${label}" holds characters other than letters, digits and hyphens`;
  }
  if (label.slice(2, 4) === '--' && !label.startsWith('xn--')) return `the label "${label}" has "--" in positions 3–4, reserved for IDNA ("xn--")`;
  return null;
}

/** Checks one name; `ipAllowed` when a CA profile is set (RFC 8738). */
export function checkName(raw: string, challengeType: string, ipAllowed: boolean): { ascii: string } | { error: string } {
  let name = raw.trim().toLowerCase();
  if (name === '') return { error: 'empty line' };
  if (isIp(name)) {
    if (challengeType.endsWith('dns-01')) return { error: 'an IP address cannot be validated with dns-01; use http-01' };
    if (!ipAllowed) return { error: 'an IP address needs a CA profile that issues for IP addresses (set a profile)' };
    return { ascii: name.replace(/^\[|\]$/g, '') };
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.endsWith('.')) return { error: 'ends with more than one dot' };
  let wildcard = false;
  if (name.startsWith('*.')) {
    wildcard = true;
    name = name.slice(2);
  }
  if (name === '*') return { error: 'a bare "*" is not allowed; write "*.example.com"' };
  if (name.includes('*')) return { error: 'a wildcard "*" is only allowed as the whole leftmost label, as in "*.example.com"' };
  if (wildcard && challengeType.endsWith('http-01')) return { error: 'wildcard names need dns-01 (or manual dns-01)' };
  if (/\s/.test(name)) return { error: 'contains white space' };
  if (/(^|\.)[0-9]+$/.test(name)) return { error: 'the last label is numeric, which no domain has' };
  const ascii = toAscii(name);
  if (ascii === null) return { error: 'not a valid domain name (check for stray characters)' };
  const labels = ascii.split('.');
  if (labels.length < 2) return { error: wildcard ? 'a wildcard must sit above a registered domain, as in "*.example.com"' : 'needs at least two labels, as in "example.com"' };
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) return { error: problem };
  }
  const full = wildcard ? `*.${ascii}` : ascii;
  if (full.length > 253) return { error: `${full.length} characters long; a domain name may have at most 253` };
  return { ascii: full };
}

/**
 * Checks the names box (one name per line, the first is the common name). Blank lines are
 * ignored; a duplicate (after normalising) is an error on its later line.
 */
export function checkNames(text: string, challengeType: string, ipAllowed: boolean): { checks: NameCheck[]; names: string[]; listError: string | null } {
  const checks: NameCheck[] = [];
  const names: string[] = [];
  const seen = new Map<string, number>();
  text.split('\n').forEach((input, i) => {
    if (input.trim() === '') return;
    const r = checkName(input, challengeType, ipAllowed);
    if ('error' in r) {
      checks.push({ line: i + 1, input, error: r.error });
      return;
    }
    const before = seen.get(r.ascii);
    if (before !== undefined) {
      checks.push({ line: i + 1, input, error: `duplicate of line ${before}` });
      return;
    }
    seen.set(r.ascii, i + 1);
    names.push(r.ascii);
    checks.push({ line: i + 1, input, ascii: r.ascii });
  });
  const listError = checks.length === 0 ? 'give at least one name' : names.length > MAX_NAMES ? `${names.length} names; at most ${MAX_NAMES} are allowed` : null;
  return { checks, names, listError };
}
