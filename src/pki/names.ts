import { domainToASCII, domainToUnicode } from 'node:url';
import { isIpLiteral, normalizeIp } from './ip-address.js';

/** One refused name: its position in the input (-1 for a problem with the list as a whole) and how to fix it. */
export interface NameError {
  index: number;
  name: string;
  reason: string;
}

/** Options of {@link normalizeNames}. */
export interface NormalizeNamesOptions {
  /** Accept IPv4/IPv6 literals (normalised to canonical text). Default false. */
  allowIpAddresses?: boolean;
  /** Most names allowed after duplicates are removed. Default {@link MAX_NAMES}. */
  max?: number;
}

/** The default maximum number of names in one certificate (DESIGN.md: common name + up to 99 more). */
export const MAX_NAMES = 100;

const NUMERIC_TLD = 'The top-level label is numeric, which no domain has; if this is an IP address, write it in standard dotted form.';
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * Checks and normalises the names of a certificate request: trims, lower-cases, converts IDNs to
 * punycode, strips one trailing dot, and removes duplicates (keeping the first). Every refused
 * name gets an error entry whose `reason` says how to fix it; `names` holds only the good ones.
 */
export function normalizeNames(input: string[], opts: NormalizeNamesOptions = {}): { names: string[]; errors: NameError[] } {
  const max = opts.max ?? MAX_NAMES;
  const errors: NameError[] = [];
  const names: string[] = [];
  const seen = new Set<string>();
  if (!Array.isArray(input)) {
    return { names: [], errors: [{ index: -1, name: '', reason: 'Names must be given as a list of strings.' }] };
  }
  if (input.length === 0) {
    errors.push({ index: -1, name: '', reason: 'No names given; give at least one domain name.' });
  }
  input.forEach((raw, index) => {
    const result = normalizeName(raw, opts.allowIpAddresses ?? false);
    if ('reason' in result) {
      errors.push({ index, name: typeof raw === 'string' ? raw : String(raw), reason: result.reason });
    } else if (!seen.has(result.name)) {
      seen.add(result.name);
      names.push(result.name);
    }
  });
  if (names.length > max) {
    errors.push({ index: -1, name: '', reason: `${names.length} different names given but at most ${max} are allowed; split them over several certificates.` });
  }
  return { names, errors };
}

/** Normalises one name (see {@link normalizeNames}); returns the name or the reason it is refused. */
export function normalizeName(raw: unknown, allowIpAddresses = false): { name: string } | { reason: string } {
  if (typeof raw !== 'string') return { reason: 'Names must be strings.' };
  let name = raw.trim().toLowerCase();
  if (name === '') return { reason: 'The name is empty; remove it or fill it in.' };
  if (name.length > 1024) return { reason: 'The name is far longer than the 253 characters a domain name may have.' };

  if (isIpLiteral(name)) {
    if (!allowIpAddresses) return { reason: 'IP addresses are not allowed here; use a DNS name.' };
    const ip = normalizeIp(name);
    return ip ? { name: ip } : { reason: 'IPv6 zone identifiers (after "%") cannot appear in a certificate; remove the zone.' };
  }

  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.endsWith('.')) return { reason: 'The name ends with more than one dot; remove the trailing dots.' };

  let wildcard = false;
  if (name.startsWith('*.')) {
    wildcard = true;
    name = name.slice(2);
  }
  if (name === '*') return { reason: 'A bare "*" would match every name; write a wildcard over a domain, as in "*.example.com".' };
  if (name.includes('*')) {
    return { reason: 'A wildcard "*" is only allowed as the whole leftmost label, as in "*.example.com".' };
  }
  if (/\s/.test(name)) return { reason: 'The name contains white space; remove it.' };
  if (/\p{Cc}/u.test(name)) return { reason: 'The name contains a control character (such as NUL); remove it.' };

  if (/(^|\.)[0-9]+$/.test(name)) {
    return { reason: NUMERIC_TLD };
  }
  const ascii = toAscii(name);
  if (ascii === null) {
    return { reason: 'The name is not a valid domain name (IDNA conversion failed); check for stray characters.' };
  }
  const labels = ascii.split('.');
  if (labels.length < 2) {
    return wildcard
      ? { reason: `"*.${ascii}" is too broad: a wildcard must sit above a registered domain, as in "*.${ascii === '' ? 'example.com' : `example.${ascii}`}".` }
      : { reason: 'The name needs at least two labels, as in "example.com".' };
  }
  for (const label of labels) {
    const problem = labelProblem(label) ?? mixedScripts(label);
    if (problem) return { reason: problem };
  }
  // A name whose last label is all digits is an IP address in disguise (or a typo of one).
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
    return { reason: NUMERIC_TLD };
  }
  const full = wildcard ? `*.${ascii}` : ascii;
  if (full.length > 253) return { reason: `The name is ${full.length} characters long; a domain name may have at most 253.` };
  return { name: full };
}

function toAscii(name: string): string | null {
  // domainToASCII also maps full-width dots and upper case (UTS #46); '' means "not a domain".
  // Refuse characters it would silently accept but no DNS name may hold.
  if (/[/\\?#@:[\]%<>^|]/.test(name)) return null;
  const ascii = domainToASCII(name);
  return ascii === '' ? null : ascii;
}

function labelProblem(label: string): string | null {
  if (label === '') return 'The name has an empty label (two dots in a row, or a leading dot); remove the extra dot.';
  if (label.length > 63) return `The label "${label.slice(0, 20)}…" is ${label.length} characters long; each label may have at most 63.`;
  if (!LABEL.test(label)) {
    if (label.startsWith('-') || label.endsWith('-')) return `The label "${label}" starts or ends with a hyphen; labels may not.`;
    return `The label "${label}" contains characters other than letters, digits and hyphens; remove them.`;
  }
  // RFC 5891 §4.2.3.1: "??--" is reserved for IDNA ("xn--"); CAs refuse other uses.
  if (label.slice(2, 4) === '--' && !label.startsWith('xn--')) {
    return `The label "${label}" has hyphens in the third and fourth positions, which is reserved for IDNA ("xn--"); change it.`;
  }
  return null;
}

/** Scripts whose letters look alike (UTS #39 confusables): one label must not mix them. */
const LOOK_ALIKE_SCRIPTS = [['Latin', /\p{Script=Latin}/u], ['Greek', /\p{Script=Greek}/u], ['Cyrillic', /\p{Script=Cyrillic}/u]] as const;

/**
 * Refuses an IDN label that mixes Latin, Greek and Cyrillic letters ("exаmple" with a Cyrillic
 * "а"): the classic homograph spoof. Registries forbid such labels (UTS #39's "highly restrictive"
 * profile; ICANN IDN guidelines); a label in one of these scripts alone is fine.
 */
function mixedScripts(label: string): string | null {
  if (!label.startsWith('xn--')) return null;
  const unicode = domainToUnicode(label);
  const found = LOOK_ALIKE_SCRIPTS.filter(([, re]) => re.test(unicode)).map(([script]) => script);
  if (found.length < 2) return null;
  return `The label "${unicode}" (${label}) mixes ${found.join(' and ')} letters, the mark of a look-alike name; write each label in one script.`;
}

/** True when `name` is a wildcard name (`*.example.com`). */
export function isWildcard(name: string): boolean {
  return name.startsWith('*.');
}

/** The domain a wildcard covers (`*.example.com` → `example.com`); other names are returned unchanged. */
export function wildcardBase(name: string): string {
  return isWildcard(name) ? name.slice(2) : name;
}
