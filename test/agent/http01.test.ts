// The agent's http-01 answers: its own listener, and files in a web root.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { listeningHttp01, webrootHttp01 } from '../../src/agent/http01.js';
import type { AgentHttp01Work } from '../../src/deploy/types.js';
import { captureLogger, scratch } from './fixtures.js';

const token = (t: string, identifier = 'www.example.test'): AgentHttp01Work => ({
  kind: 'http-01', identifier, token: t, keyAuthorization: `${t}.thumbprint_-x`,
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: 'www.example.test' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('http-01 listener', () => {
  const log = captureLogger();
  const responder = listeningHttp01('127.0.0.1', 0, log.logger);
  after(() => responder.close());

  it('serves exactly the current set, 404 for everything else', async () => {
    await responder.start();
    const { port } = responder.address();
    assert.ok(port > 0);
    assert.equal(responder.description, `listen 127.0.0.1:${port}`);
    assert.deepEqual(await responder.apply([token('tok-A_1'), token('tokB')]), ['tok-A_1', 'tokB']);

    const a = await get(port, '/.well-known/acme-challenge/tok-A_1');
    assert.equal(a.status, 200);
    assert.match(a.type, /^text\/plain/);
    assert.equal(a.body, 'tok-A_1.thumbprint_-x');
    assert.equal((await get(port, '/.well-known/acme-challenge/tokB')).body, 'tokB.thumbprint_-x');
    assert.equal((await get(port, '/.well-known/acme-challenge/tokB', 'HEAD')).status, 200);
    assert.equal((await get(port, '/.well-known/acme-challenge/unknown')).status, 404);
    assert.equal((await get(port, '/.well-known/acme-challenge/')).status, 404);
    assert.equal((await get(port, '/tokB')).status, 404);
    assert.equal((await get(port, '/.well-known/acme-challenge/tokB', 'POST')).status, 404);

    // A new set replaces the old one completely.
    assert.deepEqual(await responder.apply([token('tokC')]), ['tokC']);
    assert.equal((await get(port, '/.well-known/acme-challenge/tok-A_1')).status, 404);
    assert.equal((await get(port, '/.well-known/acme-challenge/tokC')).status, 200);
    assert.deepEqual(await responder.apply([]), []);
    assert.equal((await get(port, '/.well-known/acme-challenge/tokC')).status, 404);
  });

  it('skips malformed entries (never served, never acknowledged)', async () => {
    const served = await responder.apply([
      token('good'),
      { kind: 'http-01', identifier: 'x', token: '../etc', keyAuthorization: '../etc.x' },
      { kind: 'http-01', identifier: 'x', token: 'mismatch', keyAuthorization: 'other.x' },
    ]);
    assert.deepEqual(served, ['good']);
  });
});

describe('http-01 webroot', () => {
  const s = scratch();
  after(() => s.remove());

  it('writes 0644 files for the set, removes the ones that left it, keeps files of others', async () => {
    const log = captureLogger();
    const responder = webrootHttp01(s.dir, log.logger);
    assert.equal(responder.description, `webroot ${s.dir}`);
    // Under the systemd unit's UMask=0077 the web server must still be able to read the files.
    const previous = process.umask(0o077);
    try {
      await responder.start();
    } finally {
      process.umask(previous);
    }
    const dir = join(s.dir, '.well-known', 'acme-challenge');
    assert.equal(statSync(join(s.dir, '.well-known')).mode & 0o777, 0o755);
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    writeFileSync(join(dir, 'someone-else'), 'not ours');

    assert.deepEqual(await responder.apply([token('t1'), token('t2')]), ['t1', 't2']);
    assert.equal(readFileSync(join(dir, 't1'), 'utf8'), 't1.thumbprint_-x');
    assert.equal(statSync(join(dir, 't1')).mode & 0o777, 0o644);
    assert.equal(readFileSync(join(dir, 't2'), 'utf8'), 't2.thumbprint_-x');

    await responder.apply([token('t2'), token('t3')]);
    assert.ok(!existsSync(join(dir, 't1')));
    assert.ok(existsSync(join(dir, 't2')));
    assert.ok(existsSync(join(dir, 't3')));

    await responder.apply([{ kind: 'http-01', identifier: 'x', token: '..', keyAuthorization: '...x' }]);
    assert.deepEqual(readdirSync(dir).sort(), ['someone-else']);

    await responder.apply([token('t4')]);
    await responder.close();
    assert.deepEqual(readdirSync(dir), ['someone-else'], 'stopping removes what the agent wrote, nothing else');
  });
});
