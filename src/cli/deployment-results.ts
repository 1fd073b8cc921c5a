/**
 * Deployments as the CLI shows them: a table or block that names the target and the certificate
 * (the API gives their ids), and the `--wait` of the deploy actions (`certificates deploy`,
 * `auto-certificates deploy`, `deployments retry`), which polls every deployment it started until
 * each has left `PENDING`, then prints the outcome and the output of those that FAILED.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection, Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { seg, type CommandContext } from './command-kit.js';
import { humanise, renderBlock, renderTable, type Column } from './output.js';
import { WAIT_TIMEOUT_EXIT } from './wait.js';

/** At most this many certificates are looked up by id for a list; beyond, their ids are shown. */
const MAX_CERTIFICATE_LOOKUPS = 50;

/** Names of the targets and certificates of some deployments, by id. */
export interface DeploymentNames {
  targets: Map<string, string>;
  certificates: Map<string, string>;
}

/**
 * The names of the targets (one list call) and certificates (one read each, up to
 * {@link MAX_CERTIFICATE_LOOKUPS}) of `items`. A lookup that fails leaves the id: names are a
 * convenience, never a reason for a list to fail.
 */
export async function deploymentNames(ctx: CommandContext, items: Resource[]): Promise<DeploymentNames> {
  const targets = new Map<string, string>();
  const certificates = new Map<string, string>();
  if (items.length === 0) return { targets, certificates };
  try {
    for (const t of (await ctx.client.list('/deployment-targets', {})).items) targets.set(t.id, String(t.properties.name));
  } catch {
    // ids it is
  }
  const certIds = [...new Set(items.map((d) => String(d.properties.certificate)))].slice(0, MAX_CERTIFICATE_LOOKUPS);
  await Promise.all(certIds.map(async (id) => {
    try {
      certificates.set(id, String((await ctx.client.get(`/certificates/${seg(id)}`)).properties.name));
    } catch {
      // a deleted version keeps its id
    }
  }));
  return { targets, certificates };
}

/** The target of a deployment: its name, or its id. */
export const targetName = (names: DeploymentNames, d: Resource) => names.targets.get(String(d.properties.target)) ?? d.properties.target;
/** The certificate of a deployment: its name, or its id. */
const certificateName = (names: DeploymentNames, d: Resource) => names.certificates.get(String(d.properties.certificate)) ?? d.properties.certificate;

/** The columns of a deployment list. */
export function deploymentColumns(names: DeploymentNames): Column<Resource>[] {
  return [
    { header: 'ID', value: (d) => d.id },
    { header: 'STATE', value: (d) => d.metadata.state },
    { header: 'TARGET', value: (d) => targetName(names, d) },
    { header: 'CERTIFICATE', value: (d) => certificateName(names, d) },
    { header: 'ATTEMPTS', value: (d) => d.metadata.attempts },
    { header: 'NEXT ATTEMPT', value: (d) => d.metadata.nextAttemptAt },
    { header: 'MESSAGE', value: (d) => d.metadata.message },
  ];
}

/** `name (id)`, or the id alone when there is no name. */
function named(name: unknown, id: unknown): unknown {
  return name !== undefined && name !== id ? `${String(name)} (${String(id)})` : id;
}

/**
 * A deployment as a `key: value` block: state, message, target, certificate, attempts, next
 * attempt, then the other fields, and the output of the reload command or script last (it may run
 * over many lines).
 */
