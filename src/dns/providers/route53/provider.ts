/**
 * Amazon Route 53: one TXT record set per name holds every value. Each change reads the set and
 * submits one atomic batch that DELETEs exactly what was read and CREATEs the new set (or only
 * CREATEs when there was none, only DELETEs when nothing remains): Route 53 refuses the batch when
 * the set changed meanwhile, so a concurrent writer's values are never lost — the change is
 * re-read and retried. Then GetChange is polled until INSYNC (bounded).
 */
import type { DnsProvider, TxtRecord } from '../../dns-provider.js';
import { DnsProviderError } from '../../dns-provider.js';
import type { ProviderInit } from '../../provider-manifest.js';
import { ProviderHttp, quoteTxt, stringSetting, unquoteTxt, urlSetting } from '../provider-http.js';
import { recordSet, Route53Api, type Route53Credentials } from './client.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

const CODE = 'route53';
/** Read-and-change rounds before a lost race becomes an error. */
const MAX_ROUNDS = 5;

/** Timing of the INSYNC wait; tests shorten it. */
export interface Route53Tuning {
  /** First GetChange poll after this long; doubles up to 10 s (default 2 s). */
  pollIntervalMs?: number;
  /** Give up waiting for INSYNC after this long (default 120 s); the change stands, a warning is logged. */
  syncTimeoutMs?: number;
  timeoutMs?: number;
  maxAttempts?: number;
}

/** The provider for one hosted zone. */
export class Route53Provider implements DnsProvider {
  private hostedZone: Promise<string> | undefined;

  constructor(
    private readonly api: Route53Api,
    private readonly configuredZoneId: string | undefined,
    private readonly tuning: Route53Tuning,
    private readonly logger?: Logger,
  ) {}

