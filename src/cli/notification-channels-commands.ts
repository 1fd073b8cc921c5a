/**
 * `certkeeper notification-channels …` (alias `channels`): where events are sent, by e-mail over
 * SMTP or by webhook (certkeeper's signed JSON, or the slack, teams, discord, telegram and ntfy
 * presets), with an event filter. Credentials are write-only: sent, never printed (the API names
 * only which are set). The secret certkeeper generates for a generic webhook comes in the one
 * response that made it: the CLI prints it once, and `--json` keeps it.
 */
import type { Command } from 'commander';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { collect, enabledEdit, pagingOf, printList, resolveId, runAction, sendWithChoices, seg, withConnection, withPaging, type ChoiceField, type CommandContext } from './command-kit.js';
import { credentialsFrom, editedSettings, settingsFrom, settingsObject, withKeyValueOptions, type CredentialsFlags, type SettingShapes, type SettingsFlags } from './key-values.js';
import { humanise, renderBlock, settingsText, type Column } from './output.js';

/**
 * How `--setting` reads a channel's settings: `to` takes one recipient per entry; addresses, URLs,
 * the subject prefix and a Telegram chat id (`-1001234567890`) stay text whatever they look like.
 */
const SHAPES: SettingShapes = { lists: ['to'], text: ['from', 'smtpHost', 'subjectPrefix', 'url', 'chatId'] };

/** `email`, or `webhook/<preset>`. */
function kind(r: Resource): string {
  const preset = settingsObject(r.properties.settings).preset;
  return r.properties.type === 'webhook' ? `webhook/${typeof preset === 'string' ? preset : 'generic'}` : String(r.properties.type);
}

/** Where the messages go: the recipients of an e-mail channel, the (redacted) URL of a webhook. */
function destination(r: Resource): unknown {
  const s = settingsObject(r.properties.settings);
  return r.properties.type === 'email' ? s.to : s.url;
}

const COLUMNS: Column<Resource>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.properties.name },
  { header: 'TYPE', value: kind },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'EVENTS', value: (r) => r.properties.events },
  { header: 'DESTINATION', value: destination },
  { header: 'LAST DELIVERY', value: (r) => r.metadata.lastDeliveryAt },
];

const DELIVERY_COLUMNS: Column<Resource>[] = [
  { header: 'TIME', value: (r) => r.metadata.createdDate },
  { header: 'EVENT', value: (r) => `${String(r.properties.eventType)} #${String(r.properties.event)}` },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'ATTEMPTS', value: (r) => r.properties.attempts },
  { header: 'LAST STATUS', value: (r) => r.properties.lastStatus },
  { header: 'MESSAGE', value: (r) => r.metadata.message },
];

const path = (id: string) => `/notification-channels/${seg(id)}`;

/** The id of a channel given by id or by name. */
function channelId(ctx: CommandContext, ref: string): Promise<string> {
  return resolveId(ctx, 'notification-channels', ref);
}

/**
 * A channel as a `key: value` block: name, type, state, message, enabled, events, settings (one a
 * line), which credentials are set, last delivery, then the audit fields. A generated secret is
 * left out: {@link showChannel} prints it once, apart.
 */
