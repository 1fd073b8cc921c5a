/**
 * `certkeeper dns-zones …`: the zones whose TXT records certkeeper may write for dns-01. The
 * server checks a zone's credentials whenever it is created, changed or checked; a zone that ends
 * `FAILED` makes the command exit 1 although the change is saved. Credentials are write-only:
 * they are sent, never printed (the API does not return them either).
 */
import type { Command } from 'commander';
import { domainToASCII } from 'node:url';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import {
  collect, enabledEdit, nonNegativeInt, pagingOf, positiveInt, printList, resolveId, runAction, sendWithChoices, seg, withConnection, withPaging,
  type CommandContext,
} from './command-kit.js';
import { credentialsFrom, editedSettings, settingsFrom, settingsObject, withKeyValueOptions, type CredentialsFlags, type SettingsFlags } from './key-values.js';
import { humanise, renderBlock, settingsText, type Column } from './output.js';

const COLUMNS: Column<Resource>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'ZONE', value: (r) => r.properties.zoneName },
  { header: 'PROVIDER', value: (r) => r.properties.provider },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'LAST CHECK', value: (r) => r.metadata.lastCheck },
  { header: 'MESSAGE', value: (r) => r.metadata.message },
];

const path = (id: string) => `/dns-zones/${seg(id)}`;

/** A zone name as the server stores it: lower case, no trailing dot, IDNA as punycode. */
export function normaliseZoneName(name: string): string {
  const trimmed = name.trim().replace(/\.$/, '').toLowerCase();
  return domainToASCII(trimmed) || trimmed;
}

/** The id of a zone given by id or by zone name. */
function zoneId(ctx: CommandContext, ref: string): Promise<string> {
  return resolveId(ctx, 'dns-zones', ref, { by: 'zoneName', normalise: normaliseZoneName });
}

/** A resource without any credentials field, should a server ever send one. */
function withoutCredentials<T>(value: T): T {
  if (!value || typeof value !== 'object') return value;
  const res = value as unknown as Resource;
  if (res.properties && 'credentials' in res.properties) {
    const { credentials: _credentials, ...properties } = res.properties;
    return { ...res, properties } as T;
  }
  return value;
}

