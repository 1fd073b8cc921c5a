// docs/cli.md is the CLI reference (STYLE.md habit 12): every client command has a section, and
// every option of the command appears in it. Fails when a command or option is added or renamed
// without the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerClientCommands } from '../../src/cli/client-commands.js';

const CONNECTION = new Set(['--server', '--api-server', '--token', '--json', '--help']);

test('docs/cli.md documents every client command and option', () => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
  const program = new Command('certkeeper');
  registerClientCommands(program);
  const missing: string[] = [];
  for (const group of program.commands) {
    for (const leaf of group.commands) {
      const heading = `### certkeeper ${group.name()} ${leaf.name()}\n`;
      const start = doc.indexOf(heading);
      if (start < 0) {
        missing.push(`section "${heading.trim()}"`);
        continue;
      }
      const end = doc.indexOf('\n### ', start + heading.length);
      const section = doc.slice(start, end < 0 ? undefined : end);
      for (const option of leaf.options) {
        if (!option.long || option.hidden) continue;
        if (CONNECTION.has(option.long)) continue;
        if (!section.includes(`\`${option.long}`) && !section.includes(` ${option.long}`)) missing.push(`${group.name()} ${leaf.name()} ${option.long}`);
      }
    }
  }
  for (const option of ['--server', '--api-server', '--token', '--json']) {
    if (!doc.includes(`\`${option} `) && !doc.includes(`\`${option}\``)) missing.push(`connection option ${option}`);
  }
  assert.deepEqual(missing, []);
});
