// `certkeeper tokens …` and `certkeeper users …`, run as a child process against a real server
// started in this process (test/harness/certkeeper.ts), as in cli.test.ts. The token and the
// invitation printed once are used against the API: a created token authenticates, a revoked one
// answers 401, and an invitation activates the user at POST /api/v1/users/activate.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { cliRunner, expectOk } from './run-cli.js';
import { seedAutoCertificate, seedProvider } from './seed.js';

let ck: CertkeeperHandle;
let work: string;

const cli = cliRunner(() => ({ HOME: join(work, 'home'), CERTKEEPER_SERVER: ck.url, CERTKEEPER_TOKEN: ck.token }));
const ok = (args: string[], env: Record<string, string | undefined> = {}) => expectOk(cli, args, env);

/** The value of `label:` in a block. */
const field = (block: string, label: string) => new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(block)?.[1];

/** A call of the API with a bearer token of our choosing (or none). */
async function callWith(token: string | null, method: string, path: string, body?: unknown) {
  const res = await fetch(ck.url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ck-cli-access-'));
  mkdirSync(join(work, 'home'));
  ck = await startCertkeeper();
  const providerId = await seedProvider(ck.server, 'cli-access-le');
  await seedAutoCertificate(ck.server, providerId, { name: 'www', commonName: 'www.access.test', challengeType: 'http-01', state: 'AVAILABLE' });
  await seedAutoCertificate(ck.server, providerId, { name: 'other', commonName: 'other.access.test', challengeType: 'http-01', state: 'AVAILABLE' });
});

