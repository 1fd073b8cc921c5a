/**
 * DNS zones: where certkeeper may write TXT records, and how. Creating or changing a zone checks
 * the credentials with the provider's harmless `check()` and records the outcome in state/message.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { DNS_PROVIDERS } from '../dns/providers/index.js';
import { checkProviderConfig } from '../dns/provider-config.js';
import type { DnsProvider } from '../dns/dns-provider.js';
import { normalizeName } from '../pki/names.js';
import { DomainError, notFound, type FieldError } from '../domain-error.js';
import type { DnsZoneRow } from '../store/repositories.js';
import { iso } from '../store/time.js';
import type { Context } from './context.js';

/** The vault context of a zone's credentials. */
export const zoneCredentialsContext = (zoneId: string) => `dns_zones/${zoneId}/credentials`;

/** Writable properties of a DNS zone. */
export interface DnsZoneInput {
  zoneName: string;
  provider: string;
  settings?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  enabled?: boolean;
  resolvers?: string[];
  propagationTimeoutSeconds?: number;
  extraDelaySeconds?: number;
}

const CHECK_TIMEOUT_MS = 20_000;

function checkResolvers(resolvers: string[], errors: FieldError[]): void {
  resolvers.forEach((r, i) => {
    const m = /^(?:\[([^\]]+)\]|([^:\]]+))(?::(\d{1,5}))?$/.exec(r);
    const host = m?.[1] ?? m?.[2] ?? '';
    if (!m || isIP(host) === 0 || (m[3] && Number(m[3]) > 65535)) {
      errors.push({ field: `properties.resolvers[${i}]`, value: r, message: 'expected an IP address with an optional port, e.g. 192.0.2.53 or [2001:db8::53]:53' });
    }
  });
}

/** Builds (and caches) the provider of a zone. */
export class DnsProviders {
  readonly #cache = new Map<string, { key: string; provider: DnsProvider }>();
  constructor(private readonly ctx: Pick<Context, 'vault' | 'config' | 'logger'>) {}

  /** The provider for `zone`, with its credentials opened from the vault. */
  async for(zone: DnsZoneRow): Promise<DnsProvider> {
    const key = `${zone.updated_at}|${zone.credentials_enc ?? ''}`;
    const hit = this.#cache.get(zone.id);
    if (hit?.key === key) return hit.provider;
    const manifest = DNS_PROVIDERS.get(zone.provider);
    if (!manifest) throw new DomainError('validation_failed', `zone ${zone.zone_name} uses provider "${zone.provider}", which this version does not know`);
    const credentials = zone.credentials_enc ? JSON.parse(this.ctx.vault.openText(zone.credentials_enc, zoneCredentialsContext(zone.id))) as Record<string, string> : {};
    const provider = await manifest.create({
      zoneName: zone.zone_name,
      settings: JSON.parse(zone.settings_json),
      credentials,
      allowPrivateAddresses: this.ctx.config.allowPrivateAddresses,
      logger: this.ctx.logger.child({ dnsProvider: zone.provider, zone: zone.zone_name }),
    });
    await hit?.provider.close?.();
    this.#cache.set(zone.id, { key, provider });
    return provider;
  }

  /** Forgets a zone's provider. */
  async forget(zoneId: string): Promise<void> {
    await this.#cache.get(zoneId)?.provider.close?.();
    this.#cache.delete(zoneId);
  }
}

async function runCheck(ctx: Context, row: DnsZoneRow): Promise<Pick<DnsZoneRow, 'state' | 'message' | 'last_check_at'>> {
  const now = iso(ctx.clock());
  if (!row.enabled) return { state: 'DISABLED', message: 'Disabled: certkeeper does not write to this zone', last_check_at: row.last_check_at };
  try {
    const provider = await ctx.dnsProviders.for(row);
    await provider.check(row.zone_name, AbortSignal.timeout(CHECK_TIMEOUT_MS));
    return { state: 'AVAILABLE', message: `${row.provider} accepted the credentials for ${row.zone_name}`, last_check_at: now };
  } catch (err) {
    const msg = (err as Error).name === 'TimeoutError' ? `${row.provider}: no answer within ${CHECK_TIMEOUT_MS / 1000} s` : (err as Error).message;
    return { state: 'FAILED', message: `The check of ${row.zone_name} failed: ${msg}`, last_check_at: now };
  }
}

