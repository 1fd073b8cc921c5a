/**
 * Presenting an order's challenges: http-01 key authorizations for the responder, dns-01 TXT
 * records through the zone's provider (after following `_acme-challenge` CNAMEs), or, for the
 * manual types, a list of what the user must publish. Every challenge is a row, so the
 * validations view can show it, a resumed order re-presents it, and cleanup removes exactly what
 * was written.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { isIP } from 'node:net';
import type { AcmeClient } from '../acme/index.js';
import { dnsQuery } from '../dns/wire/dns-query.js';
import { Dns01Solver, challengeRecordName, type PublishedRecord, type SolverZone } from '../dns/dns01-solver.js';
import { matchZone } from '../dns/zone-match.js';
import { parseServerAddress } from '../dns/wire/dns-query.js';
import type { AutoCertificateRow, ChallengeRow, DnsZoneRow, OrderRow } from '../store/repositories.js';
import { iso } from '../store/time.js';
import type { Context } from './context.js';
import { agentServesName } from '../deploy/agents.js';
import { boundedMap } from './bounded-map.js';

/**
 * Requests in flight per order. Measured against Pebble with 100 authorizations: 1–4 parallel
 * requests take 1.8–1.9 s, 16 take 2.8 s and 100 at once take 9 s (the CA serialises them and
 * every extra request costs a nonce round trip); real CAs also limit requests per client.
 */
export const ORDER_REQUEST_CONCURRENCY = 4;
/** How long http-01 tokens stay published when an order is abandoned. */
const TOKEN_TTL_MS = 24 * 3_600_000;
/** Cleanup gets its own time, even when the job was aborted (STYLE.md habit 8). */
const CLEANUP_TIMEOUT_MS = 30_000;

/** A failure that retrying cannot fix. */
export class ChallengeFailure extends Error {
  override name = 'ChallengeFailure';
}

/** The ACME challenge type behind an auto certificate's challengeType. */
export const acmeChallengeType = (challengeType: string) => (challengeType.endsWith('dns-01') ? 'dns-01' : 'http-01');

/** A solver over the context's recursive resolvers. */
export function solverFor(ctx: Context): Dns01Solver {
  return new Dns01Solver({ query: dnsQuery, resolvers: ctx.dnsResolvers, logger: ctx.logger.child({ component: 'dns01' }) });
}

/** The solver's view of a zone row. */
export function solverZone(zone: DnsZoneRow): SolverZone {
  return {
    zoneName: zone.zone_name,
    resolvers: (JSON.parse(zone.resolvers_json) as string[]).map((r) => parseServerAddress(r)),
    propagationTimeoutSeconds: zone.propagation_timeout_seconds,
    extraDelaySeconds: zone.extra_delay_seconds,
  };
}

/** Zone lookup for the solver: the enabled zone covering a name, as the solver sees it. */
export function zoneLookup(zones: DnsZoneRow[]): (name: string) => SolverZone | undefined {
  const cache = new Map<string, SolverZone>();
  return (name) => {
    const z = matchZone(zones, name);
    if (!z) return undefined;
    if (!cache.has(z.id)) cache.set(z.id, solverZone(z));
    return cache.get(z.id);
  };
}

