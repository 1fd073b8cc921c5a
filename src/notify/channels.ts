/**
 * Notification channels: create, change, delete and test. Settings are checked at once (and the
 * destination against the private-address policy); credentials and webhook URLs are sealed in the
 * key vault; a `generic` webhook's secret is generated when none is given and shown only once.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from '../lifecycle/context.js';
import { checkOutboundUrl } from '../lifecycle/address-policy.js';
import { DomainError, notFound, type FieldError } from '../domain-error.js';
import { iso } from '../store/time.js';
import { checkEventFilter } from './event-filter.js';
import {
  emailTarget, resolveChannelConfig, webhookTarget,
  type ChannelConfig, type ChannelType, type CredentialsInput, type SealedCredentials, type SettingsInput,
} from './channel-config.js';
import { ChannelStore, DeliveryStore, type ChannelRow } from './notification-store.js';
import { checkSmtpHost } from './smtp-host-policy.js';
import { EmailNotifier } from './email-notifier.js';
import { WebhookNotifier, type Fetch } from './webhook-notifier.js';
import type { DeliveryReceipt, Notifier } from './notifier.js';
import { renderNotification } from './notification.js';
import { checkDigest, startDigestDay, type DigestInput } from './digest.js';

/** The vault context of a channel's credentials. */
export const channelCredentialsContext = (channelId: string) => `notification_channels/${channelId}/credentials`;

/** Writable properties of a channel. */
export interface ChannelInput {
  name: string;
  type: ChannelType;
  events?: string[];
  enabled?: boolean;
  settings?: SettingsInput;
  credentials?: CredentialsInput;
  /** The optional daily digest (src/notify/digest.ts). */
  digest?: DigestInput;
}

/** A saved channel, with the secret certkeeper generated for it on this request, if any. */
export interface SavedChannel {
  row: ChannelRow;
  generatedSecret?: string;
}

const stateOf = (enabled: boolean) => (enabled
  ? { state: 'AVAILABLE', message: 'Enabled: events that match the filter are delivered' }
  : { state: 'DISABLED', message: 'Disabled: no events are delivered' });

/** The sealed credentials of a channel. */
export function openCredentials(ctx: Pick<Context, 'vault'>, row: ChannelRow): SealedCredentials {
  return row.credentials_enc ? JSON.parse(ctx.vault.openText(row.credentials_enc, channelCredentialsContext(row.id))) as SealedCredentials : {};
}

/** The notifier that delivers over `row`. */
export function notifierFor(ctx: Pick<Context, 'vault' | 'config'>, row: ChannelRow, opts: { fetch?: Fetch } = {}): Notifier {
  const settings = JSON.parse(row.settings_json) as Record<string, unknown>;
  const credentials = openCredentials(ctx, row);
  const allowPrivateAddresses = ctx.config.allowPrivateAddresses;
  return row.type === 'email'
    ? new EmailNotifier(emailTarget(settings, credentials), { allowPrivateAddresses })
    : new WebhookNotifier(webhookTarget(settings, credentials), { allowPrivateAddresses, ...(opts.fetch ? { fetch: opts.fetch } : {}) });
}

/** Checks the destination against the private-address policy. */
async function checkDestination(ctx: Context, config: ChannelConfig): Promise<void> {
  if (config.type === 'email') await checkSmtpHost(String(config.settings.smtpHost), 'properties.settings.smtpHost', ctx.config.allowPrivateAddresses);
  else if (config.credentials.url) {
    try {
      await checkOutboundUrl(config.credentials.url, 'properties.settings.url', ctx.config.allowPrivateAddresses);
    } catch (err) {
      // The URL may carry a token (Slack, Discord, Teams): never echo it.
      if (err instanceof DomainError) throw new DomainError(err.code, err.message, err.errors.map(({ value: _value, ...e }) => e));
      throw err;
    }
  }
}

function checkEvents(events: string[] | undefined): string[] {
  const errors: FieldError[] = [];
  const out = checkEventFilter(events, 'properties.events', errors);
  if (errors.length) throw new DomainError('validation_failed', `properties.events has ${errors.length} invalid entr${errors.length === 1 ? 'y' : 'ies'}: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}`, errors);
  return out;
}

async function checkNameFree(ctx: Context, tenantId: string, name: string): Promise<void> {
  const clash = await new ChannelStore(ctx.db).list(tenantId, { name }, 0, 1);
  if (clash.total > 0) throw new DomainError('conflict', `a notification channel named "${name}" already exists; choose another name`, [{ field: 'properties.name', value: name, message: 'already in use' }]);
}

/** The id of the newest event: a channel receives only events after it. */
async function lastEventId(ctx: Context): Promise<number> {
  const r = await ctx.db.kysely.selectFrom('events').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
  return Number(r?.m ?? 0);
}

