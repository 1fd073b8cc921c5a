/**
 * Deployment targets: where a certificate goes. A target of type `agent` is a file layout on an
 * agent's host; the other types are agentless (src/deploy/targets/<code>/), run by the server.
 * Credentials (an SSH key, a webhook secret, a Kubernetes token, a PKCS#12 password) are sealed in
 * the vault and never read back.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { DomainError, notFound, type FieldError } from '../domain-error.js';
import type { DeploymentTargetRow } from '../store/deployments.js';
import { iso } from '../store/time.js';
import type { Context } from '../lifecycle/context.js';
import { DEPLOY_TARGETS } from './targets/index.js';
import type { AgentFileSettings, TargetManifest } from './types.js';

/** The type of an agent target. */
export const AGENT_TARGET = 'agent';

/** The vault context of a target's credentials. */
export const targetCredentialsContext = (targetId: string) => `deployment_targets/${targetId}/credentials`;

/** Writable properties of a deployment target. */
export interface TargetInput {
  name: string;
  type: string;
  agent?: string | null;
  settings?: Record<string, unknown>;
  credentials?: Record<string, string>;
  enabled?: boolean;
}

/** Every target type: `agent` and the agentless manifests. */
export function targetTypes(): string[] {
  return [AGENT_TARGET, ...DEPLOY_TARGETS.keys()];
}

const PATH_KEYS = ['certificatePath', 'chainPath', 'fullchainPath', 'keyPath', 'combinedPath', 'pkcs12Path'] as const;
const AGENT_KEYS = new Set<string>([...PATH_KEYS, 'owner', 'group', 'mode', 'reloadCommand', 'reloadTimeoutSeconds', 'probe']);
const isAbsolutePath = (p: string) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');

/** Checks the settings of an agent target; returns every problem. */
export function validateAgentSettings(s: Record<string, unknown>, credentials: Record<string, string>): FieldError[] {
  const errors: FieldError[] = [];
  const f = (name: string) => `properties.settings.${name}`;
  for (const key of Object.keys(s)) if (!AGENT_KEYS.has(key)) errors.push({ field: f(key), message: `unknown setting; an agent target takes ${[...AGENT_KEYS].join(', ')}` });
  const paths = PATH_KEYS.filter((k) => s[k] !== undefined);
  if (paths.length === 0) errors.push({ field: 'properties.settings', message: `name at least one file: ${PATH_KEYS.join(', ')}` });
  const seen = new Map<string, string>();
  for (const k of paths) {
    const v = s[k];
    if (typeof v !== 'string' || !isAbsolutePath(v) || v.length > 1024 || /[\0\n\r]/.test(v)) {
      errors.push({ field: f(k), message: 'expected an absolute path, e.g. /etc/ssl/certkeeper/example.pem' });
    } else if (seen.has(v)) {
      errors.push({ field: f(k), value: v, message: `the same file as ${seen.get(v)}` });
    } else seen.set(v, k);
  }
  for (const k of ['owner', 'group'] as const) {
    if (s[k] !== undefined && (typeof s[k] !== 'string' || !/^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,63}$/.test(s[k] as string))) {
      errors.push({ field: f(k), message: 'expected a user or group name, or a numeric id' });
    }
  }
  if (s.mode !== undefined && (typeof s.mode !== 'string' || !/^0?[0-7]{3}$/.test(s.mode))) errors.push({ field: f('mode'), message: 'expected an octal mode such as "0640"' });
  if (s.reloadCommand !== undefined && (typeof s.reloadCommand !== 'string' || s.reloadCommand.trim() === '' || s.reloadCommand.length > 4096 || /[\0\n\r]/.test(s.reloadCommand))) {
    errors.push({ field: f('reloadCommand'), message: 'expected one command line, e.g. "systemctl reload nginx"' });
  }
  if (s.reloadTimeoutSeconds !== undefined && !(Number.isInteger(s.reloadTimeoutSeconds) && (s.reloadTimeoutSeconds as number) >= 1 && (s.reloadTimeoutSeconds as number) <= 3600)) {
    errors.push({ field: f('reloadTimeoutSeconds'), message: 'expected whole seconds from 1 to 3600' });
  }
  if (s.probe !== undefined) errors.push(...validateProbe(s.probe, f('probe')));
  if (s.pkcs12Path !== undefined && !credentials.pkcs12Password) {
    errors.push({ field: 'properties.credentials.pkcs12Password', message: 'a PKCS#12 file needs a password; set credentials.pkcs12Password' });
  }
  for (const key of Object.keys(credentials)) {
    if (key !== 'pkcs12Password') errors.push({ field: `properties.credentials.${key}`, message: 'unknown credential; an agent target takes pkcs12Password' });
  }
  return errors;
}

