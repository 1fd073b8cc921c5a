// Problem documents, error types and Retry-After parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACME_ERROR,
  AcmeProblemError,
  AcmeProtocolError,
  AcmeTimeoutError,
  AcmeTransportError,
  AcmeValidationError,
  isAcmeProblem,
  isRetryableAcmeError,
  parseRetryAfter,
} from '../../src/acme/index.js';

const NOW = new Date('2026-11-26T12:00:00Z');

test('Retry-After in delay-seconds', () => {
  assert.deepEqual(parseRetryAfter('120', NOW), new Date('2026-11-26T12:02:00Z'));
  assert.deepEqual(parseRetryAfter(' 0 ', NOW), NOW);
});

test('Retry-After as an HTTP-date', () => {
  assert.deepEqual(parseRetryAfter('Thu, 26 Nov 2026 12:30:00 GMT', NOW), new Date('2026-11-26T12:30:00Z'));
  // RFC 850 obsolete form, still to be accepted (RFC 9110 §5.6.7).
  assert.deepEqual(parseRetryAfter('Thursday, 26-Nov-26 12:30:00 GMT', NOW), new Date('2026-11-26T12:30:00Z'));
  // asctime form: no zone, means GMT whatever the local time zone.
  assert.deepEqual(parseRetryAfter('Thu Nov 26 12:30:00 2026', NOW), new Date('2026-11-26T12:30:00Z'));
});

test('Retry-After absent or garbage', () => {
  assert.equal(parseRetryAfter(undefined, NOW), undefined);
  assert.equal(parseRetryAfter('', NOW), undefined);
  assert.equal(parseRetryAfter('soon', NOW), undefined);
  assert.equal(parseRetryAfter('-5', NOW), undefined);
});

test('the error type list covers RFC 8555 §6.7 and alreadyReplaced', () => {
  const names = ['accountDoesNotExist', 'alreadyRevoked', 'badCSR', 'badNonce', 'badPublicKey', 'badRevocationReason',
    'badSignatureAlgorithm', 'caa', 'compound', 'connection', 'dns', 'externalAccountRequired', 'incorrectResponse',
    'invalidContact', 'malformed', 'orderNotReady', 'rateLimited', 'rejectedIdentifier', 'serverInternal', 'tls',
    'unauthorized', 'unsupportedContact', 'unsupportedIdentifier', 'userActionRequired', 'alreadyReplaced'];
  for (const n of names) assert.equal((ACME_ERROR as Record<string, string>)[n], `urn:ietf:params:acme:error:${n}`);
});

test('retryable follows the type and status', () => {
  const p = (type: string, status: number): AcmeProblemError => new AcmeProblemError({ type, detail: 'x' }, { status });
  assert.equal(p(ACME_ERROR.badNonce, 400).retryable, true);
  assert.equal(p(ACME_ERROR.rateLimited, 429).retryable, true);
  assert.equal(p(ACME_ERROR.serverInternal, 500).retryable, true);
  assert.equal(p('about:blank', 503).retryable, true);
  assert.equal(p(ACME_ERROR.malformed, 400).retryable, false);
  assert.equal(p(ACME_ERROR.unauthorized, 403).retryable, false);
  assert.equal(new AcmeTransportError('GET', 'https://x/', 'boom', { code: 'ECONNRESET' }).retryable, true);
  assert.equal(new AcmeTimeoutError('https://x/o', 'pending', 1000).retryable, true);
  assert.equal(new AcmeProtocolError('bad json').retryable, false);
  assert.equal(isRetryableAcmeError(new Error('plain')), false);
});

test('a rate-limit problem carries retryAfter and subproblems in its message', () => {
  const retryAfter = new Date('2026-11-27T00:00:00Z');
  const err = new AcmeProblemError({
    type: ACME_ERROR.rejectedIdentifier,
    detail: 'some names are forbidden',
    subproblems: [{ type: ACME_ERROR.rejectedIdentifier, detail: 'bad name', identifier: { type: 'dns', value: 'evil.test' } }],
  }, { status: 400, retryAfter });
  assert.equal(err.retryAfter, retryAfter);
  assert.match(err.message, /^rejectedIdentifier: some names are forbidden \[evil\.test: rejectedIdentifier bad name\]$/);
  assert.ok(isAcmeProblem(err));
  assert.ok(isAcmeProblem(err, 'rejectedIdentifier'));
  assert.ok(isAcmeProblem(err, ACME_ERROR.rejectedIdentifier));
  assert.ok(!isAcmeProblem(err, 'badNonce'));
  assert.ok(!isAcmeProblem(new Error('x')));
});

test('a validation error names the identifier, the challenge and the CA detail', () => {
  const err = new AcmeValidationError({
    authorizationUrl: 'https://ca/authz/1',
    identifier: { type: 'dns', value: 'a.example' },
    challengeType: 'dns-01',
    problem: { type: ACME_ERROR.dns, detail: 'NXDOMAIN looking up TXT for _acme-challenge.a.example', status: 400 },
  });
  assert.equal(err.message, 'validation of dns:a.example failed (dns-01): dns: NXDOMAIN looking up TXT for _acme-challenge.a.example');
  assert.ok(isAcmeProblem(err, 'dns'));
  assert.equal(err.retryable, false);
  assert.equal(err.identifier?.value, 'a.example');
});
