// The web UI's settings pages in a real browser (Debian's Chromium through playwright-core)
// against a real in-process certkeeper and real Pebble: an admin creates DNS zones through the
// form (an exec hook that works, an RFC 2136 zone whose server does not answer), sees each listed
// with its state, changes, checks, disables and deletes them, with credentials never shown back;
// the new auto certificate form names the zone of each dns-01 name before it is sent; an admin
// creates a webhook channel, tests it against a local receiver (signed with the secret shown
// once), sees its deliveries, changes and deletes it; an admin changes a provider's contact and
// the account is registered again; an operator changes an auto certificate's names and a new
// version is issued; a user changes their password (errors beside their fields) and logs in with
// the new one; "log out everywhere" ends the session of another browser. No page may violate the
// CSP. Screenshots of the new pages: see browser.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { startWebhookReceiver, type WebhookReceiver } from '../notify/webhook-receiver.js';
import { verifyWebhookSignature } from '../../src/notify/webhook-signature.js';
import { idInUrl, launchUiBrowser, login as logIn, nav, newUser, PASSWORD, screenshot, until, type UiBrowser } from './browser.js';

const fixtures = fileURLToPath(new URL('../dns/fixtures/exec/', import.meta.url));
const txtStore = mkdtempSync(join(tmpdir(), 'ck-ui-zones-'));

let pebble: PebbleHandle;
let ck: CertkeeperHandle;
let ui: UiBrowser;
let receiver: WebhookReceiver;
let providerId = '';

const login = (page: Page, email: string, password = PASSWORD) => logIn(page, ck, email, { password });

