/** `certkeeper auto-certificates …`: the certificates certkeeper keeps alive. */
import { Option, type Command } from 'commander';
import { ApiError, type Collection, type Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { collect, pagingOf, positiveInt, printList, resolveId, runAction, seg, withConnection, withPaging, type CommandContext } from './command-kit.js';
import { pullCertificate, type PullOptions } from './certificate-pull.js';
import { reportDeployments } from './deployment-results.js';
import { renderBlock, resourcePairs, type Column } from './output.js';
import { DEFAULT_WAIT_SECONDS, waitFor } from './wait.js';

/** Key algorithms the API accepts. */
export const KEY_ALGORITHM_CHOICES = ['rsa2048', 'rsa3072', 'rsa4096', 'ecdsa256', 'ecdsa384'] as const;
/** Challenge types the API accepts. */
export const CHALLENGE_TYPE_CHOICES = ['dns-01', 'http-01', 'manual-dns-01', 'manual-http-01'] as const;
/** Key policies the API accepts. */
export const KEY_POLICY_CHOICES = ['rotate', 'reuse'] as const;

const COLUMNS: Column<Resource>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.properties.name },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'COMMON NAME', value: (r) => r.properties.commonName },
  { header: 'SANS', value: (r) => (Array.isArray(r.properties.subjectAlternativeNames) ? r.properties.subjectAlternativeNames.length : 0) },
  { header: 'NEXT RENEWAL', value: (r) => r.metadata.nextRenewalAt },
];

const path = (id: string) => `/auto-certificates/${seg(id)}`;

/** An auto certificate as a key: value block. */
export function autoCertificateBlock(res: Resource): string {
  return renderBlock(resourcePairs(res));
}

/** Exit code of `verify` when the server finds the manual challenges not visible yet. */
export const RECORDS_NOT_VISIBLE_EXIT = 3;

/** One pending challenge, as `GET /auto-certificates/{id}/validations` lists it. */
export interface ValidationItem {
  identifier?: string;
  type?: string;
  status?: string;
  recordName?: string;
  recordType?: string;
  recordValue?: string;
  httpPath?: string;
  httpBody?: string;
  instructions?: string;
}

/**
 * The validations of an order as blocks, one per challenge, separated by a blank line: identifier,
 * type and status; then the DNS record (name, type, value) or the HTTP resource (URL, path,
 * body); then the instructions. Fields that do not apply are left out.
 */
export function validationsText(items: ValidationItem[]): string {
  return items.map((v) => {
    const pairs: Array<[string, unknown]> = [['identifier', v.identifier], ['type', v.type], ['status', v.status]];
    if (v.recordName !== undefined || v.recordValue !== undefined) {
      pairs.push(['record name', v.recordName], ['record type', v.recordType ?? 'TXT'], ['record value', v.recordValue]);
    }
    if (v.httpPath !== undefined || v.httpBody !== undefined) {
      if (v.identifier && v.httpPath) pairs.push(['url', `http://${v.identifier}${v.httpPath}`]);
      pairs.push(['http path', v.httpPath], ['http body', v.httpBody]);
    }
    if (v.instructions !== undefined) pairs.push(['instructions', v.instructions]);
    return renderBlock(pairs.filter(([, value]) => value !== undefined && value !== null));
  }).join('\n');
}

/**
 * Prints the answer to a `verify` whose challenges are not visible yet (409 `records_not_visible`):
 * the detail, each identifier with what is missing, and what to do. Returns the exit code.
 */
export function printRecordsNotVisible(ctx: CommandContext, err: ApiError, ref: string): number {
  if (ctx.json && err.body) ctx.streams.out(err.body.endsWith('\n') ? err.body : err.body + '\n');
  const lines = [`error: ${err.message}`];
  for (const e of err.problem.errors ?? []) lines.push(`  - ${e.field}: ${e.message}`);
  lines.push(`hint: nothing was sent to the CA. Publish what "certkeeper auto-certificates validations ${ref}" shows, wait until it is served, and run verify again (or add --force to let the CA try anyway)`);
  ctx.streams.err(lines.join('\n') + '\n');
  return RECORDS_NOT_VISIBLE_EXIT;
}

