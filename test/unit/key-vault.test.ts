import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KeyVault, VaultError } from '../../src/store/key-vault.js';

test('an envelope opens with the same master key and context only', () => {
  const vault = new KeyVault(randomBytes(32));
  const secret = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
  const env = vault.seal(secret, 'certificates/c1/private_key');
  assert.ok(!env.includes('PRIVATE KEY') && !env.includes('MIGHAgEA'), 'ciphertext does not show the plaintext');
  assert.equal(vault.openText(env, 'certificates/c1/private_key'), secret);
  assert.notEqual(vault.seal(secret, 'x'), vault.seal(secret, 'x'), 'fresh data key and IV each time');
  assert.throws(() => vault.open(env, 'certificates/c2/private_key'), VaultError, 'moved to another record');
  assert.throws(() => new KeyVault(randomBytes(32)).open(env, 'certificates/c1/private_key'), /master key/);
  const parts = env.split('.');
  const body = Buffer.from(parts[5]!, 'base64url');
  body[0]! ^= 1;
  parts[5] = body.toString('base64url');
  assert.throws(() => vault.open(parts.join('.'), 'certificates/c1/private_key'), VaultError, 'tampering is detected');
});

test('a master key must be 32 bytes', () => {
  assert.throws(() => new KeyVault(randomBytes(16)), /32 bytes/);
});