before(async () => {
  const launching = launchUiBrowser();
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  // Nothing answers DNS at port 9: an RFC 2136 zone pointed there fails its check at once.
  ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}`, CERTKEEPER_DNS_RESOLVERS: '127.0.0.1:9' });
  receiver = await startWebhookReceiver();
  const provider = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'first@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal(provider.status, 202, provider.text);
  providerId = provider.body.id;
  const p = await ck.waitFor(`/api/v1/providers/${providerId}`, (b: any) => b.metadata.state !== 'PROVISIONING');
  assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);
  await newUser(ck, 'admin@example.com', 'admin');
  await newUser(ck, 'ops@example.com', 'operator');
  await newUser(ck, 'viewer@example.com', 'viewer');
  await newUser(ck, 'roaming@example.com', 'viewer');
  ui = await launching;
});

after(async () => {
  await ui?.close();
  await receiver?.close();
  await ck?.stop();
  await pebble?.stop();
  rmSync(txtStore, { recursive: true, force: true });
});

describe('web UI, settings pages', () => {
  test('an admin creates DNS zones, sees their state, changes, checks, disables and deletes them', async () => {
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'admin@example.com');
      // The header fits one row at 1280 px with every admin entry.
      assert.ok((await page.locator('header.topbar').boundingBox())!.height < 60, 'the header is one row');
      await nav(page).getByRole('link', { name: 'DNS zones' }).click();
      await page.getByRole('heading', { level: 1, name: 'DNS zones' }).waitFor();
      await page.getByText('No DNS zone yet.').waitFor();
      await page.getByRole('link', { name: 'New DNS zone' }).click();
      await page.getByRole('heading', { level: 1, name: 'New DNS zone' }).waitFor();

      // Every provider of the server is offered (the form's copy is checked by dns-provider-specs.test.ts).
      const offered = await Promise.all((await page.getByLabel('DNS provider').locator('option').all()).map((o) => o.getAttribute('value')));
      for (const code of ['rfc2136', 'powerdns', 'cloudflare', 'route53', 'azure', 'ionos', 'exec', 'acme-dns', 'acmesh']) assert.ok(offered.includes(code), `${code} is offered`);

      // An exec hook that writes to a folder: its check passes.
      await page.getByLabel('Zone name').fill('hook.example');
      await page.getByLabel('DNS provider').selectOption('exec');
      await page.getByText('exec takes no credentials.').waitFor();
      await page.getByLabel(/^command/).fill(join(fixtures, 'txt-store.mjs'));
      await page.getByLabel(/^environment/).fill(`CK_STORE_DIR=${txtStore}`);
      await page.getByLabel(/^Propagation timeout/).fill('60');
      await screenshot(page, 'dns-zone-new');
      await page.getByRole('button', { name: 'Create DNS zone' }).click();
      await page.getByRole('heading', { level: 1, name: 'hook.example', exact: true }).waitFor();
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor();
      await page.locator('.status-line').getByText('exec accepted the credentials for hook.example').waitFor();
      const hookId = idInUrl(page);
      const hook = (await ck.api('GET', `/api/v1/dns-zones/${hookId}`)).body;
      assert.equal(hook.properties.provider, 'exec');
      assert.deepEqual(hook.properties.settings.environment, [`CK_STORE_DIR=${txtStore}`]);
      assert.equal(hook.properties.propagationTimeoutSeconds, 60);

      // RFC 2136 with a TSIG secret: a missing key name is reported beside its field; the server at
      // a closed port makes the zone FAILED with the reason; the secret is never shown back.
      const secret = 'dWktdGVzdC10c2lnLXNlY3JldC1ub3QtcmVhbC0xMjM0NTY=';
      await page.goto(`${ck.url}/dns-zones/new`);
      await page.getByLabel('Zone name').fill('tsig.example');
      await page.getByLabel('DNS provider').selectOption('rfc2136');
      await page.getByLabel(/^nameserver/).fill('127.0.0.1:9');
      await page.getByLabel(/^tsigSecret/).fill(secret);
      await page.getByRole('button', { name: 'Create DNS zone' }).click();
      await page.locator('#dz-s-tsigKeyName-error').getByText(/^required/).waitFor();
      assert.equal(await page.getByLabel(/^tsigKeyName/).getAttribute('aria-invalid'), 'true');
      await page.getByLabel(/^tsigKeyName/).fill('certkeeper-key.');
      await page.getByLabel(/^timeoutSeconds/).fill('1');
      await page.getByRole('button', { name: 'Create DNS zone' }).click();
      await page.getByRole('heading', { level: 1, name: 'tsig.example', exact: true }).waitFor({ timeout: 30_000 });
      await page.locator('.status-line [data-state="FAILED"]').waitFor();
      assert.match(await page.locator('.status-line .message').innerText(), /The check of tsig\.example failed/);
      await page.getByText('stored (encrypted; never shown)').waitFor();
      const tsigId = idInUrl(page);
      assert.ok(!(await page.content()).includes(secret), 'the secret is not on the page');

      // Both are listed with their state.
      await nav(page).getByRole('link', { name: 'DNS zones' }).click();
      const rowOf = (zone: string) => page.locator('tbody tr').filter({ has: page.getByRole('link', { name: zone, exact: true }) });
      await rowOf('hook.example').locator('[data-state="AVAILABLE"]').waitFor();
      await rowOf('tsig.example').locator('[data-state="FAILED"]').waitFor();
      assert.match(await rowOf('tsig.example').innerText(), /rfc2136/);
      await screenshot(page, 'dns-zones');

      // Changing it: the secret field is empty (write-only), the settings are filled in.
      await rowOf('tsig.example').getByRole('link').click();
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByRole('heading', { level: 1, name: 'Change tsig.example' }).waitFor();
      assert.equal(await page.getByLabel(/^tsigSecret/).inputValue(), '');
      assert.equal(await page.getByLabel(/^tsigSecret/).getAttribute('placeholder'), 'stored; leave empty to keep');
      assert.equal(await page.getByLabel(/^nameserver/).inputValue(), '127.0.0.1:9');
      assert.equal(await page.getByLabel(/^tsigAlgorithm/).inputValue(), 'hmac-sha256');
      await page.getByRole('link', { name: 'Cancel' }).click();
      await page.getByRole('heading', { level: 1, name: 'tsig.example', exact: true }).waitFor();

      // Azure DNS against a token endpoint here (the receiver): a change that leaves the client
      // secret empty keeps the stored one, as the next token request shows.
      const tokenPath = '/tenant-1/oauth2/v2.0/token';
      receiver.script(tokenPath, ...Array.from({ length: 2 }, () => ({ status: 401, headers: { 'content-type': 'application/json' }, body: '{"error":"invalid_client","error_description":"test double"}' })));
      await page.goto(`${ck.url}/dns-zones/new`);
      await page.getByLabel('Zone name').fill('azure.example');
      await page.getByLabel('DNS provider').selectOption('azure');
      await page.getByLabel(/^subscriptionId/).fill('sub-1');
      await page.getByLabel(/^resourceGroup/).fill('dns-rg');
      await page.getByLabel(/^tenantId/).fill('tenant-1');
      await page.getByLabel(/^clientId/).fill('client-1');
      await page.getByLabel(/^authorityHost/).fill(receiver.url);
      await page.getByLabel(/^clientSecret/).fill('azure-client-secret-1');
      await page.getByRole('button', { name: 'Create DNS zone' }).click();
      await page.getByRole('heading', { level: 1, name: 'azure.example', exact: true }).waitFor({ timeout: 30_000 });
      await page.locator('.status-line [data-state="FAILED"]').waitFor();
      const azureId = idInUrl(page);
      assert.match((await receiver.waitFor(tokenPath, 1))[0]!.body, /client_secret=azure-client-secret-1/);
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByRole('heading', { level: 1, name: 'Change azure.example' }).waitFor();
      assert.equal(await page.getByLabel(/^clientSecret/).inputValue(), '');
      await page.getByLabel(/^resourceGroup/).fill('dns-rg-2');
      await page.getByLabel(/^Resolvers/).fill('not-an-address');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('#dz-resolvers-error').getByText(/not-an-address: expected an IP address/).waitFor();
      assert.equal(await page.getByLabel(/^Resolvers/).getAttribute('aria-invalid'), 'true');
      await page.getByLabel(/^Resolvers/).fill('127.0.0.1:9');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { level: 1, name: 'azure.example', exact: true }).waitFor({ timeout: 30_000 });
      const azure = (await ck.api('GET', `/api/v1/dns-zones/${azureId}`)).body;
      assert.equal(azure.properties.settings.resourceGroup, 'dns-rg-2');
      assert.deepEqual(azure.properties.resolvers, ['127.0.0.1:9']);
      assert.equal(azure.metadata.credentialsSet, true);
      assert.match((await receiver.waitFor(tokenPath, 2))[1]!.body, /client_secret=azure-client-secret-1/, 'the stored secret was kept');
      for (const s of [secret, 'azure-client-secret-1']) assert.ok(!ck.responses().includes(s) && !(await page.content()).includes(s), 'secrets are never shown back');

      // The exec zone: changed to a hook that fails its check, then back; checked; disabled; enabled.
      await page.goto(`${ck.url}/dns-zones/${hookId}/edit`);
      await page.getByLabel(/^command/).fill(join(fixtures, 'failing-hook.sh'));
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('.status-line [data-state="FAILED"]').waitFor();
      assert.match(await page.locator('.status-line .message').innerText(), /HTTP 403/);
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByLabel(/^command/).fill(join(fixtures, 'txt-store.mjs'));
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor();
      await page.getByRole('button', { name: 'Check now' }).click();
      await page.getByText('Checked: available.').waitFor();
      await screenshot(page, 'dns-zone-detail');
      await page.getByRole('button', { name: 'Disable' }).click();
      await page.locator('.status-line [data-state="DISABLED"]').waitFor();
      assert.equal((await ck.api('GET', `/api/v1/dns-zones/${hookId}`)).body.properties.enabled, false);
      assert.equal(await page.getByRole('button', { name: 'Check now' }).isDisabled(), true);
      await page.getByRole('button', { name: 'Enable' }).click();
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor();

      // Delete, after a confirmation that can be cancelled.
      await page.goto(`${ck.url}/dns-zones/${tsigId}`);
      await page.getByRole('button', { name: 'Delete…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete this DNS zone?' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal((await ck.api('GET', `/api/v1/dns-zones/${tsigId}`)).status, 200, 'cancel deletes nothing');
      await page.getByRole('button', { name: 'Delete…' }).click();
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('heading', { level: 1, name: 'DNS zones' }).waitFor();
      await until('the zone is gone from the list', async () => (await rowOf('tsig.example').count()) === 0);
      assert.equal((await ck.api('GET', `/api/v1/dns-zones/${tsigId}`)).status, 404);
      await rowOf('hook.example').waitFor();
    } finally {
      await context.close();
    }
  });

  test('the new auto certificate form names the DNS zone of each dns-01 name before it is sent', async () => {
    for (const [zoneName, enabled] of [['shop.example', true], ['eu.shop.example', true], ['off.example', false]] as const) {
      const z = await ck.api('POST', '/api/v1/dns-zones', { properties: { zoneName, provider: 'exec', enabled, settings: { command: join(fixtures, 'txt-store.mjs'), environment: [`CK_STORE_DIR=${txtStore}`] } } });
      assert.equal(z.status, 201, z.text);
    }
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'ops@example.com');
      await page.goto(`${ck.url}/auto-certificates/new`);
      await page.getByRole('radio', { name: /^dns-01/ }).check();
      await page.getByLabel(/^Names/).fill('www.shop.example\n*.eu.shop.example\napi.off.example\nx.elsewhere.test');
      const zones = page.getByRole('list', { name: 'DNS zone of each name' });
      const hint = (name: string) => zones.locator(`li[data-name="${name}"]`);
      await hint('www.shop.example').getByText('shop.example', { exact: true }).waitFor();
      assert.match(await hint('*.eu.shop.example').innerText(), /→ zone eu\.shop\.example \(exec\) available/, 'the longest suffix wins');
      assert.match(await hint('api.off.example').innerText(), /zone off\.example is disabled/);
      assert.match(await hint('x.elsewhere.test').innerText(), /no DNS zone/);
      await page.locator('#ac-zones').getByText('2 of 4 names in no enabled DNS zone').waitFor();
      await screenshot(page, 'auto-certificate-new-dns01');
      // The server agrees: it names the two uncovered names.
      await page.getByRole('button', { name: 'Create auto certificate' }).click();
      const alert = page.getByRole('alert');
      await alert.getByText(/2 name\(s\) are in no DNS zone certkeeper may write/).waitFor();
      await alert.getByText(/^api\.off\.example: no enabled DNS zone covers/).waitFor();
      await alert.getByText(/^x\.elsewhere\.test: no enabled DNS zone covers/).waitFor();
      // With only covered names, every line says its zone; another challenge type shows no zones.
      await page.getByLabel(/^Names/).fill('www.shop.example\nshop.example');
      await page.locator('#ac-zones').getByText(/^Each name is in a DNS zone certkeeper may write/).waitFor();
      await page.getByRole('radio', { name: /^http-01/ }).check();
      assert.equal(await zones.count(), 0);
    } finally {
      await context.close();
    }
  });

  test('an admin creates a webhook channel, tests it against a local receiver, sees deliveries, changes and deletes it', async () => {
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'admin@example.com');
      await nav(page).getByRole('link', { name: 'Notifications' }).click();
      await page.getByRole('heading', { level: 1, name: 'Notification channels' }).waitFor();
      await page.getByRole('link', { name: 'New channel' }).click();
      await page.getByLabel('Name', { exact: true }).fill('ops-hook');
      await page.getByRole('radio', { name: /^Webhook/ }).check();
      await page.getByLabel('Preset').selectOption('generic');
      await page.getByLabel(/^URL/).fill(`${receiver.url}/hook?token=abc`);
      await page.getByLabel(/^Events/).fill('user.*\ncertificate.expiring');
      await screenshot(page, 'notification-channel-new');
      // A short secret is refused beside its field; left empty, certkeeper generates one.
      await page.getByLabel(/^Signing secret/).fill('short');
      await page.getByRole('button', { name: 'Create channel' }).click();
      await page.locator('#nc-secret-error').getByText(/at least 16 characters/).waitFor();
      assert.equal(await page.evaluate('document.activeElement?.id'), 'nc-secret', 'focus moves to the field at fault');
      await page.getByLabel(/^Signing secret/).fill('');
      await page.getByRole('button', { name: 'Create channel' }).click();
      await page.getByRole('heading', { level: 1, name: 'ops-hook', exact: true }).waitFor();
      const id = idInUrl(page);

      // The generated secret is shown once.
      const shown = page.getByTestId('generated-secret');
      const secret = await shown.locator('code').innerText();
      assert.ok(secret.length >= 16, 'a secret was generated');
      await shown.getByRole('button', { name: 'I have copied it' }).click();
      assert.equal(await page.getByTestId('generated-secret').count(), 0);
      // The URL is shown without its path and query; the secret is not on the page any more.
      await page.locator('dd').getByText(`${receiver.url}/…`).waitFor();
      assert.ok(!(await page.content()).includes('token=abc'));
      assert.ok(!(await page.content()).includes(secret));

      // Send test: delivered, signed with the secret shown.
      await page.getByRole('button', { name: 'Send test' }).click();
      await page.getByRole('status').getByText(/^Test message delivered: HTTP 200/).waitFor();
      const [got] = await receiver.waitFor('/hook?token=abc', 1);
      assert.equal(got!.headers['x-certkeeper-event'], 'notification_channel.test');
      assert.ok(verifyWebhookSignature({ secret, body: got!.body, timestamp: got!.headers['x-certkeeper-timestamp'] as string, signature: got!.headers['x-certkeeper-signature'] as string }),
        'signed with the secret the page showed');
      // A receiver that answers 500: the page says so, in the receiver's words.
      receiver.script('/hook?token=abc', { status: 500, body: 'receiver is down' });
      await page.getByRole('button', { name: 'Send test' }).click();
      await page.getByRole('alert').getByText(/^Test failed: the test message was not delivered: .*500/).waitFor();

      // An event the channel listens to becomes a delivery, listed as delivered.
      const invited = await ck.api('POST', '/api/v1/users', { properties: { email: 'listener@example.com', role: 'viewer' } });
      assert.equal(invited.status, 201);
      const deliveries = page.getByTestId('deliveries');
      await deliveries.locator('tr').filter({ hasText: 'user.invited' }).locator('[data-state="DELIVERED"]').waitFor({ timeout: 20_000 });
      assert.equal(receiver.at('/hook?token=abc').filter((r) => r.headers['x-certkeeper-event'] === 'user.invited').length, 1);
      // The receiver answers again: the next test succeeds, and the last delivery is shown.
      await page.getByRole('button', { name: 'Send test' }).click();
      await page.getByRole('status').getByText(/^Test message delivered: HTTP 200/).waitFor();
      await page.getByRole('region', { name: 'Settings' }).locator('dd time').waitFor();
      await screenshot(page, 'notification-channel');

      // Change: the name and the events; URL and secret left empty are kept.
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByRole('heading', { level: 1, name: 'Change ops-hook' }).waitFor();
      assert.equal(await page.getByLabel(/^URL/).inputValue(), '');
      await page.getByText(`stored: ${receiver.url}/… — leave empty to keep`).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('ops-webhook');
      await page.getByLabel(/^Events/).fill('certificate.*\nnot.an.event');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.locator('#nc-events-error').getByText(/not\.an\.event: not an event type/).waitFor();
      await page.getByLabel(/^Events/).fill('certificate.*');
      await page.getByLabel(/^Send one summary a day/).check();
      await page.getByLabel(/^Hour/).selectOption('6');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { level: 1, name: 'ops-webhook', exact: true }).waitFor();
      await page.getByText('at 06:00 UTC').waitFor();
      const channel = (await ck.api('GET', `/api/v1/notification-channels/${id}`)).body;
      assert.deepEqual(channel.properties.events, ['certificate.*']);
      assert.deepEqual(channel.properties.digest, { enabled: true, hour: 6 });
      assert.deepEqual(channel.metadata.credentialsSet, ['secret']);
      await page.getByRole('button', { name: 'Send test' }).click();
      await page.getByRole('status').getByText(/^Test message delivered/).waitFor();
      const last = receiver.at('/hook?token=abc').at(-1)!;
      assert.ok(verifyWebhookSignature({ secret, body: last.body, timestamp: last.headers['x-certkeeper-timestamp'] as string, signature: last.headers['x-certkeeper-signature'] as string }),
        'the URL and the secret were kept');

      // Disable, then delete.
      await page.getByRole('button', { name: 'Disable' }).click();
      await page.locator('.status-line [data-state="DISABLED"]').waitFor();
      await nav(page).getByRole('link', { name: 'Notifications' }).click();
      const listed = page.locator('tbody tr').filter({ hasText: 'ops-webhook' });
      await listed.locator('[data-state="DISABLED"]').waitFor();
      assert.match(await listed.innerText(), /webhook \(generic\)/);
      await listed.getByRole('link').click();
      await page.getByRole('button', { name: 'Delete…' }).click();
      await page.getByRole('dialog', { name: 'Delete this channel?' }).getByRole('button', { name: 'Delete' }).click();
      await page.getByText('No channel yet.').waitFor();
      assert.equal((await ck.api('GET', `/api/v1/notification-channels/${id}`)).status, 404);
    } finally {
      await context.close();
    }
  });

  test('an admin changes a provider\'s contact e-mail; the account is registered again', async () => {
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'admin@example.com');
      await page.goto(`${ck.url}/providers/${providerId}`);
      await page.locator('dd').getByText('first@example.com').waitFor();
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByRole('heading', { level: 1, name: 'Change pebble' }).waitFor();
      assert.equal(await page.getByLabel(/^Contact e-mail/).inputValue(), 'first@example.com');
      await page.getByLabel(/^Contact e-mail/).fill('second@example.com');
      await page.getByText('Saving registers the account with the CA again').waitFor();
      await screenshot(page, 'provider-edit');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { level: 1, name: 'pebble', exact: true }).waitFor();
      await page.locator('dd').getByText('second@example.com').waitFor();
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor({ timeout: 30_000 });
      const p = (await ck.api('GET', `/api/v1/providers/${providerId}`)).body;
      assert.equal(p.properties.email, 'second@example.com');
      assert.equal(p.metadata.state, 'AVAILABLE');
      const updated = await ck.api('GET', `/api/v1/events?filter.type=provider.updated&filter.subjectId=${providerId}`);
      assert.equal(updated.body.total, 1);
    } finally {
      await context.close();
    }
  });

  test('an operator changes an auto certificate\'s names; a new version with them is issued', async () => {
    const created = await ck.api('POST', '/api/v1/auto-certificates', { properties: { name: 'shop', provider: providerId, commonName: 'shop.ui.test', challengeType: 'http-01' } });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    const first = await ck.waitFor(`/api/v1/auto-certificates/${id}`, (b: any) => b.metadata.state === 'AVAILABLE' || b.metadata.state === 'FAILED', 60_000);
    assert.equal(first.metadata.state, 'AVAILABLE', first.metadata.message);
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'ops@example.com');
      await page.goto(`${ck.url}/auto-certificates/${id}`);
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByRole('heading', { level: 1, name: 'Change shop' }).waitFor();
      const names = page.getByLabel(/^Names/);
      assert.equal(await names.inputValue(), 'shop.ui.test');
      await names.fill('shop.ui.test\nwww.shop.ui.test\nbad..name');
      await page.locator('#ac-names-status').getByText('Line 3 “bad..name”: has an empty label').waitFor();
      await names.fill('shop.ui.test\nwww.shop.ui.test');
      await page.getByText('Saving orders a new certificate now (the names changed)').waitFor();
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { level: 1, name: 'shop', exact: true }).waitFor();
      await page.getByRole('region', { name: 'Settings' }).getByText('www.shop.ui.test').waitFor();
      await page.locator('#ac-versions-heading').getByText('(2)').waitFor({ timeout: 60_000 });
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor({ timeout: 60_000 });
      const after = (await ck.api('GET', `/api/v1/auto-certificates/${id}`)).body;
      assert.deepEqual(after.properties.subjectAlternativeNames, ['www.shop.ui.test']);
      assert.notEqual(after.metadata.lastIssuedCertificate, first.metadata.lastIssuedCertificate);
      const cert = (await ck.api('GET', `/api/v1/certificates/${after.metadata.lastIssuedCertificate}`)).body;
      assert.deepEqual([...cert.metadata.subjectAlternativeNames].sort(), ['shop.ui.test', 'www.shop.ui.test']);
    } finally {
      await context.close();
    }
  });

  test('a user changes their password, with errors beside the fields, and logs in with the new one', async () => {
    const NEW = 'a brand new passphrase 2';
    const elsewhere = await ui.newPage();
    const { context, page } = await ui.newPage();
    try {
      await login(elsewhere.page, 'viewer@example.com');
      await login(page, 'viewer@example.com');
      await page.getByRole('link', { name: 'viewer@example.com' }).click();
      await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
      const current = page.getByLabel('Current password');
      const next = page.getByLabel(/^New password \(/);
      const repeat = page.getByLabel('New password again');

      await current.fill(PASSWORD);
      await next.fill('too short');
      await repeat.fill('too short');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('#pw-new-error').getByText('A password needs at least 12 characters.').waitFor();
      assert.equal(await next.getAttribute('aria-invalid'), 'true');
      await next.fill(NEW);
      await repeat.fill(`${NEW}!`);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('#pw-repeat-error').getByText('The two new passwords differ.').waitFor();
      assert.equal(await page.evaluate('document.activeElement?.id'), 'pw-repeat', 'focus moves to the field at fault');
      // The server's own rules, beside their fields.
      await current.fill('not my password');
      await repeat.fill(NEW);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('#pw-current-error').getByText('wrong password').waitFor();
      assert.equal(await current.getAttribute('aria-invalid'), 'true');
      await current.fill(PASSWORD);
      await next.fill('viewer@example.com');
      await repeat.fill('viewer@example.com');
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.locator('#pw-new-error').getByText('the password must not be the e-mail address').waitFor();

      await current.fill(PASSWORD);
      await next.fill(NEW);
      await repeat.fill(NEW);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.getByRole('status').getByText(/^Your password is changed\. Every other session of your account has ended/).waitFor();
      assert.equal(await current.inputValue(), '');
      await screenshot(page, 'account');
      // This session goes on; the other browser's has ended.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Certificates', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();
      await elsewhere.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Certificates', exact: true }).click();
      await elsewhere.page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
      await elsewhere.page.getByText('Your session has ended; log in again.').waitFor();

      // The old password is refused, the new one works.
      await elsewhere.page.getByLabel('E-mail address').fill('viewer@example.com');
      await elsewhere.page.getByLabel('Password').fill(PASSWORD);
      await elsewhere.page.getByRole('button', { name: 'Log in' }).click();
      await elsewhere.page.getByRole('alert').getByText('Wrong e-mail address or password.').waitFor();
      await elsewhere.page.getByLabel('Password').fill(NEW);
      await elsewhere.page.getByRole('button', { name: 'Log in' }).click();
      await elsewhere.page.getByRole('heading', { level: 1, name: 'Certificates' }).waitFor();
    } finally {
      await context.close();
      await elsewhere.context.close();
    }
  });

  test('log out everywhere ends the session of another browser too', async () => {
    const phone = await ui.newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const desk = await ui.newPage();
    try {
      await login(desk.page, 'roaming@example.com');
      await login(phone.page, 'roaming@example.com');
      await phone.page.getByRole('link', { name: 'roaming@example.com' }).click();
      await phone.page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
      await screenshot(phone.page, 'account-phone-dark');
      await phone.page.getByRole('button', { name: 'Log out everywhere…' }).click();
      const dialog = phone.page.getByRole('dialog', { name: 'Log out everywhere?' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.equal((await desk.page.request.get(`${ck.url}/api/v1/me`)).status(), 200, 'cancel ends nothing');
      await phone.page.getByRole('button', { name: 'Log out everywhere…' }).click();
      await dialog.getByRole('button', { name: 'Log out everywhere' }).click();
      await phone.page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
      await phone.page.getByText('You are logged out everywhere').waitFor();
      assert.equal((await phone.page.request.get(`${ck.url}/api/v1/me`)).status(), 401);
      // The other browser finds its session ended at its next step.
      assert.equal((await desk.page.request.get(`${ck.url}/api/v1/me`)).status(), 401, 'the other session ended on the server');
      await nav(desk.page).getByRole('link', { name: 'Auto certificates' }).click();
      await desk.page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
      await desk.page.getByText('Your session has ended; log in again.').waitFor();
      const ended = await ck.api('GET', '/api/v1/events?filter.type=user.logged_out');
      assert.ok(ended.body.items.some((e: any) => /roaming@example\.com logged out everywhere \(2 session\(s\)\)/.test(e.properties.message)));
    } finally {
      await phone.context.close();
      await desk.context.close();
    }
  });

  test('no page violated the Content-Security-Policy or threw', () => {
    assert.deepEqual(ui.problems, []);
  });
});
