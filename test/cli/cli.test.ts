// The `certkeeper` client commands against a real server started in this process: the CLI runs
// as a child process (src/cli/run.ts through tsx), exactly as a user runs it, and the tests read
// its stdout, stderr, exit code and the files it writes. Certificates are made with the openssl
// CLI so nothing here depends on our own PKI code.
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { freePort } from '../harness/ports.js';
import { cliRunner, expectOk } from './run-cli.js';
import { seedProvider } from './seed.js';

const execFileAsync = promisify(execFile);

let server: RunningServer;
let token: string;
let work: string;
let dataDir: string;
/** A HOME without a CLI config file, so nothing of the user's leaks into the tests. */
let emptyHome: string;

const cli = cliRunner(() => ({ HOME: emptyHome, CERTKEEPER_SERVER: server.url, CERTKEEPER_TOKEN: token }));
const ok = (args: string[], env: Record<string, string | undefined> = {}) => expectOk(cli, args, env);

const openssl = async (args: string[]) => (await execFileAsync('openssl', args, { cwd: work })).stdout;

/** A root CA and a leaf (P-256) for www.example.test + example.test, made by openssl. */
async function makeChain(): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=CLI Test Root', '-days', '30']);
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr',
    '-subj', '/CN=www.example.test', '-addext', 'subjectAltName=DNS:www.example.test,DNS:example.test']);
  await openssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '20', '-copy_extensions', 'copy']);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ck-cli-'));
  dataDir = join(work, 'data');
  emptyHome = join(work, 'home');
  mkdirSync(emptyHome);
  token = randomBytes(24).toString('base64url');
  server = await startServer(loadConfig({
    CERTKEEPER_DATA_DIR: dataDir,
    CERTKEEPER_LISTEN: '127.0.0.1:0',
    CERTKEEPER_HTTP01_LISTEN: '127.0.0.1:0',
    CERTKEEPER_ADMIN_TOKEN: token,
    CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
    CERTKEEPER_LOG_LEVEL: 'silent',
  }));
  await makeChain();
});

