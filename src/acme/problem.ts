// Typed errors of the ACME client. Retry behaviour is a property (`retryable`, `retryAfter`),
// never a string match. Messages carry the CA's own words but never key material or payloads.
import type { AcmeIdentifier, AcmeProblemDocument, AcmeSubproblem } from './types.js';

const NS = 'urn:ietf:params:acme:error:';

/** ACME error types: RFC 8555 §6.7, `alreadyReplaced` (RFC 9773 §5), `invalidProfile` (profiles draft). */
export const ACME_ERROR = {
  accountDoesNotExist: `${NS}accountDoesNotExist`,
  alreadyReplaced: `${NS}alreadyReplaced`,
  alreadyRevoked: `${NS}alreadyRevoked`,
  badCSR: `${NS}badCSR`,
  badNonce: `${NS}badNonce`,
  badPublicKey: `${NS}badPublicKey`,
  badRevocationReason: `${NS}badRevocationReason`,
  badSignatureAlgorithm: `${NS}badSignatureAlgorithm`,
  caa: `${NS}caa`,
  compound: `${NS}compound`,
  connection: `${NS}connection`,
  dns: `${NS}dns`,
  externalAccountRequired: `${NS}externalAccountRequired`,
  incorrectResponse: `${NS}incorrectResponse`,
  invalidContact: `${NS}invalidContact`,
  invalidProfile: `${NS}invalidProfile`,
  malformed: `${NS}malformed`,
  orderNotReady: `${NS}orderNotReady`,
  rateLimited: `${NS}rateLimited`,
  rejectedIdentifier: `${NS}rejectedIdentifier`,
  serverInternal: `${NS}serverInternal`,
  tls: `${NS}tls`,
  unauthorized: `${NS}unauthorized`,
  unsupportedContact: `${NS}unsupportedContact`,
  unsupportedIdentifier: `${NS}unsupportedIdentifier`,
  userActionRequired: `${NS}userActionRequired`,
} as const;

/** Short name of an ACME error type (a key of {@link ACME_ERROR}). */
export type AcmeErrorName = keyof typeof ACME_ERROR;

/** Base class of every error this package throws (except an AbortSignal's own reason). */
export abstract class AcmeError extends Error {
  /** True when the same request may succeed if tried again later. */
  abstract get retryable(): boolean;
  /** Earliest time a retry makes sense, when the server said so. */
  retryAfter?: Date;
}

const RETRYABLE_TYPES: ReadonlySet<string> = new Set([ACME_ERROR.badNonce, ACME_ERROR.rateLimited, ACME_ERROR.serverInternal]);

/** A problem document returned by the ACME server (RFC 8555 §6.7). */
export class AcmeProblemError extends AcmeError {
  override name = 'AcmeProblemError';
  /** The problem `type` URI, e.g. `urn:ietf:params:acme:error:rateLimited`. */
  readonly type: string;
  /** The server's human-readable explanation (may be empty). */
  readonly detail: string;
  /** HTTP status of the response (or the document's `status`); 0 when unknown. */
  readonly status: number;
  /** RFC 8555 §6.7.1 per-identifier problems. */
  readonly subproblems: AcmeSubproblem[];
  /** The identifier the problem is about, when the server said. */
  readonly identifier?: AcmeIdentifier;
  /** The request URL that failed, when known. */
  readonly url?: string;

  constructor(problem: AcmeProblemDocument, opts: { status?: number; url?: string; retryAfter?: Date; message?: string } = {}) {
    const detail = typeof problem.detail === 'string' ? problem.detail : '';
    super(opts.message ?? formatProblem(problem.type, detail, problem.subproblems));
    this.type = problem.type;
    this.detail = detail;
    this.status = opts.status ?? (typeof problem.status === 'number' ? problem.status : 0);
    this.subproblems = Array.isArray(problem.subproblems) ? problem.subproblems : [];
    if (problem.identifier) this.identifier = problem.identifier;
    if (opts.url !== undefined) this.url = opts.url;
    if (opts.retryAfter) this.retryAfter = opts.retryAfter;
  }

  /** badNonce, rateLimited, serverInternal or any 5xx status. */
  get retryable(): boolean {
    return RETRYABLE_TYPES.has(this.type) || this.status >= 500;
  }

  /** True when this problem has the given type (short name or full URI). */
  is(type: AcmeErrorName | string): boolean {
    return this.type === (Object.hasOwn(ACME_ERROR, type) ? ACME_ERROR[type as AcmeErrorName] : type);
  }
}

/** An authorization became invalid: carries the failed challenge's problem (e.g. `connection`). */
export class AcmeValidationError extends AcmeProblemError {
  override name = 'AcmeValidationError';
  /** URL of the invalid authorization. */
  readonly authorizationUrl: string;
  /** Type of the challenge that failed (`http-01`, `dns-01`, …), when known. */
  readonly challengeType?: string;

