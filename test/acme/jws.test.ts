// JWS signing (RFC 7515/8555 §6.2), RFC 7638 thumbprints, EAB (§7.3.4) and challenge values (§8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, createPublicKey, verify } from 'node:crypto';
import {
  createEabJws,
  dns01RecordName,
  dns01TxtValue,
  generateAccountKey,
  http01Body,
  http01Path,
  jwkThumbprint,
  jwsAlgorithm,
  keyAuthorization,
  publicJwk,
  signJws,
} from '../../src/acme/index.js';

const b64json = (s: string): Record<string, unknown> => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;

test('RFC 7638 §3.1 example thumbprint', () => {
  const jwk = {
    kty: 'RSA' as const,
    n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
    e: 'AQAB',
  };
  assert.equal(jwkThumbprint(jwk), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  // The same key as a KeyObject gives the same thumbprint.
  assert.equal(jwkThumbprint(createPublicKey({ key: jwk, format: 'jwk' })), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
});

for (const [alg, sigLen, hash] of [['ES256', 64, 'sha256'], ['ES384', 96, 'sha384'], ['RS256', 256, 'sha256']] as const) {
  test(`${alg}: flattened JWS with jwk or kid header verifies`, async () => {
    const key = await generateAccountKey(alg);
    assert.equal(jwsAlgorithm(key), alg);
    const withJwk = signJws(key, { url: 'https://ca/new-acct', nonce: 'n1' }, { termsOfServiceAgreed: true });
    const header = b64json(withJwk.protected);
    assert.deepEqual(Object.keys(header).sort(), ['alg', 'jwk', 'nonce', 'url']);
    assert.equal(header.alg, alg);
    assert.deepEqual(header.jwk, publicJwk(key));
    assert.deepEqual(b64json(withJwk.payload), { termsOfServiceAgreed: true });
    const sig = Buffer.from(withJwk.signature, 'base64url');
    assert.equal(sig.length, sigLen, 'ECDSA signatures are r||s (IEEE P1363), not DER');
    const input = Buffer.from(`${withJwk.protected}.${withJwk.payload}`);
    const pub = createPublicKey(key);
    assert.ok(verify(hash, input, alg === 'RS256' ? pub : { key: pub, dsaEncoding: 'ieee-p1363' }, sig));

    const withKid = signJws(key, { url: 'https://ca/order/1', nonce: 'n2', kid: 'https://ca/acct/7' }, undefined);
    const h2 = b64json(withKid.protected);
    assert.equal(h2.kid, 'https://ca/acct/7');
    assert.equal(h2.jwk, undefined);
    assert.equal(withKid.payload, '', 'POST-as-GET has an empty payload (RFC 8555 §6.3)');
  });
}

test('the public JWK never carries private members', async () => {
  for (const alg of ['ES256', 'RS256'] as const) {
    const jwk = publicJwk(await generateAccountKey(alg)) as Record<string, unknown>;
    for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(jwk[priv], undefined);
  }
});

test('EAB: HS256 over the account JWK with kid and the newAccount url', async () => {
  const accountKey = await generateAccountKey();
  const macKey = Buffer.from('a secret of thirty-two bytes....');
  const eab = createEabJws(accountKey, { keyId: 'kid-1', hmacKey: macKey.toString('base64url') }, 'https://ca/new-acct');
  assert.deepEqual(b64json(eab.protected), { alg: 'HS256', kid: 'kid-1', url: 'https://ca/new-acct' });
  assert.deepEqual(b64json(eab.payload), publicJwk(accountKey));
  const expected = createHmac('sha256', macKey).update(`${eab.protected}.${eab.payload}`).digest('base64url');
  assert.equal(eab.signature, expected);
  // A standard-base64 key with padding is accepted too.
  const eab2 = createEabJws(accountKey, { keyId: 'kid-1', hmacKey: macKey.toString('base64') }, 'https://ca/new-acct');
  assert.equal(eab2.signature, expected);
});

test('challenge values (RFC 8555 §8.1, §8.3, §8.4)', () => {
  const token = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
  const thumb = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
  const ka = `${token}.${thumb}`;
  assert.equal(keyAuthorization(token, thumb), ka);
  assert.equal(http01Path(token), `/.well-known/acme-challenge/${token}`);
  assert.equal(http01Body(token, thumb), ka);
  assert.equal(dns01TxtValue(token, thumb), createHash('sha256').update(ka).digest('base64url'));
  assert.equal(dns01RecordName('*.example.org'), '_acme-challenge.example.org');
  assert.equal(dns01RecordName('www.example.org.'), '_acme-challenge.www.example.org');
});