after(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('certkeeper CLI', { concurrency: true }, () => {
  test('certificates: import, list, get, export PEM and PKCS#12, re-import, delete', async () => {
    const leafPem = readFileSync(join(work, 'leaf.pem'), 'utf8');
    const leaf = new X509Certificate(leafPem);

    const imported = await ok(['certificates', 'import', '--certificate', join(work, 'leaf.pem'), '--chain', join(work, 'ca.pem'), '--key', join(work, 'leaf.key'), '--name', 'cli-imported']);
    assert.match(imported, /^id:\s+[0-9a-f-]{36}$/m);
    assert.match(imported, /^name:\s+cli-imported$/m);
    assert.match(imported, /^state:\s+AVAILABLE$/m);
    assert.match(imported, /^common name:\s+www\.example\.test$/m);
    assert.match(imported, /^subject alternative names:\s+www\.example\.test, example\.test$/m);
    assert.match(imported, /^chain:\s+1 certificate\(s\)$/m);
    assert.doesNotMatch(imported, /PRIVATE KEY|BEGIN CERTIFICATE/);
    const id = /^id:\s+(\S+)$/m.exec(imported)![1]!;

    // Table: header and an aligned row.
    const table = await ok(['certificates', 'list']);
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+NAME\s+STATE\s+COMMON NAME\s+NOT AFTER\s+SOURCE$/);
    const row = lines.find((l) => l.startsWith(id));
    assert.ok(row, table);
    assert.match(row, /cli-imported\s+AVAILABLE\s+www\.example\.test\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+imported$/);
    assert.equal(lines[0]!.indexOf('STATE'), row.indexOf('AVAILABLE'), 'columns are aligned');

    // --json is the API's collection, and filters reach the API.
    const list = JSON.parse(await ok(['certificates', 'list', '--json', '--common-name', 'www.example.test']));
    assert.equal(list.type, 'collection');
    assert.ok(list.items.some((c: any) => c.id === id));
    const none = JSON.parse(await ok(['certificates', 'list', '--json', '--common-name', 'nothing.example.test']));
    assert.equal(none.total, 0);

    // get, by id and by name, as a block and as JSON; never with a key.
    const got = await ok(['certificates', 'get', 'cli-imported']);
    assert.match(got, new RegExp(`^id:\\s+${id}$`, 'm'));
    assert.match(got, /^issuer:\s+CN=CLI Test Root$/m);
    assert.match(got, new RegExp(`^fingerprint sha256:\\s+${leaf.fingerprint256}$`, 'm'));
    const gotJson = JSON.parse(await ok(['certificates', 'get', id, '--json']));
    assert.equal(gotJson.id, id);
    assert.equal(gotJson.metadata.commonName, 'www.example.test');
    assert.equal(gotJson.properties.privateKey, undefined);
    assert.equal(new X509Certificate(gotJson.properties.certificate).fingerprint256, leaf.fingerprint256);

    // PEM export without the key to stdout: the full chain, no key.
    const pemOut = await ok(['certificates', 'export', id]);
    assert.equal((pemOut.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
    assert.doesNotMatch(pemOut, /PRIVATE KEY/);

    // PEM export with the key into a directory, certbot layout, key 0600 and matching.
    const outDir = join(work, 'export') + '/';
    const wrote = await ok(['certificates', 'export', id, '--format', 'pem', '--include-private-key', '--out', outDir]);
    assert.doesNotMatch(wrote, /PRIVATE KEY/);
    for (const f of ['cert.pem', 'chain.pem', 'fullchain.pem', 'privkey.pem']) assert.ok(existsSync(join(outDir, f)), `${f} written`);
    assert.equal(statSync(join(outDir, 'privkey.pem')).mode & 0o777, 0o600);
    const certFile = readFileSync(join(outDir, 'cert.pem'), 'utf8');
    const chainFile = readFileSync(join(outDir, 'chain.pem'), 'utf8');
    assert.equal(new X509Certificate(certFile).fingerprint256, leaf.fingerprint256);
    assert.equal(new X509Certificate(chainFile).subject, 'CN=CLI Test Root');
    assert.equal(readFileSync(join(outDir, 'fullchain.pem'), 'utf8').replace(/\s+/g, ''), (certFile + chainFile).replace(/\s+/g, ''));
    const exportedKey = createPrivateKey(readFileSync(join(outDir, 'privkey.pem'), 'utf8'));
    assert.equal(
      createPublicKey(exportedKey).export({ type: 'spki', format: 'der' }).toString('hex'),
      leaf.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
      'the exported key belongs to the certificate',
    );
    const modulusCheck = await openssl(['pkey', '-in', join(outDir, 'privkey.pem'), '-pubout']);
    assert.equal(modulusCheck.trim(), (await openssl(['x509', '-in', join(outDir, 'cert.pem'), '-noout', '-pubkey'])).trim());

    // PEM export with the key into one file: full chain + key, 0600.
    const oneFile = join(work, 'single', 'bundle.pem');
    await ok(['certificates', 'export', id, '--include-private-key', '--out', oneFile]);
    assert.equal(statSync(oneFile).mode & 0o777, 0o600);
    assert.match(readFileSync(oneFile, 'utf8'), /BEGIN CERTIFICATE[\s\S]+BEGIN CERTIFICATE[\s\S]+PRIVATE KEY/);

    // PKCS#12 export: openssl opens it with the password and finds the certificate and key.
    const p12 = join(work, 'bundle.p12');
    const p12Out = await ok(['certificates', 'export', id, '--format', 'pkcs12', '--password', 'correct horse', '--out', p12]);
    assert.match(p12Out, /wrote .*bundle\.p12/);
    assert.equal(statSync(p12).mode & 0o777, 0o600);
    const p12Certs = await openssl(['pkcs12', '-in', p12, '-passin', 'pass:correct horse', '-nokeys']);
    assert.equal(new X509Certificate(p12Certs.slice(p12Certs.indexOf('-----BEGIN CERTIFICATE-----'))).fingerprint256, leaf.fingerprint256);
    const p12Key = await openssl(['pkcs12', '-in', p12, '-passin', 'pass:correct horse', '-nocerts', '-nodes']);
    assert.equal(
      createPublicKey(createPrivateKey(p12Key.slice(p12Key.indexOf('-----BEGIN')))).export({ type: 'spki', format: 'der' }).toString('hex'),
      leaf.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
    );
    const wrongPass = await execFileAsync('openssl', ['pkcs12', '-in', p12, '-passin', 'pass:wrong', '-nokeys']).then(() => 'opened', () => 'refused');
    assert.equal(wrongPass, 'refused');

    // A PKCS#12 export needs a password; the CLI says so before calling the server.
    const noPass = await cli(['certificates', 'export', id, '--format', 'pkcs12', '--out', join(work, 'x.p12')]);
    assert.equal(noPass.code, 1);
    assert.match(noPass.stderr, /^error: .*--password/m);

    // Import the PKCS#12 back: the same certificate.
    const again = JSON.parse(await ok(['certificates', 'import', '--pkcs12', p12, '--password', 'correct horse', '--name', 'cli-from-p12', '--json']));
    assert.equal(again.metadata.fingerprintSha256, leaf.fingerprint256);

    // The audit log shows the import and the key export.
    const events = await ok(['events', 'list', '--type', 'certificate.private_key_exported']);
    assert.match(events.split('\n')[0]!, /^TIME\s+TYPE\s+SUBJECT\s+ACTOR\s+MESSAGE$/);
    assert.match(events, new RegExp(`certificate\\.private_key_exported\\s+certificate/${id}`));

    // Delete both; they are gone.
    assert.match(await ok(['certificates', 'delete', id]), new RegExp(`deleted certificate ${id}`));
    await ok(['certificates', 'delete', 'cli-from-p12']);
    const gone = await cli(['certificates', 'get', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: .*does not exist/m);
    const after = JSON.parse(await ok(['certificates', 'list', '--json', '--name', 'cli-imported']));
    assert.equal(after.total, 0);
  });

  test('providers: create against a CA that is not there; --wait ends FAILED with exit 1', async () => {
    const r = await cli(['providers', 'create', '--name', 'nowhere', '--server', 'https://127.0.0.1:1/directory', '--email', 'ops@example.com', '--wait', '--timeout', '120']);
    assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, /^name:\s+nowhere$/m);
    assert.match(r.stdout, /^state:\s+FAILED$/m);
    assert.match(r.stdout, /^server:\s+https:\/\/127\.0\.0\.1:1\/directory$/m);
    assert.match(r.stderr, /^error: provider nowhere is FAILED: .*127\.0\.0\.1:1/m);

    const table = await ok(['providers', 'list']);
    assert.match(table.split('\n')[0]!, /^ID\s+NAME\s+STATE\s+SERVER\s+EMAIL$/);
    assert.match(table, /nowhere\s+FAILED\s+https:\/\/127\.0\.0\.1:1\/directory\s+ops@example\.com/);
    const list = JSON.parse(await ok(['providers', 'list', '--json', '--state', 'FAILED']));
    const p = list.items.find((i: any) => i.properties.name === 'nowhere');
    assert.ok(p);
    assert.equal(p.metadata.state, 'FAILED');

    // Without --wait the answer is the 202 resource, still PROVISIONING.
    const quick = JSON.parse(await ok(['providers', 'create', '--name', 'nowhere-2', '--server', 'https://127.0.0.1:1/directory', '--json']));
    assert.equal(quick.metadata.state, 'PROVISIONING');
    assert.match(await ok(['providers', 'get', 'nowhere-2']), new RegExp(`^id:\\s+${quick.id}$`, 'm'));

    // A duplicate name: the API's conflict, with its field.
    const dup = await cli(['providers', 'create', '--name', 'nowhere', '--server', 'https://127.0.0.1:1/directory']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /^error: a provider named "nowhere" already exists/m);
    assert.match(dup.stderr, /^ {2}- properties\.name: already in use/m);

    assert.match(await ok(['providers', 'delete', 'nowhere-2']), /deleted provider/);
    await ok(['providers', 'delete', p.id]);
  });

  test('a validation error prints every field error and exits 1', async () => {
    // The names are checked once the provider is known to be usable: give one that is.
    await seedProvider(server, 'seeded');
    const r = await cli(['auto-certificates', 'create', '--name', 'bad', '--provider', 'seeded', '--common-name', 'bad..name', '--san', 'www.*.example.com']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: 2 name\(s\) cannot be used/m);
    assert.match(r.stderr, /^ {2}- properties\.commonName: .*empty label/m);
    assert.match(r.stderr, /^ {2}- properties\.subjectAlternativeNames\[0\]: .*wildcard/im);

    // --json also prints the problem document on stdout, for scripts.
    const j = await cli(['auto-certificates', 'create', '--name', 'bad', '--provider', 'seeded', '--common-name', 'bad..name', '--json']);
    assert.equal(j.code, 1);
    const problem = JSON.parse(j.stdout);
    assert.equal(problem.code, 'invalid_names');
    assert.equal(problem.errors[0].field, 'properties.commonName');
  });

  test('a wrong or missing token exits 1 with a hint naming the settings', async () => {
    const wrong = await cli(['providers', 'list', '--token', 'not-the-token']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^error: /m);
    assert.match(wrong.stderr, /^hint: the token given with --token was refused/m);

    const fromEnv = await cli(['certificates', 'list'], { CERTKEEPER_TOKEN: 'also-wrong' });
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.stderr, /^hint: the token from the CERTKEEPER_TOKEN environment variable was refused/m);

    const missing = await cli(['events', 'list'], { CERTKEEPER_TOKEN: undefined });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^hint: no API token was given; set it with --token, the CERTKEEPER_TOKEN environment variable/m);
  });

  test('a server that is not listening is named in the error', async () => {
    const port = await freePort();
    const r = await cli(['providers', 'list', '--server', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^error: cannot connect to the certkeeper server at http://127\\.0\\.0\\.1:${port}: connection refused`, 'm'));
    assert.match(r.stderr, /CERTKEEPER_SERVER/);
  });

  test('server and token come from ~/.config/certkeeper/cli.yaml when neither flag nor environment gives them', async () => {
    const home = join(work, 'home-with-config');
    mkdirSync(join(home, '.config', 'certkeeper'), { recursive: true });
    writeFileSync(join(home, '.config', 'certkeeper', 'cli.yaml'), `server: ${server.url}\ntoken: ${token}\n`, { mode: 0o600 });
    const r = await cli(['events', 'list', '--json'], { HOME: home, CERTKEEPER_SERVER: undefined, CERTKEEPER_TOKEN: undefined });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).type, 'collection');
  });

  test('bad command-line input is refused before any request', async () => {
    const r = await cli(['certificates', 'import', '--certificate', join(work, 'leaf.pem')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: give --certificate <file> and --key <file>/m);
    const missing = await cli(['certificates', 'import', '--certificate', join(work, 'nope.pem'), '--key', join(work, 'leaf.key')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: cannot read certificate .*nope\.pem: no such file/m);
  });
});