after(async () => {
  await ck?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('certkeeper CLI: tokens and users', { concurrency: true }, () => {
  test('tokens: create one of each role, list without values, get by name, revoke → 401', async () => {
    const tokens: Record<string, string> = {};
    for (const role of ['admin', 'operator', 'viewer']) {
      const r = await cli(['tokens', 'create', '--name', `t-${role}`, '--role', role, ...(role === 'viewer' ? ['--expires-in', '30d'] : [])]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(field(r.stdout, 'name'), `t-${role}`);
      assert.equal(field(r.stdout, 'role'), role);
      assert.equal(field(r.stdout, 'state'), 'ACTIVE');
      const token = field(r.stdout, 'token');
      assert.match(token ?? '', /^ck_[A-Za-z0-9_-]{20,}$/);
      assert.equal(r.stdout.split(token!).length, 2, 'the token is printed exactly once');
      assert.match(r.stderr, /shown only this once/);
      tokens[role] = token!;
      const me = await callWith(token!, 'GET', '/api/v1/me');
      assert.equal(me.status, 200, JSON.stringify(me.body));
    }
    // --expires-in sets an expiry about 30 days away.
    const viewer = JSON.parse(await ok(['tokens', 'get', 't-viewer', '--json']));
    const days = (Date.parse(viewer.properties.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expiresAt ${viewer.properties.expiresAt}`);

    // --json of create keeps the token.
    const json = JSON.parse(await ok(['tokens', 'create', '--name', 't-json', '--role', 'viewer', '--expires-at', '2099-01-01T00:00:00Z', '--json']));
    assert.match(json.properties.token, /^ck_/);
    assert.equal(json.properties.expiresAt, '2099-01-01T00:00:00.000Z');

    const list = await ok(['tokens', 'list']);
    assert.match(list, /^NAME\s+ROLE\s+STATE\s+EXPIRES\s+LAST USED$/m);
    assert.match(list, /^t-admin\s+admin\s+ACTIVE\s+never\s+\S+/m);
    assert.match(list, /^t-json\s+viewer\s+ACTIVE\s+2099-01-01T00:00:00Z\s+never$/m);
    for (const token of [...Object.values(tokens), json.properties.token]) assert.ok(!list.includes(token), 'list shows no token value');
    const listJson = await ok(['tokens', 'list', '--json']);
    for (const token of Object.values(tokens)) assert.ok(!listJson.includes(token));
    const got = await ok(['tokens', 'get', 't-operator']);
    assert.equal(field(got, 'role'), 'operator');
    assert.ok(!got.includes(tokens.operator!));
    assert.match(field(got, 'last used date') ?? '', /^\d{4}-/);

    const revoked = await ok(['tokens', 'revoke', 't-operator']);
    assert.match(revoked, /^revoked token t-operator \([0-9a-f-]{36}\)$/m);
    assert.equal((await callWith(tokens.operator!, 'GET', '/api/v1/me')).status, 401);
    const gone = await cli(['tokens', 'get', 't-operator']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: .*t-operator/m);
    // The revoked token given to the CLI is refused too.
    const refused = await cli(['tokens', 'list'], { CERTKEEPER_TOKEN: tokens.operator! });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: /m);
  });

  test('tokens: a consumer token reads only its scope; bad input is refused with exit 1', async () => {
    const r = await cli(['tokens', 'create', '--name', 'edge-lb', '--role', 'consumer', '--auto-certificate', 'www', '--include-private-key']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(field(r.stdout, 'role'), 'consumer');
    assert.equal(field(r.stdout, 'scope'), 'autoCertificates=www, includePrivateKey=true');
    const token = field(r.stdout, 'token')!;
    const autos = await callWith(token, 'GET', '/api/v1/auto-certificates');
    assert.equal(autos.status, 200);
    assert.deepEqual(autos.body.items.map((i: any) => i.properties.name), ['www']);
    assert.equal((await callWith(token, 'GET', '/api/v1/providers')).status, 403);

    const missing = await cli(['tokens', 'create', '--name', 'edge-2', '--role', 'consumer', '--auto-certificate', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: no auto certificate named "nope"/m);
    assert.equal(missing.stdout, '');

    const noScope = await cli(['tokens', 'create', '--name', 'edge-3', '--role', 'consumer']);
    assert.equal(noScope.code, 1);
    assert.match(noScope.stderr, /needs --auto-certificate/);
    const badRole = await cli(['tokens', 'create', '--name', 'edge-4', '--role', 'root']);
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /^error: unknown role "root"; this server knows admin, consumer, operator, viewer$/m);
    const dup = await cli(['tokens', 'create', '--name', 'edge-lb', '--role', 'viewer']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /already exists/);
    const past = await cli(['tokens', 'create', '--name', 'edge-5', '--role', 'viewer', '--expires-at', '2001-01-01T00:00:00Z']);
    assert.equal(past.code, 1);
    assert.match(past.stderr, /^error: expiresAt is in the past/m);
    const badIn = await cli(['tokens', 'create', '--name', 'edge-6', '--role', 'viewer', '--expires-in', '3 years']);
    assert.notEqual(badIn.code, 0);
    assert.match(badIn.stderr, /--expires-in/);
  });

  test('users: invite, activate with the invitation, list, update --role, --reinvite, delete', async () => {
    const r = await cli(['users', 'invite', '--email', 'Ann@Example.com', '--role', 'viewer']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(field(r.stdout, 'email'), 'ann@example.com');
    assert.equal(field(r.stdout, 'state'), 'INVITED');
    const invitation = field(r.stdout, 'invitation')!;
    assert.match(invitation, /^[A-Za-z0-9_-]{10,}$/);
    assert.match(field(r.stdout, 'valid until') ?? '', /^\d{4}-\d{2}-\d{2}T/);
    assert.match(r.stderr, /shown only this once/);

    const password = 'correct horse battery 42';
    const activated = await callWith(null, 'POST', '/api/v1/users/activate', { invitation, password });
    assert.equal(activated.status, 200, JSON.stringify(activated.body));
    assert.equal(activated.body.metadata.state, 'ACTIVE');
    const login = await callWith(null, 'POST', '/api/v1/sessions', { email: 'ann@example.com', password });
    assert.equal(login.status, 201, JSON.stringify(login.body));

    const list = await ok(['users', 'list']);
    assert.match(list, /^EMAIL\s+ROLE\s+STATE\s+LAST LOGIN$/m);
    assert.match(list, /^ann@example\.com\s+viewer\s+ACTIVE\s+\d{4}-/m);
    assert.ok(!list.includes(invitation));

    const updated = await ok(['users', 'update', 'ANN@example.com', '--role', 'operator']);
    assert.equal(field(updated, 'role'), 'operator');
    assert.equal(field(updated, 'state'), 'ACTIVE');
    assert.equal(field(updated, 'invitation'), undefined);
    assert.equal(JSON.parse(await ok(['users', 'get', 'ann@example.com', '--json'])).properties.role, 'operator');

    const nothing = await cli(['users', 'update', 'ann@example.com']);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /nothing to change/);
    const badRole = await cli(['users', 'update', 'ann@example.com', '--role', 'consumer']);
    assert.equal(badRole.code, 1);
    assert.match(badRole.stderr, /^error: unknown role "consumer"; this server knows admin, operator, viewer$/m);

    const reinvited = await cli(['users', 'update', 'ann@example.com', '--reinvite', '--json']);
    assert.equal(reinvited.code, 0, reinvited.stderr);
    const again = JSON.parse(reinvited.stdout);
    assert.equal(again.metadata.state, 'INVITED');
    assert.notEqual(again.properties.invitation.token, invitation);
    assert.equal((await callWith(null, 'POST', '/api/v1/sessions', { email: 'ann@example.com', password })).status, 401);
    assert.equal((await callWith(null, 'POST', '/api/v1/users/activate', { invitation: again.properties.invitation.token, password })).status, 200);

    const dup = await cli(['users', 'invite', '--email', 'ann@example.com', '--role', 'viewer']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^error: a user with the e-mail address ann@example\.com already exists/m);

    const deleted = await ok(['users', 'delete', 'ann@example.com']);
    assert.match(deleted, /^deleted user ann@example\.com \([0-9a-f-]{36}\)$/m);
    const gone = await cli(['users', 'get', 'ann@example.com']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: /m);
    assert.ok(!(await ok(['users', 'list'])).includes('ann@example.com'));
  });
});
