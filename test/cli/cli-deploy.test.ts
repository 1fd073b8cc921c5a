// `certkeeper agents …`, `deployment-targets …` (alias `targets`), `deployments …` and
// `certificates deploy`, run as a child process against a real server started in this process
// (test/harness/certkeeper.ts), as in cli-channels.test.ts. The agent is enrolled through the agent
// protocol by hand, as `certkeeper agent` does; the `script` targets are run by the server's worker,
// so a deployment's effect is a real file on disk and a failing script's output is real. Every
// secret given or generated is checked never to appear where it should not.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeOf, TARGET_SHAPES } from '../../src/cli/deployment-targets-commands.js';
import { settingsOf } from '../../src/cli/key-values.js';
import { startCertkeeper, type CertkeeperHandle } from '../harness/certkeeper.js';
import { cliRunner, expectOk } from './run-cli.js';

let ck: CertkeeperHandle;
let work: string;
/** The serial of the imported certificate `www`, lower-case hex. */
let serial: string;

const cli = cliRunner(() => ({ HOME: join(work, 'home'), CERTKEEPER_SERVER: ck.url, CERTKEEPER_TOKEN: ck.token }));
const ok = (args: string[], env: Record<string, string | undefined> = {}) => expectOk(cli, args, env);

/** The value of `label:` in a block. */
const field = (block: string, label: string) => new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(block)?.[1];

