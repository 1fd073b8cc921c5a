// The web UI's second step in a real browser (Debian's Chromium through playwright-core) against
// a real in-process certkeeper and real Pebble: an admin creates a provider through the form and
// sees it registered, creates an API token and sees it once, invites a user (the invitation
// shown once works), changes their role and deletes them; an operator imports a PKCS#12 file
// (a wrong password is reported beside the password field), and follows a manual-dns-01 auto
// certificate to its pending validation, whose Verify reports the record as not visible yet. The
// admin pages are not offered to the operator. No page may violate the CSP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeChain, makePkcs12, type TestChain } from '../harness/openssl-ca.js';
import { launchUiBrowser, login as logIn, nav, newUser, PASSWORD, until, type UiBrowser } from './browser.js';

let pebble: PebbleHandle;
let ck: CertkeeperHandle;
let ui: UiBrowser;
let chain: TestChain;
/** The provider the admin created through the UI, for the manual auto certificate. */
let providerId = '';

const newPage = () => ui.newPage();
const login = (page: Page, email: string) => logIn(page, ck, email);

before(async () => {
  const launching = launchUiBrowser();
  chain = makeChain('shop.import.test', ['www.shop.import.test']);
  pebble = await startPebble({ httpPort: await freePort() });
  // No DNS server answers here (a closed port): Verify of a manual dns-01 finds the record missing.
  ck = await startCertkeeper({ CERTKEEPER_DNS_RESOLVERS: '127.0.0.1:9' });
  await newUser(ck, 'admin@example.com', 'admin');
  await newUser(ck, 'ops@example.com', 'operator');
  ui = await launching;
});

after(async () => {
  await ui?.close();
  await ck?.stop();
  await pebble?.stop();
  if (chain) rmSync(chain.dir, { recursive: true, force: true });
});

