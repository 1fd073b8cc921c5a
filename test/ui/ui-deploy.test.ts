// The web UI's deployment pages in a real browser (Debian's Chromium through playwright-core)
// against a real in-process certkeeper (and real Pebble for the auto certificate): an admin
// creates an agent, sees its one-time enrolment token and the command line once, the test enrols
// it as `certkeeper agent` would (POST /agent/enrol, /agent/heartbeat) and the page shows it
// ONLINE without a reload; a new token is issued, the agent is revoked (its credential is then
// refused), and cannot be deleted while a target uses it. The target form shows each server error
// beside its field (a relative path, a bad probe port) and never shows an SSH private key back.
// An operator deploys an imported certificate to two `script` targets the server runs: one is
// DEPLOYED live and wrote its file, the other FAILED with its output shown, and Retry (after the
// cause is fixed) makes it DEPLOYED. An auto certificate created with a target in the form deploys
// its first version, followed live on its page, and again with Deploy now. Phone layout, viewers,
// and no CSP violation. The form's copy of the target types is checked against the manifests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { makeChain, type TestChain } from '../harness/openssl-ca.js';
import { DEPLOY_TARGETS } from '../../src/deploy/targets/index.js';
import { validateAgentSettings } from '../../src/deploy/deployment-targets.js';
import { TARGET_TYPES } from '../../web/src/deployment-target-types.js';
import { idInUrl, launchUiBrowser, login as logIn, nav, newUser, screenshot, until, type UiBrowser } from './browser.js';

const work = mkdtempSync(join(tmpdir(), 'ck-ui-deploy-'));
let pebble: PebbleHandle;
let ck: CertkeeperHandle;
let ui: UiBrowser;
let chain: TestChain;
let providerId = '';
let certificateId = '';
let agentId = '';

const login = (page: Page, email: string) => logIn(page, ck, email);

/** An SSH key pair made with ssh-keygen: the private key (OpenSSH format) and the public line. */
function sshKey(name: string): { privateKey: string; publicKey: string } {
  const file = join(work, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `ui-test-${name}`, '-f', file], { stdio: 'ignore' });
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ') };
}

/** A call of the agent protocol, as `certkeeper agent` makes it. */
async function agentCall(method: string, path: string, body: unknown, credential?: string) {
  const res = await fetch(`${ck.url}/api/v1/agent${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(credential ? { authorization: `Bearer ${credential}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
}

/** The tabs of the deployment area (Deployments, Targets, Agents). */
const tabs = (page: Page) => page.getByRole('navigation', { name: 'Deployment' });

/** Opens a page of the deployment area through the main navigation and its tabs. */
async function openTab(page: Page, tab: 'Deployments' | 'Targets' | 'Agents'): Promise<void> {
  await nav(page).getByRole('link', { name: 'Deployment' }).click();
  await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
  if (tab !== 'Deployments') await tabs(page).getByRole('link', { name: tab }).click();
  await page.getByRole('heading', { level: 1, name: tab === 'Targets' ? 'Deployment targets' : tab }).waitFor();
}

/** The row of the deployments table for `target`. */
const deploymentRow = (page: Page, target: string) => page.locator(`[data-testid="deployments"] tbody tr[data-target="${target}"]`);

/** Nothing on the page is wider than the viewport (a phone scrolls only vertically). */
async function noSidewaysScroll(page: Page): Promise<void> {
  const [scroll, width] = await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]') as [number, number];
  assert.ok(scroll <= width, `the page is ${scroll}px wide on a ${width}px screen`);
}

