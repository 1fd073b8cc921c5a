/**
 * `certkeeper deployment-targets …` (alias `targets`): where certificates are deployed: a file
 * layout on an agent's host (`agent`), or an agentless target the server runs (`ssh`, `script`,
 * `webhook`, `kubernetes-secret`; docs/deployment-targets.md). Credentials are write-only: sent,
 * never printed (the API names only which are set). Unlike DNS zones, an update's credentials
 * change the stored ones key by key (the API merges them; `--unset-credential` removes one).
 */
import { Option, type Command } from 'commander';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { collect, enabledEdit, pagingOf, resolveId, runAction, seg, withConnection, withPaging, type CommandContext } from './command-kit.js';
import { credentialsOf, editedSettings, settingsFrom, settingsObject, settingsOf, withKeyValueOptions, type CredentialsFlags, type SettingShapes, type SettingsFlags } from './key-values.js';
import { humanise, renderBlock, renderTable, settingsText, type Column } from './output.js';

/**
 * How `--setting` reads a target's settings: `probe`, `labels` and `annotations` may be JSON
 * objects; paths, commands, hosts, URLs, names, a file `mode` ("0640") and an `owner` or `group`
 * given as a number stay text whatever they look like.
 */
export const TARGET_SHAPES: SettingShapes = {
  json: ['probe', 'labels', 'annotations'],
  text: [
    'certificatePath', 'chainPath', 'fullchainPath', 'keyPath', 'combinedPath', 'pkcs12Path', 'owner', 'group', 'mode', 'reloadCommand',
    'host', 'username', 'hostKey', 'command', 'workingDirectory', 'url', 'apiUrl', 'namespace', 'secretName', 'caCertificate',
  ],
};

/** Agent names by id, for tables and blocks; an agent that cannot be read keeps its id. */
type AgentNames = Map<string, string>;

async function agentNames(ctx: CommandContext, targets: Resource[]): Promise<AgentNames> {
  const names: AgentNames = new Map();
  if (!targets.some((t) => typeof t.properties.agent === 'string')) return names;
  try {
    for (const a of (await ctx.client.list('/agents', {})).items) names.set(a.id, String(a.properties.name));
  } catch {
    // ids it is
  }
  return names;
}

/** Where a target puts the certificate, in a few words: `agent web-1: /etc/ssl/x.pem`, `user@host:22`, … */
export function destination(t: Resource, agents: AgentNames = new Map()): string {
  const s = settingsObject(t.properties.settings);
  const str = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  switch (t.properties.type) {
    case 'agent': {
      const agent = str(t.properties.agent);
      const file = ['fullchainPath', 'combinedPath', 'certificatePath', 'pkcs12Path', 'keyPath', 'chainPath'].map((k) => str(s[k])).find(Boolean);
      return `agent ${agents.get(agent) ?? agent}${file ? `: ${file}` : ''}`;
    }
    case 'ssh':
      return `${str(s.username)}@${str(s.host)}:${str(s.port) || '22'}`;
    case 'script':
      return str(s.command);
    case 'webhook':
      return str(s.url);
    case 'kubernetes-secret':
      return `${str(s.namespace)}/${str(s.secretName)}`;
    default:
      return '';
  }
}

function columns(agents: AgentNames): Column<Resource>[] {
  return [
    { header: 'ID', value: (r) => r.id },
    { header: 'NAME', value: (r) => r.properties.name },
    { header: 'TYPE', value: (r) => r.properties.type },
    { header: 'STATE', value: (r) => r.metadata.state },
    { header: 'DESTINATION', value: (r) => destination(r, agents) },
  ];
}

const path = (id: string) => `/deployment-targets/${seg(id)}`;

/** The id of a target given by id or by name. */
function targetId(ctx: CommandContext, ref: string): Promise<string> {
  return resolveId(ctx, 'deployment-targets', ref);
}

/**
 * A target as a `key: value` block: name, type, agent, state, message, enabled, settings (one a
 * line), which credentials are set, then the audit fields.
 */
