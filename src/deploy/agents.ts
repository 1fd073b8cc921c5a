/**
 * Agents: created by an admin with a one-time enrolment token; the agent trades it for its own
 * credential (only hashes are stored), then authenticates with that. Re-issuing an enrolment token
 * lets a reinstalled host enrol again (its old credential stays valid until then); revoking ends the
 * credential at once. An agent is ONLINE while it polled within {@link ONLINE_WINDOW_MS}.
 */
import { randomUUID } from 'node:crypto';
import { hashToken, newSecret } from '../store/access.js';
import type { AgentRow } from '../store/deployments.js';
import { iso } from '../store/time.js';
import { DomainError, notFound } from '../domain-error.js';
import { normalizeName } from '../pki/names.js';
import type { Context } from '../lifecycle/context.js';

/** An enrolment token is valid this long. */
export const ENROLMENT_TTL_MS = 7 * 86_400_000;
/** An agent that polled within this window is online (it polls at least every 30 s). */
export const ONLINE_WINDOW_MS = 90_000;

/** Writable properties of an agent. */
export interface AgentInput {
  name: string;
  description?: string | null;
  /** Names (wildcards allowed) whose http-01 challenges this agent answers. */
  http01Names?: string[];
}

/** The state an agent shows. */
export function agentState(row: AgentRow, now: Date): { state: string; message: string } {
  if (row.revoked_at) return { state: 'REVOKED', message: `Revoked ${row.revoked_at}; issue a new enrolment token to enrol it again` };
  if (!row.enrolled_at) return { state: 'PENDING', message: 'Waiting for the agent to enrol with its one-time token' };
  if (row.last_seen_at && now.getTime() - Date.parse(row.last_seen_at) <= ONLINE_WINDOW_MS) {
    return { state: 'ONLINE', message: `Connected from ${row.hostname ?? 'an unknown host'}` };
  }
  return { state: 'OFFLINE', message: row.last_seen_at ? `Last seen ${row.last_seen_at}` : 'Enrolled, never connected since' };
}

function checkHttp01Names(names: string[] | undefined): string[] {
  if (!names) return [];
  const out: string[] = [];
  const errors = names.flatMap((n, i) => {
    const r = normalizeName(n);
    if ('reason' in r) return [{ field: `properties.http01Names[${i}]`, value: n, message: r.reason }];
    out.push(r.name);
    return [];
  });
  if (errors.length) throw new DomainError('validation_failed', 'http01Names must be DNS names (a leading "*." maps every name directly under it)', errors);
  return [...new Set(out)];
}

async function checkNameFree(ctx: Context, tenantId: string, name: string, except?: string): Promise<void> {
  const taken = await ctx.agents.list(tenantId, { name }, 0, 1);
  if (taken.items.some((a) => a.id !== except)) {
    throw new DomainError('conflict', `an agent named "${name}" already exists; choose another name`, [{ field: 'properties.name', value: name, message: 'already in use' }]);
  }
}

/** Creates an agent; its one-time enrolment token is returned once. */
export async function createAgent(ctx: Context, tenantId: string, actor: string, input: AgentInput): Promise<{ row: AgentRow; enrolmentToken: string }> {
  const http01 = checkHttp01Names(input.http01Names);
  await checkNameFree(ctx, tenantId, input.name);
  const now = ctx.clock();
  const enrolmentToken = newSecret('cke');
  const row: AgentRow = {
    id: randomUUID(), tenant_id: tenantId, name: input.name, description: input.description ?? null,
    enrolment_hash: hashToken(enrolmentToken), enrolment_expires_at: iso(new Date(now.getTime() + ENROLMENT_TTL_MS)),
    credential_hash: null, enrolled_at: null, revoked_at: null, hostname: null, version: null, platform: null, http01_mode: null,
    http01_names_json: JSON.stringify(http01), last_seen_at: null,
    created_at: iso(now), created_by: actor, updated_at: iso(now), updated_by: actor,
  };
  await ctx.agents.insert(row);
  await ctx.events.append({ tenantId, type: 'agent.created', subjectType: 'agent', subjectId: row.id, actor, message: `agent ${row.name} created; waiting for enrolment` });
  return { row, enrolmentToken };
}

/** Changes an agent's name, description or http-01 names. */
export async function updateAgent(ctx: Context, tenantId: string, actor: string, id: string, input: Partial<AgentInput>): Promise<AgentRow> {
  const row = await ctx.agents.get(tenantId, id);
  if (!row) throw notFound('agent', id);
  const set: Partial<AgentRow> = { updated_at: iso(ctx.clock()), updated_by: actor };
  if (input.name !== undefined && input.name !== row.name) {
    await checkNameFree(ctx, tenantId, input.name, id);
    set.name = input.name;
  }
  if (input.description !== undefined) set.description = input.description;
  if (input.http01Names !== undefined) set.http01_names_json = JSON.stringify(checkHttp01Names(input.http01Names));
  await ctx.agents.update(tenantId, id, set);
  await ctx.events.append({ tenantId, type: 'agent.updated', subjectType: 'agent', subjectId: id, actor, message: `agent ${set.name ?? row.name} updated` });
  return (await ctx.agents.get(tenantId, id))!;
}