/**
 * Waits until the auto certificate has a version newer than `before` (AVAILABLE), or stopped:
 * FAILED (after `before` was read), AWAITING_VALIDATION (manual challenges) or PAUSED.
 * Prints the final state; returns 1 when FAILED.
 */
async function waitForIssuance(ctx: CommandContext, id: string, before: Resource | null, timeoutSeconds: number): Promise<number> {
  const lastBefore = before?.metadata.lastIssuedCertificate ?? null;
  const failedBefore = before?.metadata.state === 'FAILED' ? `${String(before.metadata.lastModifiedDate)}|${String(before.metadata.failureCount)}` : null;
  const final = await waitFor(ctx, path(id), {
    label: `auto certificate ${String(before?.properties.name ?? id)}`,
    timeoutSeconds,
    done: (r) => {
      const state = r.metadata.state;
      const last = r.metadata.lastIssuedCertificate ?? null;
      if (state === 'AVAILABLE' && last && last !== lastBefore) return true;
      if (state === 'FAILED') return failedBefore === null || `${String(r.metadata.lastModifiedDate)}|${String(r.metadata.failureCount)}` !== failedBefore;
      return state === 'AWAITING_VALIDATION' || state === 'PAUSED';
    },
  });
  if (ctx.json) ctx.printJson(final);
  else ctx.streams.out(autoCertificateBlock(final));
  const name = String(final.properties.name);
  switch (final.metadata.state) {
    case 'FAILED':
      ctx.streams.err(`error: auto certificate ${name} is FAILED: ${final.metadata.message ?? ''}\n`);
      return 1;
    case 'AWAITING_VALIDATION':
      ctx.streams.err(`auto certificate ${name} waits for manual validation: publish what "certkeeper auto-certificates validations ${final.id}" shows, then run "certkeeper auto-certificates verify ${final.id}"\n`);
      return 0;
    case 'PAUSED':
      ctx.streams.err(`auto certificate ${name} was paused while waiting\n`);
      return 0;
    default:
      return 0;
  }
}

interface WritableOpts {
  name?: string;
  provider?: string;
  fallbackProvider?: string[];
  commonName?: string;
  san?: string[];
  keyAlgorithm?: string;
  challengeType?: string;
  keyPolicy?: string;
  renewBeforeDays?: number | false;
  profile?: string | false;
  deploymentTarget?: string[];
  keyAgent?: string | false;
}

/** The `properties` of a create or update body from the flags. */
function propertiesOf(opts: WritableOpts & { sans?: boolean; deploymentTargets?: boolean }): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (opts.name !== undefined) p.name = opts.name;
  if (opts.provider !== undefined) p.provider = opts.provider;
  if (opts.fallbackProvider !== undefined) p.fallbackProviders = opts.fallbackProvider;
  if (opts.commonName !== undefined) p.commonName = opts.commonName;
  if (opts.san !== undefined) p.subjectAlternativeNames = opts.san;
  else if (opts.sans === false) p.subjectAlternativeNames = [];
  if (opts.keyAlgorithm !== undefined) p.keyAlgorithm = opts.keyAlgorithm;
  if (opts.challengeType !== undefined) p.challengeType = opts.challengeType;
  if (opts.keyPolicy !== undefined) p.keyPolicy = opts.keyPolicy;
  if (opts.renewBeforeDays !== undefined) p.renewBeforeDays = opts.renewBeforeDays === false ? null : opts.renewBeforeDays;
  if (opts.profile !== undefined) p.profile = opts.profile === false ? null : opts.profile;
  if (opts.deploymentTarget !== undefined && opts.deploymentTargets === false) throw new CliError('--no-deployment-targets excludes --deployment-target');
  if (opts.deploymentTarget !== undefined) p.deploymentTargets = opts.deploymentTarget;
  else if (opts.deploymentTargets === false) p.deploymentTargets = [];
  if (opts.keyAgent !== undefined) p.keyAgent = opts.keyAgent === false ? null : opts.keyAgent;
  return p;
}

