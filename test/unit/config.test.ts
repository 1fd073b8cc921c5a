import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/config.js';

test('defaults follow DESIGN.md', () => {
  const c = loadConfig({});
  assert.deepEqual(c.listen, { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(c.http01Listen, { host: '0.0.0.0', port: 80 });
  assert.match(c.databaseUrl, /^sqlite:.*data\/certkeeper\.db$/);
  assert.equal(c.masterKey, null);
  assert.equal(c.allowPrivateAddresses, false);
  // Let's Encrypt's limits: 5 certificates per exact name set, 50 per registered domain, per 7 days.
  assert.equal(c.rateBudgetPerNameSet, 5);
  assert.equal(c.rateBudgetPerDomain, 50);
  assert.equal(loadConfig({ CERTKEEPER_RATE_BUDGET_PER_DOMAIN: '2' }).rateBudgetPerDomain, 2);
  assert.throws(() => loadConfig({ CERTKEEPER_RATE_BUDGET_PER_DOMAIN: '0' }), /CERTKEEPER_RATE_BUDGET_PER_DOMAIN/);
});

test('secrets come from *_FILE too, and bad values name the variable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-cfg-'));
  const key = Buffer.alloc(32, 7).toString('base64');
  writeFileSync(join(dir, 'mk'), key + '\n');
  writeFileSync(join(dir, 'tok'), 'sekret\n');
  const c = loadConfig({ CERTKEEPER_MASTER_KEY_FILE: join(dir, 'mk'), CERTKEEPER_ADMIN_TOKEN_FILE: join(dir, 'tok'), CERTKEEPER_LISTEN: '[::1]:9000', CERTKEEPER_HTTP01_LISTEN: 'off' });
  assert.equal(c.masterKey?.length, 32);
  assert.equal(c.adminToken, 'sekret');
  assert.deepEqual(c.listen, { host: '::1', port: 9000 });
  assert.equal(c.http01Listen, null);
  assert.throws(() => loadConfig({ CERTKEEPER_MASTER_KEY: 'c2hvcnQ=' }), (e: Error) => e instanceof ConfigError && /CERTKEEPER_MASTER_KEY/.test(e.message) && !e.message.includes('c2hvcnQ'));
  assert.throws(() => loadConfig({ CERTKEEPER_LISTEN: 'nonsense' }), /CERTKEEPER_LISTEN/);
  assert.throws(() => loadConfig({ CERTKEEPER_ADMIN_TOKEN_FILE: join(dir, 'missing') }), /CERTKEEPER_ADMIN_TOKEN_FILE/);
});

test('CERTKEEPER_DNS_RESOLVERS takes IPs with optional ports and refuses names', () => {
  assert.deepEqual(loadConfig({ CERTKEEPER_DNS_RESOLVERS: '127.0.0.1:5353, [::1]:53 192.0.2.1 2001:db8::1' }).dnsResolvers, ['127.0.0.1:5353', '[::1]:53', '192.0.2.1', '2001:db8::1']);
  assert.deepEqual(loadConfig({}).dnsResolvers, []);
  assert.throws(() => loadConfig({ CERTKEEPER_DNS_RESOLVERS: 'dns.example.com' }), /CERTKEEPER_DNS_RESOLVERS/);
});

test('CERTKEEPER_TLS_*: a file pair or an auto certificate, never both, never half a pair', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-cfg-tls-'));
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  writeFileSync(cert, 'certificate');
  writeFileSync(key, 'key');
  assert.equal(loadConfig({}).tls, null);
  assert.deepEqual(loadConfig({ CERTKEEPER_TLS_CERT_FILE: cert, CERTKEEPER_TLS_KEY_FILE: key }).tls, { kind: 'files', certFile: cert, keyFile: key });
  assert.deepEqual(loadConfig({ CERTKEEPER_TLS_AUTO_CERTIFICATE: ' self ' }).tls, { kind: 'auto-certificate', name: 'self' });
  assert.equal(loadConfig({ CERTKEEPER_TLS_AUTO_CERTIFICATE: '', CERTKEEPER_TLS_CERT_FILE: '' }).tls, null, 'empty means unset');

  const both = (env: Record<string, string>) => assert.throws(() => loadConfig(env), (e: Error) => e instanceof ConfigError
    && e.message.includes('CERTKEEPER_TLS_AUTO_CERTIFICATE') && e.message.includes(env.CERTKEEPER_TLS_CERT_FILE ? 'CERTKEEPER_TLS_CERT_FILE' : 'CERTKEEPER_TLS_KEY_FILE'));
  both({ CERTKEEPER_TLS_AUTO_CERTIFICATE: 'self', CERTKEEPER_TLS_CERT_FILE: cert, CERTKEEPER_TLS_KEY_FILE: key });
  both({ CERTKEEPER_TLS_AUTO_CERTIFICATE: 'self', CERTKEEPER_TLS_CERT_FILE: cert });
  both({ CERTKEEPER_TLS_AUTO_CERTIFICATE: 'self', CERTKEEPER_TLS_KEY_FILE: key });

  assert.throws(() => loadConfig({ CERTKEEPER_TLS_CERT_FILE: cert }), (e: Error) => e instanceof ConfigError && /CERTKEEPER_TLS_CERT_FILE is set but CERTKEEPER_TLS_KEY_FILE is not/.test(e.message));
  assert.throws(() => loadConfig({ CERTKEEPER_TLS_KEY_FILE: key }), (e: Error) => e instanceof ConfigError && /CERTKEEPER_TLS_KEY_FILE is set but CERTKEEPER_TLS_CERT_FILE is not/.test(e.message));
  assert.throws(() => loadConfig({ CERTKEEPER_TLS_CERT_FILE: join(dir, 'missing.crt'), CERTKEEPER_TLS_KEY_FILE: key }), /CERTKEEPER_TLS_CERT_FILE: cannot read .*missing\.crt: ENOENT/);
  assert.throws(() => loadConfig({ CERTKEEPER_TLS_CERT_FILE: cert, CERTKEEPER_TLS_KEY_FILE: join(dir, 'missing.key') }), /CERTKEEPER_TLS_KEY_FILE: cannot read/);
});
