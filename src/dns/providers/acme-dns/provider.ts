/**
 * acme-dns: the user's `_acme-challenge` name is a CNAME to `<subdomain>.<acme-dns domain>`, and
 * acme-dns serves there the two most recent values set through its API.
 *
 * What that means for the DnsProvider contract:
 * - appendTxt sets the value; the value set before it stays (two per subdomain), which is what a
 *   wildcard and its apex need. A third value replaces the oldest.
 * - acme-dns cannot delete: deleteTxt is a no-op, and a value stays until two newer ones replace it.
 *   That is harmless: a dns-01 value is useless once its authorization is done.
 * - acme-dns has no read either, so idempotence is this instance's memory of the values it set: a
 *   repeated appendTxt of one of the two latest values is not sent again (sending it again would
 *   push out the other value).
 */
import type { DnsProvider, TxtRecord } from '../../dns-provider.js';
import { DnsProviderError } from '../../dns-provider.js';
import type { ProviderInit } from '../../provider-manifest.js';
import { ProviderHttp, stringSetting, urlSetting } from '../provider-http.js';
import { AcmeDnsClient } from './client.js';

const CODE = 'acme-dns';

/** The provider for one acme-dns registration. */
export class AcmeDnsProvider implements DnsProvider {
  /** The values this instance set, oldest first, at most two: what acme-dns serves now. */
  private latest: string[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: AcmeDnsClient,
    private readonly subdomain: string,
    private readonly fulldomain: string | undefined,
  ) {}

  async appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    this.assertTarget(record);
    // One update at a time, so the memory of the two latest values matches the server's order.
    const run = this.queue.then(async () => {
      if (this.latest.includes(record.value)) return;
      await this.client.update(this.subdomain, record.value, record.zone, signal);
      this.latest = [...this.latest, record.value].slice(-2);
    });
    this.queue = run.catch(() => undefined);
    await run;
  }

  /** A no-op: acme-dns has no delete; the value is replaced by the next ones. */
  async deleteTxt(record: TxtRecord): Promise<void> {
    this.assertTarget(record);
  }

  /**
   * GET /health shows the server answers; an update with a value acme-dns refuses (400 `bad_txt`)
   * shows the credentials, subdomain and source address are accepted, without writing anything.
   */
  async check(zone: string, signal?: AbortSignal): Promise<void> {
    await this.client.health(zone, signal);
    await this.client.probeCredentials(this.subdomain, zone, signal);
  }

  /** With `fulldomain` set, a name inside the acme-dns domain must be this registration's own. */
  private assertTarget(record: TxtRecord): void {
    if (!this.fulldomain) return;
    const fqdn = record.fqdn.toLowerCase();
    const parent = this.fulldomain.slice(this.fulldomain.indexOf('.') + 1);
    if (fqdn !== this.fulldomain && fqdn.endsWith(`.${parent}`)) {
      throw new DnsProviderError(CODE, `zone ${record.zone}: ${record.fqdn} belongs to another acme-dns registration than this zone's (${this.fulldomain})`);
    }
  }
}

/** Builds the provider from validated settings and credentials. */
export function createAcmeDnsProvider(init: ProviderInit, tuning: { maxRetryDelayMs?: number; timeoutMs?: number } = {}): AcmeDnsProvider {
  const zone = init.zoneName;
  const username = init.credentials.username ?? '';
  const password = init.credentials.password ?? '';
  if (username === '' || password === '') throw new DnsProviderError(CODE, `zone ${zone}: credentials.username and credentials.password are required`);
  const apiUrl = stringSetting(init.settings, 'apiUrl');
  const subdomain = stringSetting(init.settings, 'subdomain');
  if (!apiUrl) throw new DnsProviderError(CODE, `zone ${zone}: settings.apiUrl is required`);
  if (!subdomain) throw new DnsProviderError(CODE, `zone ${zone}: settings.subdomain is required`);
  const http = ProviderHttp.forProvider(CODE, init, [password], tuning);
  const client = new AcmeDnsClient(http, urlSetting(CODE, zone, init.settings, 'apiUrl', apiUrl), username, password);
  return new AcmeDnsProvider(client, subdomain, stringSetting(init.settings, 'fulldomain')?.toLowerCase().replace(/\.$/, ''));
}