/** Fetches the order's authorizations and records a challenge row for each pending one. */
export async function prepareChallenges(ctx: Context, client: AcmeClient, ac: AutoCertificateRow, order: OrderRow, authorizationUrls: string[], signal: AbortSignal): Promise<ChallengeRow[]> {
  const type = acmeChallengeType(ac.challenge_type);
  const authorizations = await boundedMap(authorizationUrls, ORDER_REQUEST_CONCURRENCY, async (url) => ({ url, authz: await client.getAuthorization(url, signal) }));
  const rows: ChallengeRow[] = [];
  for (const { url, authz } of authorizations) {
    if (authz.status !== 'pending') continue;
    const challenge = authz.challenges.find((c) => c.type === type);
    if (!challenge?.token) throw new ChallengeFailure(`the CA offers no ${type} challenge for ${authz.identifier.value}; it offers ${authz.challenges.map((c) => c.type).join(', ') || 'none'}`);
    const identifier = authz.wildcard ? `*.${authz.identifier.value}` : authz.identifier.value;
    const now = iso(ctx.clock());
    rows.push(await ctx.challenges.upsert({
      id: randomUUID(),
      order_id: order.id,
      tenant_id: order.tenant_id,
      identifier,
      type,
      manual: ac.challenge_type.startsWith('manual-') ? 1 : 0,
      authorization_url: url,
      challenge_url: challenge.url,
      token: challenge.token,
      key_authorization: client.keyAuthorization(challenge.token),
      record_name: type === 'dns-01' ? challengeRecordName(authz.identifier.value) : null,
      target_name: null,
      record_value: type === 'dns-01' ? client.dns01TxtValue(challenge.token) : null,
      zone_id: null,
      status: challenge.status === 'pending' ? 'pending' : 'answered',
      error: null,
      created_at: now,
      updated_at: now,
    }));
  }
  return rows;
}

