// The `acmesh` provider: the shared conformance suite through a dnsapi script written for the
// tests (fixtures/acmesh/dnsapi/dns_cktest.sh) that updates a real BIND 9 with nsupdate and TSIG;
// and the shim itself: the helpers dnsapi scripts call, secrets kept off command lines and
// scrubbed from errors, time limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino, type Logger } from 'pino';
import { DnsProviderError, type DnsProvider } from '../../src/dns/dns-provider.js';
import { manifest } from '../../src/dns/providers/acmesh/manifest.js';
import { scrubSecrets } from '../../src/dns/providers/acmesh/provider.js';
import { dnsQuery } from '../../src/dns/wire/dns-query.js';
import { startBind } from '../harness/bind.js';
import { dnsProviderConformance } from './conformance.js';

const acmeshHome = fileURLToPath(new URL('./fixtures/acmesh/', import.meta.url));
const ZONE = 'acmesh.example.test';

const create = (settings: Record<string, unknown>, credentials: Record<string, string> = {}, logger?: Logger) =>
  manifest.create({ zoneName: ZONE, settings: { acmeshHome, ...settings }, credentials, allowPrivateAddresses: true, logger }) as Promise<DnsProvider>;

const rec = (fqdn: string, value: string) => ({ zone: ZONE, fqdn, value, ttl: 60 });

dnsProviderConformance('acmesh', async () => {
  const keyName = 'certkeeper-acmesh-test';
  const secret = randomBytes(32).toString('base64');
  const wrongSecret = randomBytes(32).toString('base64');
  const bind = await startBind({ zones: [{ name: ZONE, updateKey: { name: keyName, algorithm: 'hmac-sha256', secret } }] });
  // Non-secret variables in settings.environment; only the secret is a credential (and scrubbed).
  const settings = {
    dnsApi: 'dns_cktest',
    timeoutSeconds: 30,
    environment: { CKTEST_SERVER: bind.host, CKTEST_PORT: String(bind.port), CKTEST_ZONE: ZONE, CKTEST_KEY_NAME: keyName },
  };
  const [provider, badProvider] = await Promise.all([
    create(settings, { CKTEST_KEY_SECRET: secret }),
    // dns_cktest.sh puts the secret into its own error message; certkeeper must scrub it.
    create(settings, { CKTEST_KEY_SECRET: wrongSecret }),
  ]).catch(async (err: unknown) => {
    await bind.stop();
    throw err;
  });
  return {
    provider,
    zone: ZONE,
    lookup: async (fqdn) => {
      const res = await dnsQuery({ host: bind.host, port: bind.port }, fqdn, 'TXT', { recursionDesired: false });
      return res.answers.filter((a) => a.type === 'TXT').map((a) => a.txt ?? '');
    },
    badProvider,
    secrets: [wrongSecret, secret],
    teardown: () => bind.stop(),
  };
});

/** Command lines of running curl processes (to show that no token is on one). */
function curlCommandLines(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (/(^|\/)curl /.test(cmd)) out.push(cmd);
    } catch {
      // gone
    }
  }
  return out;
}

interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  curlCommandLines: string[];
}

