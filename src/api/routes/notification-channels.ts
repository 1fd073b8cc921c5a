/** /notification-channels: where events are sent (e-mail over SMTP, webhooks), and what happened to each delivery. */
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static, type TSchema } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { DomainError, notFound } from '../../domain-error.js';
import { createChannel, deleteChannel, openCredentials, testChannel, updateChannel } from '../../notify/channels.js';
import { CHANNEL_TYPES } from '../../notify/channel-config.js';
import { DEFAULT_DIGEST_HOUR, digestView } from '../../notify/digest.js';
import { asDeliveryError } from '../../notify/delivery-error.js';
import { ChannelStore, DeliveryStore, type ChannelRow, type DeliveryRow } from '../../notify/notification-store.js';
import { SEND_TIMEOUT_MS } from '../../notify/notifier.js';
import { WEBHOOK_PRESETS } from '../../notify/webhook-presets.js';
import { BASE, collection, resourceMetadata } from '../envelope.js';
import { problem } from '../problems.js';
import { IdParams, ListQuery, SINGLE_LINE } from '../schemas.js';
import { filters } from '../app.js';

const literalUnion = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Str = (o: Record<string, unknown> = {}) => Type.String({ minLength: 1, maxLength: 1000, pattern: SINGLE_LINE, ...o });
const Secret = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: `${description}; write-only` }));

const Settings = Type.Object({
  to: Type.Optional(Type.Array(Type.String({ minLength: 3, maxLength: 320, pattern: SINGLE_LINE }), { minItems: 1, maxItems: 50, description: 'email: recipient addresses' })),
  from: Type.Optional(Str({ maxLength: 320, description: 'email: sender, e.g. "certkeeper <certkeeper@example.com>"' })),
  smtpHost: Type.Optional(Str({ maxLength: 253, description: 'email: SMTP server host name or IP address' })),
  smtpPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'email: default 587, or 465 with secure' })),
  secure: Type.Optional(Type.Boolean({ description: 'email: implicit TLS (SMTPS, usually port 465)' })),
  starttls: Type.Optional(literalUnion(['required', 'opportunistic', 'never'])),
  subjectPrefix: Type.Optional(Type.String({ maxLength: 100, pattern: SINGLE_LINE, description: 'email: default "[certkeeper]"' })),
  url: Type.Optional(Str({ maxLength: 2000, description: 'webhook: the URL to POST to (telegram: the Bot API base, default https://api.telegram.org). Stored encrypted; read back as scheme://host/…' })),
  preset: Type.Optional(literalUnion(WEBHOOK_PRESETS)),
  chatId: Type.Optional(Str({ maxLength: 200, description: 'webhook/telegram: the chat id' })),
}, { additionalProperties: false, description: 'Settings of the channel type (see docs/notifications.md)' });

const Credentials = Type.Object({
  smtpUser: Secret('email: SMTP user'),
  smtpPassword: Secret('email: SMTP password'),
  secret: Secret('webhook/generic: HMAC-SHA256 key, at least 16 characters; generated when left out'),
  botToken: Secret('webhook/telegram: bot token'),
  token: Secret('webhook/ntfy: access token'),
}, { additionalProperties: false, description: 'Secrets of the channel; write-only, stored encrypted' });

const Digest = Type.Object({
  enabled: Type.Boolean({ description: 'true: send one summary message a day (expiring and failing certificates, the last 24 hours); false: none' }),
  hour: Type.Optional(Type.Integer({ minimum: 0, maximum: 23, description: `hour of the day (UTC) of the digest, 0–23; default ${DEFAULT_DIGEST_HOUR}` })),
}, { additionalProperties: false, description: 'The optional daily digest, sent whatever the events filter (see docs/notifications.md); default none' });

const Writable = {
  name: Str({ maxLength: 200, description: 'Unique name of the channel in the tenant' }),
  type: literalUnion(CHANNEL_TYPES),
  events: Type.Optional(Type.Array(Str({ maxLength: 100 }), { maxItems: 100, description: 'Event types, "<prefix>.*" patterns or "*"; default every event' })),
  enabled: Type.Optional(Type.Boolean()),
  settings: Type.Optional(Settings),
  credentials: Type.Optional(Credentials),
  digest: Type.Optional(Digest),
};

/** POST /notification-channels */
const ChannelCreate = Type.Object({ properties: Type.Object(Writable, { additionalProperties: false }) }, { additionalProperties: false });
/** PATCH /notification-channels/:id */
const ChannelPatch = Type.Object({
  properties: Type.Object({
    name: Type.Optional(Writable.name),
    type: Type.Optional(Writable.type),
    events: Writable.events,
    enabled: Writable.enabled,
    settings: Writable.settings,
    credentials: Writable.credentials,
    digest: Writable.digest,
  }, { additionalProperties: false }),
}, { additionalProperties: false });

const DeliveryParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, pattern: SINGLE_LINE }), deliveryId: Type.String({ minLength: 1, maxLength: 200, pattern: SINGLE_LINE }) }, { additionalProperties: false });

const TestResult = Type.Object({ delivered: Type.Boolean(), status: Type.Optional(Type.Integer()), detail: Type.String() });

/** A channel as the API shows it: credentials never, only which are set; `generatedSecret` only once. */
function channelResource(ctx: Context, row: ChannelRow, generatedSecret?: string) {
  const credentialsSet = Object.keys(openCredentials(ctx, row)).filter((k) => k !== 'url').sort();
  return {
    id: row.id,
    type: 'notification-channel',
    href: `${BASE}/notification-channels/${row.id}`,
    metadata: resourceMetadata(row, {
      lastDeliveryAt: row.last_delivery_at,
      credentialsSet,
      ...(generatedSecret ? { generatedSecret } : {}),
    }),
    properties: {
      name: row.name,
      type: row.type,
      events: JSON.parse(row.events_json) as string[],
      enabled: row.enabled === 1,
      settings: JSON.parse(row.settings_json) as Record<string, unknown>,
      digest: digestView(row),
    },
  };
}

