/**
 * Bounded label values for ACME request metrics: the CA (host of the provider's directory) and
 * the RFC 8555 resource an URL names. An URL carries ids (orders, authorizations, certificates),
 * so it is never a label itself; it is reduced to one of {@link ACME_ENDPOINTS}.
 */

/** Every value the `endpoint` label takes. */
export const ACME_ENDPOINTS = [
  'directory', 'newNonce', 'newAccount', 'account', 'keyChange', 'newOrder', 'order', 'authz',
  'challenge', 'finalize', 'cert', 'revoke', 'renewalInfo', 'other',
] as const;

/** One value of the `endpoint` label. */
export type AcmeEndpoint = (typeof ACME_ENDPOINTS)[number];

/**
 * Path segments by which the CAs certkeeper meets name their resources, checked in this order
 * (the first segment that matches wins, then the next rule):
 * Boulder / Let's Encrypt (`/acme/new-order`, `/acme/authz-v3/…`, `/acme/chall-v3/…`),
 * Pebble (`/order-plz`, `/authZ/…`, `/chalZ/…`, `/finalize-order/…`, `/certZ/…`, `/sign-me-up`),
 * Sectigo / ZeroSSL (`/v2/DV90/newOrder`, `/order/…/finalize`), step-ca (`/acme/<prov>/order/…/finalize`),
 * Google Trust Services and Buypass (`/new-order`, `/authz/…`).
 * Rules with a more specific meaning come first: `finalize-order` is finalize, not order;
 * `revoke-cert` is revoke, not cert.
 */
const RULES: [AcmeEndpoint, RegExp][] = [
  ['finalize', /^finalize(-order)?$/],
  ['revoke', /^revoke-?cert$|^revoke$/],
  ['keyChange', /^key-?change$|^rollover-account-key$/],
  ['renewalInfo', /^renewal-?info$/],
  ['newNonce', /^new-?nonce$|^nonce-plz$/],
  ['newAccount', /^new-?acc(oun)?t$|^new-reg$|^sign-me-up$/],
  ['newOrder', /^new-?order$|^order-plz$/],
  ['challenge', /^chall?(enge)?(z|s|-v\d+)?$/],
  ['authz', /^authz(-v\d+)?$|^authorizations?$/],
  ['cert', /^cert(ificate)?(z|s)?$/],
  ['order', /^(my-)?orders?$/],
  ['account', /^(my-)?acc(oun)?t$/],
  ['directory', /^dir(ectory)?$/],
];

/**
 * The endpoint label of `url`. `directoryUrls` are the providers' directory URLs, so a directory
 * at an unconventional path (`https://acme.zerossl.com/v2/DV90`) is still recognised.
 */
export function acmeEndpoint(url: string, directoryUrls: ReadonlySet<string> = new Set()): AcmeEndpoint {
  if (directoryUrls.has(url)) return 'directory';
  let segments: string[];
  try {
    segments = new URL(url).pathname.split('/').filter(Boolean).map((s) => s.toLowerCase());
  } catch {
    return 'other';
  }
  for (const [endpoint, re] of RULES) {
    if (segments.some((s) => re.test(s))) return endpoint;
  }
  return 'other';
}

/** `host[:port]` of an URL, lower case; `other` when it is not an URL. Also accepts a bare host. */
export function caHost(urlOrHost: string): string {
  if (!urlOrHost.includes('://')) {
    return /^[a-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(urlOrHost) ? urlOrHost.toLowerCase() : 'other';
  }
  try {
    return new URL(urlOrHost).host.toLowerCase() || 'other';
  } catch {
    return 'other';
  }
}

/** The `status_class` label of an HTTP status: `2xx` … `5xx`, or `error` when no response arrived. */
export function statusClass(status: number): '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'error' {
  if (status >= 100 && status < 600) return `${Math.floor(status / 100)}xx` as '2xx';
  return 'error';
}

/**
 * Caps the number of distinct values of a label: the first `max` values pass, later new ones
 * become `other`. The `ca` label is bounded by the number of providers in practice; this is the
 * hard bound should a CA hand out URLs on ever-changing hosts.
 */
export class BoundedLabel {
  readonly #seen = new Set<string>();
  constructor(private readonly max: number) {}

  /** `value` if it was seen before or there is room, else `other`. */
  of(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.max) return 'other';
    this.#seen.add(value);
    return value;
  }
}
