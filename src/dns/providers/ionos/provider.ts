/**
 * IONOS Cloud DNS: one record per TXT value, named relative to the zone; appending creates a
 * record, deleting removes exactly the records that hold the value.
 */
import type { DnsProvider, TxtRecord } from '../../dns-provider.js';
import { DnsProviderError } from '../../dns-provider.js';
import type { ProviderInit } from '../../provider-manifest.js';
import { ProviderHttp, relativeName, stringSetting, unquoteTxt, urlSetting } from '../provider-http.js';
import { IONOS_API_URL, IonosClient, type IonosRecord } from './client.js';
import { ZoneIdCache } from '../zone-id-cache.js';

const CODE = 'ionos';

/** The provider for one zone. */
export class IonosProvider implements DnsProvider {
  private readonly zoneIds: ZoneIdCache;

  constructor(
    private readonly client: IonosClient,
    configuredZoneId: string | undefined,
  ) {
    this.zoneIds = new ZoneIdCache(configuredZoneId);
  }

  async appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const { zoneId, name, existing } = await this.read(record, signal);
    if (existing.some((r) => unquoteTxt(r.content) === record.value)) return;
    // IONOS takes TXT content bare and quotes it itself (lego's ionoscloud provider does the same).
    await this.client.createRecord(zoneId, { name, type: 'TXT', content: record.value, ttl: Math.max(60, Math.round(record.ttl)), enabled: true }, record.zone, signal);
  }

  async deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const { zoneId, existing } = await this.read(record, signal);
    for (const r of existing.filter((r) => unquoteTxt(r.content) === record.value)) {
      await this.client.deleteRecord(zoneId, r.id, record.zone, signal);
    }
  }

  async check(zone: string, signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(zone, signal);
    // A read of the zone's records shows the token may read them.
    await this.client.listRecords(zoneId, '_acme-challenge', zone, signal, 1);
  }

  /** The zone id, the relative name and the TXT records at `record.fqdn`. */
  private async read(record: TxtRecord, signal?: AbortSignal): Promise<{ zoneId: string; name: string; existing: IonosRecord[] }> {
    const rel = relativeName(CODE, record.fqdn, record.zone);
    // The apex is the empty name in IONOS Cloud DNS.
    const name = rel === '@' ? '' : rel;
    const zoneId = await this.zoneId(record.zone, signal);
    const fqdn = record.fqdn.toLowerCase();
    const all = await this.client.listRecords(zoneId, name === '' ? undefined : name, record.zone, signal);
    const existing = all.filter((r) => r.type === 'TXT' && (r.zoneId === undefined || r.zoneId === zoneId) && (r.fqdn !== undefined ? r.fqdn.toLowerCase().replace(/\.$/, '') === fqdn : r.name.toLowerCase() === name));
    return { zoneId, name, existing };
  }

  private zoneId(zone: string, signal?: AbortSignal): Promise<string> {
    return this.zoneIds.get(zone, async (key) => {
      const z = (await this.client.findZones(zone, signal)).find((x) => x.zoneName.toLowerCase() === key);
      if (!z) throw new DnsProviderError(CODE, `zone ${zone}: no such zone in the IONOS Cloud DNS contract the token belongs to`);
      return z.id;
    });
  }
}

/** Builds the provider from validated settings and credentials. */
export function createIonosProvider(init: ProviderInit, tuning: { maxRetryDelayMs?: number; timeoutMs?: number } = {}): IonosProvider {
  const token = init.credentials.token ?? '';
  if (token === '') throw new DnsProviderError(CODE, `zone ${init.zoneName}: credentials.token is required`);
  const http = ProviderHttp.forProvider(CODE, init, [token], tuning);
  const apiUrl = urlSetting(CODE, init.zoneName, init.settings, 'apiUrl', IONOS_API_URL);
  return new IonosProvider(new IonosClient(http, apiUrl, token), stringSetting(init.settings, 'zoneId'));
}