describe('web UI, admin pages', () => {
  test('an admin creates a provider against Pebble and an API token shown once', async () => {
    const { context, page } = await newPage();
    try {
      await login(page, 'admin@example.com');
      await nav(page).getByRole('link', { name: 'Providers' }).click();
      await page.getByRole('heading', { level: 1, name: 'Providers' }).waitFor();
      await page.getByRole('link', { name: 'New provider' }).click();
      await page.getByLabel('Name', { exact: true }).fill('pebble-ui');
      await page.getByLabel('ACME directory URL').fill(pebble.directoryUrl);
      await page.getByLabel(/^Contact e-mail/).fill('ops@example.com');
      await page.getByLabel(/^CA certificates/).fill(pebble.tlsCaPem);
      await page.getByRole('button', { name: 'Create provider' }).click();
      await page.getByRole('heading', { level: 1, name: 'pebble-ui' }).waitFor();
      providerId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      assert.equal((await ck.api('GET', `/api/v1/providers/${providerId}`)).body.properties.name, 'pebble-ui');
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor({ timeout: 30_000 });
      await page.locator('dd').getByText(/\/my-account\//).waitFor();
      await page.getByText('1 certificate(s)').waitFor();

      // A second provider with the same name is refused, the error beside the name field.
      await page.goto(`${ck.url}/providers/new`);
      await page.getByLabel('Name', { exact: true }).fill('pebble-ui');
      await page.getByLabel('ACME directory URL').fill(pebble.directoryUrl);
      await page.getByRole('button', { name: 'Create provider' }).click();
      await page.locator('#pv-name-error').getByText('already in use').waitFor();
      assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');
      await page.getByRole('link', { name: 'Cancel' }).click();
      await page.getByRole('link', { name: 'pebble-ui' }).waitFor();
      assert.equal(await page.locator('tbody tr').count(), 1);

      // An API token: shown once, then only its name.
      await nav(page).getByRole('link', { name: 'API tokens' }).click();
      await page.getByLabel('Name').fill('ci-deploy');
      await page.getByLabel('Role').selectOption('operator');
      await page.getByRole('button', { name: 'Create token' }).click();
      const shown = page.getByTestId('new-token');
      await shown.getByText('Token ci-deploy created.').waitFor();
      const token = await shown.locator('code').innerText();
      assert.match(token, /^ck_/);
      const me = await fetch(`${ck.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200, 'the token shown works');
      await page.locator('tbody').getByText('ci-deploy').waitFor();
      await page.reload();
      await page.locator('tbody').getByText('ci-deploy').waitFor();
      assert.equal(await page.getByTestId('new-token').count(), 0);
      assert.ok(!(await page.content()).includes(token), 'the token is not shown again');

      // Revoke it.
      await page.getByRole('button', { name: 'Revoke ci-deploy' }).click();
      await page.getByRole('dialog', { name: 'Revoke this token?' }).getByRole('button', { name: 'Revoke' }).click();
      await page.locator('tbody').getByText('No tokens.').waitFor();
      assert.equal((await fetch(`${ck.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401);

      // Users: the admin sees both, may not change their own role.
      await nav(page).getByRole('link', { name: 'Users' }).click();
      await page.getByLabel('Role of ops@example.com').waitFor();
      assert.equal(await page.getByLabel('Role of admin@example.com').isDisabled(), true);
      await page.getByLabel('E-mail address').fill('new@example.com');
      await page.locator('#us-role').selectOption('viewer');
      await page.getByRole('button', { name: 'Invite' }).click();
      const invitation = await page.getByTestId('invitation').locator('code').first().innerText();
      await page.getByLabel('Role of new@example.com').selectOption('operator');
      await page.getByText('new@example.com is now operator.').waitFor();
      const users = (await ck.api('GET', '/api/v1/users?limit=100')).body.items as any[];
      assert.equal(users.find((u) => u.properties.email === 'new@example.com')?.properties.role, 'operator');
      const activated = await ck.api('POST', '/api/v1/users/activate', { invitation, password: PASSWORD });
      assert.ok(activated.status < 300, `the invitation shown works: ${activated.text}`);
      await page.getByRole('button', { name: 'Delete new@example.com' }).click();
      await page.getByRole('dialog', { name: 'Delete this user?' }).getByRole('button', { name: 'Delete' }).click();
      await until('the user is gone', async () => (await page.getByLabel('Role of new@example.com').count()) === 0);
    } finally {
      await context.close();
    }
  });

  test('an operator imports a PKCS#12 file; a wrong password is reported beside its field', async () => {
    const { context, page } = await newPage();
    try {
      await login(page, 'ops@example.com');
      for (const admin of ['Providers', 'DNS zones', 'Notifications', 'API tokens', 'Users']) assert.equal(await nav(page).getByRole('link', { name: admin }).count(), 0, `${admin} is for admins`);
      await nav(page).getByRole('link', { name: 'Certificates', exact: true }).click();
      await page.getByRole('link', { name: 'Import' }).click();
      await page.getByRole('heading', { level: 1, name: 'Import a certificate' }).waitFor();
      await page.getByRole('radio', { name: /^PKCS#12/ }).check();
      await page.getByLabel(/^Name/).fill('shop-p12');
      await page.getByLabel(/^PKCS#12 file/).setInputFiles({ name: 'shop.p12', mimeType: 'application/x-pkcs12', buffer: makePkcs12(chain, 'sesame') });
      const password = page.getByLabel(/^Password/);
      await password.fill('not the password');
      await page.getByRole('button', { name: 'Import' }).click();
      const beside = page.locator('#imp-password-error');
      await beside.getByText(/PKCS#12 password is wrong/).waitFor();
      assert.equal(await password.getAttribute('aria-invalid'), 'true');
      assert.equal(await password.getAttribute('aria-describedby'), 'imp-password-error');

      await password.fill('sesame');
      await page.getByRole('button', { name: 'Import' }).click();
      await page.waitForURL(/\/certificates\/[^/]+$/);
      await page.getByRole('heading', { level: 1, name: 'shop-p12' }).waitFor();
      const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      const cert = (await ck.api('GET', `/api/v1/certificates/${id}`)).body;
      assert.equal(cert.metadata.source, 'imported');
      assert.equal(cert.metadata.commonName, 'shop.import.test');
      await page.getByTestId('fingerprint').getByText(cert.metadata.fingerprintSha256).waitFor();
    } finally {
      await context.close();
    }
  });

  test('a manual dns-01 auto certificate shows its record; Verify reports it missing', async () => {
    assert.ok(providerId, 'needs the provider of the first test');
    const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'manual', provider: providerId, commonName: 'manual.ui.test', challengeType: 'manual-dns-01' } });
    assert.equal(created.status, 202, created.text);
    await ck.waitFor(`/api/v1/auto-certificates/${created.body.id}`, (b: any) => b.metadata.state === 'AWAITING_VALIDATION', 30_000);
    const validations = (await ck.api('GET', `/api/v1/auto-certificates/${created.body.id}/validations`)).body.items;
    assert.equal(validations.length, 1);
    const { context, page } = await newPage();
    try {
      await login(page, 'ops@example.com');
      await page.goto(`${ck.url}/auto-certificates/${created.body.id}`);
      const section = page.getByRole('region', { name: 'Pending validations' });
      await section.getByText(validations[0].recordName, { exact: true }).waitFor();
      assert.equal(validations[0].recordName, '_acme-challenge.manual.ui.test');
      await section.getByText(validations[0].recordValue, { exact: true }).waitFor();
      await section.getByRole('button', { name: 'Copy record name for manual.ui.test' }).waitFor();
      await section.getByRole('button', { name: 'Copy record value for manual.ui.test' }).waitFor();
      await section.getByRole('button', { name: 'Verify' }).click();
      const result = page.getByTestId('verify-result');
      await result.getByText(/record\(s\) are not visible yet/).waitFor({ timeout: 40_000 });
      await result.locator('.missing-records li').filter({ hasText: 'manual.ui.test' }).waitFor();
      assert.equal((await ck.api('GET', `/api/v1/auto-certificates/${created.body.id}`)).body.metadata.state, 'AWAITING_VALIDATION', 'nothing was sent to the CA');
      await section.getByLabel(/^Force/).waitFor();
    } finally {
      await context.close();
    }
  });

  test('no page violated the Content-Security-Policy or threw', () => {
    assert.deepEqual(ui.problems, []);
  });
});
