// The DNS zone form of the web UI describes each provider's settings and credentials from
// web/src/dns-providers.json, a copy of the provider manifests (src/dns/providers/*/manifest.ts)
// without their code: the browser bundle cannot import the server's providers. This test fails
// when the copy drifts from the manifests; CERTKEEPER_UPDATE_DNS_SPECS=1 rewrites it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { DNS_PROVIDERS } from '../../src/dns/providers/index.js';
import type { FieldSpec } from '../../src/dns/provider-manifest.js';

const FILE = new URL('../../web/src/dns-providers.json', import.meta.url);

function field(f: FieldSpec) {
  return {
    name: f.name,
    type: f.type,
    description: f.description,
    ...(f.required ? { required: true } : {}),
    ...(f.default !== undefined ? { default: f.default } : {}),
    ...(f.enum ? { enum: [...f.enum] } : {}),
    ...(f.example !== undefined ? { example: f.example } : {}),
  };
}

/** What the UI needs of every manifest, in the manifests' order. */
function expected() {
  return [...DNS_PROVIDERS.values()].map((m) => ({
    code: m.code,
    name: m.name,
    docsUrl: m.docsUrl,
    ...(m.credentialsOptional ? { credentialsOptional: true } : {}),
    ...(m.anyCredentials ? { anyCredentials: true } : {}),
    settings: m.settings.map(field),
    credentials: m.credentials.map(field),
  }));
}

test('web/src/dns-providers.json matches the DNS provider manifests', () => {
  const want = `${JSON.stringify(expected(), null, 2)}\n`;
  if (process.env.CERTKEEPER_UPDATE_DNS_SPECS === '1') writeFileSync(FILE, want);
  assert.equal(readFileSync(FILE, 'utf8'), want,
    'the UI\'s copy of the DNS provider manifests is out of date: run CERTKEEPER_UPDATE_DNS_SPECS=1 node --import tsx --test test/ui/dns-provider-specs.test.ts');
});