  async appendTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(record.zone, signal);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const cur = await this.api.getRecordSet(zoneId, record.fqdn, 'TXT', record.zone, signal);
      if (cur?.values.some((v) => unquoteTxt(v) === record.value)) return;
      const name = `${record.fqdn}.`;
      const changes = cur
        ? [
            { Action: 'DELETE' as const, ResourceRecordSet: recordSet(cur.name, cur.ttl, cur.values) },
            { Action: 'CREATE' as const, ResourceRecordSet: recordSet(cur.name, cur.ttl, [...cur.values, quoteTxt(record.value)]) },
          ]
        : [{ Action: 'CREATE' as const, ResourceRecordSet: recordSet(name, record.ttl, [quoteTxt(record.value)]) }];
      const id = await this.api.change(zoneId, changes, record.zone, signal);
      if (id !== 'conflict') return this.waitInSync(id, record.zone, signal);
    }
    throw new DnsProviderError(CODE, `zone ${record.zone}: the TXT record set at ${record.fqdn} kept changing under us (${MAX_ROUNDS} refused change batches)`, { retryable: true });
  }

  async deleteTxt(record: TxtRecord, signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(record.zone, signal);
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const cur = await this.api.getRecordSet(zoneId, record.fqdn, 'TXT', record.zone, signal);
      if (!cur || !cur.values.some((v) => unquoteTxt(v) === record.value)) return;
      const rest = cur.values.filter((v) => unquoteTxt(v) !== record.value);
      const changes = [
        { Action: 'DELETE' as const, ResourceRecordSet: recordSet(cur.name, cur.ttl, cur.values) },
        ...(rest.length ? [{ Action: 'CREATE' as const, ResourceRecordSet: recordSet(cur.name, cur.ttl, rest) }] : []),
      ];
      const id = await this.api.change(zoneId, changes, record.zone, signal);
      if (id !== 'conflict') return this.waitInSync(id, record.zone, signal);
    }
    throw new DnsProviderError(CODE, `zone ${record.zone}: the TXT record set at ${record.fqdn} kept changing under us (${MAX_ROUNDS} refused change batches)`, { retryable: true });
  }

  /** Reads the zone's SOA through the hosted zone: proves credentials, permissions and that the hosted zone is this zone. */
  async check(zone: string, signal?: AbortSignal): Promise<void> {
    const zoneId = await this.zoneId(zone, signal);
    const soa = await this.api.getRecordSet(zoneId, zone, 'SOA', zone, signal);
    if (!soa) throw new DnsProviderError(CODE, `zone ${zone}: hosted zone ${zoneId} is not the zone ${zone} (no SOA record at ${zone})`);
  }

  async close(): Promise<void> {
    await this.api.close();
  }

  /** Polls GetChange until INSYNC, for at most `syncTimeoutMs`. */
  private async waitInSync(changeId: string, zone: string, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.tuning.syncTimeoutMs ?? 120_000);
    let interval = this.tuning.pollIntervalMs ?? 2000;
    for (;;) {
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, signal ? { signal } : undefined).catch(() => {
        throw signal?.reason;
      });
      if ((await this.api.changeStatus(changeId, zone, signal)) === 'INSYNC') return;
      if (Date.now() >= deadline) {
        // The change is accepted; the dns-01 solver's own propagation check decides visibility.
        this.logger?.warn({ provider: CODE, zone, changeId }, 'route53 change not INSYNC in time; continuing');
        return;
      }
      interval = Math.min(interval * 2, 10_000);
    }
  }

  private zoneId(zone: string, signal?: AbortSignal): Promise<string> {
    if (this.configuredZoneId) return Promise.resolve(this.configuredZoneId.replace(/^\/hostedzone\//, ''));
    this.hostedZone ??= this.api.findHostedZones(zone, signal).then((zones) => {
      const pub = zones.filter((z) => !z.private);
      if (pub.length === 1) return pub[0]!.id;
      if (pub.length === 0) throw new DnsProviderError(CODE, `zone ${zone}: no public hosted zone of that name is visible to these credentials`);
      throw new DnsProviderError(CODE, `zone ${zone}: ${pub.length} public hosted zones have that name (${pub.map((z) => z.id).join(', ')}); set settings.hostedZoneId`);
    });
    const p = this.hostedZone;
    p.catch(() => {
      if (this.hostedZone === p) this.hostedZone = undefined;
    });
    return p;
  }
}

/** Builds the provider from validated settings and credentials. The SDK is loaded on the first call. */
export function createRoute53Provider(init: ProviderInit, tuning: Route53Tuning = {}): Route53Provider {
  const zone = init.zoneName;
  const accessKeyId = init.credentials.accessKeyId ?? '';
  const secretAccessKey = init.credentials.secretAccessKey ?? '';
  const sessionToken = init.credentials.sessionToken ?? '';
  if ((accessKeyId === '') !== (secretAccessKey === '')) {
    throw new DnsProviderError(CODE, `zone ${zone}: give both credentials.accessKeyId and credentials.secretAccessKey, or neither (the AWS default credential chain)`);
  }
  const credentials: Route53Credentials | undefined = accessKeyId ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined;
  const endpointSetting = stringSetting(init.settings, 'endpoint');
  const http = new ProviderHttp({ provider: CODE, allowPrivateAddresses: init.allowPrivateAddresses, secrets: [secretAccessKey, sessionToken].filter((s) => s !== '') });
  const api = new Route53Api({
    code: CODE,
    zoneName: zone,
    region: stringSetting(init.settings, 'region') ?? 'us-east-1',
    ...(endpointSetting ? { endpoint: urlSetting(CODE, zone, init.settings, 'endpoint', endpointSetting) } : {}),
    ...(credentials ? { credentials } : {}),
    http,
    ...(init.fetch ? { fetch: init.fetch } : {}),
    ...(init.logger ? { logger: init.logger } : {}),
    ...(tuning.timeoutMs !== undefined ? { timeoutMs: tuning.timeoutMs } : {}),
    ...(tuning.maxAttempts !== undefined ? { maxAttempts: tuning.maxAttempts } : {}),
  });
  return new Route53Provider(api, stringSetting(init.settings, 'hostedZoneId'), tuning, init.logger);
}