/** A new one-time enrolment token (the current credential stays valid until it is used). */
export async function reissueEnrolment(ctx: Context, tenantId: string, actor: string, id: string): Promise<{ row: AgentRow; enrolmentToken: string }> {
  const row = await ctx.agents.get(tenantId, id);
  if (!row) throw notFound('agent', id);
  const now = ctx.clock();
  const enrolmentToken = newSecret('cke');
  await ctx.agents.update(tenantId, id, {
    enrolment_hash: hashToken(enrolmentToken), enrolment_expires_at: iso(new Date(now.getTime() + ENROLMENT_TTL_MS)),
    revoked_at: null, updated_at: iso(now), updated_by: actor,
  });
  await ctx.events.append({ tenantId, type: 'agent.updated', subjectType: 'agent', subjectId: id, actor, message: `new enrolment token issued for agent ${row.name}` });
  return { row: (await ctx.agents.get(tenantId, id))!, enrolmentToken };
}

/** Revokes an agent's credential and enrolment token: its next call is refused. */
export async function revokeAgent(ctx: Context, tenantId: string, actor: string, id: string): Promise<AgentRow> {
  const row = await ctx.agents.get(tenantId, id);
  if (!row) throw notFound('agent', id);
  const now = iso(ctx.clock());
  await ctx.agents.update(tenantId, id, { credential_hash: null, enrolment_hash: null, enrolment_expires_at: null, revoked_at: now, updated_at: now, updated_by: actor });
  await ctx.events.append({ tenantId, type: 'agent.revoked', subjectType: 'agent', subjectId: id, actor, message: `agent ${row.name} revoked` });
  return (await ctx.agents.get(tenantId, id))!;
}

/** Deletes an agent that no deployment target uses. */
export async function deleteAgent(ctx: Context, tenantId: string, actor: string, id: string): Promise<void> {
  const row = await ctx.agents.get(tenantId, id);
  if (!row) throw notFound('agent', id);
  const targets = await ctx.deploymentTargets.byAgent(tenantId, id);
  if (targets.length > 0) {
    throw new DomainError('conflict', `agent ${row.name} is used by deployment target(s) ${targets.map((t) => t.name).join(', ')}; delete or change them first`);
  }
  await ctx.agents.delete(tenantId, id);
  await ctx.events.append({ tenantId, type: 'agent.deleted', subjectType: 'agent', subjectId: id, actor, message: `agent ${row.name} deleted` });
}

/** What an agent says of itself when it enrols or beats. */
export interface AgentFacts {
  hostname: string;
  version: string;
  platform: string;
  http01?: string;
}

/** Trades a one-time enrolment token for the agent's credential (returned once). */
export async function enrolAgent(ctx: Context, token: string, facts: AgentFacts): Promise<{ row: AgentRow; credential: string }> {
  const row = await ctx.agents.byEnrolment(hashToken(token));
  const now = ctx.clock();
  if (!row || !row.enrolment_expires_at || Date.parse(row.enrolment_expires_at) <= now.getTime()) {
    throw new DomainError('unauthorized', 'this enrolment token is unknown, used or expired; ask an admin for a new one (POST /api/v1/agents/{id}/enrolment-token)');
  }
  const credential = newSecret('cka');
  // Compare-and-set on the enrolment hash: two agents racing with one token, only one enrols.
  const changed = await ctx.db.kysely.updateTable('agents').set({
    enrolment_hash: null, enrolment_expires_at: null, credential_hash: hashToken(credential), enrolled_at: iso(now), revoked_at: null,
    hostname: facts.hostname, version: facts.version, platform: facts.platform, http01_mode: facts.http01 ?? null,
    last_seen_at: iso(now), updated_at: iso(now), updated_by: `agent:${row.name}`,
  }).where('id', '=', row.id).where('enrolment_hash', '=', hashToken(token)).executeTakeFirst();
  if (Number(changed.numUpdatedRows) !== 1) throw new DomainError('unauthorized', 'this enrolment token was used a moment ago by another agent');
  await ctx.events.append({ tenantId: row.tenant_id, type: 'agent.enrolled', subjectType: 'agent', subjectId: row.id, actor: `agent:${row.name}`, message: `agent ${row.name} enrolled from ${facts.hostname}` });
  return { row: (await ctx.agents.get(row.tenant_id, row.id))!, credential };
}

/** The agent a credential belongs to, or undefined. */
export async function authenticateAgent(ctx: Context, credential: string): Promise<AgentRow | undefined> {
  return ctx.agents.byCredential(hashToken(credential));
}

/** Records that an agent is alive (at most every few seconds, to spare the database). */
export async function touchAgent(ctx: Context, row: AgentRow, facts?: AgentFacts): Promise<void> {
  const now = ctx.clock();
  if (!facts && row.last_seen_at && now.getTime() - Date.parse(row.last_seen_at) < 5_000) return;
  const set: Partial<AgentRow> = { last_seen_at: iso(now) };
  if (facts) Object.assign(set, { hostname: facts.hostname, version: facts.version, platform: facts.platform, http01_mode: facts.http01 ?? null });
  await ctx.agents.update(row.tenant_id, row.id, set);
}

/** Whether `name` is covered by one of an agent's http-01 names (`*.x` covers one label under x). */
export function agentServesName(http01Names: string[], name: string): boolean {
  return http01Names.some((pattern) => {
    if (!pattern.startsWith('*.')) return pattern === name;
    const base = pattern.slice(2);
    return name.endsWith(`.${base}`) && !name.slice(0, -base.length - 1).includes('.');
  });
}