/** Publishes automatic challenges: http-01 tokens, or dns-01 records written and seen at every server. */
export async function publishAutomatic(ctx: Context, ac: AutoCertificateRow, order: OrderRow, rows: ChallengeRow[], signal: AbortSignal): Promise<void> {
  if (rows.length === 0) return;
  if (rows[0]!.type === 'http-01') {
    // Names mapped to an agent (its http01Names) are served by that agent, on its own host.
    const agents = (await ctx.agents.http01Agents(ac.tenant_id)).map((a) => ({ id: a.id, names: JSON.parse(a.http01_names_json) as string[] }));
    const served = new Set<string>();
    for (const r of rows) {
      const agentId = agents.find((a) => agentServesName(a.names, r.identifier))?.id ?? null;
      if (agentId) served.add(agentId);
      await ctx.http01.put({ token: r.token, keyAuthorization: r.key_authorization, orderId: order.id, identifier: r.identifier, expiresAt: new Date(ctx.clock().getTime() + TOKEN_TTL_MS), agentId });
    }
    if (served.size) await waitForAgents(ctx, order, [...served], signal);
    return;
  }
  const solver = solverFor(ctx);
  const zones = await ctx.dnsZones.enabled(ac.tenant_id);
  const published: PublishedRecord[] = [];
  const failures: string[] = [];
  const lookup = zoneLookup(zones);
  // Write every record we can before reporting failures: the message then names every zone at
  // fault, and cleanup removes exactly the records that were written.
  for (const r of rows) {
    const target = await solver.resolveTarget(r.record_name!, signal, lookup).catch(() => r.record_name!);
    const zone = matchZone(zones, target);
    if (!zone) {
      failures.push(`no enabled DNS zone covers ${target}${target !== r.record_name ? ` (the CNAME target of ${r.record_name})` : ''}; register the zone or use manual-dns-01`);
      continue;
    }
    await ctx.challenges.update(r.id, { target_name: target, zone_id: zone.id, status: 'presenting', updated_at: iso(ctx.clock()) });
    Object.assign(r, { target_name: target, zone_id: zone.id });
    try {
      const provider = await ctx.dnsProviders.for(zone);
      await provider.appendTxt({ zone: zone.zone_name, fqdn: target, value: r.record_value!, ttl: 60 }, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      failures.push(`writing TXT ${target} in zone ${zone.zone_name} through ${zone.provider} failed: ${(err as Error).message}`);
      continue;
    }
    await ctx.challenges.update(r.id, { status: 'presented', updated_at: iso(ctx.clock()) });
    published.push({ fqdn: target, value: r.record_value!, zone: solverZone(zone) });
  }
  if (failures.length) throw new ChallengeFailure(failures.join('; '));
  await ctx.autoCertificates.update(ac.tenant_id, ac.id, { message: `Waiting until ${published.length} TXT record(s) are visible at every name server` });
  await solver.waitVisible(published, signal);
}

/** Tells the CA to validate each challenge that is still pending. */
export async function answerChallenges(ctx: Context, client: AcmeClient, rows: ChallengeRow[], signal: AbortSignal): Promise<void> {
  // Only challenges still pending: answering one the CA is already validating (a resumed order)
  // may start a second validation, which races the cleanup and can turn a valid authorization invalid.
  await boundedMap(rows.filter((r) => r.status !== 'answered'), ORDER_REQUEST_CONCURRENCY, async (r) => {
    try {
      await client.respondToChallenge(r.challenge_url, signal);
    } catch (err) {
      // A resumed order may answer a challenge the CA is already validating or has validated;
      // some CAs (Pebble among them) then refuse the update: that is success.
      const current = await client.getChallenge(r.challenge_url, signal).catch(() => null);
      if (!current || (current.status !== 'processing' && current.status !== 'valid')) throw err;
    }
    await ctx.challenges.update(r.id, { status: 'answered', updated_at: iso(ctx.clock()) });
  });
}

/**
 * Removes what the order published: dns-01 records through their zone's provider, http-01 tokens.
 * Runs with its own timeout, even when the job was aborted; failures are logged, not thrown.
 */
export async function cleanupChallenges(ctx: Context, order: OrderRow): Promise<void> {
  const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  await ctx.http01.deleteForOrder(order.id);
  const rows = await ctx.challenges.forOrder(order.id);
  for (const r of rows) {
    if (r.manual || r.type !== 'dns-01' || !r.zone_id || !r.target_name || (r.status !== 'presented' && r.status !== 'presenting' && r.status !== 'answered')) continue;
    const zone = await ctx.dnsZones.get(r.tenant_id, r.zone_id);
    if (!zone) continue;
    try {
      const provider = await ctx.dnsProviders.for(zone);
      await provider.deleteTxt({ zone: zone.zone_name, fqdn: r.target_name, value: r.record_value!, ttl: 60 }, signal);
      await ctx.challenges.update(r.id, { status: 'cleaned', updated_at: iso(ctx.clock()) });
    } catch (err) {
      ctx.logger.warn({ err: (err as Error).message, zone: zone.zone_name, record: r.target_name }, 'dns-01 cleanup failed; the record stays');
      await ctx.challenges.update(r.id, { error: `cleanup failed: ${(err as Error).message}`, updated_at: iso(ctx.clock()) });
    }
  }
}

/** What a manual challenge still lacks: one entry per record or file not visible yet. */
export async function missingManualRecords(ctx: Context, tenantId: string, rows: ChallengeRow[], signal: AbortSignal): Promise<{ identifier: string; message: string }[]> {
  const solver = solverFor(ctx);
  const zones = await ctx.dnsZones.enabled(tenantId);
  const missing: { identifier: string; message: string }[] = [];
  for (const r of rows) {
    if (r.type === 'dns-01') {
      try {
        const target = await solver.resolveTarget(r.record_name!, signal, zoneLookup(zones)).catch(() => r.record_name!);
        const zone = matchZone(zones, target);
        const sz: SolverZone = zone ? solverZone(zone) : { zoneName: await solver.zoneCut(target, signal), resolvers: [], propagationTimeoutSeconds: 0, extraDelaySeconds: 0 };
        for (const m of await solver.missing([{ fqdn: target, value: r.record_value!, zone: sz }], signal)) {
          missing.push({ identifier: r.identifier, message: `${m.server} does not answer TXT ${m.fqdn} with "${m.value}" yet` });
        }
      } catch (err) {
        missing.push({ identifier: r.identifier, message: `cannot check ${r.record_name}: ${(err as Error).message}` });
      }
    } else {
      const path = `/.well-known/acme-challenge/${r.token}`;
      const url = `http://${r.identifier}${path}`;
      // Resolve through the configured resolvers, as for dns-01, then fetch from port 80 the way a
      // CA does (RFC 8555 §8.3), with the name in the Host header.
      const addresses = isIP(r.identifier) ? [r.identifier] : await solver.addresses(r.identifier, signal);
      if (addresses.length === 0) {
        missing.push({ identifier: r.identifier, message: `${r.identifier} does not resolve to an address` });
        continue;
      }
      const answer = await httpGet(addresses[0]!, 80, path, r.identifier, signal).catch((err: Error) => err);
      if (answer instanceof Error) missing.push({ identifier: r.identifier, message: `${url} cannot be fetched from ${addresses[0]}: ${answer.message}` });
      else if (answer.status !== 200 || answer.body.trim() !== r.key_authorization) {
        missing.push({ identifier: r.identifier, message: `${url} answers ${answer.status}${answer.status === 200 ? ' with other content than the expected body' : ''}` });
      }
    }
  }
  return missing;
}

/** A plain HTTP GET with a 10 s limit and a 4 KiB body cap. */
function httpGet(address: string, port: number, path: string, host: string, signal: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: address, port, path, headers: { host }, signal, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (body.length > 4096) res.destroy();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end();
  });
}

