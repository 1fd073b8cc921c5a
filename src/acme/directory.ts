// RFC 8555 §7.1.1: the directory, the only URL a client is configured with.
import type { AcmeHttp } from './http-transport.js';
import { AcmeProblemError, AcmeProtocolError, asProblemDocument } from './problem.js';
import { parseRetryAfter } from './retry-after.js';
import type { AcmeDirectory, AcmeDirectoryMeta } from './types.js';


/** Fetches and validates a directory (a plain GET: RFC 8555 §7.1.1 needs no signature). */
export async function fetchDirectory(http: AcmeHttp, url: string, signal?: AbortSignal): Promise<AcmeDirectory> {
  const res = await http.request({ method: 'GET', url, headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  let json: unknown;
  try {
    json = JSON.parse(res.body.toString('utf8'));
  } catch {
    json = undefined;
  }
  if (res.status >= 400) {
    const problem = asProblemDocument(json) ?? { type: 'about:blank', detail: `HTTP ${res.status} from directory` };
    const retryAfter = parseRetryAfter(res.headers['retry-after']);
    throw new AcmeProblemError(problem, { status: res.status, url, ...(retryAfter ? { retryAfter } : {}) });
  }
  if (res.status !== 200) throw new AcmeProtocolError(`unexpected HTTP ${res.status} for the directory`, url);
  return parseDirectory(json, url);
}

/** Validates a directory object; resolves relative URLs against the directory URL. */
export function parseDirectory(json: unknown, directoryUrl: string): AcmeDirectory {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AcmeProtocolError('directory is not a JSON object', directoryUrl);
  }
  const o = json as Record<string, unknown>;
  const abs = (name: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') throw new AcmeProtocolError(`directory lacks "${name}"`, directoryUrl);
    try {
      return new URL(v, directoryUrl).toString();
    } catch {
      throw new AcmeProtocolError(`directory "${name}" is not a URL`, directoryUrl);
    }
  };
  const dir: AcmeDirectory = {
    newNonce: abs('newNonce', o.newNonce),
    newAccount: abs('newAccount', o.newAccount),
    newOrder: abs('newOrder', o.newOrder),
    revokeCert: abs('revokeCert', o.revokeCert),
    keyChange: abs('keyChange', o.keyChange),
  };
  if (typeof o.newAuthz === 'string') dir.newAuthz = abs('newAuthz', o.newAuthz);
  if (typeof o.renewalInfo === 'string') dir.renewalInfo = abs('renewalInfo', o.renewalInfo);
  const meta = parseMeta(o.meta);
  if (meta) dir.meta = meta;
  return dir;
}

function parseMeta(v: unknown): AcmeDirectoryMeta | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const m = v as Record<string, unknown>;
  const meta: AcmeDirectoryMeta = {};
  if (typeof m.termsOfService === 'string') meta.termsOfService = m.termsOfService;
  if (typeof m.website === 'string') meta.website = m.website;
  if (Array.isArray(m.caaIdentities)) meta.caaIdentities = m.caaIdentities.filter((x): x is string => typeof x === 'string');
  if (typeof m.externalAccountRequired === 'boolean') meta.externalAccountRequired = m.externalAccountRequired;
  if (typeof m.profiles === 'object' && m.profiles !== null && !Array.isArray(m.profiles)) {
    const profiles: Record<string, string> = {};
    for (const [name, desc] of Object.entries(m.profiles as Record<string, unknown>)) {
      profiles[name] = typeof desc === 'string' ? desc : '';
    }
    meta.profiles = profiles;
  }
  return meta;
}