/** Creates a channel. */
export async function createChannel(ctx: Context, tenantId: string, actor: string, input: ChannelInput): Promise<SavedChannel> {
  const events = checkEvents(input.events);
  const digestHour = input.digest === undefined ? null : checkDigest(input.digest);
  const config = resolveChannelConfig({ type: input.type, ...(input.settings ? { settings: input.settings } : {}), ...(input.credentials ? { credentials: input.credentials } : {}) });
  await checkDestination(ctx, config);
  await checkNameFree(ctx, tenantId, input.name);
  const id = randomUUID();
  const now = iso(ctx.clock());
  const enabled = input.enabled !== false;
  const row: ChannelRow = {
    id, tenant_id: tenantId, name: input.name, type: config.type,
    events_json: JSON.stringify(events),
    enabled: enabled ? 1 : 0,
    settings_json: JSON.stringify(config.settings),
    credentials_enc: Object.keys(config.credentials).length ? ctx.vault.seal(JSON.stringify(config.credentials), channelCredentialsContext(id)) : null,
    start_event_id: await lastEventId(ctx),
    // The slot that passed before the digest was switched on is not sent: the first is the next one.
    digest_hour: digestHour,
    digest_day: digestHour === null ? null : startDigestDay(ctx.clock(), digestHour, null),
    ...stateOf(enabled),
    last_delivery_at: null,
    created_at: now, created_by: actor, updated_at: now, updated_by: actor,
  };
  await new ChannelStore(ctx.db).insert(row);
  await ctx.events.append({ tenantId, type: 'notification_channel.created', subjectType: 'notification-channel', subjectId: id, actor, message: `notification channel ${row.name} (${describeKind(row)}) created`, data: { events } });
  return { row, ...(config.generatedSecret ? { generatedSecret: config.generatedSecret } : {}) };
}

/** Changes a channel. `settings` and `credentials`, when given, replace the stored ones (a webhook URL left out is kept). */
export async function updateChannel(ctx: Context, tenantId: string, actor: string, id: string, input: Partial<ChannelInput>): Promise<SavedChannel> {
  const store = new ChannelStore(ctx.db);
  const row = await store.get(tenantId, id);
  if (!row) throw notFound('notification channel', id);
  if (input.name !== undefined && input.name !== row.name) await checkNameFree(ctx, tenantId, input.name);
  const set: Partial<ChannelRow> = { updated_at: iso(ctx.clock()), updated_by: actor };
  if (input.events !== undefined) set.events_json = JSON.stringify(checkEvents(input.events));
  if (input.digest !== undefined) set.digest_hour = checkDigest(input.digest);
  let generatedSecret: string | undefined;
  if (input.type !== undefined || input.settings !== undefined || input.credentials !== undefined) {
    const config = resolveChannelConfig(
      { ...(input.type ? { type: input.type } : {}), ...(input.settings ? { settings: input.settings } : {}), ...(input.credentials ? { credentials: input.credentials } : {}) },
      { type: row.type as ChannelType, settings: JSON.parse(row.settings_json) as Record<string, unknown>, credentials: openCredentials(ctx, row) },
    );
    await checkDestination(ctx, config);
    set.type = config.type;
    set.settings_json = JSON.stringify(config.settings);
    set.credentials_enc = Object.keys(config.credentials).length ? ctx.vault.seal(JSON.stringify(config.credentials), channelCredentialsContext(id)) : null;
    generatedSecret = config.generatedSecret;
  }
  if (input.name !== undefined) set.name = input.name;
  if (input.enabled !== undefined) {
    set.enabled = input.enabled ? 1 : 0;
    Object.assign(set, stateOf(input.enabled));
  }
  // A digest switched on, moved to another hour, or whose channel is enabled again starts with the
  // next slot (one that passed meanwhile is not sent at once), and a day already sent stays sent.
  const digestHour = set.digest_hour !== undefined ? set.digest_hour : row.digest_hour;
  if (digestHour !== null && (digestHour !== row.digest_hour || (input.enabled === true && row.enabled === 0))) {
    set.digest_day = startDigestDay(ctx.clock(), digestHour, row.digest_day);
  }
  await store.update(tenantId, id, set);
  if (input.enabled === false) await new DeliveryStore(ctx.db).cancelPending(id, 'the channel was disabled', ctx.clock());
  await ctx.events.append({ tenantId, type: 'notification_channel.updated', subjectType: 'notification-channel', subjectId: id, actor, message: `notification channel ${set.name ?? row.name} updated${generatedSecret ? ' (new webhook secret)' : ''}` });
  return { row: (await store.get(tenantId, id))!, ...(generatedSecret ? { generatedSecret } : {}) };
}

/** Deletes a channel and its delivery records. */
export async function deleteChannel(ctx: Context, tenantId: string, actor: string, id: string): Promise<void> {
  const store = new ChannelStore(ctx.db);
  const row = await store.get(tenantId, id);
  if (!row) throw notFound('notification channel', id);
  await store.delete(tenantId, id);
  await ctx.events.append({ tenantId, type: 'notification_channel.deleted', subjectType: 'notification-channel', subjectId: id, actor, message: `notification channel ${row.name} deleted` });
}

/**
 * Sends a test message over a channel now (enabled or not), once, without retries. Resolves with
 * the receiver's answer; throws a DeliveryError when it did not accept the message.
 */
export async function testChannel(ctx: Context, tenantId: string, actor: string, id: string, signal: AbortSignal): Promise<DeliveryReceipt> {
  const row = await new ChannelStore(ctx.db).get(tenantId, id);
  if (!row) throw notFound('notification channel', id);
  const now = ctx.clock();
  const n = renderNotification({
    id: '0',
    type: 'notification_channel.test',
    createdAt: iso(now),
    subject: { type: 'notification-channel', id },
    message: `This is a test of the notification channel "${row.name}", sent by ${actor}. If you can read it, the channel works.`,
    data: {},
  }, `test-${randomUUID()}`, row.name);
  return notifierFor(ctx, row).send(n, signal, now);
}

/** "email", or "webhook/slack" and so on. */
export function describeKind(row: ChannelRow): string {
  if (row.type !== 'webhook') return row.type;
  const preset = (JSON.parse(row.settings_json) as { preset?: string }).preset ?? 'generic';
  return `webhook/${preset}`;
}
