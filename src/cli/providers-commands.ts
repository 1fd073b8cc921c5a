/** `certkeeper providers …`: ACME accounts. */
import type { Command } from 'commander';
import type { Resource } from './api-client.js';
import { CliError } from './cli-config.js';
import { pagingOf, positiveInt, printList, resolveId, runAction, seg, withConnection, withPaging, type CommandContext } from './command-kit.js';
import { readTextFile } from './input-files.js';
import { pemCount, renderBlock, resourcePairs, type Column } from './output.js';
import { DEFAULT_WAIT_SECONDS, waitFor } from './wait.js';

const COLUMNS: Column<Resource>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'NAME', value: (r) => r.properties.name },
  { header: 'STATE', value: (r) => r.metadata.state },
  { header: 'SERVER', value: (r) => r.properties.server },
  { header: 'EMAIL', value: (r) => r.properties.email },
];

/** A provider as a key: value block; the CA roots are summarised, not dumped. */
export function providerBlock(res: Resource): string {
  const pairs = resourcePairs(res, ['caCertificates']);
  const n = pemCount(res.properties.caCertificates);
  if (n) pairs.push(['ca certificates', `${n} certificate(s)`]);
  return renderBlock(pairs);
}

/** Prints a provider, waiting first when asked; returns exit code 1 when it ended FAILED. */
async function showMaybeWaiting(ctx: CommandContext, res: Resource, wait: boolean, timeoutSeconds: number): Promise<number> {
  let final = res;
  if (wait) {
    final = await waitFor(ctx, `/providers/${seg(res.id)}`, {
      label: `provider ${String(res.properties.name)}`,
      timeoutSeconds,
      done: (r) => r.metadata.state !== 'PROVISIONING',
    });
  }
  if (ctx.json) ctx.printJson(final);
  else ctx.streams.out(providerBlock(final));
  if (wait && final.metadata.state === 'FAILED') {
    ctx.streams.err(`error: provider ${String(final.properties.name)} is FAILED: ${final.metadata.message ?? ''}\n`);
    return 1;
  }
  return 0;
}

interface CreateOpts {
  name: string;
  server: string;
  email?: string;
  eabKeyId?: string;
  eabKeySecret?: string;
  profile?: string;
  preferredChain?: string;
  caCertificates?: string;
  wait?: boolean;
  timeout: number;
}

interface UpdateOpts {
  name?: string;
  email?: string | false;
  profile?: string | false;
  preferredChain?: string | false;
  caCertificates?: string | false;
  wait?: boolean;
  timeout: number;
}

/** Registers `providers` and its verbs. */
export function registerProviderCommands(program: Command): void {
  const providers = program.command('providers').description('ACME accounts at certificate authorities');

  withPaging(withConnection(providers.command('list').description('list providers')))
    .option('--name <name>', 'only the provider with this name')
    .option('--state <state>', 'only providers in this state (PROVISIONING, AVAILABLE, FAILED)')
    .action((opts: { name?: string; state?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { name: opts.name, state: opts.state });
      const list = await ctx.client.list('/providers', filters, page);
      printList(ctx, list, COLUMNS, 'providers');
    }));

  withConnection(providers.command('get').description('show one provider').argument('<id>', 'provider id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(`/providers/${seg(await resolveId(ctx, 'providers', ref))}`);
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(providerBlock(res));
    }));

  withConnection(providers.command('create').description('create a provider and register its ACME account'), { serverIsApi: false })
    .requiredOption('--name <name>', 'unique name of the provider')
    .requiredOption('--server <directory-url>', 'ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory (the certkeeper server is then given with --api-server)')
    .option('--email <address>', 'contact e-mail registered with the CA')
    .option('--eab-key-id <id>', 'External Account Binding key id from the CA')
    .option('--eab-key-secret <secret>', 'External Account Binding HMAC key (base64url) from the CA')
    .option('--profile <profile>', 'ACME profile to request')
    .option('--preferred-chain <issuer-cn>', 'issuer common name of the preferred alternate chain')
    .option('--ca-certificates <pem-file>', 'PEM file of roots to trust for the ACME server (private CAs)')
    .option('--wait', 'wait until the account is registered (AVAILABLE) or FAILED; exit 1 if FAILED')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((opts: CreateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      if (!!opts.eabKeyId !== !!opts.eabKeySecret) throw new CliError('--eab-key-id and --eab-key-secret go together; give both or neither');
      const properties: Record<string, unknown> = { name: opts.name, server: opts.server };
      if (opts.email) properties.email = opts.email;
      if (opts.eabKeyId && opts.eabKeySecret) properties.externalAccountBinding = { keyId: opts.eabKeyId, keySecret: opts.eabKeySecret };
      if (opts.profile) properties.profile = opts.profile;
      if (opts.preferredChain) properties.preferredChain = opts.preferredChain;
      if (opts.caCertificates) properties.caCertificates = readTextFile(opts.caCertificates, 'CA certificates');
      const res = await ctx.client.post('/providers', { properties });
      return showMaybeWaiting(ctx, res, !!opts.wait, opts.timeout);
    }));

  withConnection(providers.command('update').description('change a provider (a new e-mail or CA roots re-register the account)').argument('<id>', 'provider id or name'))
    .option('--name <name>', 'new name')
    .option('--email <address>', 'new contact e-mail')
    .option('--no-email', 'remove the contact e-mail')
    .option('--profile <profile>', 'ACME profile to request')
    .option('--no-profile', 'request no profile')
    .option('--preferred-chain <issuer-cn>', 'preferred alternate chain')
    .option('--no-preferred-chain', 'take the default chain')
    .option('--ca-certificates <pem-file>', 'PEM file of roots to trust for the ACME server')
    .option('--no-ca-certificates', 'trust only the system roots again')
    .option('--wait', 'wait until the provider leaves PROVISIONING; exit 1 if FAILED')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((ref: string, opts: UpdateOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const properties: Record<string, unknown> = {};
      if (opts.name !== undefined) properties.name = opts.name;
      if (opts.email !== undefined) properties.email = opts.email === false ? null : opts.email;
      if (opts.profile !== undefined) properties.profile = opts.profile === false ? null : opts.profile;
      if (opts.preferredChain !== undefined) properties.preferredChain = opts.preferredChain === false ? null : opts.preferredChain;
      if (opts.caCertificates !== undefined) properties.caCertificates = opts.caCertificates === false ? null : readTextFile(opts.caCertificates, 'CA certificates');
      if (Object.keys(properties).length === 0) throw new CliError('nothing to change; give at least one of --name, --email, --profile, --preferred-chain, --ca-certificates (or their --no- forms)');
      const res = await ctx.client.patch(`/providers/${seg(await resolveId(ctx, 'providers', ref))}`, { properties });
      return showMaybeWaiting(ctx, res, !!opts.wait, opts.timeout);
    }));

  withConnection(providers.command('delete').description('delete a provider no auto certificate uses (the account stays at the CA)').argument('<id>', 'provider id or name'))
    .action((ref: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const id = await resolveId(ctx, 'providers', ref);
      await ctx.client.delete(`/providers/${seg(id)}`);
      if (!ctx.json) ctx.streams.out(`deleted provider ${id}\n`);
    }));
}
