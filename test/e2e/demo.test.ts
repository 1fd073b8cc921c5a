// The README's walk-through: `certkeeper serve --demo` starts a local Pebble, creates the
// `pebble` provider, and a certificate is issued through it, all offline.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../harness/ports.js';
import { startServeProcess, type ServeProcess } from '../harness/serve-process.js';

let proc: ServeProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'ck-demo-'));
after(async () => {
  await proc?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('serve --demo issues a certificate within a minute, with no internet', async () => {
  const apiPort = await freePort();
  const token = randomBytes(16).toString('hex');
  const api = `http://127.0.0.1:${apiPort}`;
  proc = await startServeProcess({
    CERTKEEPER_DATA_DIR: dataDir,
    CERTKEEPER_LISTEN: `127.0.0.1:${apiPort}`,
    CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${await freePort()}`,
    CERTKEEPER_ADMIN_TOKEN: token,
  }, api, ['--demo']);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return (await res.json()) as any;
  };
  const started = Date.now();
  let provider: any;
  for (let i = 0; i < 300; i++) {
    provider = (await call('GET', '/api/v1/providers?filter.name=pebble')).items[0];
    if (provider?.metadata.state === 'AVAILABLE') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(provider?.metadata.state, 'AVAILABLE', proc.output());
  const ac = await call('POST', '/api/v1/auto-certificates', { properties: { name: 'www', provider: 'pebble', commonName: 'www.example.test', subjectAlternativeNames: ['example.test'] } });
  let state: any;
  for (let i = 0; i < 600; i++) {
    state = await call('GET', `/api/v1/auto-certificates/${ac.id}`);
    if (state.metadata.state !== 'PROVISIONING') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(state.metadata.state, 'AVAILABLE', state.metadata.message);
  assert.ok(Date.now() - started < 60_000);
  assert.match(proc.output(), /Pebble ACME CA at https:\/\/127\.0\.0\.1:\d+\/dir/);
  assert.match(proc.output(), /CERTKEEPER_MASTER_KEY is not set/, 'warns about the generated master key');
});
