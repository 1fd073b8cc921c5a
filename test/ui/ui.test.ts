// The web UI in a real browser (Debian's Chromium through playwright-core) against a real
// in-process certkeeper and real Pebble: an operator logs in, creates an http-01 auto
// certificate through the form, watches it become AVAILABLE without a reload, renews it, opens
// its certificate, exports PEM, revokes it with confirmation; a viewer is offered no export with
// the private key; logout and the lockout message work. No page may violate the CSP.
//
// Screenshots go to test-results/screenshots/ (git-ignored); with CERTKEEPER_UPDATE_SCREENSHOTS=1
// they are also copied to docs/screenshots/, which the README links.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { launchUiBrowser, newUser as addUser, login as logIn, PASSWORD, screenshot, until, type PageOptions, type UiBrowser } from './browser.js';

let pebble: PebbleHandle;
let ck: CertkeeperHandle;
let ui: UiBrowser;
const work = mkdtempSync(join(tmpdir(), 'ck-ui-'));
/** The certificate the operator issued, for the viewer's visit. */
let issuedCertificateId = '';

const newUser = (email: string, role: 'viewer' | 'operator' | 'admin') => addUser(ck, email, role);

/** Imports a self-signed certificate expiring in `days` (for a dashboard with something on it). */
async function importExpiring(name: string, days: number): Promise<void> {
  const key = join(work, `${name}.key`);
  const cert = join(work, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
    '-days', String(days), '-subj', `/CN=${name}/O=certkeeper UI test`, '-addext', `subjectAltName=DNS:${name}`], { stdio: 'ignore' });
  const res = await ck.api('POST', '/api/v1/certificates', { properties: { name, certificate: readFileSync(cert, 'utf8'), privateKey: readFileSync(key, 'utf8') } });
  assert.equal(res.status, 201, res.text);
}

const newPage = (viewport?: PageOptions['viewport'], colorScheme?: PageOptions['colorScheme']) => ui.newPage({ ...(viewport ? { viewport } : {}), ...(colorScheme ? { colorScheme } : {}) });
const login = (page: Page, email: string) => logIn(page, ck, email, { expectLoginRedirect: true });

