/**
 * docs/deployment-targets.md stays in step with the manifests (STYLE.md habit 12): a section per
 * target type, and a table row for each of its settings and credentials.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEPLOY_TARGETS } from '../../../src/deploy/targets/index.js';
import { parseHostKey } from '../../../src/deploy/targets/ssh/host-key.js';

const docs = readFileSync(new URL('../../../docs/deployment-targets.md', import.meta.url), 'utf8');

/** The text of the `## <code>` section. */
function section(code: string): string {
  const start = docs.indexOf(`\n## ${code}\n`);
  assert.ok(start >= 0, `docs/deployment-targets.md has a "## ${code}" section`);
  const next = docs.indexOf('\n## ', start + 4);
  return docs.slice(start, next < 0 ? undefined : next);
}

test('every target type has a section with a row for each setting and credential, and an example', () => {
  assert.deepEqual([...DEPLOY_TARGETS.keys()].sort(), ['kubernetes-secret', 'script', 'ssh', 'webhook']);
  for (const [code, m] of DEPLOY_TARGETS) {
    const text = section(code);
    for (const name of [...Object.keys(m.settings), ...Object.keys(m.credentials)]) {
      assert.match(text, new RegExp(`\\n\\| \`${name}\` \\|`), `${code}: a table row for ${name}`);
    }
    assert.match(text, new RegExp(`"type": "${code}"`), `${code}: an example`);
  }
});

test('the examples are well-formed (JSON bodies parse; the ssh example\'s host key is a real key)', () => {
  const blocks = [...docs.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]!);
  for (const b of blocks) JSON.parse(b.replace(/"…"|…/g, (x) => (x === '…' ? '' : '""')));
  const httpExample = /```http\n[\s\S]*?\n\n([\s\S]*?)```/.exec(docs)![1]!;
  const body = JSON.parse(httpExample) as { properties: { settings: { hostKey: string } } };
  assert.ok(parseHostKey(body.properties.settings.hostKey));
});
