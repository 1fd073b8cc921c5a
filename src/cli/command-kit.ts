/**
 * What every client command shares: the connection options (`--server`, `--token`, `--json`),
 * the action wrapper that turns errors into `error: …` on stderr and exit code 1, option parsers,
 * and the lookup of a resource by name.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ApiClient, ApiError, type Collection, type Resource } from './api-client.js';
import { resolveConnection, tokenHint, type Connection } from './cli-config.js';
import { printError, printJson, processStreams, type Streams } from './output.js';

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
