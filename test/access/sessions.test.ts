/**
 * Users, browser sessions and tokens, end to end against a real server: invitation and password,
 * cookie flags, CSRF, session fixation, logout (here and everywhere), lockout after failed logins,
 * the per-address login limit, role changes that apply at once, and token expiry and revocation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';

let ck: CertkeeperHandle;
let now = new Date('2026-11-26T10:00:00Z');
const clock = () => now;
const PASSWORD = 'correct horse battery staple';

before(async () => {
  ck = await startCertkeeper({}, { clock });
});
after(async () => ck?.stop());

interface Raw { status: number; headers: Headers; body: any }

/** A request with no bearer token: only the cookie and headers given. */
async function raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Raw> {
  const res = await fetch(`${ck.url}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** Invites a user as the bootstrap admin and sets the password; returns the user's id. */
async function makeUser(email: string, role: string, password = PASSWORD): Promise<string> {
  const u = await ck.api('POST', '/api/v1/users', { properties: { email, role } });
  assert.equal(u.status, 201, u.text);
  const done = await raw('POST', '/api/v1/users/activate', { invitation: u.body.properties.invitation.token, password });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  return u.body.id;
}

/** Logs in; returns the cookie pair (`name=value`) and the CSRF token. */
async function login(email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const r = await raw('POST', '/api/v1/sessions', { email, password }, headers);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const setCookie = r.headers.get('set-cookie')!;
  return { cookie: setCookie.split(';')[0]!, csrf: r.body.properties.csrfToken, setCookie };
}

describe('users and sessions', () => {
  test('an invitation is redeemed once, with a password that passes the rules', async () => {
    const u = await ck.api('POST', '/api/v1/users', { properties: { email: 'Ann@Example.com', role: 'operator' } });
    assert.equal(u.status, 201, u.text);
    assert.equal(u.body.properties.email, 'ann@example.com', 'addresses are stored in lower case');
    assert.equal(u.body.metadata.state, 'INVITED');
    const invitation = u.body.properties.invitation.token as string;
    const list = await ck.api('GET', '/api/v1/users');
    assert.ok(!list.text.includes(invitation), 'the invitation is shown once, never listed');

    const weak = await raw('POST', '/api/v1/users/activate', { invitation, password: 'short' });
    assert.equal(weak.status, 400);
    assert.equal(weak.body.code, 'validation_failed');
    assert.match(weak.body.detail, /at least 12 characters/);
    const ok = await raw('POST', '/api/v1/users/activate', { invitation, password: PASSWORD });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.metadata.state, 'ACTIVE');
    const again = await raw('POST', '/api/v1/users/activate', { invitation, password: 'another long password' });
    assert.equal(again.status, 404, 'an invitation works once');
    const dup = await ck.api('POST', '/api/v1/users', { properties: { email: 'ann@example.com', role: 'viewer' } });
    assert.equal(dup.status, 409);
    const events = await ck.api('GET', `/api/v1/events?filter.subjectId=${u.body.id}`);
    assert.deepEqual(events.body.items.map((e: any) => e.properties.type), ['user.activated', 'user.invited']);
  });

  test('login sets an HttpOnly SameSite=Strict cookie; the session reads, and changes only with its CSRF token', async () => {
    const { cookie, csrf, setCookie } = await login('ann@example.com');
    assert.match(setCookie, /^certkeeper_session=cks_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/, 'no Secure flag over plain HTTP');
    const me = await raw('GET', '/api/v1/me', undefined, { cookie });
    assert.equal(me.status, 200);
    assert.equal(me.body.name, 'user:ann@example.com');
    assert.equal(me.body.role, 'operator');
    assert.equal(me.body.csrfToken, csrf);
    assert.equal(me.body.tenant.name, 'default');

    const body = { properties: { certificate: 'not a certificate' } };
    const noCsrf = await raw('POST', '/api/v1/certificates', body, { cookie });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.code, 'forbidden');
    assert.match(noCsrf.body.detail, /x-csrf-token/);
    const wrongCsrf = await raw('POST', '/api/v1/certificates', body, { cookie, 'x-csrf-token': 'x'.repeat(43) });
    assert.equal(wrongCsrf.status, 403);
    const withCsrf = await raw('POST', '/api/v1/certificates', body, { cookie, 'x-csrf-token': csrf });
    assert.equal(withCsrf.status, 422, 'past authentication and CSRF, the import itself is judged');

    const admin = await raw('POST', '/api/v1/tokens', { properties: { name: 'x', role: 'viewer' } }, { cookie, 'x-csrf-token': csrf });
    assert.equal(admin.status, 403, 'an operator cannot make tokens');
    assert.match(admin.body.detail, /role operator may not do this; it needs admin/);
  });

  test('session fixation: a login never keeps a session the browser brought, and every login gets a new one', async () => {
    const first = await login('ann@example.com');
    const second = await login('ann@example.com', PASSWORD, { cookie: first.cookie });
    assert.notEqual(second.cookie, first.cookie);
    assert.notEqual(second.csrf, first.csrf);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: first.cookie })).status, 401, 'the session presented at login is ended');
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: second.cookie })).status, 200);
    const planted = await login('ann@example.com', PASSWORD, { cookie: 'certkeeper_session=cks_attacker-chosen-value' });
    assert.doesNotMatch(planted.cookie, /attacker/);
  });

  test('logout ends this session; logout everywhere ends them all', async () => {
    const a = await login('ann@example.com');
    const b = await login('ann@example.com');
    const out = await raw('DELETE', '/api/v1/sessions/current', undefined, { cookie: a.cookie, 'x-csrf-token': a.csrf });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie')!, /Max-Age=0/);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: a.cookie })).status, 401);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: b.cookie })).status, 200);
    const c = await login('ann@example.com');
    assert.equal((await raw('DELETE', '/api/v1/sessions', undefined, { cookie: c.cookie, 'x-csrf-token': c.csrf })).status, 204);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: b.cookie })).status, 401);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: c.cookie })).status, 401);
  });

  test('a session ends after 12 hours idle', async () => {
    const s = await login('ann@example.com');
    now = new Date(now.getTime() + 11 * 3600_000);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: s.cookie })).status, 200, 'use slides the expiry');
    now = new Date(now.getTime() + 11 * 3600_000);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: s.cookie })).status, 200);
    now = new Date(now.getTime() + 12 * 3600_000 + 1000);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: s.cookie })).status, 401);
  });

  test('a role change applies to live sessions at once; a password reset ends them', async () => {
    const id = await makeUser('bob@example.com', 'operator');
    const s = await login('bob@example.com');
    assert.equal((await ck.api('PATCH', `/api/v1/users/${id}`, { properties: { role: 'viewer' } })).status, 200);
    const me = await raw('GET', '/api/v1/me', undefined, { cookie: s.cookie });
    assert.equal(me.body.role, 'viewer');
    const reset = await ck.api('PATCH', `/api/v1/users/${id}`, { properties: { reinvite: true } });
    assert.equal(reset.status, 200);
    assert.equal(reset.body.metadata.state, 'INVITED');
    assert.ok(reset.body.properties.invitation.token);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: s.cookie })).status, 401);
    assert.equal((await raw('POST', '/api/v1/sessions', { email: 'bob@example.com', password: PASSWORD })).status, 401, 'the old password no longer works');
  });

  test('changing the password needs the current one and ends the other sessions', async () => {
    await makeUser('carol@example.com', 'viewer');
    const a = await login('carol@example.com');
    const b = await login('carol@example.com');
    const wrong = await raw('POST', '/api/v1/me/password', { currentPassword: 'not it at all!!', newPassword: 'a brand new passphrase' }, { cookie: a.cookie, 'x-csrf-token': a.csrf });
    assert.equal(wrong.status, 400);
    const ok = await raw('POST', '/api/v1/me/password', { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' }, { cookie: a.cookie, 'x-csrf-token': a.csrf });
    assert.equal(ok.status, 204);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: a.cookie })).status, 200);
    assert.equal((await raw('GET', '/api/v1/me', undefined, { cookie: b.cookie })).status, 401);
    await login('carol@example.com', 'a brand new passphrase');
  });

  test('the last admin can be neither demoted nor removed', async () => {
    const id = await makeUser('dora@example.com', 'admin');
    const demote = await ck.api('PATCH', `/api/v1/users/${id}`, { properties: { role: 'viewer' } });
    assert.equal(demote.status, 409);
    assert.match(demote.body.detail, /last admin/);
    assert.equal((await ck.api('DELETE', `/api/v1/users/${id}`)).status, 409);
    await makeUser('ed@example.com', 'admin');
    assert.equal((await ck.api('DELETE', `/api/v1/users/${id}`)).status, 204);
  });

  test('five wrong passwords lock the account for 15 minutes, even against the right password', async () => {
    const id = await makeUser('fay@example.com', 'viewer');
    for (let i = 0; i < 5; i++) {
      const r = await raw('POST', '/api/v1/sessions', { email: 'fay@example.com', password: `wrong password ${i}` });
      assert.equal(r.status, 401);
      assert.equal(r.body.detail, 'wrong e-mail address or password');
    }
    const locked = await raw('POST', '/api/v1/sessions', { email: 'fay@example.com', password: PASSWORD });
    assert.equal(locked.status, 429);
    assert.equal(locked.body.code, 'too_many_requests');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    const user = await ck.api('GET', `/api/v1/users/${id}`);
    assert.equal(user.body.metadata.state, 'LOCKED');
    const events = await ck.api('GET', `/api/v1/events?filter.subjectId=${id}`);
    const types = events.body.items.map((e: any) => e.properties.type);
    assert.equal(types.filter((t: string) => t === 'user.login_failed').length, 5);
    assert.ok(types.includes('user.locked'));
    assert.equal(events.body.items[0].properties.source, '127.0.0.1', 'events carry the client address');
    now = new Date(now.getTime() + 15 * 60_000 + 1000);
    await login('fay@example.com');
  });

  test('an unknown address and a wrong password answer alike', async () => {
    const unknown = await raw('POST', '/api/v1/sessions', { email: 'nobody@example.com', password: PASSWORD });
    const wrong = await raw('POST', '/api/v1/sessions', { email: 'ann@example.com', password: 'not the password' });
    assert.equal(unknown.status, 401);
    assert.deepEqual({ ...unknown.body }, { ...wrong.body });
  });

  test('tokens: shown once, listed without the secret, expire, and stop at once when revoked', async () => {
    const expiresAt = new Date(now.getTime() + 60_000).toISOString();
    const t = await ck.api('POST', '/api/v1/tokens', { properties: { name: 'ci', role: 'viewer', expiresAt } });
    assert.equal(t.status, 201, t.text);
    const token = t.body.properties.token as string;
    assert.match(token, /^ck_[A-Za-z0-9_-]{43}$/);
    const list = await ck.api('GET', '/api/v1/tokens');
    assert.ok(!list.text.includes(token));
    assert.equal(list.body.items.find((i: any) => i.properties.name === 'ci').properties.role, 'viewer');
    const as = (tok: string) => raw('GET', '/api/v1/providers', undefined, { authorization: `Bearer ${tok}` });
    assert.equal((await as(token)).status, 200);
    assert.equal((await raw('POST', '/api/v1/providers', { properties: {} }, { authorization: `Bearer ${token}` })).status, 403);
    now = new Date(now.getTime() + 61_000);
    assert.equal((await as(token)).status, 401, 'expired');
    assert.equal((await ck.api('GET', `/api/v1/tokens/${t.body.id}`)).body.metadata.state, 'EXPIRED');

    const r = await ck.api('POST', '/api/v1/tokens', { properties: { name: 'deploy', role: 'operator' } });
    assert.equal((await as(r.body.properties.token)).status, 200);
    assert.equal((await ck.api('DELETE', `/api/v1/tokens/${r.body.id}`)).status, 204);
    assert.equal((await as(r.body.properties.token)).status, 401, 'revoked');
    const audit = await ck.api('GET', `/api/v1/events?filter.subjectId=${r.body.id}`);
    assert.deepEqual(audit.body.items.map((e: any) => e.properties.type), ['token.revoked', 'token.created']);
    assert.ok(!audit.text.includes(r.body.properties.token));
  });

  test('a consumer token needs a scope of existing auto certificates', async () => {
    const noScope = await ck.api('POST', '/api/v1/tokens', { properties: { name: 'lb', role: 'consumer' } });
    assert.equal(noScope.status, 400);
    assert.match(noScope.body.detail, /needs scope/);
    const missing = await ck.api('POST', '/api/v1/tokens', { properties: { name: 'lb', role: 'consumer', scope: { autoCertificates: ['nope'] } } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.detail, /no auto certificate named "nope"/);
    const stray = await ck.api('POST', '/api/v1/tokens', { properties: { name: 'lb', role: 'viewer', scope: { autoCertificates: ['nope'] } } });
    assert.equal(stray.status, 400);
  });

  test('one address guessing many accounts is slowed down after 20 failures', async () => {
    now = new Date(now.getTime() + 16 * 60_000); // a fresh window: earlier tests failed logins too
    for (let i = 0; i < 20; i++) {
      assert.equal((await raw('POST', '/api/v1/sessions', { email: `guess${i}@example.com`, password: PASSWORD })).status, 401);
    }
    const blocked = await raw('POST', '/api/v1/sessions', { email: 'ann@example.com', password: PASSWORD });
    assert.equal(blocked.status, 429);
    assert.match(blocked.body.detail, /too many failed logins from 127\.0\.0\.1/);
  });
});