function validate(input: Partial<DnsZoneInput>, existing: DnsZoneRow | undefined): { settings: Record<string, unknown>; credentials: Record<string, string> | null; zoneName: string; provider: string } {
  const errors: FieldError[] = [];
  const providerCode = input.provider ?? existing!.provider;
  const manifest = DNS_PROVIDERS.get(providerCode);
  if (!manifest) {
    throw new DomainError('validation_failed', `unknown DNS provider "${providerCode}"; use one of ${[...DNS_PROVIDERS.keys()].join(', ')}`, [{ field: 'properties.provider', value: providerCode, message: 'unknown provider' }]);
  }
  let zoneName = existing?.zone_name ?? '';
  if (input.zoneName !== undefined) {
    const n = normalizeName(input.zoneName);
    if ('reason' in n || n.name.startsWith('*')) errors.push({ field: 'properties.zoneName', value: input.zoneName, message: 'reason' in n ? n.reason : 'a zone name cannot be a wildcard' });
    else zoneName = n.name;
  }
  const settings = input.settings ?? (existing ? JSON.parse(existing.settings_json) : {});
  const checked = checkProviderConfig(manifest, settings, input.credentials ?? (existing ? undefined : {}), errors);
  if (input.resolvers) checkResolvers(input.resolvers, errors);
  if (errors.length) throw new DomainError('validation_failed', `the DNS zone has ${errors.length} invalid field(s): ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  return { settings: checked.settings, credentials: input.credentials ? checked.credentials : null, zoneName, provider: providerCode };
}

/** Creates a zone and checks its credentials. */
export async function createDnsZone(ctx: Context, tenantId: string, actor: string, input: DnsZoneInput): Promise<DnsZoneRow> {
  const v = validate(input, undefined);
  const clash = await ctx.dnsZones.list(tenantId, { zoneName: v.zoneName }, 0, 1);
  if (clash.total > 0) throw new DomainError('conflict', `zone ${v.zoneName} is already registered; change it instead`, [{ field: 'properties.zoneName', value: v.zoneName, message: 'already registered' }]);
  const id = randomUUID();
  const now = iso(ctx.clock());
  const row: DnsZoneRow = {
    id, tenant_id: tenantId, zone_name: v.zoneName, provider: v.provider,
    settings_json: JSON.stringify(v.settings),
    credentials_enc: v.credentials && Object.keys(v.credentials).length ? ctx.vault.seal(JSON.stringify(v.credentials), zoneCredentialsContext(id)) : null,
    enabled: input.enabled === false ? 0 : 1,
    resolvers_json: JSON.stringify(input.resolvers ?? []),
    propagation_timeout_seconds: input.propagationTimeoutSeconds ?? 300,
    extra_delay_seconds: input.extraDelaySeconds ?? 0,
    state: 'PROVISIONING', message: 'Checking the credentials', last_check_at: null,
    created_at: now, created_by: actor, updated_at: now, updated_by: actor,
  };
  Object.assign(row, await runCheck(ctx, row));
  await ctx.dnsZones.insert(row);
  await ctx.events.append({ tenantId, type: 'dns_zone.created', subjectType: 'dns-zone', subjectId: id, actor, message: `zone ${row.zone_name} (${row.provider}) created: ${row.state}` });
  return row;
}

/** Changes a zone (new credentials replace the old ones) and checks it again. */
export async function updateDnsZone(ctx: Context, tenantId: string, actor: string, id: string, input: Partial<DnsZoneInput>): Promise<DnsZoneRow> {
  const row = await ctx.dnsZones.get(tenantId, id);
  if (!row) throw notFound('DNS zone', id);
  if (input.zoneName !== undefined && input.zoneName.toLowerCase().replace(/\.$/, '') !== row.zone_name) {
    throw new DomainError('validation_failed', 'the zone name cannot change; create a new zone instead', [{ field: 'properties.zoneName', message: 'immutable' }]);
  }
  if (input.provider !== undefined && input.provider !== row.provider && !input.credentials && row.credentials_enc) {
    throw new DomainError('validation_failed', 'a new provider needs its credentials', [{ field: 'properties.credentials', message: 'required when the provider changes' }]);
  }
  const v = validate({ ...input, ...(input.provider !== undefined && input.provider !== row.provider && !input.settings ? { settings: {} } : {}) }, row);
  const next: DnsZoneRow = {
    ...row,
    provider: v.provider,
    settings_json: JSON.stringify(v.settings),
    credentials_enc: v.credentials ? (Object.keys(v.credentials).length ? ctx.vault.seal(JSON.stringify(v.credentials), zoneCredentialsContext(id)) : null) : row.credentials_enc,
    enabled: input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
    resolvers_json: input.resolvers ? JSON.stringify(input.resolvers) : row.resolvers_json,
    propagation_timeout_seconds: input.propagationTimeoutSeconds ?? row.propagation_timeout_seconds,
    extra_delay_seconds: input.extraDelaySeconds ?? row.extra_delay_seconds,
    updated_at: iso(ctx.clock()),
    updated_by: actor,
  };
  Object.assign(next, await runCheck(ctx, next));
  await ctx.dnsZones.update(tenantId, id, next);
  await ctx.events.append({ tenantId, type: 'dns_zone.updated', subjectType: 'dns-zone', subjectId: id, actor, message: `zone ${row.zone_name} updated: ${next.state}` });
  return next;
}

/** Re-runs the credential check of a zone. */
export async function recheckDnsZone(ctx: Context, tenantId: string, id: string): Promise<DnsZoneRow> {
  const row = await ctx.dnsZones.get(tenantId, id);
  if (!row) throw notFound('DNS zone', id);
  const outcome = await runCheck(ctx, row);
  await ctx.dnsZones.update(tenantId, id, outcome);
  return { ...row, ...outcome };
}

/** Deletes a zone. Records already written are cleaned up by their orders. */
export async function deleteDnsZone(ctx: Context, tenantId: string, actor: string, id: string): Promise<void> {
  const row = await ctx.dnsZones.get(tenantId, id);
  if (!row) throw notFound('DNS zone', id);
  await ctx.dnsZones.delete(tenantId, id);
  await ctx.dnsProviders.forget(id);
  await ctx.events.append({ tenantId, type: 'dns_zone.deleted', subjectType: 'dns-zone', subjectId: id, actor, message: `zone ${row.zone_name} deleted` });
}
