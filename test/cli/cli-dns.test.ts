// `certkeeper dns-zones …` and `auto-certificates validations|verify`, run as a child process
// against a real server started in this process (as in cli.test.ts). DNS zones use the `exec`
// provider with the hooks in fixtures/: one whose check succeeds, one whose check fails. The
// pending-challenge paths (a list of validations, `records_not_visible`, `verify --wait`) need an
// open order at a CA, so they run against a small fake of those three API calls instead.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { cliRunner, expectOk } from './run-cli.js';
import { seedAutoCertificate, seedProvider } from './seed.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const HOOK_OK = join(FIXTURES, 'dns-hook-ok.sh');
const HOOK_FAIL = join(FIXTURES, 'dns-hook-fail.sh');

let server: RunningServer;
let token: string;
let work: string;

const cli = cliRunner(() => ({ HOME: join(work, 'home'), CERTKEEPER_SERVER: server.url, CERTKEEPER_TOKEN: token }));
const ok = (args: string[], env: Record<string, string | undefined> = {}) => expectOk(cli, args, env);

before(async () => {
  // A checkout may lose the executable bits; the exec provider insists on them.
  chmodSync(HOOK_OK, 0o755);
  chmodSync(HOOK_FAIL, 0o755);
  work = mkdtempSync(join(tmpdir(), 'ck-cli-dns-'));
  mkdirSync(join(work, 'home'));
  token = randomBytes(24).toString('base64url');
  server = await startServer(loadConfig({
    CERTKEEPER_DATA_DIR: join(work, 'data'),
    CERTKEEPER_LISTEN: '127.0.0.1:0',
    CERTKEEPER_HTTP01_LISTEN: '127.0.0.1:0',
    CERTKEEPER_ADMIN_TOKEN: token,
    CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
    CERTKEEPER_LOG_LEVEL: 'silent',
  }));
});

