/**
 * `certkeeper users …`: the people of the tenant (admins only; docs/access.md). A user is invited
 * by e-mail address and role; the one-time invitation comes in the response that made it (invite,
 * or update --reinvite): the CLI prints it once, and `--json` keeps it. The user redeems it with a
 * password of their own at `POST /api/v1/users/activate`.
 */
import type { Command } from 'commander';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { pagingOf, printList, resolveId, runAction, sendWithChoices, seg, withConnection, withPaging, type ChoiceField, type CommandContext } from './command-kit.js';
import { formatValue, renderBlock, resourcePairs, type Column } from './output.js';

const COLUMNS: Column<Resource>[] = [
  { header: 'EMAIL', value: (r) => r.properties.email },
  { header: 'ROLE', value: (r) => r.properties.role },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'LAST LOGIN', value: (r) => r.metadata.lastLoginDate ?? 'never' },
];

const path = (id: string) => `/users/${seg(id)}`;

/** The id of a user given by id or by e-mail address (any case). */
function userId(ctx: CommandContext, ref: string): Promise<string> {
  return resolveId(ctx, 'users', ref, { by: 'email', normalise: (r) => r.toLowerCase() });
}

/** A user as a `key: value` block; an invitation is left out: {@link showUser} prints it once, apart. */
export function userBlock(res: Resource): string {
  return renderBlock(resourcePairs(res, ['invitation']));
}

/**
 * Prints a user that was just invited or changed: the API body for `--json`, else its block and,
 * when the response carries an invitation, that invitation once, with a note on stderr.
 */
function showUser(ctx: CommandContext, res: Resource): void {
  if (ctx.json) return ctx.printJson(res);
  ctx.streams.out(userBlock(res));
  const invitation = res.properties.invitation as { token?: unknown; expiresAt?: unknown } | undefined;
  if (typeof invitation?.token !== 'string') return;
  ctx.streams.out(`\ninvitation:    ${invitation.token}\nvalid until:   ${formatValue(invitation.expiresAt)}\n`);
  ctx.streams.err(`note: this invitation is shown only this once and works once; give it to ${String(res.properties.email)}, who sets a password with it (POST /api/v1/users/activate {"invitation": "…", "password": "…"}, or the web UI)\n`);
}

/** The role as a choice field, for a one-line error naming the roles the server knows. */
const roleChoice = (role: string | undefined): ChoiceField[] => [{ field: 'properties.role', given: role, label: 'role', fallback: 'use admin, operator or viewer' }];

/** Registers `users` and its verbs. */
export function registerUserCommands(program: Command): void {
  const users = program.command('users').description('users of the tenant (admins only): invite, change role, reset, remove');

  withPaging(withConnection(users.command('list').description('list users')))
    .option('--email <address>', 'only the user with this e-mail address')
    .option('--role <role>', 'only users of this role (admin, operator, viewer)')
    .action((opts: { email?: string; role?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { email: opts.email, role: opts.role });
      printList(ctx, await ctx.client.list('/users', filters, page), COLUMNS, 'users');
    }));

  withConnection(users.command('get').description('show one user').argument('<user>', 'user id or e-mail address'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(await userId(ctx, ref)));
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(userBlock(res));
    }));

  withConnection(users.command('invite').description('invite a user; the one-time invitation is printed once')
    .requiredOption('--email <address>', 'e-mail address the user logs in with (unique across the installation)')
    .requiredOption('--role <role>', 'admin, operator or viewer'))
    .action((opts: { email: string; role: string }, cmd: Command) => runAction(cmd, async (ctx) => {
      const properties = { email: opts.email, role: opts.role };
      showUser(ctx, await sendWithChoices(ctx, 'users', roleChoice(opts.role), () => ctx.client.post('/users', { properties })));
    }));

  withConnection(users.command('update').description('change a user\'s role, or reset their password with a new invitation').argument('<user>', 'user id or e-mail address')
    .option('--role <role>', 'new role: admin, operator or viewer (applies to live sessions at once)')
    .option('--reinvite', 'issue a new invitation, printed once: the old password stops working and every session ends'))
    .action((ref: string, opts: { role?: string; reinvite?: boolean }, cmd: Command) => runAction(cmd, async (ctx) => {
      const properties: Record<string, unknown> = {};
      if (opts.role !== undefined) properties.role = opts.role;
      if (opts.reinvite) properties.reinvite = true;
      if (Object.keys(properties).length === 0) throw new CliError('nothing to change; give --role, --reinvite or both');
      const id = await userId(ctx, ref);
      showUser(ctx, await sendWithChoices(ctx, 'users', roleChoice(opts.role), () => ctx.client.patch(path(id), { properties })));
    }));

  withConnection(users.command('delete').description('remove a user and end their sessions').argument('<user>', 'user id or e-mail address'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await userId(ctx, ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`deleted user ${id === ref ? id : `${ref} (${id})`}\n`);
    }));
}
