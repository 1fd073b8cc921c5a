/**
 * `certkeeper deployments …`: one certificate version to one deployment target, with its state
 * (`PENDING`, `DEPLOYED`, `FAILED`), attempts and the output of the last one. Deployments are made
 * by `certificates deploy`, `auto-certificates deploy` and every new version; here they are
 * listed, shown and retried.
 */
import type { Command } from 'commander';
import type { Collection, Resource } from './api-client.js';
import { pagingOf, positiveInt, resolveId, runAction, seg, withConnection, withPaging, type CommandContext } from './command-kit.js';
import { deploymentBlock, deploymentColumns, deploymentNames, reportDeployments } from './deployment-results.js';
import { renderTable } from './output.js';
import { DEFAULT_WAIT_SECONDS } from './wait.js';

const path = (id: string) => `/deployments/${seg(id)}`;

interface ListOpts {
  state?: string;
  target?: string;
  certificate?: string;
  autoCertificate?: string;
  offset?: number;
  limit?: number;
  filter?: string[];
}

/** The ids of the named filters: targets, certificates and auto certificates may be given by name. */
async function filterIds(ctx: CommandContext, opts: ListOpts): Promise<Record<string, string | undefined>> {
  const id = (collection: string, ref: string | undefined) => (ref === undefined ? undefined : resolveId(ctx, collection, ref));
  return {
    state: opts.state,
    target: await id('deployment-targets', opts.target),
    certificate: await id('certificates', opts.certificate),
    autoCertificate: await id('auto-certificates', opts.autoCertificate),
  };
}

/** Registers `deployments` and its verbs. */
export function registerDeploymentCommands(program: Command): void {
  const deployments = program.command('deployments').description('certificate versions deployed to targets: state, attempts, output; retry');

  withPaging(withConnection(deployments.command('list').description('list deployments, newest first')))
    .option('--state <state>', 'only this state (PENDING, DEPLOYED, FAILED)')
    .option('--target <target>', 'only deployments to this target (id or name)')
    .option('--certificate <certificate>', 'only deployments of this certificate version (id or name)')
    .option('--auto-certificate <auto-certificate>', 'only deployments of versions of this auto certificate (id or name)')
    .action((opts: ListOpts, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, await filterIds(ctx, opts));
      const list = await ctx.client.list('/deployments', filters, page);
      if (ctx.json) return ctx.printJson(list);
      if (list.items.length === 0) return ctx.streams.err('no deployments\n');
      ctx.streams.out(renderTable(list.items, deploymentColumns(await deploymentNames(ctx, list.items))));
    }));

  withConnection(deployments.command('get').description('show one deployment, with the output of its last attempt').argument('<id>', 'deployment id'))
    .action((id: string, _opts: unknown, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.get(path(id));
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(deploymentBlock(res, await deploymentNames(ctx, [res])));
    }));

  withConnection(deployments.command('retry').description('attempt a PENDING or FAILED deployment now (its attempts start again from 0)').argument('<id>', 'deployment id'))
    .option('--wait', 'wait until it leaves PENDING; exit 1 when it FAILED, printing its message and output')
    .option('--timeout <seconds>', 'how long --wait waits', positiveInt, DEFAULT_WAIT_SECONDS)
    .action((id: string, opts: { wait?: boolean; timeout: number }, cmd: Command) => runAction(cmd, async (ctx) => {
      const res = await ctx.client.post(`${path(id)}/retry`);
      if (opts.wait) {
        const started: Collection<Resource> = { id: 'deployments', type: 'collection', items: [res], offset: 0, limit: 1, total: 1 };
        return reportDeployments(ctx, started, { wait: true, single: true, timeoutSeconds: opts.timeout, follow: `--target ${String(res.properties.target)}` });
      }
      if (ctx.json) return ctx.printJson(res);
      ctx.streams.out(deploymentBlock(res, await deploymentNames(ctx, [res])));
    }));
}