before(async () => {
  const httpPort = await freePort();
  const launching = launchUiBrowser();
  pebble = await startPebble({ httpPort });
  ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}` });
  // The provider is made through the API (ui-admin.test.ts creates one through the form).
  const provider = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'ops@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal(provider.status, 202, provider.text);
  const p = await ck.waitFor(`/api/v1/providers/${provider.body.id}`, (b: any) => b.metadata.state !== 'PROVISIONING');
  assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);
  // Something to see on the dashboard: imported certificates that expire soon, and a failure.
  for (const [name, days] of [['vpn.corp.example', 4], ['mail.corp.example', 12], ['intranet.corp.example', 26], ['legacy.corp.example', 47], ['grafana.corp.example', 71]] as const) {
    await importExpiring(name, days);
  }
  await fetch(`${pebble.challtestsrv!.managementUrl}/add-a`, { method: 'POST', body: JSON.stringify({ host: 'unreachable.ui.test.', addresses: ['127.0.0.2'] }) });
  const failing = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'unreachable', provider: 'pebble', commonName: 'unreachable.ui.test', challengeType: 'http-01' } });
  assert.equal(failing.status, 202, failing.text);
  await newUser('ops@example.com', 'operator');
  await newUser('viewer@example.com', 'viewer');
  await newUser('locked@example.com', 'viewer');
  ui = await launching;
});

after(async () => {
  await ui?.close();
  await ck?.stop();
  await pebble?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('web UI', () => {
  test('an operator creates an auto certificate, follows it to AVAILABLE, renews, exports and revokes', async () => {
    const { context, page } = await newPage();
    try {
      await login(page, 'ops@example.com');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Auto certificates' }).click();
      await page.getByRole('link', { name: 'New auto certificate' }).click();
      await page.getByRole('heading', { level: 1, name: 'New auto certificate' }).waitFor();

      // Names are checked as they are typed: syntax, wildcard rules (http-01), duplicates.
      const names = page.getByLabel(/^Names/);
      await names.fill('bad..name.ui.test\n*.ui.test\nwww.ui.test\nWWW.ui.test');
      await names.blur();
      const status = page.locator('#ac-names-status');
      await status.getByText('Line 1 “bad..name.ui.test”: has an empty label').waitFor();
      await status.getByText('Line 2 “*.ui.test”: wildcard names need dns-01').waitFor();
      await status.getByText('Line 4 “WWW.ui.test”: duplicate of line 3').waitFor();
      assert.equal(await names.getAttribute('aria-invalid'), 'true');
      await names.fill('app.ui.test\nwww.app.ui.test');
      await status.getByText('2 / 100 names').waitFor();
      assert.equal(await status.locator('.field-errors').count(), 0);
      assert.equal(await names.getAttribute('aria-invalid'), 'false');
      await page.getByLabel(/^Name \(/).fill('app');
      await page.getByLabel('Key algorithm').selectOption('ecdsa384');
      await page.getByRole('radio', { name: /^http-01/ }).check();
      assert.match(await page.getByLabel('Provider').inputValue(), /.+/);
      await screenshot(page, 'auto-certificate-new');

      await page.getByRole('button', { name: 'Create auto certificate' }).click();
      await page.waitForURL(/\/auto-certificates\/[^/]+$/);
      const autoId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      await page.evaluate('window.__sameDocument = true');
      const badge = page.locator('.status-line [data-state]');
      const first = await badge.getAttribute('data-state');
      assert.ok(first === 'PROVISIONING' || first === 'AVAILABLE', `first state shown: ${first}`);
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor({ timeout: 60_000 });
      assert.equal(await page.evaluate('window.__sameDocument'), true, 'the state changed on screen without a reload');
      const ac = (await ck.api('GET', `/api/v1/auto-certificates/${autoId}`)).body;
      assert.equal(ac.properties.keyAlgorithm, 'ecdsa384');
      assert.deepEqual(ac.properties.subjectAlternativeNames, ['www.app.ui.test']);

      // Renew now: a second version, then two versions side by side with the newer one active.
      const firstVersion = ac.metadata.lastIssuedCertificate as string;
      await page.getByRole('button', { name: 'Renew now' }).click();
      await page.getByText('Renewal started.').waitFor();
      await page.locator('#ac-versions-heading').getByText('(2)').waitFor({ timeout: 60_000 });
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor({ timeout: 60_000 });
      const renewed = (await ck.api('GET', `/api/v1/auto-certificates/${autoId}`)).body;
      assert.notEqual(renewed.metadata.lastIssuedCertificate, firstVersion);
      issuedCertificateId = renewed.metadata.lastIssuedCertificate;
      await page.locator('tr.version-active').getByRole('link').waitFor();
      await screenshot(page, 'auto-certificate-detail');
      await page.locator('tr.version-active').getByRole('link').click();

      // The certificate: facts, chain, versions with the active one marked.
      await page.waitForURL(new RegExp(`/certificates/${issuedCertificateId}$`));
      await page.getByRole('heading', { level: 1, name: /^app\.ui\.test_\d{8}T\d{6}Z$/ }).waitFor();
      const cert = (await ck.api('GET', `/api/v1/certificates/${issuedCertificateId}`)).body;
      await page.getByTestId('fingerprint').getByText(cert.metadata.fingerprintSha256).waitFor();
      await page.locator('.chain li').first().getByText('Leaf:').waitFor();
      const versionHeads = page.locator('table.versions thead th');
      assert.equal(await versionHeads.count(), 2);
      assert.match(await page.locator('table.versions th.version-active').innerText(), /active/);
      await screenshot(page, 'certificate-detail');

      // Export: shown PEM without the key, a download with it.
      await page.getByRole('button', { name: 'Show PEM' }).click();
      const shown = await page.getByLabel('Exported PEM').inputValue();
      assert.match(shown, /^-----BEGIN CERTIFICATE-----/);
      assert.equal((shown.match(/BEGIN CERTIFICATE/g) ?? []).length, 2, 'leaf and Pebble\'s intermediate');
      assert.ok(!shown.includes('PRIVATE KEY'));
      await page.getByLabel('Include the private key (audited)').check();
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
      assert.equal(download.suggestedFilename(), `${cert.properties.name}.pem`);
      const file = readFileSync((await download.path())!, 'utf8');
      assert.ok(file.startsWith(cert.properties.certificate.trim().slice(0, 60)), 'the download starts with the leaf');
      assert.match(file, /-----BEGIN PRIVATE KEY-----/);
      const exported = await ck.api('GET', `/api/v1/events?filter.type=certificate.private_key_exported&filter.subjectId=${issuedCertificateId}`);
      assert.equal(exported.body.total, 1, 'the export with the key is audited');

      // Revoke, confirmed in the dialog.
      await page.getByLabel('Revocation reason').selectOption('keyCompromise');
      await page.getByRole('button', { name: 'Revoke…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Revoke this certificate?' });
      await dialog.getByText('Key compromise').waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal((await ck.api('GET', `/api/v1/certificates/${issuedCertificateId}`)).body.metadata.state, 'AVAILABLE', 'cancel revokes nothing');
      await page.getByRole('button', { name: 'Revoke…' }).click();
      await dialog.getByRole('button', { name: 'Revoke' }).click();
      await page.getByText('The certificate is revoked.').waitFor({ timeout: 30_000 });
      await page.locator('.page-title [data-state="REVOKED"]').waitFor();
      const revoked = (await ck.api('GET', `/api/v1/certificates/${issuedCertificateId}`)).body;
      assert.equal(revoked.metadata.state, 'REVOKED');
      assert.equal(revoked.metadata.revocationReason, 'keyCompromise');

      // The dashboard: counts, soonest expiries, the failure with its reason, recent events.
      await ck.waitFor('/api/v1/auto-certificates?filter.state=FAILED', (b: any) => b.total === 1, 60_000);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
      await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
      await page.getByRole('link', { name: '1 revoked' }).waitFor();
      await page.locator('.failures').getByRole('link', { name: 'unreachable' }).waitFor();
      assert.match(await page.locator('.failure-message').innerText(), /unreachable\.ui\.test/);
      assert.equal(await page.locator('.chart-bar').count(), 5, 'one bar per imported certificate expiring within 90 days');
      assert.match(await page.locator('#expiry-chart-desc').textContent() ?? '', /5 certificates expire in the next 90 days: 1 within 7 days, 3 within 30 days/);
      await page.getByRole('table').filter({ hasText: 'Event' }).getByText('certificate.revoked').waitFor();
      await screenshot(page, 'dashboard');

      // The certificate list: filtered by the API, sorted here.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Certificates', exact: true }).click();
      await page.getByLabel('State').selectOption('REVOKED');
      await page.waitForURL(/\?state=REVOKED$/);
      await until('only the revoked certificate is listed', async () => (await page.locator('tbody tr').count()) === 1);
      assert.match(await page.locator('tbody tr').innerText(), /app\.ui\.test/);
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await page.getByText('1–7 of 7').waitFor();
      const firstRow = page.locator('tbody tr td:first-child').first();
      await until('the list is sorted by expiry, soonest first', async () => /^vpn\.corp\.example/.test(await firstRow.innerText()));
      await screenshot(page, 'certificates');
      await page.getByRole('button', { name: /^Expires/ }).click();
      assert.match(await page.locator('th[aria-sort="descending"]').innerText(), /Expires/);
      assert.match(await firstRow.innerText(), /^app\.ui\.test_/, 'sorted the other way: Pebble\'s certificates last longest');
    } finally {
      await context.close();
    }
  });

  test('a viewer is offered no export with the private key and no changes', async () => {
    assert.ok(issuedCertificateId, 'needs the certificate of the first test');
    const { context, page } = await newPage();
    try {
      await login(page, 'viewer@example.com');
      await page.goto(`${ck.url}/certificates/${issuedCertificateId}`);
      await page.getByRole('heading', { level: 2, name: 'Export' }).waitFor();
      assert.equal(await page.getByLabel('Include the private key (audited)').count(), 0);
      assert.equal(await page.getByLabel(/PKCS#12/).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Revoke…' }).count(), 0);
      assert.equal(await page.getByRole('button', { name: 'Delete…' }).count(), 0);
      await page.getByText('Your role exports the certificate and chain only').waitFor();
      await page.getByRole('button', { name: 'Show PEM' }).click();
      assert.doesNotMatch(await page.getByLabel('Exported PEM').inputValue(), /PRIVATE KEY/);
      await page.goto(`${ck.url}/auto-certificates`);
      await page.getByRole('heading', { level: 1, name: 'Auto certificates' }).waitFor();
      await page.getByRole('link', { name: 'app', exact: true }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'New auto certificate' }).count(), 0);
    } finally {
      await context.close();
    }
  });

  test('logout ends the session; a later page asks to log in again', async () => {
    // On a phone, in the dark colour scheme.
    const { context, page } = await newPage({ width: 390, height: 844 }, 'dark');
    try {
      await login(page, 'ops@example.com');
      await screenshot(page, 'dashboard-phone-dark');
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
      await page.getByText('You are logged out.').waitFor();
      assert.equal((await page.request.get(`${ck.url}/api/v1/me`)).status(), 401, 'the server ended the session');
      await page.goto(`${ck.url}/certificates?state=AVAILABLE`);
      await page.waitForURL(/\/login\?next=%2Fcertificates%3Fstate%3DAVAILABLE$/);
      // Logging in again returns to the page that was asked for.
      await page.getByLabel('E-mail address').fill('ops@example.com');
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.waitForURL(/\/certificates\?state=AVAILABLE$/);
      await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();
    } finally {
      await context.close();
    }
  });

  test('a wrong password is refused, and the lockout after five is explained', async () => {
    const { context, page } = await newPage();
    try {
      await page.goto(`${ck.url}/login`);
      for (let i = 0; i < 5; i++) {
        await page.getByLabel('E-mail address').fill('locked@example.com');
        await page.getByLabel('Password').fill(`wrong password ${i}`);
        await page.getByRole('button', { name: 'Log in' }).click();
        // The form clears the password when an attempt fails: wait for this attempt's answer.
        await until('the login form answered', async () => (await page.getByLabel('Password').inputValue()) === '');
        await page.getByRole('alert').getByText('Wrong e-mail address or password.').waitFor();
      }
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('alert').getByText(/Too many failed logins: the account is locked after 5 failed logins until/).waitFor();
    } finally {
      await context.close();
    }
  });

  test('no page violated the Content-Security-Policy or threw', () => {
    assert.deepEqual(ui.problems, []);
  });
});