/** Checks a probe setting (`{ host, port, serverName?, timeoutSeconds? }`). */
export function validateProbe(p: unknown, field: string): FieldError[] {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return [{ field, message: 'expected { "host", "port", "serverName"?, "timeoutSeconds"? }' }];
  const o = p as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const key of Object.keys(o)) if (!['host', 'port', 'serverName', 'timeoutSeconds'].includes(key)) errors.push({ field: `${field}.${key}`, message: 'unknown probe setting' });
  if (typeof o.host !== 'string' || !(isIP(o.host) || /^[A-Za-z0-9.-]{1,253}$/.test(o.host))) errors.push({ field: `${field}.host`, message: 'expected a host name or IP address' });
  if (!Number.isInteger(o.port) || (o.port as number) < 1 || (o.port as number) > 65535) errors.push({ field: `${field}.port`, message: 'expected a port from 1 to 65535' });
  if (o.serverName !== undefined && (typeof o.serverName !== 'string' || !/^[A-Za-z0-9.*-]{1,253}$/.test(o.serverName))) errors.push({ field: `${field}.serverName`, message: 'expected a DNS name (the SNI to send)' });
  if (o.timeoutSeconds !== undefined && !(Number.isInteger(o.timeoutSeconds) && (o.timeoutSeconds as number) >= 1 && (o.timeoutSeconds as number) <= 600)) {
    errors.push({ field: `${field}.timeoutSeconds`, message: 'expected whole seconds from 1 to 600' });
  }
  return errors;
}

function manifestOf(type: string): TargetManifest | undefined {
  return DEPLOY_TARGETS.get(type);
}

async function check(ctx: Context, tenantId: string, input: { type: string; agent?: string | null; settings: Record<string, unknown>; credentials: Record<string, string> }): Promise<string | null> {
  const errors: FieldError[] = [];
  let agentId: string | null = null;
  if (input.type === AGENT_TARGET) {
    if (!input.agent) errors.push({ field: 'properties.agent', message: 'a target of type agent names its agent (id or name)' });
    else {
      const agent = await ctx.agents.find(tenantId, input.agent);
      if (!agent) errors.push({ field: 'properties.agent', value: input.agent, message: 'no such agent; create it first (POST /api/v1/agents)' });
      else agentId = agent.id;
    }
    errors.push(...validateAgentSettings(input.settings, input.credentials));
  } else {
    const manifest = manifestOf(input.type);
    if (!manifest) {
      errors.push({ field: 'properties.type', value: input.type, message: `unknown type; one of ${targetTypes().join(', ')}` });
    } else {
      if (input.agent) errors.push({ field: 'properties.agent', message: `a target of type ${input.type} runs on the server; remove agent` });
      errors.push(...manifest.validate(input.settings, input.credentials).map((e) => ({ ...e, field: e.field.startsWith('properties.') ? e.field : `properties.${e.field}` })));
    }
  }
  if (errors.length) throw new DomainError('validation_failed', `the deployment target's ${[...new Set(errors.map((e) => e.field.split('.')[1]))].join(', ')} need fixing`, errors);
  return agentId;
}