export function channelBlock(res: Resource): string {
  const p = res.properties;
  const m = res.metadata;
  const set = Array.isArray(m.credentialsSet) ? m.credentialsSet.map(String) : [];
  const pairs: Array<[string, unknown]> = [
    ['id', res.id],
    ['name', p.name],
    ['type', kind(res)],
    ['state', m.state],
    ['message', m.message],
    ['enabled', p.enabled],
    ['events', p.events],
    ['settings', settingsText(p.settings)],
    ['credentials', set.length ? `${set.join(', ')} (write-only, never shown)` : 'none'],
    ['last delivery', m.lastDeliveryAt ?? 'never'],
  ];
  const shown = new Set(['name', 'type', 'state', 'message', 'enabled', 'events', 'settings', 'credentials', 'credentialsSet', 'lastDeliveryAt', 'generatedSecret']);
  for (const [k, v] of Object.entries(p)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  for (const [k, v] of Object.entries(m)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  return renderBlock(pairs);
}

/**
 * Prints a channel that was just created or changed: the API body for `--json`, else its block
 * and, when certkeeper generated a webhook secret with this request, that secret once, with a
 * note on stderr that it is not shown again.
 */
function showChannel(ctx: CommandContext, res: Resource): void {
  if (ctx.json) return ctx.printJson(res);
  ctx.streams.out(channelBlock(res));
  const secret = res.metadata.generatedSecret;
  if (typeof secret !== 'string') return;
  ctx.streams.out(`\ngenerated webhook secret: ${secret}\n`);
  ctx.streams.err('note: this secret is shown only this once; store it now where the receiver can read it: it verifies the X-Certkeeper-Signature header with it (docs/notifications.md)\n');
}

/** The choice fields of a channel: its type and its webhook preset. */
function choices(type: string | undefined, settings: Record<string, unknown> | undefined): ChoiceField[] {
  const preset = settings?.preset;
  return [
    { field: 'properties.type', given: type, label: 'notification channel type', fallback: 'use email or webhook' },
    { field: 'properties.settings.preset', given: typeof preset === 'string' ? preset : undefined, label: 'webhook preset', fallback: 'see docs/notifications.md for the presets' },
  ];
}

interface WritableOpts extends SettingsFlags, CredentialsFlags {
  event?: string[];
}

interface CreateOpts extends WritableOpts {
  name: string;
  type: string;
  disabled?: boolean;
}

interface UpdateOpts extends WritableOpts {
  name?: string;
  type?: string;
  allEvents?: boolean;
  unsetSetting?: string[];
  clearCredentials?: boolean;
  enable?: boolean;
  disable?: boolean;
}

/** The options create and update share. */
function withWritable(cmd: Command): Command {
  return withKeyValueOptions(cmd, 'channel', '; to= once per recipient')
    .option('--setting-file <key=path>', 'a setting read from a file, or /dev/stdin, sent as text: a chat webhook URL carries its token, and this keeps it out of ps (repeatable)', collect)
    .option('--event <pattern>', 'send events of this type, e.g. certificate.expiring, or a "<prefix>.*" pattern, or "*" (repeatable; default every event)', collect);
}

/** Registers `notification-channels` (alias `channels`) and its verbs. */
export function registerNotificationChannelCommands(program: Command): void {
  const channels = program.command('notification-channels').alias('channels').description('where events are sent: e-mail (SMTP) or webhooks (signed JSON, Slack, Teams, Discord, Telegram, ntfy)');

  withPaging(withConnection(channels.command('list').description('list notification channels')))
    .option('--name <name>', 'only the channel with this name')
    .option('--type <type>', 'only channels of this type (email, webhook)')
    .option('--state <state>', 'only this state (AVAILABLE, DISABLED)')
    .action((opts: { name?: string; type?: string; state?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { name: opts.name, type: opts.type, state: opts.state });
      printList(ctx, await ctx.client.list('/notification-channels', filters, page), COLUMNS, 'notification channels');
    }));

  withConnection(channels.command('get').description('show one notification channel').argument('<channel>', 'channel id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(await channelId(ctx, ref)));
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(channelBlock(res));
    }));

  withWritable(withConnection(channels.command('create').description('create a notification channel (a generic webhook without a secret gets a generated one, printed once)')
    .requiredOption('--name <name>', 'unique name of the channel')
    .requiredOption('--type <type>', 'email or webhook')))
    .option('--disabled', 'create it disabled: it receives nothing until enabled')
    .action((opts: CreateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const settings = settingsFrom(opts, SHAPES);
      const credentials = credentialsFrom(opts);
      const properties: Record<string, unknown> = { name: opts.name, type: opts.type, settings };
      if (opts.event !== undefined) properties.events = opts.event;
      if (credentials) properties.credentials = credentials;
      if (opts.disabled) properties.enabled = false;
      showChannel(ctx, await sendWithChoices(ctx, 'notification-channels', choices(opts.type, settings), () => ctx.client.post('/notification-channels', { properties })));
    }));

  withWritable(withConnection(channels.command('update').description('change a notification channel').argument('<channel>', 'channel id or name')
    .option('--name <name>', 'new name')
    .option('--type <type>', 'another type (email, webhook); its settings start empty')))
    .option('--all-events', 'send every event again (the filter "*")')
    .option('--unset-setting <key>', 'remove this setting (repeatable)', collect)
    .option('--clear-credentials', 'remove the stored credentials (an SMTP login); a generic webhook gets a new generated secret, printed once')
    .option('--enable', 'deliver events again')
    .option('--disable', 'deliver nothing (waiting deliveries are cancelled)')
    .action((ref: string, opts: UpdateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      if (opts.allEvents && opts.event !== undefined) throw new CliError('--all-events excludes --event');
      const enabled = enabledEdit(opts);
      const credentials = credentialsFrom(opts);
      const id = await channelId(ctx, ref);
      // The webhook URL comes back redacted; sent back so, the server keeps the stored one.
      const settings = await editedSettings(opts, async () => {
        const current = await ctx.client.get(path(id));
        return opts.type !== undefined && opts.type !== current.properties.type ? {} : settingsObject(current.properties.settings);
      }, 'channel', SHAPES);
      const properties: Record<string, unknown> = {};
      if (opts.name !== undefined) properties.name = opts.name;
      if (opts.type !== undefined) properties.type = opts.type;
      if (opts.event !== undefined) properties.events = opts.event;
      if (opts.allEvents) properties.events = ['*'];
      if (settings) properties.settings = settings;
      if (credentials) properties.credentials = credentials;
      if (enabled !== undefined) properties.enabled = enabled;
      if (Object.keys(properties).length === 0) throw new CliError('nothing to change; give at least one option (see --help)');
      showChannel(ctx, await sendWithChoices(ctx, 'notification-channels', choices(opts.type, settings), () => ctx.client.patch(path(id), { properties })));
    }));

  withConnection(channels.command('delete').description('delete a notification channel and its delivery records').argument('<channel>', 'channel id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await channelId(ctx, ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`deleted notification channel ${id === ref ? id : `${ref} (${id})`}\n`);
    }));

  withConnection(channels.command('test').description('send a test message now, enabled or not, without retries (exit 1 when it is not delivered)').argument('<channel>', 'channel id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const result = await ctx.client.post<{ delivered: boolean; status?: number; detail: string }>(`${path(await channelId(ctx, ref))}/test`);
      if (ctx.json) return ctx.printJson(result);
      ctx.streams.out(`delivered: ${result.detail}\n`);
    }));

  withPaging(withConnection(channels.command('deliveries').description('list the deliveries of a channel, newest first').argument('<channel>', 'channel id or name')))
    .option('--state <state>', 'only this state (PENDING, SENDING, DELIVERED, FAILED, CANCELLED)')
    .option('--event-type <type>', 'only deliveries of this event type, e.g. certificate.expiring')
    .action((ref: string, opts: { state?: string; eventType?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { state: opts.state, eventType: opts.eventType });
      printList(ctx, await ctx.client.list(`${path(await channelId(ctx, ref))}/deliveries`, filters, page), DELIVERY_COLUMNS, 'deliveries');
    }));
}
