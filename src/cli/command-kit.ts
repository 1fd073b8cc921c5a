/**
 * What every client command shares: the connection options (`--server`, `--token`, `--json`),
 * the action wrapper that turns errors into `error: …` on stderr and exit code 1, option parsers,
 * the printing of lists, the lookup of a resource by name, and the one-line error for a value the
 * server does not know.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ApiClient, ApiError, type Collection, type Resource } from './api-client.js';
import { CliError, resolveConnection, tokenHint, type Connection } from './cli-config.js';
import { printError, printJson, processStreams, renderTable, type Column, type Streams } from './output.js';

/** The connection flags as commander parses them. */
export interface ConnectionFlags {
  server?: string;
  apiServer?: string;
  token?: string;
  json?: boolean;
}

/** What an action receives. */
export interface CommandContext {
  client: ApiClient;
  connection: Connection;
  json: boolean;
  streams: Streams;
  /** Prints a value as JSON (for `--json`). */
  printJson(value: unknown): void;
}

/**
 * Adds `--server`, `--api-server`, `--token` and `--json` to a leaf command. Where `--server`
 * means something else (the ACME directory of `providers create`), pass `serverIsApi: false`:
 * the API URL is then given with `--api-server`, which every command accepts.
 */
export function withConnection(cmd: Command, opts: { serverIsApi?: boolean } = {}): Command {
  const serverIsApi = opts.serverIsApi ?? true;
  const group = 'Connection options:';
  if (serverIsApi) cmd.addOption(new Option('--server <url>', 'certkeeper server URL (default: $CERTKEEPER_SERVER, "server:" in the CLI config file, or http://127.0.0.1:8080)').helpGroup(group));
  const apiServer = new Option('--api-server <url>', 'certkeeper server URL (--server means the ACME directory here)').helpGroup(group);
  cmd.addOption(serverIsApi ? apiServer.hideHelp() : apiServer);
  cmd.addOption(new Option('--token <token>', 'API token (default: $CERTKEEPER_TOKEN, $CERTKEEPER_ADMIN_TOKEN, or "token:" in the CLI config file)').helpGroup(group));
  cmd.addOption(new Option('--json', 'print the raw JSON response instead of a table or block').helpGroup(group));
  if (!serverIsApi) serverIsNotApi.add(cmd);
  // The command's own options first, the connection options after them.
  cmd.configureHelp({
    groupItems<T extends Command | Option>(unsorted: T[], visible: T[], getGroup: (item: T) => string): Map<string, T[]> {
      const result = new Map<string, T[]>();
      for (const item of [...unsorted, ...visible]) if (!result.has(getGroup(item))) result.set(getGroup(item), []);
      for (const item of visible) result.get(getGroup(item))!.push(item);
      const connection = result.get(group);
      if (connection) {
        result.delete(group);
        result.set(group, connection);
      }
      return result;
    },
  });
  return cmd;
}

/** Commands whose `--server` is not the certkeeper server. */
const serverIsNotApi = new WeakSet<Command>();

/**
 * Runs an action with a client; any error is printed (`error: <detail>` plus the field errors) and
 * sets exit code 1. The action may return an exit code of its own (e.g. 1 for a FAILED wait).
 */
export async function runAction(cmd: Command, body: (ctx: CommandContext) => Promise<number | void>, streams: Streams = processStreams): Promise<void> {
  const flags = cmd.opts<ConnectionFlags>();
  const json = !!flags.json;
  let connection: Connection | undefined;
  try {
    const serverIsApi = !serverIsNotApi.has(cmd);
    connection = resolveConnection({
      ...(flags.apiServer ? { server: flags.apiServer } : serverIsApi && flags.server ? { server: flags.server } : {}),
      ...(flags.token ? { token: flags.token } : {}),
    });
    const client = new ApiClient({ server: connection.server, token: connection.token, tokenSource: connection.tokenSource });
    const code = await body({ client, connection, json, streams, printJson: (v) => printJson(streams, v) });
    if (code) process.exitCode = code;
  } catch (err) {
    const hint401 = connection ? tokenHint(connection.tokenSource, connection.configPath) : undefined;
    process.exitCode = printError(streams, err, { json, ...(hint401 ? { hint401 } : {}) });
  }
}

