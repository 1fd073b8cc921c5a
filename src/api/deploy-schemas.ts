/** Route schemas of deployment: agents, deployment targets, deployments, and the agent protocol. */
import { Type, type TSchema } from 'typebox';
import { SINGLE_LINE } from './schemas.js';

// Null first: the validator coerces types, and would turn null into "" (or 0) when the other type is tried first.
const Nullable = <T extends TSchema>(t: T) => Type.Union([Type.Null(), t]);
const Str = (o: Record<string, unknown> = {}) => Type.String({ minLength: 1, maxLength: 1000, pattern: SINGLE_LINE, ...o });

const AgentWritable = {
  name: Str({ maxLength: 200, description: 'Unique name of the agent in the tenant, e.g. the host name' }),
  description: Type.Optional(Nullable(Str({ maxLength: 1000 }))),
  http01Names: Type.Optional(Type.Array(Str({ maxLength: 253 }), { maxItems: 100, description: 'Names (a leading "*." for every name directly under a domain) whose http-01 challenges this agent answers' })),
};

/** POST /agents */
export const AgentCreate = Type.Object({ properties: Type.Object(AgentWritable, { additionalProperties: false }) }, { additionalProperties: false });
/** PATCH /agents/:id */
export const AgentPatch = Type.Object({
  properties: Type.Object({ name: Type.Optional(AgentWritable.name), description: AgentWritable.description, http01Names: AgentWritable.http01Names }, { additionalProperties: false }),
}, { additionalProperties: false });

/** Probe, paths, reload: free-form here, checked per target type (agent, or a manifest's validate). */
const Settings = Type.Record(Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,99}$' }), Type.Unknown(), {
  additionalProperties: false, maxProperties: 50, description: 'Settings of the target type (see docs/deployment-targets.md and docs/agent.md)',
});
const Credentials = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,99}$' }), Type.String({ maxLength: 20_000 }), {
  additionalProperties: false, maxProperties: 20, description: 'Secrets of the target (SSH key, webhook secret, Kubernetes token, PKCS#12 password); write-only, stored encrypted',
});

/** POST /deployment-targets */
export const TargetCreate = Type.Object({
  properties: Type.Object({
    name: Str({ maxLength: 200 }),
    type: Str({ maxLength: 50, description: 'agent, ssh, script, webhook or kubernetes-secret' }),
    agent: Type.Optional(Nullable(Str({ maxLength: 200, description: 'The agent (id or name), for type agent' }))),
    settings: Type.Optional(Settings),
    credentials: Type.Optional(Credentials),
    enabled: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
}, { additionalProperties: false });
/** PATCH /deployment-targets/:id (a credential set to null is removed) */
export const TargetPatch = Type.Object({
  properties: Type.Object({
    name: Type.Optional(Str({ maxLength: 200 })),
    type: Type.Optional(Str({ maxLength: 50 })),
    agent: Type.Optional(Nullable(Str({ maxLength: 200 }))),
    settings: Type.Optional(Settings),
    credentials: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,99}$' }), Nullable(Type.String({ maxLength: 20_000 })), { additionalProperties: false, maxProperties: 20 })),
    enabled: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** POST /certificates/:id/deploy */
export const DeployBody = Type.Object({
  targets: Type.Array(Str({ maxLength: 200 }), { minItems: 1, maxItems: 100, description: 'Deployment targets (ids or names)' }),
}, { additionalProperties: false });

/** GET /auto-certificates/:id/certificate */
export const PullQuery = Type.Object({
  includePrivateKey: Type.Optional(Type.Boolean({ description: 'Append the private key (PKCS#8 PEM) to the bundle; needs a role or consumer token allowed to export keys' })),
}, { additionalProperties: false });

// ---- the agent protocol ----

/** POST /agent/enrol */
export const EnrolBody = Type.Object({
  token: Str({ maxLength: 200 }),
  hostname: Str({ maxLength: 253 }),
  version: Str({ maxLength: 100 }),
  platform: Str({ maxLength: 100 }),
}, { additionalProperties: false });
/** POST /agent/heartbeat */
export const HeartbeatBody = Type.Object({
  hostname: Str({ maxLength: 253 }),
  version: Str({ maxLength: 100 }),
  platform: Str({ maxLength: 100 }),
  http01: Type.Optional(Str({ maxLength: 1100 })),
}, { additionalProperties: false });
/** GET /agent/work */
export const WorkQuery = Type.Object({
  wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 30, default: 25, description: 'Seconds to hold the request open while there is no work' })),
}, { additionalProperties: false });
/** POST /agent/deployments/:id/result */
export const ResultBody = Type.Object({
  state: Type.Union([Type.Literal('DEPLOYED'), Type.Literal('FAILED')]),
  message: Type.String({ minLength: 1, maxLength: 2000 }),
  output: Type.Optional(Type.String({ maxLength: 65_536 })),
  servedSerial: Type.Optional(Type.String({ maxLength: 200, pattern: '^[0-9A-Fa-f:]*$' })),
  skipped: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
/** POST /agent/http-01/ack */
export const AckBody = Type.Object({
  tokens: Type.Array(Type.String({ maxLength: 200, pattern: '^[A-Za-z0-9_-]*$' }), { maxItems: 1000 }),
}, { additionalProperties: false });
/** POST /agent/csr/:id */
export const CsrBody = Type.Object({ csr: Type.String({ minLength: 100, maxLength: 20_000 }) }, { additionalProperties: false });
