// The CLI's waiting commands against a real ACME CA (Pebble, with its 5 % nonce rejection): a
// provider registered with --wait, an auto certificate issued with --wait, a renewal with --wait
// that ends on a newer version, pause/resume, and revoke of the issued version.
import 'reflect-metadata';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