/** Creates a target. */
export async function createTarget(ctx: Context, tenantId: string, actor: string, input: TargetInput): Promise<DeploymentTargetRow> {
  const settings = input.settings ?? {};
  const credentials = input.credentials ?? {};
  const agentId = await check(ctx, tenantId, { type: input.type, agent: input.agent ?? null, settings, credentials });
  if ((await ctx.deploymentTargets.list(tenantId, { name: input.name }, 0, 1)).total > 0) {
    throw new DomainError('conflict', `a deployment target named "${input.name}" already exists; choose another name`, [{ field: 'properties.name', value: input.name, message: 'already in use' }]);
  }
  const id = randomUUID();
  const now = iso(ctx.clock());
  const row: DeploymentTargetRow = {
    id, tenant_id: tenantId, name: input.name, type: input.type, agent_id: agentId,
    settings_json: JSON.stringify(settings),
    credentials_enc: Object.keys(credentials).length ? ctx.vault.seal(JSON.stringify(credentials), targetCredentialsContext(id)) : null,
    enabled: input.enabled === false ? 0 : 1,
    created_at: now, created_by: actor, updated_at: now, updated_by: actor,
  };
  await ctx.deploymentTargets.insert(row);
  await ctx.events.append({ tenantId, type: 'deployment_target.created', subjectType: 'deployment_target', subjectId: id, actor, message: `deployment target ${input.name} (${input.type}) created` });
  return row;
}

/** The credentials of a target, opened. */
export function targetCredentials(ctx: Pick<Context, 'vault'>, row: DeploymentTargetRow): Record<string, string> {
  return row.credentials_enc ? JSON.parse(ctx.vault.openText(row.credentials_enc, targetCredentialsContext(row.id))) as Record<string, string> : {};
}

/** Changes a target; credentials given replace the stored ones key by key (`null` removes one). */
export async function updateTarget(ctx: Context, tenantId: string, actor: string, id: string, input: Partial<Omit<TargetInput, 'credentials'>> & { credentials?: Record<string, string | null> }): Promise<DeploymentTargetRow> {
  const row = await ctx.deploymentTargets.get(tenantId, id);
  if (!row) throw notFound('deployment target', id);
  if (input.type !== undefined && input.type !== row.type) {
    throw new DomainError('validation_failed', 'the type of a deployment target cannot change; create a new target', [{ field: 'properties.type', value: input.type, message: `this target is of type ${row.type}` }]);
  }
  const settings = input.settings ?? JSON.parse(row.settings_json) as Record<string, unknown>;
  const credentials = targetCredentials(ctx, row);
  for (const [k, v] of Object.entries(input.credentials ?? {})) {
    if (v === null) delete credentials[k];
    else credentials[k] = v;
  }
  const agentId = await check(ctx, tenantId, { type: row.type, agent: input.agent !== undefined ? input.agent : row.agent_id, settings, credentials });
  if (input.name !== undefined && input.name !== row.name) {
    const taken = await ctx.deploymentTargets.list(tenantId, { name: input.name }, 0, 1);
    if (taken.total > 0) throw new DomainError('conflict', `a deployment target named "${input.name}" already exists; choose another name`, [{ field: 'properties.name', value: input.name, message: 'already in use' }]);
  }
  await ctx.deploymentTargets.update(tenantId, id, {
    name: input.name ?? row.name,
    agent_id: agentId,
    settings_json: JSON.stringify(settings),
    credentials_enc: Object.keys(credentials).length ? ctx.vault.seal(JSON.stringify(credentials), targetCredentialsContext(id)) : null,
    enabled: input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
    updated_at: iso(ctx.clock()), updated_by: actor,
  });
  await ctx.events.append({ tenantId, type: 'deployment_target.updated', subjectType: 'deployment_target', subjectId: id, actor, message: `deployment target ${input.name ?? row.name} updated` });
  return (await ctx.deploymentTargets.get(tenantId, id))!;
}

/** Deletes a target that no auto certificate lists. */
export async function deleteTarget(ctx: Context, tenantId: string, actor: string, id: string): Promise<void> {
  const row = await ctx.deploymentTargets.get(tenantId, id);
  if (!row) throw notFound('deployment target', id);
  const used = await ctx.deploymentTargets.usage(id);
  if (used > 0) throw new DomainError('conflict', `deployment target ${row.name} is listed by ${used} auto certificate(s); remove it from their deploymentTargets first`);
  await ctx.deploymentTargets.delete(tenantId, id);
  await ctx.events.append({ tenantId, type: 'deployment_target.deleted', subjectType: 'deployment_target', subjectId: id, actor, message: `deployment target ${row.name} deleted` });
}

/** The settings of an agent target, typed. */
export function agentSettings(row: DeploymentTargetRow): AgentFileSettings {
  return JSON.parse(row.settings_json) as AgentFileSettings;
}
