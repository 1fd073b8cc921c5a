/**
 * Azure DNS: one TXT record set per name holds every value, so each change is a read-modify-write
 * of the set, made conditional on its ETag (If-Match, or If-None-Match: * when creating it) and
 * retried on 412, so that two writers never lose each other's values.
 */
import type { DnsProvider, TxtRecord } from '../../dns-provider.js';
import { DnsProviderError } from '../../dns-provider.js';
import type { ProviderInit } from '../../provider-manifest.js';
import { ProviderHttp, relativeName, stringSetting, urlSetting } from '../provider-http.js';
import { AZURE_CLOUDS, AzureDnsClient, AzureTokenSource, conflictError, IMDS_TOKEN_URL, type AzureCredential } from './client.js';

const CODE = 'azure';
/** Read-modify-write rounds before a lost race becomes an error. */
const MAX_ROUNDS = 5;

/** The provider for one zone. */
export class AzureProvider implements DnsProvider {
  constructor(private readonly client: AzureDnsClient) {}

  async appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const name = relativeName(CODE, record.fqdn, record.zone);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const cur = await this.client.getTxt(record.zone, name, signal);
      if (cur?.records.some((r) => r.join('') === record.value)) return;
      const set = {
        ttl: cur?.ttl ?? record.ttl,
        records: [...(cur?.records ?? []), [record.value]],
        ...(cur?.metadata ? { metadata: cur.metadata } : {}),
      };
      if ((await this.client.putTxt(record.zone, name, set, cur?.etag ?? null, signal)) === 'done') return;
    }
    throw conflictError(CODE, record.zone, name, MAX_ROUNDS);
  }

  async deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const name = relativeName(CODE, record.fqdn, record.zone);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const cur = await this.client.getTxt(record.zone, name, signal);
      if (!cur || !cur.records.some((r) => r.join('') === record.value)) return;
      const records = cur.records.filter((r) => r.join('') !== record.value);
      const outcome = records.length
        ? await this.client.putTxt(record.zone, name, { ttl: cur.ttl, records, ...(cur.metadata ? { metadata: cur.metadata } : {}) }, cur.etag, signal)
        : await this.client.deleteTxt(record.zone, name, cur.etag, signal);
      if (outcome === 'done') return;
    }
    throw conflictError(CODE, record.zone, name, MAX_ROUNDS);
  }

  /** Reads the zone resource: proves the token, the subscription, the resource group and the zone. */
  async check(zone: string, signal?: AbortSignal): Promise<void> {
    await this.client.getZone(zone, signal);
  }
}

/** Builds the provider from validated settings and credentials. */
export function createAzureProvider(init: ProviderInit, tuning: { maxRetryDelayMs?: number; timeoutMs?: number; now?: () => number } = {}): AzureProvider {
  const zone = init.zoneName;
  const need = (name: string): string => {
    const v = stringSetting(init.settings, name);
    if (!v) throw new DnsProviderError(CODE, `zone ${zone}: settings.${name} is required`);
    return v;
  };
  const subscriptionId = need('subscriptionId');
  const resourceGroup = need('resourceGroup');
  const envName = stringSetting(init.settings, 'environment') ?? 'AzurePublicCloud';
  if (!(envName in AZURE_CLOUDS)) throw new DnsProviderError(CODE, `zone ${zone}: settings.environment must be one of ${Object.keys(AZURE_CLOUDS).join(', ')}`);
  const cloud = AZURE_CLOUDS[envName as keyof typeof AZURE_CLOUDS];
  const authorityHost = urlSetting(CODE, zone, init.settings, 'authorityHost', cloud.authorityHost);
  const resourceManagerUrl = urlSetting(CODE, zone, init.settings, 'resourceManagerUrl', cloud.resourceManagerUrl);
  const imdsUrl = urlSetting(CODE, zone, init.settings, 'imdsUrl', IMDS_TOKEN_URL);
  const clientId = stringSetting(init.settings, 'clientId');
  const clientSecret = init.credentials.clientSecret ?? '';

  let credential: AzureCredential;
  if (clientSecret !== '') {
    if (!clientId) throw new DnsProviderError(CODE, `zone ${zone}: settings.clientId is required with credentials.clientSecret`);
    credential = { kind: 'clientSecret', authorityHost, tenantId: need('tenantId'), clientId, clientSecret };
  } else {
    // No secret: the managed identity of the machine (system-assigned, or user-assigned by clientId).
    credential = { kind: 'managedIdentity', imdsUrl, ...(clientId ? { clientId } : {}) };
  }
  const http = ProviderHttp.forProvider(CODE, init, clientSecret ? [clientSecret] : [], {
    // The default IMDS address is link-local by definition; a configured one gets the usual rule.
    trustedOrigins: imdsUrl === IMDS_TOKEN_URL ? [new URL(IMDS_TOKEN_URL).origin] : [],
    maxRetryDelayMs: tuning.maxRetryDelayMs,
    timeoutMs: tuning.timeoutMs,
  });
  const tokens = new AzureTokenSource(http, credential, resourceManagerUrl, tuning.now);
  return new AzureProvider(new AzureDnsClient(http, tokens, resourceManagerUrl, subscriptionId, resourceGroup));
}
