/**
 * `certkeeper agents …`: the deployment agents (`certkeeper agent` on an end server, docs/agent.md).
 * The one-time enrolment token comes in the one response that made it (`create`,
 * `enrolment-token`): the CLI prints it once, with the command to run on the host, and `--json`
 * keeps it. No other command shows it, nor the agent's own credential.
 */
import type { Command } from 'commander';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { collect, pagingOf, printList, resolveId, runAction, seg, withConnection, withPaging, type CommandContext } from './command-kit.js';
import { formatDate, renderBlock, resourcePairs, type Column } from './output.js';

const COLUMNS: Column<Resource>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.properties.name },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'HOSTNAME', value: (r) => r.metadata.hostname },
  { header: 'VERSION', value: (r) => r.metadata.version },
  { header: 'LAST SEEN', value: (r) => r.metadata.lastSeenAt ?? 'never' },
  { header: 'HTTP-01 NAMES', value: (r) => r.properties.http01Names },
];

const path = (id: string) => `/agents/${seg(id)}`;

/** The id of an agent given by id or by name. */
function agentId(ctx: CommandContext, ref: string): Promise<string> {
  return resolveId(ctx, 'agents', ref);
}

/** An agent as a `key: value` block; the enrolment token is never part of it. */
export function agentBlock(res: Resource): string {
  return renderBlock(resourcePairs(res, ['enrolmentToken']));
}

/**
 * Prints an agent with a fresh enrolment token: the API body for `--json`, else its block, the
 * token once and the command that enrols the host, with a note on stderr.
 */
function showEnrolment(ctx: CommandContext, res: Resource): void {
  if (ctx.json) return ctx.printJson(res);
  ctx.streams.out(agentBlock(res));
  const token = res.metadata.enrolmentToken;
  if (typeof token !== 'string') return;
  const until = typeof res.metadata.enrolmentExpiresAt === 'string' ? formatDate(res.metadata.enrolmentExpiresAt) : 'in 7 days';
  ctx.streams.out(`\nenrolment token: ${token}\nvalid until:     ${until}\n\nrun on the host:\n  certkeeper agent --server ${ctx.client.server} --token ${token}\n`);
  ctx.streams.err('note: this enrolment token is shown only this once and works once; the agent trades it for its own credential. '
    + `--server is the URL this command used: give the one the host reaches certkeeper at. To keep the token out of ps on the host, write it to a file (mode 0600) and use --token-file (docs/agent.md)\n`);
}

interface WritableOpts {
  name?: string;
  description?: string | false;
  http01Name?: string[];
}

/** The `properties` of a create or update from the flags. */
function propertiesOf(opts: WritableOpts & { http01Names?: boolean }): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (opts.name !== undefined) p.name = opts.name;
  if (opts.description !== undefined) p.description = opts.description === false ? null : opts.description;
  if (opts.http01Name !== undefined && opts.http01Names === false) throw new CliError('--no-http01-names excludes --http01-name');
  if (opts.http01Name !== undefined) p.http01Names = opts.http01Name;
  else if (opts.http01Names === false) p.http01Names = [];
  return p;
}

/** Registers `agents` and its verbs. */
export function registerAgentCommands(program: Command): void {
  const agents = program.command('agents').description('deployment agents on end servers: create (prints the one-time enrolment token), revoke, re-enrol');

  withPaging(withConnection(agents.command('list').description('list agents')))
    .option('--name <name>', 'only the agent with this name')
    .action((opts: { name?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { name: opts.name });
      printList(ctx, await ctx.client.list('/agents', filters, page), COLUMNS, 'agents');
    }));

  withConnection(agents.command('get').description('show one agent (never its token or credential)').argument('<agent>', 'agent id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(await agentId(ctx, ref)));
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(agentBlock(res));
    }));

  withConnection(agents.command('create').description('create an agent; its one-time enrolment token is printed once, with the command to run on the host')
    .requiredOption('--name <name>', 'unique name of the agent, e.g. the host name')
    .option('--description <text>', 'what the agent is for')
    .option('--http01-name <name>', 'a name whose http-01 challenges this agent answers; *.example.com for every name directly under it (repeatable)', collect))
    .action((opts: WritableOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      showEnrolment(ctx, await ctx.client.post('/agents', { properties: propertiesOf(opts) }));
    }));

  withConnection(agents.command('update').description('change an agent').argument('<agent>', 'agent id or name')
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .option('--no-description', 'remove the description')
    .option('--http01-name <name>', 'replace the http-01 names (repeatable)', collect)
    .option('--no-http01-names', 'the agent answers no http-01 challenge any more'))
    .action((ref: string, opts: WritableOpts & { http01Names?: boolean }, cmd: Command) => runAction(cmd, async (ctx) => {
      const properties = propertiesOf(opts);
      if (Object.keys(properties).length === 0) throw new CliError('nothing to change; give at least one option (see --help)');
      const res = await ctx.client.patch(path(await agentId(ctx, ref)), { properties });
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(agentBlock(res));
    }));

  withConnection(agents.command('enrolment-token').description('issue a new one-time enrolment token (re-installing the host); printed once. The current credential works until it is used').argument('<agent>', 'agent id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      showEnrolment(ctx, await ctx.client.post(`${path(await agentId(ctx, ref))}/enrolment-token`));
    }));

  withConnection(agents.command('revoke').description('revoke the agent: its credential stops working at once (enrol it again with enrolment-token)').argument('<agent>', 'agent id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.post(`${path(await agentId(ctx, ref))}/revoke`);
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(agentBlock(res));
    }));

  withConnection(agents.command('delete').description('delete an agent that no deployment target uses').argument('<agent>', 'agent id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await agentId(ctx, ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`deleted agent ${id === ref ? id : `${ref} (${id})`}\n`);
    }));
}
