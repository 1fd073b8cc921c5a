/**
 * `certkeeper tokens …`: the API tokens of the tenant (admins only; docs/access.md). The token
 * itself comes in the one response that made it: the CLI prints it once, and `--json` keeps it.
 * A consumer token is limited to the auto certificates named with `--auto-certificate`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { collect, pagingOf, printList, resolveId, runAction, sendWithChoices, seg, withConnection, withPaging, type CommandContext } from './command-kit.js';
import { renderBlock, resourcePairs, type Column } from './output.js';

const COLUMNS: Column<Resource>[] = [
  { header: 'NAME', value: (r) => r.properties.name },
  { header: 'ROLE', value: (r) => r.properties.role },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'EXPIRES', value: (r) => r.properties.expiresAt ?? 'never' },
  { header: 'LAST USED', value: (r) => r.metadata.lastUsedDate ?? 'never' },
];

const path = (id: string) => `/tokens/${seg(id)}`;

/** The id of a token given by id or by name. */
function tokenId(ctx: CommandContext, ref: string): Promise<string> {
  return resolveId(ctx, 'tokens', ref);
}

/** A token as a `key: value` block; the token value is never part of it. */
export function tokenBlock(res: Resource): string {
  return renderBlock(resourcePairs(res, ['token']));
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** Parser of `--expires-in`: a whole number and a unit, `90m`, `12h`, `30d`, `2w`; returns milliseconds. */
export function duration(value: string): number {
  const m = /^\s*(\d+)\s*([mhdw])\s*$/i.exec(value);
  const n = Number(m?.[1]);
  if (!m || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number and a unit: m (minutes), h, d or w, e.g. 30d');
  return n * UNITS[m[2]!.toLowerCase()]!;
}

/** The `expiresAt` to send, from `--expires-at` or `--expires-in`; undefined for no expiry. */
function expiresAt(opts: CreateOpts): string | undefined {
  if (opts.expiresAt !== undefined && opts.expiresIn !== undefined) throw new CliError('--expires-at and --expires-in exclude each other');
  if (opts.expiresIn !== undefined) return new Date(Date.now() + opts.expiresIn).toISOString();
  if (opts.expiresAt === undefined) return undefined;
  const t = Date.parse(opts.expiresAt);
  if (Number.isNaN(t)) throw new CliError(`--expires-at "${opts.expiresAt}" is not a date; give ISO 8601, e.g. 2027-06-01T00:00:00Z`);
  return new Date(t).toISOString();
}

interface CreateOpts {
  name: string;
  role: string;
  expiresAt?: string;
  expiresIn?: number;
  autoCertificate?: string[];
  includePrivateKey?: boolean;
}

/**
 * Prints a token that was just created: the API body for `--json`, else its block and the token
 * once, with a note on stderr that it is not shown again.
 */
function showCreated(ctx: CommandContext, res: Resource): void {
  if (ctx.json) return ctx.printJson(res);
  ctx.streams.out(tokenBlock(res));
  const token = res.properties.token;
  if (typeof token !== 'string') return;
  ctx.streams.out(`\ntoken: ${token}\n`);
  ctx.streams.err('note: this token is shown only this once; store it now (certkeeper keeps only its hash). Use it as --token, CERTKEEPER_TOKEN or "Authorization: Bearer <token>"\n');
}

/** Registers `tokens` and its verbs. */
export function registerTokenCommands(program: Command): void {
  const tokens = program.command('tokens').description('API tokens of the tenant (admins only): list, create, revoke');

  withPaging(withConnection(tokens.command('list').description('list API tokens (never their values)')))
    .option('--name <name>', 'only the token with this name')
    .option('--role <role>', 'only tokens of this role (admin, operator, viewer, consumer)')
    .action((opts: { name?: string; role?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { name: opts.name, role: opts.role });
      printList(ctx, await ctx.client.list('/tokens', filters, page), COLUMNS, 'tokens');
    }));

  withConnection(tokens.command('get').description('show one API token (never its value)').argument('<token>', 'token id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(await tokenId(ctx, ref)));
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(tokenBlock(res));
    }));

  withConnection(tokens.command('create').description('create an API token; the token is printed once')
    .requiredOption('--name <name>', 'unique name of the token, e.g. ci or edge-lb')
    .requiredOption('--role <role>', 'admin, operator, viewer, or consumer (limited to --auto-certificate)')
    .option('--expires-at <iso-date>', 'the token stops working then, e.g. 2027-06-01T00:00:00Z (default: never)')
    .option('--expires-in <duration>', 'the token stops working after this long: 90m, 12h, 30d, 2w', duration)
    .option('--auto-certificate <name>', 'consumer tokens: an auto certificate the token may read and export (repeatable)', collect)
    .option('--include-private-key', 'consumer tokens: may export the private key too'))
    .action((opts: CreateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const names = opts.autoCertificate ?? [];
      if (opts.role === 'consumer' && names.length === 0) throw new CliError('a consumer token needs --auto-certificate <name> (repeatable)');
      if (opts.role !== 'consumer' && (names.length > 0 || opts.includePrivateKey)) throw new CliError('--auto-certificate and --include-private-key apply to --role consumer only');
      const properties: Record<string, unknown> = { name: opts.name, role: opts.role };
      const expires = expiresAt(opts);
      if (expires) properties.expiresAt = expires;
      if (names.length) properties.scope = { autoCertificates: names, includePrivateKey: !!opts.includePrivateKey };
      const choices = [{ field: 'properties.role', given: opts.role, label: 'role', fallback: 'use admin, operator, viewer or consumer' }];
      showCreated(ctx, await sendWithChoices(ctx, 'tokens', choices, () => ctx.client.post('/tokens', { properties })));
    }));

  withConnection(tokens.command('revoke').alias('delete').description('revoke an API token: it stops working at once').argument('<token>', 'token id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await tokenId(ctx, ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`revoked token ${id === ref ? id : `${ref} (${id})`}\n`);
    }));
}