  constructor(opts: { authorizationUrl: string; identifier: AcmeIdentifier; challengeType?: string; problem?: AcmeProblemDocument }) {
    const problem: AcmeProblemDocument = opts.problem ?? { type: ACME_ERROR.unauthorized, detail: 'authorization is invalid' };
    const detail = typeof problem.detail === 'string' ? problem.detail : '';
    const what = `${opts.identifier.type}:${opts.identifier.value}`;
    const via = opts.challengeType ? ` (${opts.challengeType})` : '';
    super({ ...problem, identifier: problem.identifier ?? opts.identifier }, {
      url: opts.authorizationUrl,
      message: `validation of ${what} failed${via}: ${formatProblem(problem.type, detail, problem.subproblems)}`,
    });
    this.authorizationUrl = opts.authorizationUrl;
    if (opts.challengeType !== undefined) this.challengeType = opts.challengeType;
  }

  /** A failed validation needs a fix (DNS, web server) before a new order; never retried as is. */
  override get retryable(): boolean {
    return false;
  }
}

/** The network failed: connection refused/reset, DNS lookup, TLS, or the request timed out. */
export class AcmeTransportError extends AcmeError {
  override name = 'AcmeTransportError';
  /** Node's error code (`ECONNREFUSED`, `ETIMEDOUT`, …) when there is one. */
  readonly code?: string;
  /** The request's method and URL. */
  readonly method: string;
  readonly url: string;

  constructor(method: string, url: string, message: string, opts: { code?: string; cause?: unknown } = {}) {
    super(`${method} ${url}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.method = method;
    this.url = url;
    if (opts.code !== undefined) this.code = opts.code;
  }

  /** Network errors are always worth another try. */
  get retryable(): boolean {
    return true;
  }
}

/** The server answered something this client cannot use (bad JSON, missing Location, …). */
export class AcmeProtocolError extends AcmeError {
  override name = 'AcmeProtocolError';
  readonly url?: string;
  constructor(message: string, url?: string) {
    super(url === undefined ? message : `${message} (${url})`);
    if (url !== undefined) this.url = url;
  }
  /** A malformed answer is not expected to fix itself. */
  get retryable(): boolean {
    return false;
  }
}

/** Polling gave up before the object reached the wanted status. */
export class AcmeTimeoutError extends AcmeError {
  override name = 'AcmeTimeoutError';
  readonly url: string;
  /** The last status seen. */
  readonly lastStatus: string;
  constructor(url: string, lastStatus: string, waitedMs: number) {
    super(`gave up after ${waitedMs} ms waiting for ${url} (still "${lastStatus}")`);
    this.url = url;
    this.lastStatus = lastStatus;
  }
  /** The CA may still finish; asking again later is sensible. */
  get retryable(): boolean {
    return true;
  }
}

/** An object reached a status that makes the requested operation impossible, or the client lacks state (no account URL). */
export class AcmeStateError extends AcmeError {
  override name = 'AcmeStateError';
  /** The status that was seen, when the error is about an object's status. */
  readonly status?: string;
  constructor(message: string, status?: string) {
    super(message);
    if (status !== undefined) this.status = status;
  }
  get retryable(): boolean {
    return false;
  }
}

/** True when `err` is an {@link AcmeProblemError}, optionally of the given type (short name or URI). */
export function isAcmeProblem(err: unknown, type?: AcmeErrorName | string): err is AcmeProblemError {
  if (!(err instanceof AcmeProblemError)) return false;
  return type === undefined || err.is(type);
}

/** True when `err` says retrying later may succeed. */
export function isRetryableAcmeError(err: unknown): boolean {
  return err instanceof AcmeError && err.retryable;
}

/** Turns a JSON value into a problem document when it looks like one. */
export function asProblemDocument(value: unknown): AcmeProblemDocument | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.type !== 'string') return undefined;
  return v as unknown as AcmeProblemDocument;
}

function shortType(type: string): string {
  return type.startsWith(NS) ? type.slice(NS.length) : type;
}

function formatProblem(type: string, detail: string, subproblems: AcmeSubproblem[] | undefined): string {
  let msg = `${shortType(type)}${detail ? `: ${detail}` : ''}`;
  if (Array.isArray(subproblems) && subproblems.length > 0) {
    const parts = subproblems.map((s) => {
      const who = s.identifier ? `${s.identifier.value}: ` : '';
      return `${who}${shortType(s.type)}${s.detail ? ` ${s.detail}` : ''}`;
    });
    msg += ` [${parts.join('; ')}]`;
  }
  return msg;
}