/** A zone as a `key: value` block: zone, provider, state, message and last check first. */
export function dnsZoneBlock(res: Resource): string {
  const p = res.properties;
  const m = res.metadata;
  const resolvers = Array.isArray(p.resolvers) && p.resolvers.length ? p.resolvers : "- (the zone's authoritative servers)";
  const pairs: Array<[string, unknown]> = [
    ['id', res.id],
    ['zone', p.zoneName],
    ['provider', p.provider],
    ['state', m.state],
    ['message', m.message],
    ['last check', m.lastCheck ?? 'never'],
    ['enabled', p.enabled],
    ['settings', settingsText(p.settings)],
    ['credentials', m.credentialsSet ? 'set (write-only, never shown)' : 'none'],
    ['resolvers', resolvers],
    ['propagation timeout', typeof p.propagationTimeoutSeconds === 'number' ? `${p.propagationTimeoutSeconds} s` : p.propagationTimeoutSeconds],
    ['extra delay', typeof p.extraDelaySeconds === 'number' ? `${p.extraDelaySeconds} s` : p.extraDelaySeconds],
  ];
  const shown = new Set(['zoneName', 'provider', 'enabled', 'settings', 'credentials', 'resolvers', 'propagationTimeoutSeconds', 'extraDelaySeconds', 'state', 'message', 'lastCheck', 'credentialsSet']);
  for (const [k, v] of Object.entries(p)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  for (const [k, v] of Object.entries(m)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  return renderBlock(pairs);
}

/**
 * Prints a zone that was just created, changed or checked; returns 1 when it is FAILED, saying
 * that the zone is saved all the same and how to go on.
 */
function showZone(ctx: CommandContext, res: Resource, done: 'created' | 'changed' | 'checked'): number {
  if (ctx.json) ctx.printJson(withoutCredentials(res));
  else ctx.streams.out(dnsZoneBlock(res));
  if (res.metadata.state !== 'FAILED') return 0;
  const zone = String(res.properties.zoneName ?? res.id);
  const saved = done === 'checked' ? '' : `the zone was ${done} all the same; `;
  const again = done === 'checked' ? '' : `, check it again with "certkeeper dns-zones check ${zone}"`;
  ctx.streams.err(`error: DNS zone ${zone} is FAILED: ${res.metadata.message ?? ''}\n` +
    `hint: ${saved}fix it with "certkeeper dns-zones update ${zone} …"${again}, or remove it with "certkeeper dns-zones delete ${zone}"\n`);
  return 1;
}

/**
 * Sends a create or update; a provider code the server does not know becomes one line naming the
 * codes it knows.
 */
function sendZone(ctx: CommandContext, provider: string | undefined, send: () => Promise<Resource>): Promise<Resource> {
  return sendWithChoices(ctx, 'dns-zones', [{ field: 'properties.provider', given: provider, label: 'DNS provider', fallback: 'see docs/dns-providers.md for the codes' }], send);
}

interface WritableOpts extends SettingsFlags, CredentialsFlags {
  provider?: string;
  resolver?: string[];
  propagationTimeout?: number;
  extraDelay?: number;
}

interface CreateOpts extends WritableOpts {
  zone: string;
  provider: string;
  disabled?: boolean;
}

interface UpdateOpts extends WritableOpts {
  unsetSetting?: string[];
  clearCredentials?: boolean;
  resolvers?: boolean;
  enable?: boolean;
  disable?: boolean;
}

/** The options create and update share. */
function withWritable(cmd: Command): Command {
  return withKeyValueOptions(cmd, 'provider')
    .option('--resolver <host:port>', 'check propagation at this server instead of the zone\'s authoritative servers (repeatable)', collect)
    .option('--propagation-timeout <seconds>', 'how long to wait for records to be visible (1-3600; default 300)', positiveInt)
    .option('--extra-delay <seconds>', 'wait this long after the records are visible (0-600; default 0)', nonNegativeInt);
}

/** The properties every create and update may carry, from the flags (settings and credentials aside). */
function commonProperties(opts: WritableOpts): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (opts.resolver !== undefined) p.resolvers = opts.resolver;
  if (opts.propagationTimeout !== undefined) p.propagationTimeoutSeconds = opts.propagationTimeout;
  if (opts.extraDelay !== undefined) p.extraDelaySeconds = opts.extraDelay;
  return p;
}

/** Registers `dns-zones` and its verbs. */
export function registerDnsZoneCommands(program: Command): void {
  const zones = program.command('dns-zones').description('DNS zones whose TXT records certkeeper writes for dns-01');

  withPaging(withConnection(zones.command('list').description('list DNS zones')))
    .option('--zone <name>', 'only this zone')
    .option('--provider <code>', 'only zones of this DNS provider (e.g. rfc2136, powerdns, exec)')
    .option('--state <state>', 'only this state (AVAILABLE, FAILED, DISABLED)')
    .action((opts: { zone?: string; provider?: string; state?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { zoneName: opts.zone === undefined ? undefined : normaliseZoneName(opts.zone), provider: opts.provider, state: opts.state });
      const list = await ctx.client.list('/dns-zones', filters, page);
      printList(ctx, { ...list, items: list.items.map(withoutCredentials) }, COLUMNS, 'DNS zones');
    }));

  withConnection(zones.command('get').description('show one DNS zone').argument('<zone>', 'zone id or zone name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(await zoneId(ctx, ref)));
      if (ctx.json) return ctx.printJson(withoutCredentials(res));
      ctx.streams.out(dnsZoneBlock(res));
    }));

  withWritable(withConnection(zones.command('create').description('register a DNS zone; the server checks its credentials at once (exit 1 when FAILED; the zone is created all the same)')
    .requiredOption('--zone <name>', 'the zone, e.g. example.com')
    .requiredOption('--provider <code>', 'DNS provider: rfc2136, powerdns, exec, acmesh, … (docs/dns-providers.md)')))
    .option('--disabled', 'create it disabled: certkeeper does not write to it (and does not check it) until enabled')
    .action((opts: CreateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const credentials = credentialsFrom(opts);
      const properties: Record<string, unknown> = { zoneName: opts.zone, provider: opts.provider, settings: settingsFrom(opts), ...commonProperties(opts), ...(credentials ? { credentials } : {}) };
      if (opts.disabled) properties.enabled = false;
      const res = await sendZone(ctx, opts.provider, () => ctx.client.post('/dns-zones', { properties }));
      return showZone(ctx, res, 'created');
    }));

  withWritable(withConnection(zones.command('update').description('change a DNS zone; the server checks it again (exit 1 when FAILED; the change is saved all the same)').argument('<zone>', 'zone id or zone name')
    .option('--provider <code>', 'another DNS provider (its settings start empty, and it needs its own credentials)')))
    .option('--unset-setting <key>', 'remove this setting (repeatable)', collect)
    .option('--clear-credentials', 'remove the stored credentials (for providers that can use an ambient identity)')
    .option('--no-resolvers', 'check propagation at the zone\'s authoritative servers again')
    .option('--enable', 'let certkeeper write to the zone again')
    .option('--disable', 'stop certkeeper from writing to the zone')
    .action((ref: string, opts: UpdateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const enabled = enabledEdit(opts);
      const credentials = credentialsFrom(opts);
      if (opts.resolvers === false && opts.resolver !== undefined) throw new CliError('--no-resolvers excludes --resolver');
      const properties = commonProperties(opts);
      const id = await zoneId(ctx, ref);
      // A new provider starts with empty settings.
      const settings = await editedSettings(opts, async () => {
        const current = await ctx.client.get(path(id));
        return opts.provider !== undefined && opts.provider !== current.properties.provider ? {} : settingsObject(current.properties.settings);
      }, 'zone');
      if (settings) properties.settings = settings;
      if (opts.provider !== undefined) properties.provider = opts.provider;
      if (credentials) properties.credentials = credentials;
      if (opts.resolvers === false) properties.resolvers = [];
      if (enabled !== undefined) properties.enabled = enabled;
      if (Object.keys(properties).length === 0) throw new CliError('nothing to change; give at least one option (see --help)');
      const res = await sendZone(ctx, opts.provider, () => ctx.client.patch(path(id), { properties }));
      return showZone(ctx, res, 'changed');
    }));

  withConnection(zones.command('check').description('check the zone\'s credentials again (exit 1 when FAILED)').argument('<zone>', 'zone id or zone name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.post(`${path(await zoneId(ctx, ref))}/check`);
      return showZone(ctx, res, 'checked');
    }));

  withConnection(zones.command('delete').description('delete a DNS zone (records already written are cleaned up by their orders)').argument('<zone>', 'zone id or zone name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await zoneId(ctx, ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`deleted DNS zone ${id === ref ? id : `${normaliseZoneName(ref)} (${id})`}\n`);
    }));
}