/** Calls the agent protocol as `certkeeper agent` does. */
async function agentCall(bearer: string | null, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${ck.url}/api/v1/agent${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const FACTS = { hostname: 'web-1.cli.test', version: '0.0.0-test', platform: 'linux-x64' };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ck-cli-deploy-'));
  mkdirSync(join(work, 'home'));
  ck = await startCertkeeper();
  // A self-signed certificate made with the OpenSSL CLI, imported as a user would.
  const cert = join(work, 'www.crt');
  const key = join(work, 'www.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=www.cli-deploy.test',
    '-addext', 'subjectAltName=DNS:www.cli-deploy.test', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  serial = new X509Certificate(readFileSync(cert)).serialNumber.toLowerCase();
  await ok(['certificates', 'import', '--certificate', cert, '--key', key, '--name', 'www']);
});

after(async () => {
  await ck?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('certkeeper CLI: agents, deployment targets, deployments', { concurrency: true }, () => {
  test('agents: the enrolment token is printed once with the command for the host, never by get or list; re-enrol, revoke, delete', async () => {
    const created = await cli(['agents', 'create', '--name', 'web-1', '--description', 'front web server', '--http01-name', '*.Example.COM', '--http01-name', 'www.example.org']);
    assert.equal(created.code, 0, created.stderr);
    const id = field(created.stdout, 'id')!;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(field(created.stdout, 'name'), 'web-1');
    assert.equal(field(created.stdout, 'state'), 'PENDING');
    assert.equal(field(created.stdout, 'http01 names'), '*.example.com, www.example.org');
    const token = /^enrolment token: (cke_\S+)$/m.exec(created.stdout)?.[1];
    assert.ok(token, created.stdout);
    assert.match(created.stdout, /^valid until:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    assert.ok(created.stdout.includes(`run on the host:\n  certkeeper agent --server ${ck.url} --token ${token}\n`), created.stdout);
    assert.equal(created.stdout.split(token).length, 3, 'the token is printed in its line and in the command, nowhere else');
    assert.match(created.stderr, /^note: this enrolment token is shown only this once and works once/m);
    assert.match(created.stderr, /--token-file/);

    // --json keeps the token in the API's body; no read shows one.
    const viaJson = JSON.parse(await ok(['agents', 'create', '--name', 'web-2', '--json']));
    assert.match(viaJson.metadata.enrolmentToken, /^cke_/);
    const reads = [await ok(['agents', 'get', 'web-1']), await ok(['agents', 'get', id, '--json']), await ok(['agents', 'list']), await ok(['agents', 'list', '--json']), await ok(['agents', 'get', 'web-2'])].join('\n');
    for (const t of [token, viaJson.metadata.enrolmentToken as string]) assert.ok(!reads.includes(t), 'get and list never print an enrolment token');
    assert.doesNotMatch(reads, /enrolment token:/);

    // The host enrols with the token printed: the agent is then OFFLINE or ONLINE with its host name.
    const enrolled = await agentCall(null, '/enrol', { token, ...FACTS });
    assert.equal(enrolled.status, 200);
    const credential = enrolled.body.credential as string;
    const shown = await ok(['agents', 'get', 'web-1']);
    assert.match(field(shown, 'state')!, /^(ONLINE|OFFLINE)$/);
    assert.equal(field(shown, 'hostname'), 'web-1.cli.test');
    const table = await ok(['agents', 'list', '--name', 'web-1']);
    assert.match(table.split('\n')[0]!, /^ID\s+NAME\s+STATE\s+HOSTNAME\s+VERSION\s+LAST SEEN\s+HTTP-01 NAMES$/);
    assert.match(table, new RegExp(`^${id}\\s+web-1\\s+(ONLINE|OFFLINE)\\s+web-1\\.cli\\.test\\s+0\\.0\\.0-test\\s+\\d{4}-\\S+Z\\s+\\*\\.example\\.com, www\\.example\\.org$`, 'm'));

    const updated = await ok(['agents', 'update', 'web-1', '--no-description', '--http01-name', 'shop.example.com']);
    assert.equal(field(updated, 'description'), '-');
    assert.equal(field(updated, 'http01 names'), 'shop.example.com');

    // A new enrolment token (re-installing the host): printed once, another one.
    const again = await ok(['agents', 'enrolment-token', 'web-1']);
    const token2 = /^enrolment token: (cke_\S+)$/m.exec(again)?.[1];
    assert.ok(token2 && token2 !== token);
    assert.ok(again.includes(`certkeeper agent --server ${ck.url} --token ${token2}`));

    // Revoke: the credential stops working at once.
    assert.equal((await agentCall(credential, '/heartbeat', FACTS)).status, 204);
    const revoked = await ok(['agents', 'revoke', 'web-1']);
    assert.equal(field(revoked, 'state'), 'REVOKED');
    assert.equal((await agentCall(credential, '/heartbeat', FACTS)).status, 401);
    assert.equal(JSON.parse(await ok(['agents', 'get', 'web-1', '--json'])).metadata.state, 'REVOKED');

    // An agent a target uses cannot be deleted; once the target is gone, it can.
    await ok(['targets', 'create', '--name', 'web-1 files', '--type', 'agent', '--agent', 'web-1', '--setting', 'fullchainPath=/etc/ssl/web-1.pem']);
    const used = await cli(['agents', 'delete', 'web-1']);
    assert.equal(used.code, 1);
    assert.match(used.stderr, /^error: agent web-1 is used by deployment target\(s\) web-1 files; delete or change them first$/m);
    await ok(['targets', 'delete', 'web-1 files']);
    assert.equal(await ok(['agents', 'delete', 'web-1']), `deleted agent web-1 (${id})\n`);
    await ok(['agents', 'delete', 'web-2']);
    const gone = await cli(['agents', 'get', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: agent .* does not exist/m);
  });

  test('targets: an agent layout with a probe and a PKCS#12 password from a file (never printed); a script target; update and delete', async () => {
    const password = `p12-${randomBytes(8).toString('hex')}`;
    const passwordFile = join(work, 'p12-password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    await ok(['agents', 'create', '--name', 'lb-1']);
    const created = await ok(['deployment-targets', 'create', '--name', 'lb-1 haproxy', '--type', 'agent', '--agent', 'lb-1',
      '--setting', 'combinedPath=/etc/haproxy/certs/site.pem', '--setting', 'pkcs12Path=/etc/haproxy/certs/site.p12', '--setting', 'mode=0640', '--setting', 'owner=1000',
      '--setting', 'reloadCommand=systemctl reload haproxy', '--setting', 'reloadTimeoutSeconds=30', '--probe', '127.0.0.1:8443,www.example.com',
      '--credential-file', `pkcs12Password=${passwordFile}`]);
    const id = field(created, 'id')!;
    assert.equal(field(created, 'type'), 'agent');
    assert.match(field(created, 'agent')!, /^lb-1 \([0-9a-f-]{36}\)$/);
    assert.equal(field(created, 'state'), 'AVAILABLE');
    assert.match(created, /^settings:\s+combinedPath=\/etc\/haproxy\/certs\/site\.pem\n\s+pkcs12Path=\/etc\/haproxy\/certs\/site\.p12\n\s+mode=0640\n\s+owner=1000\n\s+reloadCommand=systemctl reload haproxy\n\s+reloadTimeoutSeconds=30\n\s+probe=\{"host":"127\.0\.0\.1","port":8443,"serverName":"www\.example\.com"\}$/m);
    assert.equal(field(created, 'credentials'), 'pkcs12Password (write-only, never shown)');

    // Types as sent: the mode and a numeric owner stay text, the timeout is a number, the probe an object.
    const json = JSON.parse(await ok(['targets', 'get', 'lb-1 haproxy', '--json']));
    assert.equal(json.id, id);
    assert.equal(json.properties.settings.mode, '0640');
    assert.equal(json.properties.settings.owner, '1000');
    assert.equal(json.properties.settings.reloadTimeoutSeconds, 30);
    assert.deepEqual(json.properties.settings.probe, { host: '127.0.0.1', port: 8443, serverName: 'www.example.com' });
    assert.deepEqual(json.metadata.credentialsSet, ['pkcs12Password']);

    // A probe given as JSON through --setting; the other settings and the credential are kept.
    const probed = JSON.parse(await ok(['targets', 'update', id, '--setting', 'probe={"host":"::1","port":443,"timeoutSeconds":5}', '--disable', '--json']));
    assert.deepEqual(probed.properties.settings.probe, { host: '::1', port: 443, timeoutSeconds: 5 });
    assert.equal(probed.properties.settings.combinedPath, '/etc/haproxy/certs/site.pem', 'the other settings are kept');
    assert.equal(probed.metadata.state, 'DISABLED');
    assert.deepEqual(probed.metadata.credentialsSet, ['pkcs12Password']);
    const enabled = await ok(['targets', 'update', id, '--unset-setting', 'pkcs12Path', '--enable']);
    assert.equal(field(enabled, 'state'), 'AVAILABLE');
    assert.doesNotMatch(enabled, /pkcs12Path/);

    const script = await ok(['targets', 'create', '--name', 'local copy', '--type', 'script', '--setting', 'command=cp "$CERTKEEPER_FULLCHAIN_FILE" /nowhere', '--setting', 'timeoutSeconds=20']);
    assert.equal(field(script, 'type'), 'script');
    assert.equal(field(script, 'credentials'), 'none');
    assert.equal(field(script, 'agent'), undefined, 'an agentless target names no agent');

    const table = await ok(['targets', 'list']);
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+NAME\s+TYPE\s+STATE\s+DESTINATION$/);
    const row = lines.find((l) => l.startsWith(id));
    assert.ok(row, table);
    assert.match(row, /\s+lb-1 haproxy\s+agent\s+AVAILABLE\s+agent lb-1: \/etc\/haproxy\/certs\/site\.pem$/);
    assert.match(table, /\s+local copy\s+script\s+AVAILABLE\s+cp "\$CERTKEEPER_FULLCHAIN_FILE" \/nowhere$/m);
    const ofAgent = JSON.parse(await ok(['targets', 'list', '--agent', 'lb-1', '--json']));
    assert.deepEqual(ofAgent.items.map((t: any) => t.id), [id]);

    const outputs = [created, table, await ok(['targets', 'get', id]), await ok(['targets', 'list', '--json']), JSON.stringify(json)].join('\n');
    assert.ok(!outputs.includes(password), 'the PKCS#12 password is never printed');
    assert.ok(!ck.logs().includes(password), 'nor logged by the server');

    assert.equal(await ok(['targets', 'delete', 'lb-1 haproxy']), `deleted deployment target lb-1 haproxy (${id})\n`);
    await ok(['deployment-targets', 'delete', 'local copy']);
    await ok(['agents', 'delete', 'lb-1']);
  });

  test('targets update --unset-credential removes one stored credential and keeps the others', async () => {
    const secretFile = join(work, 'hook-secret');
    writeFileSync(secretFile, `${randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
    await ok(['targets', 'create', '--name', 'unset-hook', '--type', 'webhook', '--setting', 'url=https://127.0.0.1:9/hook', '--credential-file', `secret=${secretFile}`, '--credential', 'extra=x']);
    try {
      const updated = JSON.parse(await ok(['targets', 'update', 'unset-hook', '--unset-credential', 'extra', '--json']));
      assert.deepEqual(updated.metadata.credentialsSet, ['secret']);
    } finally {
      await ok(['targets', 'delete', 'unset-hook']);
    }
  });

  test('certificates deploy --wait: a script target is DEPLOYED and its file written; a failing one exits 1 with its output; list, get, retry', async () => {
    const out = join(work, 'deployed', 'fullchain.pem');
    mkdirSync(join(work, 'deployed'));
    await ok(['targets', 'create', '--name', 'script-target', '--type', 'script', '--setting', `command=cp "$CERTKEEPER_FULLCHAIN_FILE" '${out}' && echo "deployed $CERTKEEPER_SERIAL_NUMBER"`]);
    await ok(['targets', 'create', '--name', 'failing-target', '--type', 'script', '--setting', 'command=echo "cannot reach the load balancer" >&2; exit 7']);

    const deployed = await cli(['certificates', 'deploy', 'www', '--target', 'script-target', '--wait', '--timeout', '60']);
    assert.equal(deployed.code, 0, `stdout: ${deployed.stdout}\nstderr: ${deployed.stderr}`);
    const lines = deployed.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+STATE\s+TARGET\s+CERTIFICATE\s+ATTEMPTS\s+NEXT ATTEMPT\s+MESSAGE$/);
    assert.equal(lines.length, 2);
    assert.match(lines[1]!, /^[0-9a-f-]{36}\s+DEPLOYED\s+script-target\s+www\s+1\s+-\s+script: the command succeeded/);
    const okId = lines[1]!.split(/\s+/)[0]!;
    assert.ok(existsSync(out), 'the script ran');
    assert.equal(new X509Certificate(readFileSync(out)).serialNumber.toLowerCase(), serial);
    const okBlock = await ok(['deployments', 'get', okId]);
    assert.equal(field(okBlock, 'state'), 'DEPLOYED');
    assert.match(field(okBlock, 'target')!, /^script-target \([0-9a-f-]{36}\)$/);
    assert.match(field(okBlock, 'certificate')!, /^www \([0-9a-f-]{36}\)$/);
    assert.equal(field(okBlock, 'output'), `deployed ${serial}`);

    // Both at once: the failing one makes the command exit 1, with its message and output on stderr.
    const mixed = await cli(['certificates', 'deploy', 'www', '--target', 'script-target', '--target', 'failing-target', '--wait']);
    assert.equal(mixed.code, 1, `stdout: ${mixed.stdout}\nstderr: ${mixed.stderr}`);
    assert.match(mixed.stdout, /\s+DEPLOYED\s+script-target\s+www\s+1\s/);
    assert.match(mixed.stdout, /\s+FAILED\s+failing-target\s+www\s+1\s+\d{4}-\S+Z\s+script: the command exited with code 7/);
    const failedId = /^error: deployment (\S+) to failing-target FAILED: script: the command exited with code 7 \(attempt 1 of 10; next at /m.exec(mixed.stderr)?.[1];
    assert.ok(failedId, mixed.stderr);
    assert.match(mixed.stderr, /^output:\n {2}cannot reach the load balancer$/m);
    assert.match(mixed.stderr, /^waiting for deployment to failing-target: PENDING: Queued$/m);

    // Without --wait: the deployments as requested, and how to follow them.
    const queued = await cli(['certificates', 'deploy', 'www', '--target', 'failing-target']);
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /\s+PENDING\s+failing-target\s+www\s+0\s+\d{4}-\S+Z\s+Queued$/m);
    assert.match(queued.stderr, /^1 deployment\(s\) requested; follow them with "certkeeper deployments list --certificate www", or add --wait$/m);
    const queuedJson = JSON.parse((await ok(['certificates', 'deploy', 'www', '--target', 'script-target', '--json'])));
    assert.equal(queuedJson.type, 'collection');
    assert.equal(queuedJson.items[0].metadata.state, 'PENDING');

    await ck.waitFor<any>(`/api/v1/deployments?filter.state=FAILED&filter.certificate=${queuedJson.items[0].properties.certificate}`, (b) => b.total >= 2, 30_000);
    const failedList = await ok(['deployments', 'list', '--state', 'FAILED', '--target', 'failing-target']);
    const failedRows = failedList.trimEnd().split('\n').slice(1);
    assert.ok(failedRows.length >= 2, failedList);
    // (attempts may be 2 by now on a slow machine: the next attempt follows a minute after the first)
    for (const r of failedRows) assert.match(r, /^[0-9a-f-]{36}\s+FAILED\s+failing-target\s+www\s+\d+\s+\d{4}-\S+Z\s+script: the command exited with code 7/);
    assert.ok(failedRows.some((r) => r.startsWith(failedId)));
    const byCertificate = JSON.parse(await ok(['deployments', 'list', '--certificate', 'www', '--target', 'script-target', '--json']));
    assert.ok(byCertificate.items.length >= 2 && byCertificate.items.every((d: any) => d.metadata.state !== 'FAILED'));

    const failedBlock = await ok(['deployments', 'get', failedId]);
    assert.equal(field(failedBlock, 'state'), 'FAILED');
    assert.equal(field(failedBlock, 'output'), 'cannot reach the load balancer');

    // Retry: attempted at once, from attempt 1 again; still failing, so exit 1 with the output.
    const retried = await cli(['deployments', 'retry', failedId, '--wait', '--timeout', '60']);
    assert.equal(retried.code, 1, retried.stderr);
    assert.equal(field(retried.stdout, 'state'), 'FAILED');
    assert.equal(field(retried.stdout, 'attempts'), '1');
    assert.match(retried.stderr, /^waiting for deployment to failing-target: PENDING: Retry requested$/m);
    assert.match(retried.stderr, /^output:\n {2}cannot reach the load balancer$/m);
    const retryJson = JSON.parse(await ok(['deployments', 'retry', failedId, '--json']));
    assert.equal(retryJson.metadata.state, 'PENDING');
    assert.equal(retryJson.metadata.message, 'Retry requested');
    const done = await cli(['deployments', 'retry', okId]);
    assert.equal(done.code, 1);
    assert.match(done.stderr, /^error: this deployment succeeded; /m);

    const none = await cli(['deployments', 'list', '--state', 'FAILED', '--target', 'script-target']);
    assert.equal(none.code, 0);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^no deployments$/m);
  });

  test('bad input exits 1 with the field errors: unknown type, a relative path, a bad probe, an unknown target', async () => {
    const type = await cli(['targets', 'create', '--name', 'bad', '--type', 'pager']);
    assert.equal(type.code, 1);
    assert.equal(type.stdout, '');
    assert.match(type.stderr, /^error: the deployment target's type need fixing$/m);
    assert.match(type.stderr, /^ {2}- properties\.type: unknown type; one of agent, .*script.* \("pager"\)$/m);
    // --json keeps the server's problem document for scripts.
    const typeJson = await cli(['targets', 'create', '--name', 'bad', '--type', 'pager', '--json']);
    assert.equal(typeJson.code, 1);
    assert.equal(JSON.parse(typeJson.stdout).code, 'validation_failed');

    await ok(['agents', 'create', '--name', 'bad-input-agent']);
    const relative = await cli(['targets', 'create', '--name', 'bad', '--type', 'agent', '--agent', 'bad-input-agent', '--setting', 'fullchainPath=etc/ssl/site.pem', '--probe', 'localhost:70000']);
    assert.equal(relative.code, 1);
    assert.match(relative.stderr, /^error: the deployment target's settings need fixing$/m);
    assert.match(relative.stderr, /^ {2}- properties\.settings\.fullchainPath: expected an absolute path/m);
    assert.match(relative.stderr, /^ {2}- properties\.settings\.probe\.port: expected a port from 1 to 65535$/m);
    const noAgent = await cli(['targets', 'create', '--name', 'bad', '--type', 'agent', '--setting', 'fullchainPath=/etc/ssl/site.pem']);
    assert.equal(noAgent.code, 1);
    assert.match(noAgent.stderr, /^ {2}- properties\.agent: a target of type agent names its agent/m);

    const probe = await cli(['targets', 'create', '--name', 'bad', '--type', 'script', '--setting', 'command=true', '--probe', 'no-port']);
    assert.equal(probe.code, 1);
    assert.match(probe.stderr, /^error: --probe expects host:port or host:port,serverName/m);
    const probeJson = await cli(['targets', 'create', '--name', 'bad', '--type', 'script', '--setting', 'command=true', '--setting', 'probe={"host":']);
    assert.equal(probeJson.code, 1);
    assert.match(probeJson.stderr, /^error: --setting probe is not valid JSON/m);
    const both = await cli(['targets', 'create', '--name', 'bad', '--type', 'script', '--setting', 'command=true', '--setting', 'probe={}', '--probe', 'a:1']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /^error: --probe and --setting probe=… exclude each other$/m);

    assert.equal(JSON.parse(await ok(['targets', 'list', '--name', 'bad', '--json'])).total, 0, 'nothing was created');

    const unknown = await cli(['certificates', 'deploy', 'www', '--target', 'nope']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: some targets cannot be used$/m);
    assert.match(unknown.stderr, /^ {2}- targets\[0\]: no such deployment target \("nope"\)$/m);
    const noTarget = await cli(['certificates', 'deploy', 'www']);
    assert.notEqual(noTarget.code, 0);
    assert.match(noTarget.stderr, /required option '--target <target>' not specified/);

    const nothing = await cli(['targets', 'update', 'whatever']);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /^error: nothing to change; give at least one option/m);
    await ok(['agents', 'delete', 'bad-input-agent']);
  });
});

test('--probe and the target setting shapes, without a server', () => {
  assert.deepEqual(probeOf('127.0.0.1:443'), { host: '127.0.0.1', port: 443 });
  assert.deepEqual(probeOf('web-1.example.net:8443,www.example.com'), { host: 'web-1.example.net', port: 8443, serverName: 'www.example.com' });
  assert.deepEqual(probeOf('[2001:db8::1]:443'), { host: '2001:db8::1', port: 443 });
  for (const bad of ['web-1', ':443', 'a:b', '2001:db8::1:443', 'a:1,', 'a:1,b,c']) assert.throws(() => probeOf(bad), /--probe expects host:port/, bad);
  assert.deepEqual(settingsOf(['mode=0640', 'owner=1000', 'reloadTimeoutSeconds=30', 'probe={"host":"::1","port":443}', 'labels={"team":"shop"}', 'includePrivateKey=true', 'port=2222'], TARGET_SHAPES), {
    mode: '0640', owner: '1000', reloadTimeoutSeconds: 30, probe: { host: '::1', port: 443 }, labels: { team: 'shop' }, includePrivateKey: true, port: 2222,
  });
  assert.throws(() => settingsOf(['probe={host}'], TARGET_SHAPES), /--setting probe is not valid JSON/);
});
