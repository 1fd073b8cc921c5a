import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROBLEMS } from '../../src/api/problems.js';

test('every problem code is documented in docs/problems.md with its status', () => {
  const doc = readFileSync(new URL('../../docs/problems.md', import.meta.url), 'utf8');
  for (const [code, { status }] of Object.entries(PROBLEMS)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `${code} is missing from docs/problems.md`);
  }
});
