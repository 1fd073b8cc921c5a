/**
 * `certkeeper admin`: tenants and their first admin, created on the database the server uses, and
 * the invitation, token and login that follow, through a real server on the same data directory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { cliRunner } from './run-cli.js';

let ck: CertkeeperHandle;
before(async () => {
  ck = await startCertkeeper();
});
after(async () => ck?.stop());

const cli = cliRunner(() => ({ CERTKEEPER_DATA_DIR: ck.dataDir }));

test('create-tenant makes a tenant, invites its admin and hands out an admin token of that tenant only', async () => {
  const made = await cli(['admin', 'create-tenant', 'acme-corp', '--admin-email', 'Boss@Acme.example', '--token', 'bootstrap', '--json']);
  assert.equal(made.code, 0, made.stderr);
  const out = JSON.parse(made.stdout);
  assert.equal(out.tenant.name, 'acme-corp');
  assert.equal(out.admin.email, 'boss@acme.example');
  assert.match(out.token, /^ck_/);

  const as = (path: string, init: RequestInit = {}) => fetch(`${ck.url}${path}`, { ...init, headers: { authorization: `Bearer ${out.token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const me: any = await (await as('/api/v1/me')).json();
  assert.deepEqual({ role: me.role, tenant: me.tenant.name }, { role: 'admin', tenant: 'acme-corp' });
  // The default tenant's objects are not the new tenant's.
  await ck.api('POST', '/api/v1/tokens', { properties: { name: 'default-only', role: 'viewer' } });
  const tokens: any = await (await as('/api/v1/tokens')).json();
  assert.deepEqual(tokens.items.map((t: any) => t.properties.name), ['bootstrap']);

  const activated = await fetch(`${ck.url}/api/v1/users/activate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invitation: out.admin.invitation.token, password: 'a long admin passphrase' }) });
  assert.equal(activated.status, 200);
  const login = await fetch(`${ck.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'boss@acme.example', password: 'a long admin passphrase' }) });
  assert.equal(login.status, 201);
  assert.equal(((await login.json()) as any).properties.tenant.name, 'acme-corp');

  const audit: any = await (await as('/api/v1/events?filter.type=tenant.created')).json();
  assert.equal(audit.total, 1);

  const dup = await cli(['admin', 'create-tenant', 'acme-corp', '--admin-email', 'x@acme.example']);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /exists already/);
  const badName = await cli(['admin', 'create-tenant', 'Bad Name', '--admin-email', 'x@acme.example']);
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /tenant name/);

  const list = await cli(['admin', 'list-tenants', '--json']);
  assert.deepEqual(JSON.parse(list.stdout).map((t: any) => [t.name, t.users]), [['default', 0], ['acme-corp', 1]]);
});

test('invite resets a locked-out admin: a fresh invitation, old password and sessions gone', async () => {
  const reset = await cli(['admin', 'invite', 'acme-corp', 'boss@acme.example', '--json']);
  assert.equal(reset.code, 0, reset.stderr);
  const { invitation } = JSON.parse(reset.stdout);
  const old = await fetch(`${ck.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'boss@acme.example', password: 'a long admin passphrase' }) });
  assert.equal(old.status, 401);
  const activated = await fetch(`${ck.url}/api/v1/users/activate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invitation: invitation.token, password: 'another admin passphrase' }) });
  assert.equal(activated.status, 200);
  // The same address in another tenant is another user: neither tenant can tell.
  const other = await cli(['admin', 'invite', 'default', 'boss@acme.example', '--role', 'viewer', '--json']);
  assert.equal(other.code, 0, other.stderr);
  const second = JSON.parse(other.stdout).invitation.token;
  await fetch(`${ck.url}/api/v1/users/activate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ invitation: second, password: 'the default tenant passphrase' }) });
  const login = async (password: string, tenant?: string) => fetch(`${ck.url}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'boss@acme.example', password, ...(tenant ? { tenant } : {}) }) });
  const intoAcme: any = await (await login('another admin passphrase')).json();
  assert.equal(intoAcme.properties.tenant.name, 'acme-corp', 'the password picks the user');
  const intoDefault: any = await (await login('the default tenant passphrase')).json();
  assert.deepEqual([intoDefault.properties.tenant.name, intoDefault.properties.role], ['default', 'viewer']);
  assert.equal((await login('the default tenant passphrase', 'acme-corp')).status, 401, 'the tenant, when given, narrows the choice');
});