/** A delivery as the API shows it. */
function deliveryResource(row: DeliveryRow) {
  const message = row.state === 'delivered' ? `Delivered at ${row.delivered_at}`
    : row.state === 'pending' ? (row.last_error ? `Attempt ${row.attempts} failed; next attempt at ${row.next_attempt_at}: ${row.last_error}` : `Waiting to be sent (${row.next_attempt_at})`)
      : row.state === 'sending' ? `Sending (attempt ${row.attempts})`
        : row.last_error ?? row.state;
  return {
    id: row.id,
    type: 'notification-delivery',
    href: `${BASE}/notification-channels/${row.channel_id}/deliveries/${row.id}`,
    metadata: {
      createdDate: row.created_at,
      createdBy: 'system',
      lastModifiedDate: row.updated_at,
      lastModifiedBy: 'system',
      state: row.state.toUpperCase(),
      message,
    },
    properties: {
      channel: row.channel_id,
      // A daily digest is no event of the log (its row keeps minus its day number here).
      event: row.event_id < 0 ? null : String(row.event_id),
      eventType: row.event_type,
      attempts: row.attempts,
      nextAttemptAt: row.state === 'pending' ? row.next_attempt_at : null,
      lastStatus: row.last_status,
      lastError: row.last_error,
      deliveredAt: row.delivered_at,
    },
  };
}

/** Routes of the notification channel resource. */
export const notificationChannelRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['notification-channels'];
  const channels = new ChannelStore(ctx.db);
  const deliveries = new DeliveryStore(ctx.db);
  const getChannel = async (tenantId: string, id: string) => {
    const row = await channels.get(tenantId, id);
    if (!row) throw notFound('notification channel', id);
    return row;
  };

  app.get<{ Querystring: Static<typeof ListQuery> }>('/notification-channels', { config: { access: 'read' }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const f = filters(req.query, ['name', 'type', 'state']);
    const page = await channels.list(req.principal.tenantId, f, req.query.offset ?? 0, req.query.limit ?? 100);
    return collection('notification-channels', 'notification-channels', page, (row) => channelResource(ctx, row));
  });
  app.get<{ Params: Static<typeof IdParams> }>('/notification-channels/:id', { config: { access: 'read' }, schema: { tags, params: IdParams } }, async (req) =>
    channelResource(ctx, await getChannel(req.principal.tenantId, req.params.id)));
  app.post<{ Body: Static<typeof ChannelCreate> }>('/notification-channels', { config: { access: 'administer' }, schema: { tags, body: ChannelCreate } }, async (req, reply) => {
    const saved = await createChannel(ctx, req.principal.tenantId, req.principal.name, req.body.properties as Parameters<typeof createChannel>[3]);
    const res = channelResource(ctx, saved.row, saved.generatedSecret);
    return reply.code(201).header('location', res.href).send(res);
  });
  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof ChannelPatch> }>('/notification-channels/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams, body: ChannelPatch } }, async (req) => {
    const saved = await updateChannel(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body.properties as Parameters<typeof updateChannel>[4]);
    return channelResource(ctx, saved.row, saved.generatedSecret);
  });
  app.delete<{ Params: Static<typeof IdParams> }>('/notification-channels/:id', { config: { access: 'administer' }, schema: { tags, params: IdParams } }, async (req, reply) => {
    await deleteChannel(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: Static<typeof IdParams> }>('/notification-channels/:id/test', { config: { access: 'administer' }, schema: { tags, params: IdParams, response: { 200: TestResult } as Record<number, TSchema> } }, async (req, reply) => {
    try {
      const receipt = await testChannel(ctx, req.principal.tenantId, req.principal.name, req.params.id, AbortSignal.timeout(SEND_TIMEOUT_MS + 5_000));
      return { delivered: true, ...(receipt.status !== undefined ? { status: receipt.status } : {}), detail: receipt.detail };
    } catch (err) {
      if (err instanceof DomainError) throw err;
      const e = asDeliveryError(err);
      const p = problem('notification_failed', `the test message was not delivered: ${e.message}`, [], req.url.split('?')[0]);
      return reply.code(p.status).type('application/problem+json').send(p);
    }
  });
  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>('/notification-channels/:id/deliveries', { config: { access: 'read' }, schema: { tags, params: IdParams, querystring: ListQuery } }, async (req) => {
    const row = await getChannel(req.principal.tenantId, req.params.id);
    const f = filters(req.query, ['state', 'eventType']);
    const page = await deliveries.list(req.principal.tenantId, row.id, { ...f, ...(f.state ? { state: f.state.toLowerCase() } : {}) }, req.query.offset ?? 0, req.query.limit ?? 100);
    return collection('notification-deliveries', `notification-channels/${row.id}/deliveries`, page, deliveryResource);
  });
  app.get<{ Params: Static<typeof DeliveryParams> }>('/notification-channels/:id/deliveries/:deliveryId', { config: { access: 'read' }, schema: { tags, params: DeliveryParams } }, async (req) => {
    const row = await getChannel(req.principal.tenantId, req.params.id);
    const d = await deliveries.get(req.principal.tenantId, row.id, req.params.deliveryId);
    if (!d) throw notFound('delivery', req.params.deliveryId);
    return deliveryResource(d);
  });
};
