import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { DNS_PROVIDERS } from '../../src/dns/providers/index.js';
import { renderProvidersDoc } from '../../src/dns/providers-doc.js';

test('docs/dns-providers.md is generated from the manifests (regenerate with npm run docs:dns)', () => {
  const committed = readFileSync(new URL('../../docs/dns-providers.md', import.meta.url), 'utf8');
  assert.equal(committed, renderProvidersDoc(DNS_PROVIDERS.values()));
});

test('every manifest is complete: code, name, docs link, described fields', () => {
  assert.ok(DNS_PROVIDERS.size >= 1);
  for (const m of DNS_PROVIDERS.values()) {
    assert.match(m.code, /^[a-z0-9-]+$/);
    assert.ok(m.name && m.description.length > 20, `${m.code} describes itself`);
    assert.ok(/^https:\/\//.test(m.docsUrl) || existsSync(new URL(`../../${m.docsUrl}`, import.meta.url)), `${m.code}: docsUrl is a link or a file of the repository`);
    for (const f of [...m.settings, ...m.credentials]) assert.ok(f.description.length > 5, `${m.code}.${f.name} is described`);
  }
});