before(async () => {
  const launching = launchUiBrowser();
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  ck = await startCertkeeper({ CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}` });
  const provider = await ck.api('POST', '/api/v1/providers', { properties: { name: 'pebble', email: 'ops@example.com', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal(provider.status, 202, provider.text);
  providerId = provider.body.id;
  const p = await ck.waitFor(`/api/v1/providers/${providerId}`, (b: any) => b.metadata.state !== 'PROVISIONING');
  assert.equal(p.metadata.state, 'AVAILABLE', p.metadata.message);
  chain = makeChain('www.deploy.ui.test', ['deploy.ui.test']);
  const imported = await ck.api('POST', '/api/v1/certificates', { properties: { name: 'www.deploy.ui.test', certificate: chain.leafPem, certificateChain: chain.intermediatePem, privateKey: chain.leafKeyPem } });
  assert.equal(imported.status, 201, imported.text);
  certificateId = imported.body.id;
  await newUser(ck, 'admin@example.com', 'admin');
  await newUser(ck, 'ops@example.com', 'operator');
  await newUser(ck, 'viewer@example.com', 'viewer');
  ui = await launching;
});

after(async () => {
  await ui?.close();
  await ck?.stop();
  await pebble?.stop();
  if (chain) rmSync(chain.dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

describe('web UI, deployment', () => {
  test('the target form\'s copy of the target types matches the server', () => {
    for (const [code, manifest] of DEPLOY_TARGETS) {
      const spec = TARGET_TYPES.find((t) => t.code === code);
      assert.ok(spec, `the form offers ${code}`);
      const fields = (o: Record<string, { required?: boolean }>) => Object.entries(o).map(([name, f]) => `${name}${f.required ? '*' : ''}`);
      assert.deepEqual(spec.settings.map((f) => `${f.name}${f.required ? '*' : ''}`), fields(manifest.settings), `settings of ${code}`);
      assert.deepEqual(spec.credentials.map((f) => `${f.name}${f.required ? '*' : ''}`), fields(manifest.credentials), `credentials of ${code}`);
    }
    assert.deepEqual(TARGET_TYPES.map((t) => t.code).sort(), ['agent', ...DEPLOY_TARGETS.keys()].sort());
    // An agent target's settings: the server lists them when it refuses an unknown one.
    const refused = validateAgentSettings({ colour: 'red', certificatePath: '/x.pem' }, {}).find((e) => e.field === 'properties.settings.colour');
    const known = refused!.message.replace(/^.*takes /, '').split(', ');
    assert.deepEqual(TARGET_TYPES[0]!.settings.map((f) => f.name).sort(), [...known].sort());
    assert.deepEqual(TARGET_TYPES[0]!.credentials.map((f) => f.name), ['pkcs12Password']);
  });

  test('an admin creates an agent, sees its enrolment token once, sees it come online, issues a new token and revokes it', async () => {
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'admin@example.com');
      // The header stays one row at 1280 px with every entry an admin has.
      assert.ok((await page.locator('header.topbar').boundingBox())!.height < 60, 'the header is one row');
      await openTab(page, 'Agents');
      assert.equal(await tabs(page).getByRole('link', { name: 'Agents' }).getAttribute('aria-current'), 'page');
      assert.equal(await nav(page).getByRole('link', { name: 'Deployment' }).getAttribute('aria-current'), 'page');
      await page.getByText('No agent yet.').waitFor();
      await page.getByRole('link', { name: 'New agent' }).click();
      await page.getByRole('heading', { level: 1, name: 'New agent' }).waitFor();
      await page.getByLabel('Name', { exact: true }).fill('web-1');
      await page.getByLabel(/^Description/).fill('front web server');
      // A bad http-01 name is reported beside its field.
      await page.getByLabel(/^http-01 names/).fill('web-1.example.com\nbad..name');
      await page.getByRole('button', { name: 'Create agent' }).click();
      await page.locator('#ag-http01-error').getByText(/^bad\.\.name: /).waitFor();
      assert.equal(await page.getByLabel(/^http-01 names/).getAttribute('aria-invalid'), 'true');
      await page.getByLabel(/^http-01 names/).fill('web-1.example.com\n*.shop.example.com');
      await page.getByRole('button', { name: 'Create agent' }).click();

      // The agent's page: PENDING, with the one-time token and the command line to run.
      await page.getByRole('heading', { level: 1, name: 'web-1', exact: true }).waitFor();
      agentId = idInUrl(page);
      await page.locator('.status-line [data-state="PENDING"]').waitFor();
      const box = page.getByTestId('enrolment-token');
      const token = await box.locator('.copy-value code').innerText();
      assert.match(token, /^cke_/);
      assert.equal(await page.getByTestId('enrol-command').innerText(), `certkeeper agent --server ${ck.url} --token ${token}`);
      await box.getByText('--state-dir').waitFor();
      await box.getByText('--http01-listen').waitFor();
      await box.getByRole('button', { name: 'Copy the command line' }).waitFor();
      await screenshot(page, 'agent-created');
      const read = await ck.api('GET', `/api/v1/agents/${agentId}`);
      assert.equal(read.body.metadata.enrolmentToken, undefined, 'a read never shows the token');

      // Shown once: another visit of the page does not have it.
      await page.locator('.breadcrumbs').getByRole('link', { name: 'Agents' }).click();
      await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
      await page.getByRole('link', { name: 'web-1' }).click();
      await page.getByRole('heading', { level: 1, name: 'web-1', exact: true }).waitFor();
      assert.equal(await page.getByTestId('enrolment-token').count(), 0);
      assert.ok(!(await page.content()).includes(token));

      // The agent enrols with the token and beats; the page, left open, turns ONLINE by itself.
      const enrolled = await agentCall('POST', '/enrol', { token, hostname: 'web-1.example.net', version: '1.2.3', platform: 'linux-x64' });
      assert.equal(enrolled.status, 200, enrolled.text);
      const credential = enrolled.body.credential as string;
      const beat = await agentCall('POST', '/heartbeat', { hostname: 'web-1.example.net', version: '1.2.4', platform: 'linux-x64', http01: 'listen 0.0.0.0:80' }, credential);
      assert.equal(beat.status, 204, beat.text);
      await page.locator('.status-line [data-state="ONLINE"]').waitFor();
      await page.getByRole('region', { name: 'Host' }).getByText('web-1.example.net').waitFor();
      await page.getByRole('region', { name: 'Host' }).getByText('1.2.4').waitFor({ timeout: 20_000 });
      await page.getByRole('region', { name: 'Host' }).getByText('listen 0.0.0.0:80').waitFor();

      // The list: state, host, version, last seen.
      await openTab(page, 'Agents');
      const row = page.locator('tbody tr').filter({ has: page.getByRole('link', { name: 'web-1', exact: true }) });
      await row.locator('[data-state="ONLINE"]').waitFor();
      assert.match(await row.innerText(), /web-1\.example\.net[\s\S]*1\.2\.4[\s\S]*now[\s\S]*web-1\.example\.com, \*\.shop\.example\.com/);
      await screenshot(page, 'agents');

      // New enrolment token, after a confirmation: shown once, a new one.
      await row.getByRole('link', { name: 'web-1' }).click();
      await page.getByRole('button', { name: 'New enrolment token…' }).click();
      const tokenDialog = page.getByRole('dialog', { name: 'Issue a new enrolment token?' });
      await tokenDialog.getByRole('button', { name: 'Cancel' }).click();
      await tokenDialog.waitFor({ state: 'hidden' });
      assert.equal(await page.getByTestId('enrolment-token').count(), 0, 'cancel issues nothing');
      await page.getByRole('button', { name: 'New enrolment token…' }).click();
      await tokenDialog.getByRole('button', { name: 'New enrolment token' }).click();
      const second = await page.getByTestId('enrolment-token').locator('.copy-value code').innerText();
      assert.match(second, /^cke_/);
      assert.notEqual(second, token);
      await page.getByRole('button', { name: 'I have copied it' }).click();
      assert.equal(await page.getByTestId('enrolment-token').count(), 0);

      // Revoke, after a confirmation: REVOKED, and the credential is refused at once.
      await page.getByRole('button', { name: 'Revoke…' }).click();
      await page.getByRole('dialog', { name: 'Revoke this agent?' }).getByRole('button', { name: 'Revoke' }).click();
      await page.locator('.status-line [data-state="REVOKED"]').waitFor();
      await page.getByText('Revoked: the agent\'s next call is refused.').waitFor();
      assert.equal((await agentCall('POST', '/heartbeat', { hostname: 'web-1.example.net', version: '1.2.4', platform: 'linux-x64' }, credential)).status, 401);
      await openTab(page, 'Agents');
      await row.locator('[data-state="REVOKED"]').waitFor();
    } finally {
      await context.close();
    }
  });

  test('the target form shows errors beside their fields and never shows a credential back', async () => {
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'admin@example.com');
      await openTab(page, 'Targets');
      await page.getByText('No deployment target yet.').waitFor();
      await page.getByRole('link', { name: 'New deployment target' }).click();
      await page.getByRole('heading', { level: 1, name: 'New deployment target' }).waitFor();
      const offered = await Promise.all((await page.getByLabel('Type', { exact: true }).locator('option').all()).map((o) => o.getAttribute('value')));
      assert.deepEqual(offered, ['agent', 'ssh', 'script', 'webhook', 'kubernetes-secret']);

      // An agent layout: a relative path and a port out of range, each reported beside its field.
      await page.getByLabel('Name', { exact: true }).fill('web-1 nginx');
      assert.equal(await page.getByLabel('Agent', { exact: true }).inputValue(), agentId, 'the only agent is chosen');
      await page.getByLabel(/^certificatePath/).fill('relative.pem');
      await page.getByLabel(/^fullchainPath/).fill('/etc/nginx/certs/web-1/fullchain.pem');
      await page.getByLabel(/^keyPath/).fill('/etc/nginx/certs/web-1/privkey.pem');
      await page.getByLabel(/^mode/).fill('0640');
      await page.getByLabel(/^group/).fill('nginx');
      await page.getByLabel(/^reloadCommand/).fill('systemctl reload nginx');
      await page.getByLabel(/^reloadTimeoutSeconds/).fill('30');
      await page.getByLabel(/^Host/).fill('127.0.0.1');
      await page.getByLabel(/^Port/).fill('70000');
      await page.getByLabel(/^Server name/).fill('www.deploy.ui.test');
      await page.getByRole('button', { name: 'Create deployment target' }).click();
      await page.locator('#dt-s-certificatePath-error').getByText('expected an absolute path').waitFor();
      await page.locator('#dt-s-probe-port-error').getByText('expected a port from 1 to 65535').waitFor();
      assert.equal(await page.getByLabel(/^certificatePath/).getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByLabel(/^fullchainPath/).getAttribute('aria-invalid'), 'false');
      assert.equal(await page.evaluate('document.activeElement.id'), 'dt-s-certificatePath', 'focus moves to the first field at fault');
      await screenshot(page, 'deployment-target-new');
      await page.getByLabel(/^certificatePath/).fill('');
      await page.getByLabel(/^Port/).fill('443');
      await page.getByRole('button', { name: 'Create deployment target' }).click();
      await page.getByRole('heading', { level: 1, name: 'web-1 nginx' }).waitFor();
      const agentTargetId = idInUrl(page);
      const saved = (await ck.api('GET', `/api/v1/deployment-targets/${agentTargetId}`)).body;
      assert.equal(saved.properties.agent, agentId);
      assert.deepEqual(saved.properties.settings, {
        fullchainPath: '/etc/nginx/certs/web-1/fullchain.pem', keyPath: '/etc/nginx/certs/web-1/privkey.pem', group: 'nginx', mode: '0640',
        reloadCommand: 'systemctl reload nginx', reloadTimeoutSeconds: 30, probe: { host: '127.0.0.1', port: 443, serverName: 'www.deploy.ui.test' },
      });

      // The agent it uses: listed there, and it cannot be deleted while the target uses it.
      await page.getByRole('link', { name: 'web-1', exact: true }).click();
      await page.getByRole('heading', { level: 1, name: 'web-1', exact: true }).waitFor();
      await page.getByRole('region', { name: /Deployment targets on this agent/ }).getByRole('link', { name: 'web-1 nginx' }).waitFor();
      await page.getByRole('button', { name: 'Delete…' }).click();
      const del = page.getByRole('dialog', { name: 'Delete this agent?' });
      await del.getByRole('button', { name: 'Delete' }).click();
      await del.getByRole('alert').getByText('agent web-1 is used by deployment target(s) web-1 nginx; delete or change them first').waitFor();
      await page.keyboard.press('Escape');
      await del.waitFor({ state: 'hidden' });
      assert.equal((await ck.api('GET', `/api/v1/agents/${agentId}`)).status, 200);

      // SSH: the login key is write-only — never on a page, never in an answer.
      const client = sshKey('client');
      const host = sshKey('host');
      const keyBody = client.privateKey.split('\n')[1]!;
      await page.goto(`${ck.url}/deployment-targets/new`);
      await page.getByLabel('Type', { exact: true }).selectOption('ssh');
      await page.getByLabel('Name', { exact: true }).fill('web-2 over ssh');
      await page.getByLabel(/^host \(/).fill('127.0.0.1');
      await page.getByLabel(/^username/).fill('certdeploy');
      await page.getByLabel(/^hostKey/).fill(host.publicKey);
      await page.getByLabel(/^fullchainPath/).fill('/srv/tls/fullchain.pem');
      await page.getByLabel(/^keyPath/).fill('/srv/tls/key.pem');
      await page.getByLabel(/^privateKey/).fill(client.privateKey);
      await page.getByRole('button', { name: 'Create deployment target' }).click();
      await page.getByRole('heading', { level: 1, name: 'web-2 over ssh' }).waitFor();
      const sshId = idInUrl(page);
      await page.getByText('privateKey (stored encrypted; never shown)').waitFor();
      assert.ok(!(await page.content()).includes(keyBody), 'the key is not on the page');
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByRole('heading', { level: 1, name: 'Change web-2 over ssh' }).waitFor();
      assert.equal(await page.getByLabel(/^privateKey/).inputValue(), '');
      assert.equal(await page.getByLabel(/^privateKey/).getAttribute('placeholder'), 'stored; leave empty to keep');
      assert.equal(await page.getByLabel(/^hostKey/).inputValue(), host.publicKey);
      await page.getByLabel(/^port \(/).fill('2222');
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByRole('heading', { level: 1, name: 'web-2 over ssh' }).waitFor();
      const ssh = (await ck.api('GET', `/api/v1/deployment-targets/${sshId}`)).body;
      assert.equal(ssh.properties.settings.port, 2222);
      assert.deepEqual(ssh.metadata.credentialsSet, ['privateKey'], 'the stored key was kept');
      assert.ok(!ck.responses().includes(keyBody) && !(await page.content()).includes(keyBody), 'the key never comes back');

      // Disable and enable; the list shows each target with where it deploys.
      await page.getByRole('button', { name: 'Disable' }).click();
      await page.locator('.status-line [data-state="DISABLED"]').waitFor();
      await page.getByRole('button', { name: 'Enable' }).click();
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor();
      await openTab(page, 'Targets');
      const list = await page.locator('tbody').innerText();
      assert.match(list, /web-1 nginx\s+agent\s+web-1: \/etc\/nginx\/certs\/web-1\/fullchain\.pem/);
      assert.match(list, /web-2 over ssh\s+ssh\s+certdeploy@127\.0\.0\.1/);
    } finally {
      await context.close();
    }
  });

  test('an imported certificate deployed to script targets: DEPLOYED live, FAILED with its output, then Retry', async () => {
    const out = join(work, 'deployed-fullchain.pem');
    const fixed = join(work, 'load-balancer-is-back');
    const admin = await ui.newPage();
    try {
      await login(admin.page, 'admin@example.com');
      for (const [name, command] of [
        ['copy', `cp "$CERTKEEPER_FULLCHAIN_FILE" '${out}' && echo "deployed $CERTKEEPER_SERIAL_NUMBER"`],
        ['balancer', `test -f '${fixed}' || { echo "cannot reach the load balancer" >&2; exit 7; }; echo "load balancer updated"`],
      ] as const) {
        await admin.page.goto(`${ck.url}/deployment-targets/new`);
        await admin.page.getByLabel('Type', { exact: true }).selectOption('script');
        await admin.page.getByText('script takes no credentials.').waitFor();
        await admin.page.getByLabel('Name', { exact: true }).fill(name);
        await admin.page.getByLabel(/^command/).fill(command);
        await admin.page.getByLabel(/^timeoutSeconds/).fill('20');
        await admin.page.getByRole('button', { name: 'Create deployment target' }).click();
        await admin.page.getByRole('heading', { level: 1, name }).waitFor();
      }
    } finally {
      await admin.context.close();
    }

    const { context, page } = await ui.newPage();
    try {
      await login(page, 'ops@example.com');
      await openTab(page, 'Agents');
      assert.equal(await tabs(page).getByRole('link', { name: 'Targets' }).count(), 0, 'only admins manage targets');
      await page.goto(`${ck.url}/certificates/${certificateId}`);
      await page.getByRole('heading', { level: 1, name: 'www.deploy.ui.test' }).waitFor();
      const section = page.getByRole('region', { name: /^Deployments/ });
      await section.getByRole('cell', { name: 'No deployments.' }).waitFor();

      // Deploy to…: a dialog to choose the targets; Escape closes it, nothing is sent.
      await section.getByRole('button', { name: 'Deploy to…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Deploy this version' });
      await dialog.waitFor();
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await page.evaluate('document.activeElement.textContent'), 'Deploy to…', 'focus returns to the button');
      await section.getByRole('button', { name: 'Deploy to…' }).click();
      await dialog.getByRole('button', { name: 'Deploy' }).click();
      await dialog.getByText('Choose at least one target.').waitFor();
      await dialog.getByLabel(/^copy/).check();
      await dialog.getByLabel(/^balancer/).check();
      await dialog.getByRole('button', { name: 'Deploy' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByText('Deploying this version to 2 targets.').waitFor();

      // The server runs both; the page follows them without a reload.
      await deploymentRow(page, 'copy').locator('[data-state="DEPLOYED"]').waitFor({ timeout: 30_000 });
      await deploymentRow(page, 'balancer').locator('[data-state="FAILED"]').waitFor({ timeout: 30_000 });
      assert.ok(existsSync(out), 'the script wrote its file');
      assert.equal(new X509Certificate(readFileSync(out)).serialNumber, new X509Certificate(chain.leafPem).serialNumber);
      const failed = deploymentRow(page, 'balancer');
      assert.match(await failed.innerText(), /exit(ed)? .*7|code 7/);
      assert.match(await failed.innerText(), /attempt 1 of 10; next at/);
      const output = failed.locator('details.output');
      assert.equal(await output.locator('pre').isVisible(), false, 'the output is folded');
      await output.locator('summary').click();
      await output.locator('pre').getByText('cannot reach the load balancer').waitFor();
      assert.match(await output.locator('pre').evaluate((e) => (globalThis as any).getComputedStyle(e).fontFamily as string), /monospace/);
      await deploymentRow(page, 'copy').locator('details.output summary').click();
      assert.match(await deploymentRow(page, 'copy').locator('pre').innerText(), /^deployed [0-9a-f]+/);
      assert.equal(await deploymentRow(page, 'copy').getByRole('button', { name: /Retry/ }).count(), 0, 'only failed deployments are retried');

      // The cause is fixed; Retry is accepted (PENDING, its attempts start over) and the attempt,
      // run at once, turns DEPLOYED, live.
      writeFileSync(fixed, '');
      await failed.getByRole('button', { name: 'Retry the deployment to balancer' }).click();
      await until('the retry is accepted', async () => /Retry requested|load balancer updated|succeeded/.test(await failed.innerText()));
      const retried = (await ck.api('GET', `/api/v1/deployments/${await failed.getAttribute('data-deployment')}`)).body;
      // Caught waiting (attempts back to 0), running (1), or already done.
      assert.ok(retried.metadata.state === 'PENDING' ? retried.metadata.attempts <= 1 : retried.metadata.state === 'DEPLOYED', JSON.stringify(retried.metadata));
      await failed.locator('[data-state="DEPLOYED"]').waitFor({ timeout: 20_000 });
      // The output stays unfolded as the row updates.
      assert.equal(await failed.locator('details.output').getAttribute('open'), '');
      await failed.locator('pre').getByText('load balancer updated').waitFor();

      // The deployments page: filtered by state, in the URL.
      await openTab(page, 'Deployments');
      await page.getByLabel('State').selectOption('FAILED');
      await page.waitForURL(/\/deployments\?state=FAILED$/);
      await page.getByRole('cell', { name: 'No deployments.' }).waitFor();
      await page.getByLabel('State').selectOption('DEPLOYED');
      await until('two deployed rows', async () => (await page.locator('[data-testid="deployments"] tbody tr[data-deployment]').count()) === 2);
      await page.locator('[data-testid="deployments"] tbody').getByRole('link', { name: 'www.deploy.ui.test' }).first().waitFor();
    } finally {
      await context.close();
    }

    // A viewer sees the deployments, but neither Deploy to… nor Retry.
    const viewer = await ui.newPage();
    try {
      await login(viewer.page, 'viewer@example.com');
      await viewer.page.goto(`${ck.url}/certificates/${certificateId}`);
      await deploymentRow(viewer.page, 'copy').locator('[data-state="DEPLOYED"]').waitFor();
      assert.equal(await viewer.page.getByRole('button', { name: 'Deploy to…' }).count(), 0);
      await viewer.page.goto(`${ck.url}/deployment-targets`);
      await viewer.page.getByText('Only admins manage this; your role is viewer.').waitFor();
      // Agents may be read by every role, without the admin's actions.
      await viewer.page.goto(`${ck.url}/agents/${agentId}`);
      await viewer.page.locator('.status-line [data-state="REVOKED"]').waitFor();
      assert.equal(await viewer.page.getByRole('button', { name: 'Revoke…' }).count(), 0);
      assert.equal(await viewer.page.getByRole('button', { name: 'Delete…' }).count(), 0);
    } finally {
      await viewer.context.close();
    }
  });

  test('an auto certificate deploys its versions to the targets chosen in its form, followed live; Deploy now', async () => {
    const { context, page } = await ui.newPage();
    try {
      await login(page, 'ops@example.com');
      await page.goto(`${ck.url}/auto-certificates/new`);
      await page.getByLabel(/^Names/).fill('deploy.ui.test');
      const targets = page.getByRole('group', { name: /^Deployment targets/ });
      for (const name of ['balancer', 'copy', 'web-1 nginx', 'web-2 over ssh']) await targets.getByLabel(new RegExp(`^${name}`)).waitFor();
      await targets.getByLabel(/^copy/).check();
      const keyAgent = page.getByLabel(/^Key generated on agent/);
      assert.equal(await keyAgent.inputValue(), '');
      assert.equal(await keyAgent.locator('option').count(), 1, 'a revoked agent is not offered');
      await page.locator('#ac-key-agent-help').getByText('the key never leaves its host').waitFor();
      await page.getByRole('button', { name: 'Create auto certificate' }).click();
      await page.getByRole('heading', { level: 1, name: 'deploy.ui.test' }).waitFor();
      const id = idInUrl(page);
      assert.deepEqual((await ck.api('GET', `/api/v1/auto-certificates/${id}`)).body.properties.deploymentTargets.length, 1);

      // Issued; its deployment to "copy" appears and turns DEPLOYED without a reload.
      await page.locator('.status-line [data-state="AVAILABLE"]').waitFor({ timeout: 60_000 });
      await page.getByRole('region', { name: 'Settings' }).getByText('copy').waitFor();
      const section = page.getByRole('region', { name: /^Deployments/ });
      await deploymentRow(page, 'copy').locator('[data-state="DEPLOYED"]').waitFor({ timeout: 30_000 });
      const ac = (await ck.api('GET', `/api/v1/auto-certificates/${id}`)).body;
      const version = (await ck.api('GET', `/api/v1/certificates/${ac.metadata.lastIssuedCertificate}`)).body;
      assert.equal(new X509Certificate(readFileSync(join(work, 'deployed-fullchain.pem'))).serialNumber.toLowerCase(), version.metadata.serialNumber.toLowerCase().replace(/:/g, ''));
      await deploymentRow(page, 'copy').getByRole('link', { name: version.properties.name }).waitFor();
      await screenshot(page, 'auto-certificate-deployments');

      // Deploy now: the active version again, a second deployment followed to DEPLOYED.
      await section.getByRole('button', { name: 'Deploy now' }).click();
      await section.getByText('The active version is being deployed to 1 target.').waitFor();
      await until('a second deployment, deployed', async () => (await section.locator('tbody tr[data-target="copy"] [data-state="DEPLOYED"]').count()) === 2, 30_000);
      await section.locator('#deployments-heading').getByText('(2)').waitFor();

      // The change form shows the chosen target checked.
      await page.getByRole('link', { name: 'Change' }).click();
      await page.getByRole('heading', { level: 1, name: 'Change deploy.ui.test' }).waitFor();
      assert.equal(await page.getByRole('group', { name: /^Deployment targets/ }).getByLabel(/^copy/).isChecked(), true);
      assert.equal(await page.getByRole('group', { name: /^Deployment targets/ }).getByLabel(/^balancer/).isChecked(), false);
    } finally {
      await context.close();
    }
  });

  test('on a phone, the agent and deployment pages fit the screen', async () => {
    const { context, page } = await ui.newPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    try {
      await login(page, 'admin@example.com');
      await page.goto(`${ck.url}/agents/${agentId}`);
      await page.getByRole('heading', { level: 1, name: 'web-1', exact: true }).waitFor();
      await noSidewaysScroll(page);
      await page.goto(`${ck.url}/certificates/${certificateId}`);
      await deploymentRow(page, 'balancer').locator('[data-state="DEPLOYED"]').waitFor();
      await noSidewaysScroll(page);
      await page.goto(`${ck.url}/deployments`);
      await page.locator('[data-testid="deployments"] tbody tr[data-deployment]').first().waitFor();
      await noSidewaysScroll(page);
      await screenshot(page, 'deployments-phone-dark');
    } finally {
      await context.close();
    }
  });

  test('no page violated the Content-Security-Policy or threw', () => {
    assert.deepEqual(ui.problems, []);
  });
});