/** The validation items of DESIGN.md for an order's challenges. */
export function validationItems(rows: ChallengeRow[]) {
  return rows.map((r) => {
    const common = { identifier: r.identifier, type: r.type, status: r.status };
    if (r.type === 'dns-01') {
      const at = r.target_name && r.target_name !== r.record_name ? ` (certkeeper writes it at ${r.target_name}, the CNAME target)` : '';
      return {
        ...common,
        recordName: r.record_name!,
        recordType: 'TXT',
        recordValue: r.record_value!,
        instructions: r.manual
          ? `Create a TXT record named ${r.record_name} with the value ${r.record_value} (keep any other TXT values on that name), wait until your DNS serves it, then call verify. Remove it after issuance.`
          : `certkeeper writes this record through the DNS zone's provider${at}; no action is needed.`,
      };
    }
    return {
      ...common,
      httpPath: `/.well-known/acme-challenge/${r.token}`,
      httpBody: r.key_authorization,
      instructions: r.manual
        ? `Serve the body exactly (no trailing newline needed) at http://${r.identifier}/.well-known/acme-challenge/${r.token} over plain HTTP on port 80, then call verify.`
        : `certkeeper's http-01 responder serves this; no action is needed.`,
    };
  });
}

/** How long the agents serving an order's http-01 tokens have to confirm them. */
const AGENT_ACK_TIMEOUT_MS = 60_000;

/**
 * Waits until every agent that serves some of the order's http-01 tokens confirmed it serves them
 * (they are woken at once; their next poll receives the set), so the CA is not told too early.
 */
async function waitForAgents(ctx: Context, order: OrderRow, agentIds: string[], signal: AbortSignal): Promise<void> {
  ctx.agentSignals.signal(...agentIds);
  const deadline = Date.now() + AGENT_ACK_TIMEOUT_MS;
  for (;;) {
    const waiting = (await ctx.http01.forOrder(order.id)).filter((t) => t.agent_id && !t.agent_ack_at);
    if (waiting.length === 0) return;
    if (Date.now() >= deadline || signal.aborted) {
      const names = await Promise.all([...new Set(waiting.map((t) => t.agent_id!))].map(async (id) => (await ctx.agents.get(order.tenant_id, id))?.name ?? id));
      throw new ChallengeFailure(`agent(s) ${names.join(', ')} did not confirm serving the http-01 challenge(s) of ${[...new Set(waiting.map((t) => t.identifier))].join(', ')} within ${AGENT_ACK_TIMEOUT_MS / 1000} s; is the agent running with --http01-listen or --http01-webroot?`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