/** The options both create and update take. */
function withWritable(cmd: Command): Command {
  return cmd
    .option('--fallback-provider <provider>', 'provider id or name to fall back to (repeatable, in order)', collect)
    .option('--san <name>', 'a subject alternative name beside the common name (repeatable; up to 99)', collect)
    .addOption(new Option('--key-algorithm <algorithm>', 'key algorithm of the certificates').choices(KEY_ALGORITHM_CHOICES))
    .addOption(new Option('--challenge-type <type>', 'how the CA validates the names').choices(CHALLENGE_TYPE_CHOICES))
    .addOption(new Option('--key-policy <policy>', 'a fresh key per renewal (rotate) or keep the key (reuse)').choices(KEY_POLICY_CHOICES))
    .option('--renew-before-days <days>', 'renew this many days before expiry instead of the CA window or one third of the lifetime', positiveInt)
    .option('--profile <profile>', 'ACME profile to request')
    .option('--deployment-target <target>', 'deploy every new version to this target, id or name (repeatable, in order)', collect)
    .option('--key-agent <agent>', 'this agent (id or name) generates and keeps the private key: it never leaves that host');
}

/** Registers `auto-certificates` and its verbs. */
export function registerAutoCertificateCommands(program: Command): void {
  const auto = program.command('auto-certificates').description('certificates that certkeeper obtains and renews');

  withPaging(withConnection(auto.command('list').description('list auto certificates')))
    .option('--name <name>', 'only the auto certificate with this name')
    .option('--common-name <name>', 'only auto certificates with this common name')
    .option('--state <state>', 'only this state (PROVISIONING, AWAITING_VALIDATION, AVAILABLE, FAILED, PAUSED)')
    .option('--provider <id>', 'only auto certificates of this provider id')
    .action((opts: { name?: string; commonName?: string; state?: string; provider?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { name: opts.name, commonName: opts.commonName, state: opts.state, provider: opts.provider });
      const list = await ctx.client.list('/auto-certificates', filters, page);
      printList(ctx, list, COLUMNS, 'auto certificates');
    }));

  withConnection(auto.command('get').description('show one auto certificate').argument('<id>', 'auto certificate id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(await resolveId(ctx, 'auto-certificates', ref)));
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(autoCertificateBlock(res));
    }));

  withWritable(withConnection(auto.command('create').description('create an auto certificate and start its first issuance')
    .requiredOption('--name <name>', 'unique name')
    .requiredOption('--provider <provider>', 'provider id or name')
    .requiredOption('--common-name <name>', 'the first name of the certificate')))
    .option('--wait', 'wait until the first certificate is issued (or FAILED, exit 1)')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((opts: WritableOpts & { wait?: boolean; timeout: number }, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.post('/auto-certificates', { properties: propertiesOf(opts) });
      if (opts.wait) return waitForIssuance(ctx, res.id, { ...res, metadata: { ...res.metadata, state: 'PROVISIONING', lastIssuedCertificate: null } }, opts.timeout);
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(autoCertificateBlock(res));
    }));

  withWritable(withConnection(auto.command('update').description('change an auto certificate (new names or key algorithm re-issue it)').argument('<id>', 'auto certificate id or name')
    .option('--name <name>', 'new name')
    .option('--provider <provider>', 'provider id or name')
    .option('--common-name <name>', 'new common name')))
    .option('--no-sans', 'remove every subject alternative name (keep only the common name)')
    .option('--no-renew-before-days', 'go back to the CA window or one third of the lifetime')
    .option('--no-profile', 'request no profile')
    .option('--no-deployment-targets', 'deploy new versions nowhere')
    .option('--no-key-agent', 'the server generates and holds the key again')
    .action((ref: string, opts: WritableOpts & { sans?: boolean; deploymentTargets?: boolean }, cmd: Command) => runAction(cmd, async (ctx) => {
      const properties = propertiesOf(opts);
      if (Object.keys(properties).length === 0) throw new CliError('nothing to change; give at least one option (see --help)');
      const res = await ctx.client.patch(path(await resolveId(ctx, 'auto-certificates', ref)), { properties });
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(autoCertificateBlock(res));
    }));

  withConnection(auto.command('delete').description('delete an auto certificate (its versions stay in the repository)').argument('<id>', 'auto certificate id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'auto-certificates', ref);
      await ctx.client.delete(path(id));
      if (!ctx.json) ctx.streams.out(`deleted auto certificate ${id}\n`);
    }));

  withConnection(auto.command('renew').description('renew now').argument('<id>', 'auto certificate id or name'))
    .option('--rekey', 'use a new key even when the key policy is reuse')
    .option('--wait', 'wait until the new version is issued (or FAILED, exit 1)')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((ref: string, opts: { rekey?: boolean; wait?: boolean; timeout: number }, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'auto-certificates', ref);
      const before = opts.wait ? await ctx.client.get(path(id)) : null;
      const res = await ctx.client.post(`${path(id)}/renew`, { rekey: !!opts.rekey });
      if (opts.wait) return waitForIssuance(ctx, id, before, opts.timeout);
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(autoCertificateBlock(res));
    }));

  for (const [verb, text] of [['pause', 'stop automation (no renewals until resumed)'], ['resume', 'restart automation']] as const) {
    withConnection(auto.command(verb).description(text).argument('<id>', 'auto certificate id or name'))
      .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
        const res = await ctx.client.post(`${path(await resolveId(ctx, 'auto-certificates', ref))}/${verb}`);
        if (ctx.json) return ctx.printJson(res);
        ctx.streams.out(autoCertificateBlock(res));
      }));
  }

  withConnection(auto.command('validations').description('show the pending challenges of the open order: the DNS records or HTTP files to publish').argument('<id>', 'auto certificate id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'auto-certificates', ref);
      const list = await ctx.client.get<Collection<ValidationItem>>(`${path(id)}/validations`);
      if (ctx.json) return ctx.printJson(list);
      if (list.items.length === 0) return ctx.streams.err('no pending validations\n');
      ctx.streams.out(validationsText(list.items));
      const res = await ctx.client.get(path(id)).catch(() => null);
      const challengeType = String(res?.properties.challengeType ?? '');
      if (res?.metadata.state === 'AWAITING_VALIDATION' && challengeType.startsWith('manual-')) {
        ctx.streams.err(`publish ${list.items.length === 1 ? 'this' : `these ${list.items.length}`}, then run "certkeeper auto-certificates verify ${ref}"\n`);
      }
    }));

  withConnection(auto.command('verify').description('tell certkeeper the manual challenges are published: it checks they are visible, then lets the CA validate').argument('<id>', 'auto certificate id or name'))
    .option('--force', 'skip certkeeper\'s own visibility check and let the CA validate now')
    .option('--wait', 'wait until the certificate is issued (AVAILABLE) or FAILED (exit 1)')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((ref: string, opts: { force?: boolean; wait?: boolean; timeout: number }, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'auto-certificates', ref);
      const before = opts.wait ? await ctx.client.get(path(id)) : null;
      let res: Resource | undefined;
      try {
        res = await ctx.client.post<Resource | undefined>(`${path(id)}/verify`, opts.force ? { force: true } : {});
      } catch (err) {
        if (err instanceof ApiError && err.problem.code === 'records_not_visible') return printRecordsNotVisible(ctx, err, ref);
        throw err;
      }
      if (opts.wait) return waitForIssuance(ctx, id, before, opts.timeout);
      if (ctx.json) return ctx.printJson(res ?? {});
      if (res) ctx.streams.out(autoCertificateBlock(res));
    }));

  withConnection(auto.command('deploy').description('deploy the active version again to every deployment target, without re-issuing').argument('<id>', 'auto certificate id or name'))
    .option('--wait', 'wait until every deployment leaves PENDING; exit 1 when one FAILED, printing its message and output')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((ref: string, opts: { wait?: boolean; timeout: number }, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'auto-certificates', ref);
      const started = await ctx.client.post<Collection<Resource>>(`${path(id)}/deploy`);
      return reportDeployments(ctx, started, { wait: !!opts.wait, timeoutSeconds: opts.timeout, follow: `--auto-certificate ${ref}` });
    }));

  withConnection(auto.command('pull').description('download the active version as one PEM bundle (leaf, chain, and the key with --include-private-key); with --etag-file only when it changed').argument('<id>', 'auto certificate id or name'))
    .option('--include-private-key', 'append the private key (operators, admins, consumer tokens allowed to); audited')
    .option('--out <file>', 'write the bundle to this file, atomically (mode 0600 with the key, else 0644); default stdout')
    .option('--etag-file <file>', 'keep the ETag here and send it back: an unchanged version prints "unchanged", writes nothing and exits 0')
    .action((ref: string, opts: PullOptions, cmd: Command) => runAction(cmd, async (ctx) => {
      await pullCertificate(ctx, await resolveId(ctx, 'auto-certificates', ref), opts);
    }));
}
