/** `certkeeper events …`: the audit log. */
import type { Command } from 'commander';
import type { Resource } from './api-client.js';
import { pagingOf, printList, runAction, withConnection, withPaging } from './command-kit.js';
import type { Column } from './output.js';

const COLUMNS: Column<Resource>[] = [
  { header: 'TIME', value: (r) => r.metadata.createdDate },
  { header: 'TYPE', value: (r) => r.properties.type },
  { header: 'SUBJECT', value: (r) => (r.properties.subjectType ? `${String(r.properties.subjectType)}/${String(r.properties.subjectId)}` : null) },
  { header: 'ACTOR', value: (r) => r.properties.actor },
  { header: 'MESSAGE', value: (r) => r.properties.message },
];

/** Registers `events` and its verbs. */
export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('the audit log');

  withPaging(withConnection(events.command('list').description('list events')))
    .option('--type <type>', 'only events of this type, e.g. certificate.issued')
    .option('--subject-id <id>', 'only events about this resource id')
    .option('--subject-type <type>', 'only events about this kind of resource (provider, auto-certificate, certificate)')
    .action((opts: { type?: string; subjectId?: string; subjectType?: string; offset?: number; limit?: number; filter?: string[] }, cmd: Command) => runAction(cmd, async (ctx) => {
      const { filters, page } = pagingOf(opts, { type: opts.type, subjectId: opts.subjectId, subjectType: opts.subjectType });
      const list = await ctx.client.list('/events', filters, page);
      printList(ctx, list, COLUMNS, 'events');
    }));
}