export function targetBlock(res: Resource, agents: AgentNames = new Map()): string {
  const p = res.properties;
  const m = res.metadata;
  const set = Array.isArray(m.credentialsSet) ? m.credentialsSet.map(String) : [];
  const agent = typeof p.agent === 'string' ? (agents.has(p.agent) ? `${agents.get(p.agent)!} (${p.agent})` : p.agent) : undefined;
  const pairs: Array<[string, unknown]> = [
    ['id', res.id],
    ['name', p.name],
    ['type', p.type],
    ...(agent !== undefined ? [['agent', agent] as [string, unknown]] : []),
    ['state', m.state],
    ['message', m.message],
    ['enabled', p.enabled],
    ['settings', settingsText(p.settings)],
    ['credentials', set.length ? `${set.join(', ')} (write-only, never shown)` : 'none'],
  ];
  const shown = new Set(['name', 'type', 'agent', 'state', 'message', 'enabled', 'settings', 'credentials', 'credentialsSet']);
  for (const [k, v] of Object.entries(p)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  for (const [k, v] of Object.entries(m)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  return renderBlock(pairs);
}

/** Prints one target: the API body for `--json`, else its block. */
async function showTarget(ctx: CommandContext, res: Resource): Promise<void> {
  if (ctx.json) return ctx.printJson(res);
  ctx.streams.out(targetBlock(res, await agentNames(ctx, [res])));
}

/**
 * Parser of `--probe host:port[,serverName]` (an IPv6 address in brackets: `[::1]:443`): the
 * `probe` setting `{ host, port, serverName? }`.
 */
export function probeOf(raw: string): Record<string, unknown> {
  const parts = raw.split(',');
  const address = parts[0]!.trim();
  const serverName = parts[1]?.trim();
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(address) ?? /^([^:[\]]+):(\d{1,5})$/.exec(address);
  if (!m || parts.length > 2 || serverName === '') throw new CliError(`--probe expects host:port or host:port,serverName, e.g. 127.0.0.1:443,www.example.com; got "${raw}"`);
  return { host: m[1], port: Number(m[2]), ...(serverName ? { serverName } : {}) };
}

interface WritableOpts extends SettingsFlags, CredentialsFlags {
  agent?: string;
  probe?: string;
}

interface CreateOpts extends WritableOpts {
  name: string;
  type: string;
  disabled?: boolean;
}

interface UpdateOpts extends WritableOpts {
  name?: string;
  unsetSetting?: string[];
  unsetCredential?: string[];
  enable?: boolean;
  disable?: boolean;
  enabled?: boolean;
  disabled?: boolean;
}

/** The options create and update share. */
function withWritable(cmd: Command): Command {
  return withKeyValueOptions(cmd, 'target', '; probe, labels and annotations take JSON objects')
    .option('--setting-file <key=path>', 'a setting read from a file, or /dev/stdin, sent as text: e.g. caCertificate=cluster-ca.pem (repeatable)', collect)
    .option('--probe <host:port[,serverName]>', 'after the reload, this address must serve the new certificate (the probe setting; SNI serverName, default the common name)');
}

/** `--probe` must not say what `--setting probe=…` or `--settings-json` says too. */
function probeSetting(opts: WritableOpts): Record<string, unknown> | undefined {
  if (opts.probe === undefined) return undefined;
  if ('probe' in settingsOf(opts.setting, TARGET_SHAPES)) throw new CliError('--probe and --setting probe=… exclude each other');
  return probeOf(opts.probe);
}

/** Registers `deployment-targets` (alias `targets`) and its verbs. */
export function registerDeploymentTargetCommands(program: Command): void {
  const targets = program.command('deployment-targets').alias('targets').description('where certificates are deployed: an agent\'s files, or ssh, script, webhook, kubernetes-secret');

  withPaging(withConnection(targets.command('list').description('list deployment targets')))
    .option('--name <name>', 'only the target with this name')
    .option('--type <type>', 'only targets of this type (agent, ssh, script, webhook, kubernetes-secret)')
    .option('--agent <agent>', 'only the targets of this agent (id or name)')
    .action((opts: { name?: string; type?: string; agent?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const agent = opts.agent === undefined ? undefined : await resolveId(ctx, 'agents', opts.agent);
      const { filters, page } = pagingOf(opts, { name: opts.name, type: opts.type, agent });
      const list = await ctx.client.list('/deployment-targets', filters, page);
      if (ctx.json) return ctx.printJson(list);
      if (list.items.length === 0) return ctx.streams.err('no deployment targets\n');
      ctx.streams.out(renderTable(list.items, columns(await agentNames(ctx, list.items))));
    }));

  withConnection(targets.command('get').description('show one deployment target (never its credentials)').argument('<target>', 'target id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      await showTarget(ctx, await ctx.client.get(path(await targetId(ctx, ref))));
    }));

  withWritable(withConnection(targets.command('create').description('create a deployment target; the server checks every setting and names each one at fault')
    .requiredOption('--name <name>', 'unique name of the target')
    .requiredOption('--type <type>', 'agent, ssh, script, webhook or kubernetes-secret (docs/deployment-targets.md)')
    .option('--agent <agent>', 'type agent: the agent (id or name) that writes the files')))
    .option('--disabled', 'create it disabled: no deployments go there until enabled')
    .action((opts: CreateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const probe = probeSetting(opts);
      const settings = { ...settingsFrom(opts, TARGET_SHAPES), ...(probe ? { probe } : {}) };
      const credentials = credentialsOf(opts.credential, opts.credentialFile);
      const properties: Record<string, unknown> = { name: opts.name, type: opts.type, settings };
      if (opts.agent !== undefined) properties.agent = opts.agent;
      if (Object.keys(credentials).length) properties.credentials = credentials;
      if (opts.disabled) properties.enabled = false;
      await showTarget(ctx, await ctx.client.post('/deployment-targets', { properties }));
    }));

  withWritable(withConnection(targets.command('update').description('change a deployment target (its type cannot change)').argument('<target>', 'target id or name')
    .option('--name <name>', 'new name')
    .option('--agent <agent>', 'type agent: another agent (id or name)')))
    .option('--unset-setting <key>', 'remove this setting (repeatable)', collect)
    .option('--unset-credential <key>', 'remove this stored credential (repeatable); credentials not named are kept', collect)
    .option('--enable', 'deploy to it again')
    .option('--disable', 'no new deployments go there')
    .addOption(new Option('--enabled', 'same as --enable').hideHelp())
    .addOption(new Option('--disabled', 'same as --disable').hideHelp())
    .action((ref: string, opts: UpdateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const enabled = enabledEdit({ enable: opts.enable || opts.enabled, disable: opts.disable || opts.disabled });
      const probe = probeSetting(opts);
      if (probe && opts.unsetSetting?.includes('probe')) throw new CliError('--probe and --unset-setting probe contradict each other');
      const credentials: Record<string, string | null> = credentialsOf(opts.credential, opts.credentialFile);
      for (const key of opts.unsetCredential ?? []) {
        if (key in credentials) throw new CliError(`credential ${key} is both given and unset`);
        credentials[key] = null;
      }
      const id = await targetId(ctx, ref);
      let current: Record<string, unknown> | undefined;
      const stored = async () => (current ??= settingsObject((await ctx.client.get(path(id))).properties.settings));
      let settings = await editedSettings(opts, stored, 'target', TARGET_SHAPES);
      if (probe) settings = { ...(settings ?? await stored()), probe };
      const properties: Record<string, unknown> = {};
      if (opts.name !== undefined) properties.name = opts.name;
      if (opts.agent !== undefined) properties.agent = opts.agent;
      if (settings) properties.settings = settings;
      if (Object.keys(credentials).length) properties.credentials = credentials;
      if (enabled !== undefined) properties.enabled = enabled;
      if (Object.keys(properties).length === 0) throw new CliError('nothing to change; give at least one option (see --help)');
      await showTarget(ctx, await ctx.client.patch(path(id), { properties }));
    }));

  withConnection(targets.command('delete').description('delete a deployment target that no auto certificate lists').argument('<target>', 'target id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await targetId(ctx, ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`deleted deployment target ${id === ref ? id : `${ref} (${id})`}\n`);
    }));
}
