// The agent's settings: flags over CERTKEEPER_AGENT_* environment, token files, defaults, and errors.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultStateDir, parseListen, resolveAgentSettings } from '../../src/agent/options.js';
import { scratch } from './fixtures.js';

describe('agent settings', () => {
  const s = scratch();
  after(() => s.remove());

  it('reads the environment; flags win', async () => {
    const tokenFile = join(s.dir, 'token');
    writeFileSync(tokenFile, '  cke_from_file\n');
    const env = { CERTKEEPER_AGENT_SERVER: 'https://env.example', CERTKEEPER_AGENT_TOKEN_FILE: tokenFile, CERTKEEPER_AGENT_STATE_DIR: join(s.dir, 'st') };
    const fromEnv = await resolveAgentSettings({}, env);
    assert.equal(fromEnv.server, 'https://env.example');
    assert.equal(fromEnv.token, 'cke_from_file');
    assert.equal(fromEnv.stateDir, join(s.dir, 'st'));
    assert.equal(fromEnv.logLevel, 'info');
    const fromFlags = await resolveAgentSettings({ server: 'https://flag.example', token: 'cke_flag', http01Listen: '[::1]:8080', logLevel: 'DEBUG' }, env);
    assert.equal(fromFlags.server, 'https://flag.example');
    assert.equal(fromFlags.token, 'cke_flag');
    assert.deepEqual(fromFlags.http01Listen, { host: '::1', port: 8080 });
    assert.equal(fromFlags.logLevel, 'debug');
    assert.equal((await resolveAgentSettings({ server: 'https://x' }, { CERTKEEPER_AGENT_TOKEN: 'cke_env' })).token, 'cke_env');
  });

  it('defaults the state directory per platform', () => {
    assert.equal(defaultStateDir({}, 'linux'), '/var/lib/certkeeper-agent');
    assert.equal(defaultStateDir({}, 'darwin'), '/var/lib/certkeeper-agent');
    assert.match(defaultStateDir({ ProgramData: 'D:\\PD' }, 'win32'), /^D:\\PD.certkeeper-agent$/);
  });

  it('parses host:port', () => {
    assert.deepEqual(parseListen('0.0.0.0:80'), { host: '0.0.0.0', port: 80 });
    assert.deepEqual(parseListen('[::]:80'), { host: '::', port: 80 });
    for (const bad of ['80', 'host', ':80', 'a:b', '1.2.3.4:70000', '::1:80']) assert.throws(() => parseListen(bad), /not host:port/, bad);
  });

  it('refuses what cannot work, naming the setting', async () => {
    const cases: [Parameters<typeof resolveAgentSettings>[0], RegExp][] = [
      [{}, /no server: give --server/],
      [{ server: 'ftp://x' }, /not an http\(s\) URL/],
      [{ server: 'https://x', token: 'a', tokenFile: '/x' }, /--token or --token-file, not both/],
      [{ server: 'https://x', tokenFile: join(s.dir, 'missing') }, /cannot read the token file .*ENOENT/],
      [{ server: 'https://x', caFile: join(s.dir, 'missing.pem') }, /cannot read the CA file/],
      [{ server: 'https://x', http01Listen: '0.0.0.0:80', http01Webroot: '/var/www' }, /not both/],
      [{ server: 'https://x', http01Webroot: 'relative/dir' }, /must be an absolute path/],
      [{ server: 'https://x', logLevel: 'loud' }, /--log-level "loud"/],
    ];
    for (const [flags, message] of cases) await assert.rejects(resolveAgentSettings(flags, {}), message, JSON.stringify(flags));
    const empty = join(s.dir, 'empty');
    writeFileSync(empty, '\n');
    await assert.rejects(resolveAgentSettings({ server: 'https://x', tokenFile: empty }, {}), /is empty/);
    const notPem = join(s.dir, 'ca.txt');
    writeFileSync(notPem, 'hello');
    await assert.rejects(resolveAgentSettings({ server: 'https://x', caFile: notPem }, {}), /holds no PEM certificate/);
  });
});