/** Parser of a positive integer option value. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** Parser of a non-negative integer option value. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

/** Collector of a repeatable option: `--san a --san b` → `['a', 'b']`. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parser of a choice among `values`. */
export function oneOf(values: readonly string[]) {
  return (value: string): string => {
    if (!values.includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return value;
  };
}

/** Adds `--offset`, `--limit` and the repeatable `--filter field=value` to a list command. */
export function withPaging(cmd: Command): Command {
  return cmd
    .option('--offset <n>', 'start at this item (reads one page instead of all)', nonNegativeInt)
    .option('--limit <n>', 'page size, 1-1000 (reads one page instead of all)', positiveInt)
    .option('--filter <field=value>', 'filter by any filterable field (repeatable)', collect);
}

/** The paging and filter options of {@link withPaging}, merged with named filters. */
export function pagingOf(opts: { offset?: number; limit?: number; filter?: string[] }, named: Record<string, string | undefined>): { filters: Record<string, string>; page?: { offset?: number; limit?: number } } {
  const filters: Record<string, string> = {};
  for (const f of opts.filter ?? []) {
    const i = f.indexOf('=');
    if (i <= 0) throw new InvalidArgumentError(`--filter expects field=value, got "${f}"`);
    filters[f.slice(0, i)] = f.slice(i + 1);
  }
  for (const [k, v] of Object.entries(named)) if (v !== undefined) filters[k] = v;
  const page = opts.offset !== undefined || opts.limit !== undefined
    ? { ...(opts.offset !== undefined ? { offset: opts.offset } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}) }
    : undefined;
  return { filters, ...(page ? { page } : {}) };
}

/**
 * Prints a list: the collection for `--json`, else a table, or `no <things>` on stderr (and
 * nothing on stdout) when it is empty.
 */
export function printList<T>(ctx: CommandContext, list: Collection<T>, columns: Column<T>[], things: string): void {
  if (ctx.json) return ctx.printJson(list);
  if (list.items.length === 0) return ctx.streams.err(`no ${things}\n`);
  ctx.streams.out(renderTable(list.items, columns));
}

/** `--enable` / `--disable` of an update: true, false, or undefined when neither is given. */
export function enabledEdit(opts: { enable?: boolean; disable?: boolean }): boolean | undefined {
  if (opts.enable && opts.disable) throw new CliError('--enable and --disable exclude each other');
  return opts.enable ? true : opts.disable ? false : undefined;
}

/** A field of a create or update whose value is one of a set the server knows (a type, a provider code). */
export interface ChoiceField {
  /** The field as the API names it, e.g. `properties.provider`. */
  field: string;
  /** The value sent, when the user gave one. */
  given: string | undefined;
  /** What the value is, e.g. `DNS provider`. */
  label: string;
  /** Where to look when the server does not list the values, e.g. `see docs/dns-providers.md for the codes`. */
  fallback: string;
}

/**
 * The values the server accepts at `field` (`properties.provider`, `properties.settings.preset`)
 * of `POST /<collection>`, read from its OpenAPI document; null when it does not say.
 */
export async function knownChoices(ctx: CommandContext, collection: string, field: string): Promise<string[] | null> {
  try {
    const doc = await ctx.client.get<any>('/openapi.json');
    let schema = doc?.paths?.[`/api/v1/${collection}`]?.post?.requestBody?.content?.['application/json']?.schema;
    for (const part of field.split('.')) schema = schema?.properties?.[part];
    const values = [schema, ...(Array.isArray(schema?.anyOf) ? schema.anyOf : [])].flatMap((s: any) => [...(Array.isArray(s?.enum) ? s.enum : []), ...(s?.const !== undefined ? [s.const] : [])]);
    return values.length ? [...new Set(values.map(String))].sort() : null;
  } catch {
    return null;
  }
}

/**
 * Sends a create or update of `/<collection>`. When the server refuses it only for choice fields
 * the user gave (its schema answers with a row of "must be equal to constant"), the error becomes
 * one line naming the value and the values the server knows. `--json` keeps the server's problem
 * document.
 */
export async function sendWithChoices<T>(ctx: CommandContext, collection: string, choices: ChoiceField[], send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (ctx.json || !(err instanceof ApiError) || err.status !== 400) throw err;
    const fields = (err.problem.errors ?? []).map((e) => e.field);
    const given = choices.filter((c) => c.given !== undefined);
    const bad = given.find((c) => fields.includes(c.field));
    if (!bad || fields.some((f) => !given.some((c) => c.field === f))) throw err;
    const known = await knownChoices(ctx, collection, bad.field);
    throw new CliError(`unknown ${bad.label} "${bad.given}"; ${known ? `this server knows ${known.join(', ')}` : bad.fallback}`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Lets a command take a name where the API wants an id: anything that is not a UUID is looked up
 * by `filter.<by>` (default `filter.name`; DNS zones use `zoneName`); when exactly one resource
 * has that name its id is used, else the argument goes to the API unchanged (and a wrong one gets
 * the API's own "not found").
 */
export async function resolveId(ctx: CommandContext, collection: string, ref: string, opts: { by?: string; normalise?: (ref: string) => string } = {}): Promise<string> {
  if (UUID.test(ref)) return ref;
  try {
    const q = new URLSearchParams({ limit: '2', [`filter.${opts.by ?? 'name'}`]: opts.normalise ? opts.normalise(ref) : ref });
    const page = await ctx.client.get<Collection<Resource>>(`/${collection}?${q.toString()}`);
    if (page.total === 1 && page.items[0]) return page.items[0].id;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status === 401) throw err;
  }
  return ref;
}

/** `encodeURIComponent` for a path segment. */
export const seg = (id: string) => encodeURIComponent(id);