describe('acmesh: the acme.sh shim', () => {
  let dir: string;
  let server: Server;
  let url: string;
  const seen: SeenRequest[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ck-acmesh-'));
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, curlCommandLines: curlCommandLines() });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true, path: req.url }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  test('the helpers dnsapi scripts call behave as in acme.sh; secrets stay off command lines', async () => {
    const out = join(dir, 'probe.out');
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const provider = await create({ dnsApi: 'dns_ckprobe', environment: [`CKPROBE_OUT=${out}`, `CKPROBE_URL=${url}`] }, { CKPROBE_TOKEN: token });
    const fqdn = `_acme-challenge.probe.${ZONE}`;
    const value = 'v$(touch /nonexistent/x);"quoted"';
    await provider.appendTxt(rec(fqdn, value));
    const lines = (await readFile(out, 'utf8')).split('\n');
    const got = (key: string) => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    assert.equal(got('args'), `${fqdn}|${value}`, 'the record reaches the function literally');
    assert.equal(got('argc'), '2');
    assert.ok(!got('cmdline')?.includes(token), 'the token is not on bash\'s command line');
    assert.ok(!got('cmdline')?.includes(value), 'nor is the record');
    assert.equal(got('token'), token, '_readaccountconf_mutable reads the credential');
    assert.equal(got('default'), 'fallback');
    assert.equal(got('math'), '42');
    assert.equal(got('egrep'), '"id":"abc123"');
    assert.equal(got('contains'), 'yes');
    assert.equal(got('notcontains'), 'yes');
    assert.equal(got('lower'), 'mixed');
    assert.equal(got('upper'), 'MIXED');
    assert.equal(got('head'), 'a');
    assert.equal(got('tail'), 'c');
    assert.equal(got('exists'), 'yes');
    assert.equal(got('json'), '{"a":"b","c":{"d": 1}}');
    assert.equal(got('urlenc'), 'a%20b%2fc%3fd%3d%c3%a9');
    assert.equal(got('b64'), 'aGVsbG8=');
    assert.equal(got('get'), JSON.stringify({ ok: true, path: `/get?name=${fqdn}` }));
    assert.equal(got('getstatus'), '200');
    assert.equal(got('post'), JSON.stringify({ ok: true, path: '/post' }));
    assert.equal(got('poststatus'), '200');

    assert.equal(seen.length, 2);
    const [get, put] = seen as [SeenRequest, SeenRequest];
    assert.equal(get.method, 'GET');
    assert.equal(get.headers.authorization, `Bearer ${token}`);
    assert.equal(get.headers['x-probe'], '1');
    assert.match(get.headers['user-agent'] ?? '', /^certkeeper/);
    assert.equal(put.method, 'PUT');
    assert.equal(put.headers['content-type'], 'application/json');
    assert.equal(put.headers.authorization, `Bearer ${token}`);
    assert.equal(put.body, `{"content":"${value}"}`, 'the body exactly as the script built it');
    for (const r of seen) {
      assert.ok(r.curlCommandLines.length > 0, 'curl was seen running');
      for (const cmd of r.curlCommandLines) {
        assert.ok(!cmd.includes(token), `a token on curl's command line: ${cmd}`);
        assert.ok(!cmd.includes('"content"'), `a body on curl's command line: ${cmd}`);
      }
    }
  });

  test('a failing script: its stderr, with every credential value scrubbed (and from the debug log)', async () => {
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    const provider = await create({ dnsApi: 'dns_ckprobe' }, { CKPROBE_TOKEN: token, OTHER: 'another-secret-value' }, logger);
    const err = await provider.deleteTxt(rec(`_acme-challenge.fail.${ZONE}`, 'v')).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof DnsProviderError);
    assert.equal(err.message, `acmesh: dns_ckprobe_rm _acme-challenge.fail.${ZONE} exited with code 1: the API refused token='[redacted]'`);
    assert.ok(!JSON.stringify(err).includes(token));
    const log = logs.join('');
    assert.match(log, /using token='\[redacted\]'/, 'stdout is logged at debug level, scrubbed');
    assert.ok(!log.includes(token));
  });

  test('scrubbing replaces the longest secret first and ignores empty ones', () => {
    assert.equal(scrubSecrets('key=abcdef and abc', ['abc', 'abcdef', '']), 'key=[redacted] and [redacted]');
  });

  test('a script that defines no function for the verb', async () => {
    const provider = await create({ dnsApi: 'dns_ckempty' });
    await assert.rejects(provider.appendTxt(rec(`_acme-challenge.x.${ZONE}`, 'v')), /^DnsProviderError: acmesh: dns_ckempty_add .* exited with code 2: .*defines no function dns_ckempty_add$/);
  });

  test('a script that hangs is killed at timeoutSeconds', async () => {
    const provider = await create({ dnsApi: 'dns_ckslow', timeoutSeconds: 1 });
    const started = Date.now();
    await assert.rejects(provider.appendTxt(rec(`_acme-challenge.slow.${ZONE}`, 'v')), (e: unknown) => e instanceof DnsProviderError && /did not finish within 1 s and was killed/.test(e.message) && e.retryable);
    assert.ok(Date.now() - started < 5000);
  });

  test('settings and credential names are checked when the provider is made', async () => {
    const refused = async (settings: Record<string, unknown>, credentials: Record<string, string>, pattern: RegExp) => {
      await assert.rejects(create(settings, credentials), (e: unknown) => e instanceof DnsProviderError && pattern.test(e.message));
    };
    await refused({ dnsApi: 'cf' }, {}, /settings\.dnsApi must match/);
    await refused({ dnsApi: 'dns_../../x' }, {}, /settings\.dnsApi must match/);
    await refused({ dnsApi: 'dns_CF' }, {}, /settings\.dnsApi must match/);
    await refused({ dnsApi: 'dns_nonexistent' }, {}, /no readable dnsapi script .*dnsapi\/dns_nonexistent\.sh/);
    await refused({ dnsApi: 'dns_cktest', acmeshHome: 'relative/path' }, {}, /acmeshHome must be the absolute path/);
    await refused({ dnsApi: 'dns_cktest', timeoutSeconds: 1.5 }, {}, /timeoutSeconds/);
    await refused({ dnsApi: 'dns_cktest' }, { BASH_ENV: '/tmp/x' }, /credential BASH_ENV is reserved/);
    await refused({ dnsApi: 'dns_cktest' }, { CERTKEEPER_FQDN: 'x' }, /reserved/);
    await refused({ dnsApi: 'dns_cktest' }, { PATH: '/tmp' }, /set by certkeeper/);
    await refused({ dnsApi: 'dns_cktest' }, { 'not a name': 'x' }, /not a valid environment variable name/);
    await refused({ dnsApi: 'dns_cktest', environment: { CKTEST_ZONE: 'z' } }, { CKTEST_ZONE: 'z' }, /both a credential and in settings\.environment/);
    await refused({ dnsApi: 'dns_cktest', environment: { HOME: '/tmp' } }, {}, /HOME is set by certkeeper/);
    await refused({ dnsApi: 'dns_cktest', environment: { SHELLOPTS: 'xtrace' } }, {}, /reserved/);
  });
});