export function deploymentBlock(d: Resource, names: DeploymentNames): string {
  const m = d.metadata;
  const p = d.properties;
  const pairs: Array<[string, unknown]> = [
    ['id', d.id],
    ['state', m.state],
    ['message', m.message],
    ['target', named(names.targets.get(String(p.target)), p.target)],
    ['certificate', named(names.certificates.get(String(p.certificate)), p.certificate)],
    ['auto certificate', p.autoCertificate],
    ['attempts', m.attempts],
    ['next attempt', m.nextAttemptAt ?? 'none'],
    ['running', m.running],
    ['deployed at', m.deployedAt],
    ['served serial', m.servedSerial],
  ];
  const shown = new Set(['state', 'message', 'target', 'certificate', 'autoCertificate', 'attempts', 'nextAttemptAt', 'running', 'deployedAt', 'servedSerial', 'output']);
  for (const [k, v] of Object.entries(p)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  for (const [k, v] of Object.entries(m)) if (!shown.has(k)) pairs.push([humanise(k), v]);
  pairs.push(['output', typeof m.output === 'string' ? m.output.replace(/\s+$/, '') : m.output]);
  return renderBlock(pairs);
}

/** Whether a deployment is settled for `--wait`: it left PENDING, or a newer version replaced it. */
export function settled(d: Resource): boolean {
  if (d.metadata.state !== 'PENDING') return true;
  // closeOlder leaves the row PENDING without a next attempt: nothing will happen to it any more.
  return (d.metadata.nextAttemptAt ?? null) === null && d.metadata.running !== true;
}

/** Options of {@link reportDeployments}. */
export interface ReportOptions {
  wait: boolean;
  timeoutSeconds: number;
  /** The filter of `deployments list` that shows these, for the hint without --wait: `--certificate <id>`. */
  follow: string;
  /** One deployment (a retry): printed as its block, or its resource for `--json`, not as a list. */
  single?: boolean;
  /** Poll interval; default 1 s. */
  intervalMs?: number;
}

/** Lines of a FAILED deployment for stderr: the error, then its output indented. */
function failureLines(d: Resource, names: DeploymentNames): string {
  const lines = [`error: deployment ${d.id} to ${String(targetName(names, d))} FAILED: ${String(d.metadata.message ?? '')}`];
  const output = typeof d.metadata.output === 'string' ? d.metadata.output.replace(/\s+$/, '') : '';
  if (output) lines.push('output:', ...output.split(/\r?\n/).map((l) => `  ${l}`));
  return lines.join('\n') + '\n';
}

/**
 * Prints the deployments a deploy action started. Without `wait`: the table (or the API's
 * collection for `--json`) and, on stderr, how to follow them. With `wait`: polls each until it is
 * {@link settled}, reporting changes on stderr, then prints the final table (or collection) and,
 * on stderr, the message and output of each FAILED one. Returns 1 when one FAILED; running out of
 * `timeoutSeconds` throws a {@link CliError} with exit code 2.
 */
export async function reportDeployments(ctx: CommandContext, started: Collection<Resource>, opts: ReportOptions): Promise<number> {
  let items = started.items;
  let names = await deploymentNames(ctx, items);
  if (!opts.wait) {
    if (ctx.json) ctx.printJson(started);
    else if (items.length === 0) ctx.streams.err('no deployments were started (every target is disabled)\n');
    else {
      ctx.streams.out(renderTable(items, deploymentColumns(names)));
      ctx.streams.err(`${items.length} deployment(s) requested; follow them with "certkeeper deployments list ${opts.follow}", or add --wait\n`);
    }
    return 0;
  }
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const last = new Map<string, string>();
  const progress = () => {
    for (const d of items) {
      const now = `${String(d.metadata.state)}: ${String(d.metadata.message ?? '')}`;
      if (last.get(d.id) !== now && !settled(d)) ctx.streams.err(`waiting for deployment to ${String(targetName(names, d))}: ${now}\n`);
      last.set(d.id, now);
    }
  };
  // What the action answered first (PENDING, "Queued"), so the wait shows at once what it waits for.
  progress();
  for (;;) {
    items = await Promise.all(items.map((d) => (settled(d) ? d : ctx.client.get<Resource>(`/deployments/${seg(d.id)}`))));
    progress();
    const open = items.filter((d) => !settled(d));
    if (open.length === 0) break;
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const which = open.map((d) => `${String(targetName(names, d))} (${d.id}): ${String(d.metadata.message ?? '')}`).join('; ');
      throw new CliError(`gave up waiting after ${opts.timeoutSeconds} s: ${open.length} deployment(s) still PENDING: ${which} (raise --timeout, or follow them with "certkeeper deployments list ${opts.follow}")`, WAIT_TIMEOUT_EXIT);
    }
    await sleep(Math.min(opts.intervalMs ?? 1000, remaining));
  }
  names = await deploymentNames(ctx, items);
  if (opts.single && items[0]) {
    if (ctx.json) ctx.printJson(items[0]);
    else ctx.streams.out(deploymentBlock(items[0], names));
  } else if (ctx.json) ctx.printJson({ ...started, items });
  else if (items.length) ctx.streams.out(renderTable(items, deploymentColumns(names)));
  const failed = items.filter((d) => d.metadata.state === 'FAILED');
  for (const d of failed) ctx.streams.err(failureLines(d, names));
  return failed.length ? 1 : 0;
}

