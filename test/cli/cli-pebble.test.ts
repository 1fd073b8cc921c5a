// The CLI's waiting commands against a real ACME CA (Pebble, with its 5 % nonce rejection): a
// provider registered with --wait, an auto certificate issued with --wait, a renewal with --wait
// that ends on a newer version, pause/resume, and revoke of the issued version. Then deployment
// and pull of an issued auto certificate: --deployment-target and --key-agent, `deploy --wait` to
// a script target, and `pull` with --etag-file (a second pull is "unchanged", a renewal is not).
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { cliRunner, expectOk } from './run-cli.js';

let pebble: PebbleHandle;
let server: RunningServer;
let token: string;
let work: string;

const cli = cliRunner(() => ({ HOME: join(work, 'home'), CERTKEEPER_SERVER: server.url, CERTKEEPER_TOKEN: token }));
const ok = (args: string[]) => expectOk(cli, args);

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ck-cli-pebble-'));
  mkdirSync(join(work, 'home'));
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort });
  token = randomBytes(24).toString('base64url');
  server = await startServer(loadConfig({
    CERTKEEPER_DATA_DIR: join(work, 'data'),
    CERTKEEPER_LISTEN: '127.0.0.1:0',
    CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}`,
    CERTKEEPER_ADMIN_TOKEN: token,
    CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
    CERTKEEPER_LOG_LEVEL: 'silent',
  }));
});

after(async () => {
  await server?.stop();
  await pebble?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('provider, issuance and renewal with --wait; pause, resume, revoke', async () => {
  const caFile = join(work, 'pebble-tls-ca.pem');
  writeFileSync(caFile, pebble.tlsCaPem);
  const provider = await ok(['providers', 'create', '--name', 'pebble', '--server', pebble.directoryUrl, '--email', 'ops@example.com', '--ca-certificates', caFile, '--wait', '--timeout', '120']);
  assert.match(provider, /^state:\s+AVAILABLE$/m);
  assert.match(provider, /^account url:\s+https:\/\/127\.0\.0\.1:\d+\/my-account\//m);
  assert.match(provider, /^ca certificates:\s+1 certificate\(s\)$/m);

  const created = JSON.parse(await ok(['auto-certificates', 'create', '--name', 'cli-site', '--provider', 'pebble', '--common-name', 'cli.e2e.test',
    '--san', 'www.cli.e2e.test', '--challenge-type', 'http-01', '--wait', '--timeout', '180', '--json']));
  assert.equal(created.metadata.state, 'AVAILABLE', created.metadata.message);
  const first = created.metadata.lastIssuedCertificate as string;
  assert.ok(first);

  const table = await ok(['auto-certificates', 'list']);
  assert.match(table.split('\n')[0]!, /^ID\s+NAME\s+STATE\s+COMMON NAME\s+SANS\s+NEXT RENEWAL$/);
  assert.match(table, /cli-site\s+AVAILABLE\s+cli\.e2e\.test\s+1\s+\d{4}-/);
  assert.match(await ok(['auto-certificates', 'get', 'cli-site']), new RegExp(`^last issued certificate:\\s+${first}$`, 'm'));
  const noValidations = await cli(['auto-certificates', 'validations', 'cli-site']);
  assert.equal(noValidations.code, 0);
  assert.match(noValidations.stderr, /no pending validations/);

  const renewed = await ok(['auto-certificates', 'renew', 'cli-site', '--rekey', '--wait', '--timeout', '180']);
  assert.match(renewed, /^state:\s+AVAILABLE$/m);
  const second = /^last issued certificate:\s+(\S+)$/m.exec(renewed)?.[1];
  assert.ok(second && second !== first, `a newer version than ${first}: ${renewed}`);

  const versions = await ok(['certificates', 'list', '--auto-certificate', created.id]);
  assert.match(versions, new RegExp(`^${second}\\s+cli\\.e2e\\.test_\\d{8}T\\d{6}Z\\s+AVAILABLE\\s+cli\\.e2e\\.test\\s+\\S+\\s+acme$`, 'm'));
  assert.match(versions, new RegExp(`^${first}\\s+\\S+\\s+SUPERSEDED\\s`, 'm'));
  const pem = await ok(['certificates', 'get', second, '--pem']);
  assert.ok(new X509Certificate(pem).subjectAltName?.includes('DNS:www.cli.e2e.test'));

  assert.match(await ok(['auto-certificates', 'pause', 'cli-site']), /^state:\s+PAUSED$/m);
  const pausedRenew = await cli(['auto-certificates', 'renew', 'cli-site']);
  assert.equal(pausedRenew.code, 1);
  assert.match(pausedRenew.stderr, /^error: .*paused; resume it/m);
  assert.match(await ok(['auto-certificates', 'resume', 'cli-site']), /^state:\s+AVAILABLE$/m);

  assert.match(await ok(['certificates', 'revoke', second, '--reason', 'superseded']), /^state:\s+REVOKED$/m);
  assert.match(await ok(['auto-certificates', 'delete', 'cli-site']), /deleted auto certificate/);
});

test('an issued auto certificate: deployment targets, deploy --wait, pull with --etag-file', async () => {
  const caFile = join(work, 'pebble-tls-ca-pull.pem');
  writeFileSync(caFile, pebble.tlsCaPem);
  await ok(['providers', 'create', '--name', 'pebble-pull', '--server', pebble.directoryUrl, '--ca-certificates', caFile, '--wait', '--timeout', '120']);
  const copied = join(work, 'deployed-fullchain.pem');
  const target = JSON.parse(await ok(['targets', 'create', '--name', 'pull-copy', '--type', 'script', '--setting', `command=cp "$CERTKEEPER_FULLCHAIN_FILE" '${copied}'`, '--json']));
  await ok(['agents', 'create', '--name', 'pull-agent']);

  // Issued with a deployment target: the new version is deployed there by itself.
  const created = JSON.parse(await ok(['auto-certificates', 'create', '--name', 'cli-pull', '--provider', 'pebble-pull', '--common-name', 'pull.e2e.test',
    '--challenge-type', 'http-01', '--deployment-target', 'pull-copy', '--wait', '--timeout', '180', '--json']));
  assert.equal(created.metadata.state, 'AVAILABLE', created.metadata.message);
  assert.deepEqual(created.properties.deploymentTargets, [target.id]);
  const first = created.metadata.lastIssuedCertificate as string;
  const auto = await ok(['deployments', 'list', '--auto-certificate', 'cli-pull']);
  assert.match(auto, /^[0-9a-f-]{36}\s+(PENDING|DEPLOYED)\s+pull-copy\s+pull\.e2e\.test_\S+\s/m);

  // --key-agent and --no-key-agent, --no-deployment-targets and back (nothing is re-issued).
  const withAgent = JSON.parse(await ok(['auto-certificates', 'update', 'cli-pull', '--key-agent', 'pull-agent', '--no-deployment-targets', '--json']));
  assert.match(withAgent.properties.keyAgent, /^[0-9a-f-]{36}$/);
  assert.deepEqual(withAgent.properties.deploymentTargets, []);
  const back = JSON.parse(await ok(['auto-certificates', 'update', 'cli-pull', '--no-key-agent', '--deployment-target', 'pull-copy', '--json']));
  assert.equal(back.properties.keyAgent, null);
  assert.deepEqual(back.properties.deploymentTargets, [target.id]);
  assert.equal(back.metadata.lastIssuedCertificate, first);

  // Deploy the active version again, and wait for it.
  rmSync(copied, { force: true });
  const deployed = await cli(['auto-certificates', 'deploy', 'cli-pull', '--wait', '--timeout', '60']);
  assert.equal(deployed.code, 0, `stdout: ${deployed.stdout}\nstderr: ${deployed.stderr}`);
  assert.match(deployed.stdout, /^[0-9a-f-]{36}\s+DEPLOYED\s+pull-copy\s+pull\.e2e\.test_\S+\s+1\s+-\s+script: the command succeeded/m);
  assert.ok(existsSync(copied));
  assert.equal(readFileSync(copied, 'utf8'), await ok(['certificates', 'get', first, '--pem']), 'the script received the active version');

  // Pull: the bundle (0644 without the key), then "unchanged" while the ETag matches.
  const bundle = join(work, 'pull', 'bundle.pem');
  const etag = join(work, 'pull', 'bundle.etag');
  assert.equal(await ok(['auto-certificates', 'pull', 'cli-pull', '--out', bundle, '--etag-file', etag]), `wrote ${bundle}\n`);
  const pem = readFileSync(bundle, 'utf8');
  assert.ok((pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length >= 2, 'leaf and chain');
  assert.doesNotMatch(pem, /PRIVATE KEY/);
  assert.equal(statSync(bundle).mode & 0o777, 0o644);
  assert.match(readFileSync(etag, 'utf8'), /^"[0-9a-f]{32}"\n$/);
  const mtime = statSync(bundle).mtimeMs;
  assert.equal(await ok(['auto-certificates', 'pull', 'cli-pull', '--out', bundle, '--etag-file', etag]), 'unchanged\n');
  assert.equal(statSync(bundle).mtimeMs, mtime, 'nothing was written');
  const unchangedJson = JSON.parse(await ok(['auto-certificates', 'pull', 'cli-pull', '--out', bundle, '--etag-file', etag, '--json']));
  assert.equal(unchangedJson.changed, false);
  // To stdout, without an ETag file: the bundle itself.
  assert.equal(await ok(['auto-certificates', 'pull', 'cli-pull']), pem);

  // With the key: another ETag, mode 0600.
  const keyed = join(work, 'pull', 'keyed.pem');
  assert.equal(await ok(['auto-certificates', 'pull', 'cli-pull', '--include-private-key', '--out', keyed, '--etag-file', etag]), `wrote ${keyed}\n`);
  assert.match(readFileSync(keyed, 'utf8'), /-----BEGIN PRIVATE KEY-----/);
  assert.equal(statSync(keyed).mode & 0o777, 0o600);
  assert.match(readFileSync(etag, 'utf8'), /^"[0-9a-f]{32}-k"\n$/);

  // A renewal changes the ETag: the next pull writes the new version.
  await ok(['auto-certificates', 'renew', 'cli-pull', '--wait', '--timeout', '180']);
  assert.equal(await ok(['auto-certificates', 'pull', 'cli-pull', '--include-private-key', '--out', keyed, '--etag-file', etag]), `wrote ${keyed}\n`);
  assert.notEqual(new X509Certificate(readFileSync(keyed)).serialNumber, new X509Certificate(pem).serialNumber);
  assert.equal(await ok(['auto-certificates', 'pull', 'cli-pull', '--include-private-key', '--out', keyed, '--etag-file', etag]), 'unchanged\n');

  await ok(['auto-certificates', 'delete', 'cli-pull']);
});
