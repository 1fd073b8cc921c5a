/**
 * Cloudflare DNS: one TXT record per value (Cloudflare keeps several TXT records on one name), so
 * appending creates a record and deleting removes exactly the records holding that value.
 */
import type { DnsProvider, TxtRecord } from '../../dns-provider.js';
import { DnsProviderError } from '../../dns-provider.js';
import type { ProviderInit } from '../../provider-manifest.js';
import { ProviderHttp, quoteTxt, stringSetting, unquoteTxt, urlSetting } from '../provider-http.js';
import { CLOUDFLARE_API_URL, CloudflareClient } from './client.js';
import { ZoneIdCache } from '../zone-id-cache.js';

const CODE = 'cloudflare';

/** Cloudflare accepts a TTL of 60 to 86400 s (1 means "automatic"; Enterprise zones go down to 30). */
function cloudflareTtl(ttl: number): number {
  return Math.min(86_400, Math.max(60, Math.round(ttl)));
}

/** The Cloudflare provider for one zone. */
export class CloudflareProvider implements DnsProvider {
  private readonly zoneIds: ZoneIdCache;

  constructor(
    private readonly client: CloudflareClient,
    private readonly configuredZoneId: string | undefined,
  ) {
    this.zoneIds = new ZoneIdCache(configuredZoneId);
  }

  async appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(record.zone, signal);
    const existing = await this.client.listTxt(zoneId, record.fqdn, record.zone, signal);
    if (existing.some((r) => unquoteTxt(r.content) === record.value)) return;
    // Current API docs: TXT content "must consist of quoted character strings (RFC 1035)".
    await this.client.createTxt(zoneId, { name: record.fqdn, content: quoteTxt(record.value), ttl: cloudflareTtl(record.ttl) }, record.zone, signal);
  }

  async deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(record.zone, signal);
    const existing = await this.client.listTxt(zoneId, record.fqdn, record.zone, signal);
    // Records written before Cloudflare asked for quotes read back bare: both forms match.
    for (const r of existing.filter((r) => unquoteTxt(r.content) === record.value)) {
      await this.client.deleteRecord(zoneId, r.id, record.zone, signal);
    }
  }

  async check(zone: string, signal?: AbortSignal): Promise<void> {
    if (this.configuredZoneId) {
      const z = await this.client.getZone(this.configuredZoneId, zone, signal);
      if (z.name.toLowerCase() !== zone.toLowerCase()) {
        throw new DnsProviderError(CODE, `zone ${zone}: settings.zoneId ${this.configuredZoneId} is the zone ${z.name}, not ${zone}`);
      }
    }
    const zoneId = await this.zoneId(zone, signal);
    // A read of the DNS records shows the token may read them (DNS:Read; writing needs DNS:Edit).
    await this.client.listTxt(zoneId, `_acme-challenge.${zone}`, zone, signal);
  }

  private zoneId(zone: string, signal?: AbortSignal): Promise<string> {
    return this.zoneIds.get(zone, async (key) => {
      const z = (await this.client.findZones(zone, signal)).find((x) => x.name.toLowerCase() === key);
      if (!z) throw new DnsProviderError(CODE, `zone ${zone}: no such zone in the account the API token sees (give the token Zone:Read on it, or set settings.zoneId)`);
      return z.id;
    });
  }
}

/** Builds the provider from validated settings and credentials. */
export function createCloudflareProvider(init: ProviderInit, tuning: { maxRetryDelayMs?: number; timeoutMs?: number } = {}): CloudflareProvider {
  const apiToken = init.credentials.apiToken ?? '';
  if (apiToken === '') throw new DnsProviderError(CODE, `zone ${init.zoneName}: credentials.apiToken is required`);
  const http = ProviderHttp.forProvider(CODE, init, [apiToken], tuning);
  const apiUrl = urlSetting(CODE, init.zoneName, init.settings, 'apiUrl', CLOUDFLARE_API_URL);
  return new CloudflareProvider(new CloudflareClient(http, apiUrl, apiToken), stringSetting(init.settings, 'zoneId'));
}