after(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('certkeeper CLI: DNS zones, validations, verify', { concurrency: true }, () => {
  test('dns-zones: create with exec (AVAILABLE; FAILED exits 1 but is created), list, get, update, check, delete', async () => {
    const created = await ok(['dns-zones', 'create', '--zone', 'ok.cli.test', '--provider', 'exec', '--setting', `command=${HOOK_OK}`, '--setting', 'timeoutSeconds=20',
      '--resolver', '127.0.0.1:53', '--propagation-timeout', '90', '--extra-delay', '2']);
    assert.match(created, /^id:\s+[0-9a-f-]{36}$/m);
    assert.match(created, /^zone:\s+ok\.cli\.test$/m);
    assert.match(created, /^provider:\s+exec$/m);
    assert.match(created, /^state:\s+AVAILABLE$/m);
    assert.match(created, /^message:\s+exec accepted the credentials for ok\.cli\.test$/m);
    assert.match(created, /^last check:\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
    assert.match(created, /^settings:\s+command=\/\S+\/dns-hook-ok\.sh\n\s+timeoutSeconds=20$/m);
    assert.match(created, /^credentials:\s+none$/m);
    assert.match(created, /^resolvers:\s+127\.0\.0\.1:53$/m);
    assert.match(created, /^propagation timeout:\s+90 s$/m);
    assert.match(created, /^extra delay:\s+2 s$/m);
    const okId = /^id:\s+(\S+)$/m.exec(created)![1]!;

    // A hook that fails its check: the zone is created FAILED, the message printed, exit 1.
    const failed = await cli(['dns-zones', 'create', '--zone', 'Fail.CLI.test.', '--provider', 'exec', '--settings-json', JSON.stringify({ command: HOOK_FAIL, environment: ['HOOK_MODE=test'] })]);
    assert.equal(failed.code, 1, `stdout: ${failed.stdout}\nstderr: ${failed.stderr}`);
    assert.match(failed.stdout, /^zone:\s+fail\.cli\.test$/m);
    assert.match(failed.stdout, /^state:\s+FAILED$/m);
    assert.match(failed.stdout, /^message:\s+The check of fail\.cli\.test failed: .*dns-hook-fail: cannot reach the DNS API of fail\.cli\.test/m);
    assert.match(failed.stderr, /^error: DNS zone fail\.cli\.test is FAILED: The check of fail\.cli\.test failed: .*cannot reach the DNS API/m);
    assert.match(failed.stderr, /^hint: the zone was created all the same; fix it with "certkeeper dns-zones update fail\.cli\.test …"/m);

    const table = await ok(['dns-zones', 'list']);
    assert.match(table.split('\n')[0]!, /^ID\s+ZONE\s+PROVIDER\s+STATE\s+LAST CHECK\s+MESSAGE$/);
    assert.match(table, new RegExp(`^${okId}\\s+ok\\.cli\\.test\\s+exec\\s+AVAILABLE\\s+\\d{4}-\\S+Z\\s+exec accepted`, 'm'));
    assert.match(table, /\s+fail\.cli\.test\s+exec\s+FAILED\s+\S+\s+The check of fail\.cli\.test failed/);
    const failedOnly = JSON.parse(await ok(['dns-zones', 'list', '--json', '--state', 'FAILED', '--provider', 'exec']));
    assert.deepEqual(failedOnly.items.map((z: any) => z.properties.zoneName), ['fail.cli.test']);

    // JSON: typed settings (a number, not "20"), no credentials anywhere.
    const got = JSON.parse(await ok(['dns-zones', 'get', 'ok.cli.test', '--json']));
    assert.equal(got.id, okId);
    assert.deepEqual(got.properties.settings, { command: HOOK_OK, timeoutSeconds: 20 });
    assert.deepEqual(got.properties.resolvers, ['127.0.0.1:53']);
    assert.equal(got.properties.credentials, undefined);
    assert.equal(got.metadata.credentialsSet, false);

    // --setting edits the current settings (command stays); --disable, --no-resolvers.
    const disabled = JSON.parse(await ok(['dns-zones', 'update', okId, '--setting', 'timeoutSeconds=30', '--disable', '--no-resolvers', '--json']));
    assert.equal(disabled.metadata.state, 'DISABLED');
    assert.equal(disabled.properties.enabled, false);
    assert.deepEqual(disabled.properties.settings, { command: HOOK_OK, timeoutSeconds: 30 });
    assert.deepEqual(disabled.properties.resolvers, []);

    // Fix the failed zone by name (any case, trailing dot): its other settings stay.
    const fixed = await ok(['dns-zones', 'update', 'FAIL.cli.test.', '--setting', `command=${HOOK_OK}`]);
    assert.match(fixed, /^state:\s+AVAILABLE$/m);
    assert.match(fixed, /^settings:\s+command=\S+dns-hook-ok\.sh\n\s+timeoutSeconds=60\n\s+environment=\["HOOK_MODE=test"\]$/m);
    const checked = await ok(['dns-zones', 'check', 'fail.cli.test']);
    assert.match(checked, /^state:\s+AVAILABLE$/m);

    assert.equal(await ok(['dns-zones', 'delete', 'ok.cli.test']), `deleted DNS zone ok.cli.test (${okId})\n`);
    const gone = await cli(['dns-zones', 'get', 'ok.cli.test']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: DNS zone ok\.cli\.test does not exist/m);
  });

  test('dns-zones: a refused credential is named but never printed; bad --setting is refused before any request', async () => {
    const secret = `s3cret-${randomBytes(8).toString('hex')}`;
    const file = join(work, 'api-key');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    const r = await cli(['dns-zones', 'create', '--zone', 'cred.cli.test', '--provider', 'exec', '--setting', `command=${HOOK_OK}`, '--credential-file', `apiKey=${file}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ {2}- properties\.credentials\.apiKey: unknown credential for exec/m);
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'the credential is not printed');

    const bad = await cli(['dns-zones', 'create', '--zone', 'x.cli.test', '--provider', 'exec', '--setting', 'timeoutSeconds']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: --setting expects key=value, got "timeoutSeconds"$/m);
  });

  test('auto-certificates validations and verify on auto certificates that are not waiting for manual validation', async () => {
    const providerId = await seedProvider(server, 'cli-dns-seeded');
    await seedAutoCertificate(server, providerId, { name: 'cli-http', commonName: 'http.cli.test', challengeType: 'http-01', state: 'AVAILABLE' });
    await seedAutoCertificate(server, providerId, { name: 'cli-manual', commonName: 'manual.cli.test', challengeType: 'manual-dns-01', state: 'PROVISIONING' });

    const verify = await cli(['auto-certificates', 'verify', 'cli-http']);
    assert.equal(verify.code, 1);
    assert.equal(verify.stdout, '');
    assert.match(verify.stderr, /^error: cli-http uses http-01, which certkeeper validates by itself; verify is for manual-dns-01 and manual-http-01$/m);

    const validations = await cli(['auto-certificates', 'validations', 'cli-http']);
    assert.equal(validations.code, 0);
    assert.equal(validations.stdout, '');
    assert.match(validations.stderr, /^no pending validations$/m);

    const early = await cli(['auto-certificates', 'verify', 'cli-manual', '--force', '--json']);
    assert.equal(early.code, 1);
    assert.equal(JSON.parse(early.stdout).code, 'operation_not_allowed');
    assert.match(early.stderr, /^error: cli-manual is PROVISIONING, not waiting for validation: there is nothing to verify$/m);
  });

  test('auto-certificates validations and verify with pending manual challenges (fake API): records not visible exit 3, --force --wait', async () => {
    const fake = await startFakeApi();
    try {
      const env = { CERTKEEPER_SERVER: fake.url };
      const list = await cli(['auto-certificates', 'validations', fake.pendingId], env);
      assert.equal(list.code, 0, list.stderr);
      const blocks = list.stdout.split('\n\n');
      assert.equal(blocks.length, 2, list.stdout);
      assert.match(blocks[0]!, /^identifier:\s+shop\.example\.com\ntype:\s+dns-01\nstatus:\s+pending\nrecord name:\s+_acme-challenge\.shop\.example\.com\nrecord type:\s+TXT\nrecord value:\s+dns-value-123\ninstructions:\s+Create a TXT record/);
      assert.match(blocks[1]!, /^identifier:\s+www\.shop\.example\.com\ntype:\s+http-01\nstatus:\s+pending\nurl:\s+http:\/\/www\.shop\.example\.com\/\.well-known\/acme-challenge\/tok-456\nhttp path:\s+\/\.well-known\/acme-challenge\/tok-456\nhttp body:\s+tok-456\.thumb\ninstructions:\s+Serve the body/);
      assert.doesNotMatch(blocks[0]!, /http path|url:/);
      assert.match(list.stderr, new RegExp(`^publish these 2, then run "certkeeper auto-certificates verify ${fake.pendingId}"$`, 'm'));

      const notVisible = await cli(['auto-certificates', 'verify', fake.pendingId], env);
      assert.equal(notVisible.code, 3, notVisible.stderr);
      assert.equal(notVisible.stdout, '');
      assert.match(notVisible.stderr, /^error: 2 record\(s\) are not visible yet/m);
      assert.match(notVisible.stderr, /^ {2}- shop\.example\.com: 127\.0\.0\.1:53 does not answer TXT _acme-challenge\.shop\.example\.com with "dns-value-123" yet$/m);
      assert.match(notVisible.stderr, /^ {2}- www\.shop\.example\.com: http:\/\/www\.shop\.example\.com\/\.well-known\/acme-challenge\/tok-456 answers 404$/m);
      assert.match(notVisible.stderr, /^hint: nothing was sent to the CA\. .*add --force/m);
      assert.deepEqual(fake.verifyBodies.shift(), {});

      const waited = await cli(['auto-certificates', 'verify', fake.pendingId, '--force', '--wait', '--timeout', '30'], env);
      assert.equal(waited.code, 0, waited.stderr);
      assert.deepEqual(fake.verifyBodies.shift(), { force: true });
      assert.match(waited.stdout, /^state:\s+AVAILABLE$/m);
      assert.match(waited.stdout, /^last issued certificate:\s+cert-2$/m);
    } finally {
      await fake.stop();
    }
  });
});

/**
 * A fake of the three calls of a manual validation: an auto certificate AWAITING_VALIDATION with
 * a dns-01 and an http-01 challenge; `verify` answers 409 records_not_visible, and with
 * `force` 202, after which the auto certificate reads AVAILABLE with a new version.
 */
async function startFakeApi(): Promise<{ url: string; pendingId: string; verifyBodies: unknown[]; stop(): Promise<void> }> {
  const id = randomUUID();
  const base = `/api/v1/auto-certificates/${id}`;
  const verifyBodies: unknown[] = [];
  let verified = false;
  const resource = () => ({
    id, type: 'auto-certificate', href: base,
    metadata: verified
      ? { state: 'AVAILABLE', message: 'Issued cert-2', lastIssuedCertificate: 'cert-2' }
      : { state: 'AWAITING_VALIDATION', message: 'Publish the challenges, then verify', lastIssuedCertificate: 'cert-1' },
    properties: { name: 'shop', commonName: 'shop.example.com', challengeType: 'manual-dns-01' },
  });
  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(JSON.stringify(body));
  };
  const read = async (req: IncomingMessage) => {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    return text ? JSON.parse(text) : undefined;
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { status: 401, detail: 'no token' }, 'application/problem+json');
      if (req.method === 'GET' && req.url === base) return send(res, 200, resource());
      if (req.method === 'GET' && req.url === `${base}/validations`) {
        return send(res, 200, { id: 'validations', type: 'collection', href: `${base}/validations`, offset: 0, limit: 2, total: 2, items: [
          { identifier: 'shop.example.com', type: 'dns-01', status: 'pending', recordName: '_acme-challenge.shop.example.com', recordType: 'TXT', recordValue: 'dns-value-123',
            instructions: 'Create a TXT record named _acme-challenge.shop.example.com with the value dns-value-123, then call verify.' },
          { identifier: 'www.shop.example.com', type: 'http-01', status: 'pending', httpPath: '/.well-known/acme-challenge/tok-456', httpBody: 'tok-456.thumb',
            instructions: 'Serve the body exactly at http://www.shop.example.com/.well-known/acme-challenge/tok-456, then call verify.' },
        ] });
      }
      if (req.method === 'POST' && req.url === `${base}/verify`) {
        const body = (await read(req)) as { force?: boolean } | undefined;
        verifyBodies.push(body);
        if (!body?.force) {
          return send(res, 409, {
            type: 'https://certkeeper.dev/problems/records_not_visible', title: 'The manual challenges are not visible yet', status: 409, code: 'records_not_visible',
            detail: '2 record(s) are not visible yet; publish them (see validations), wait for your DNS to serve them, and verify again, or send {"force": true} to let the CA try anyway',
            errors: [
              { field: 'shop.example.com', value: 'shop.example.com', message: '127.0.0.1:53 does not answer TXT _acme-challenge.shop.example.com with "dns-value-123" yet' },
              { field: 'www.shop.example.com', value: 'www.shop.example.com', message: 'http://www.shop.example.com/.well-known/acme-challenge/tok-456 answers 404' },
            ],
          }, 'application/problem+json');
        }
        verified = true;
        return send(res, 202, { ...resource(), metadata: { state: 'PROVISIONING', message: 'Verified: asking the CA to validate', lastIssuedCertificate: 'cert-1' } });
      }
      return send(res, 404, { status: 404, detail: `no route ${req.method} ${req.url}` }, 'application/problem+json');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, pendingId: id, verifyBodies, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}
