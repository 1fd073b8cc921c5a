// The ACME client (RFC 8555, RFC 9773 ARI, EAB, profiles): protocol only. It holds the account
// key in memory and knows nothing of storage, scheduling or the rest of the application.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { parseRenewalInfo } from './ari.js';
import {
  dns01TxtValue as dns01TxtValueOf,
  http01Path as http01PathOf,
  keyAuthorization as keyAuthorizationOf,
} from './challenge-values.js';
import { fetchDirectory } from './directory.js';
import { createHttpTransport, type AcmeHttp, type AcmeHttpResponse } from './http-transport.js';
import { createEabJws, jwkThumbprint, publicJwk, signJws } from './jws.js';
import { linksWithRel } from './link-header.js';
import { NoncePool } from './nonce-pool.js';
import {
  AcmeProblemError,
  AcmeProtocolError,
  AcmeStateError,
  AcmeTimeoutError,
  AcmeValidationError,
  asProblemDocument,
  isRetryableAcmeError,
} from './problem.js';
import { parseRetryAfter } from './retry-after.js';
import { asAccount, asAuthorization, asChallenge, asOrder } from './shapes.js';
import type {
  AcmeAccount,
  AcmeAuthorization,
  AcmeChallenge,
  AcmeDirectory,
  AcmeDirectoryMeta,
  AcmeNewOrderRequest,
  AcmeOrder,
  AcmeProblemDocument,
  AcmeRenewalInfo,
} from './types.js';

/** Options of {@link AcmeClient}. */
export interface AcmeClientOptions {
  /** The CA's directory URL (RFC 8555 §7.1.1). */
  directoryUrl: string;
  /** The account's private key (EC P-256/P-384/P-521 or RSA). */
  accountKey: KeyObject;
  /** The account URL (`kid`), when already known; set by registerAccount/findAccount otherwise. */
  accountUrl?: string;
  /** HTTP port; default {@link createHttpTransport} with the options below. */
  http?: AcmeHttp;
  /** Extra PEM roots for the default transport (e.g. Pebble's listener root). */
  caCertificates?: string;
  /** Per-request timeout for the default transport; default 30000 ms. */
  timeoutMs?: number;
  /** User-Agent for the default transport. */
  userAgent?: string;
  /** Observer of every HTTP request of the default transport. */
  onRequest?: (method: string, url: string, status: number) => void;
  /** First polling interval; grows by `pollBackoff` per poll. Default 200 ms. */
  pollIntervalMs?: number;
  /** Factor the polling interval grows by after each poll. Default 1.5. */
  pollBackoff?: number;
  /** Longest pause between two polls, whatever Retry-After says. Default 10000 ms. */
  maxPollIntervalMs?: number;
  /** Default overall limit of waitForAuthorization/waitForOrder. Default 120000 ms. */
  maxPollWaitMs?: number;
  /** RFC 8555 §6.5: how often one request is retried on badNonce. Default 5. */
  maxBadNonceRetries?: number;
}

/** Result of {@link AcmeClient.registerAccount} and {@link AcmeClient.findAccount}. */
export interface AcmeAccountResult {
  accountUrl: string;
  account: AcmeAccount;
  /** True when the server created the account (201), false when it already existed (200). */
  created: boolean;
}

/** Options of {@link AcmeClient.registerAccount} (RFC 8555 §7.3). */
export interface RegisterAccountOptions {
  /** `mailto:` URLs. */
  contact?: string[];
  termsOfServiceAgreed?: boolean;
  /** RFC 8555 §7.3.4: the CA-issued key id and base64url HMAC key. */
  externalAccountBinding?: { keyId: string; hmacKey: string };
}

/** Account fields a client may change (RFC 8555 §7.3.2). */
export interface AccountUpdate {
  contact?: string[];
  termsOfServiceAgreed?: boolean;
}

/** Options of the wait* methods. */
export interface WaitOptions {
  /** Overall limit; default the client's maxPollWaitMs. */
  timeoutMs?: number;
  /**
   * Pause before the first request (default none: look at once). After telling the CA a
   * challenge is ready, or finalizing, the object cannot have changed yet: a first look at once
   * only costs a request.
   */
  firstPollDelayMs?: number;
  /**
   * Learn the pause before the first look from this client's recent waits of the same kind: the
   * first look goes out a little before the CA typically finishes (a local CA in milliseconds, a
   * public one in seconds), so most waits take one request and no longer than needed. Until
   * something is learned, `firstPollDelayMs` applies.
   */
  learn?: 'validation' | 'issuance';
}

/** Shortest learned pause. */
const MIN_LEARNED_MS = 5;

/** A downloaded certificate chain (RFC 8555 §7.4.2). */
export interface DownloadedCertificate {
  /** The full chain as served (leaf first), PEM. */
  pem: string;
  /** The URL `pem` came from (the certificate URL or an alternate). */
  url: string;
  /** URLs of alternate chains offered by `Link: rel="alternate"` on the default chain. */
  alternates: string[];
}

/** Options of {@link AcmeClient.downloadCertificate}. */
export interface DownloadOptions {
  /** Issuer common name to look for anywhere in the chain (as certbot/lego do). */
  preferredChain?: string;
}

/** Options of {@link AcmeClient.revokeCertificate} (RFC 8555 §7.6). */
export interface RevokeOptions {
  /** RFC 5280 §5.3.1 reason code. */
  reason?: number;
  /** Sign with the certificate's own key (`jwk` header) instead of the account key. */
  certificateKey?: KeyObject;
}

interface PostOptions {
  signal?: AbortSignal | undefined;
  /** Sign with this key instead of the account key. */
  key?: KeyObject;
  /** Put the public key in `jwk` instead of the account URL in `kid` (RFC 8555 §6.2). */
  useJwk?: boolean;
  accept?: string;
}

// Order statuses in lifecycle order (RFC 8555 §7.1.6), to notice an order that moved past a target.
const ORDER_RANK: Record<string, number> = { pending: 0, ready: 1, processing: 2, valid: 3 };
const MAX_TRANSIENT_POLL_ERRORS = 3;

/** An RFC 8555 client for one account at one CA. */
export class AcmeClient {
  /** The directory URL this client talks to. */
  readonly directoryUrl: string;
  private key: KeyObject;
  private url: string | undefined;
  private readonly http: AcmeHttp;
  private readonly nonces = new NoncePool();
  private directory: Promise<AcmeDirectory> | undefined;
  private readonly pollIntervalMs: number;
  private readonly pollBackoff: number;
  private readonly maxPollIntervalMs: number;
  private readonly maxPollWaitMs: number;
  private readonly maxBadNonceRetries: number;
  /** Moving average of how long waits of each kind took at this CA (see {@link WaitOptions.learn}). */
  private readonly typicalWaitMs = new Map<string, number>();

  constructor(opts: AcmeClientOptions) {
    this.directoryUrl = opts.directoryUrl;
    this.key = opts.accountKey;
    publicJwk(this.key); // fail early on an unsupported key type
    this.url = opts.accountUrl;
    this.http = opts.http ?? createHttpTransport({
      ...(opts.caCertificates !== undefined ? { caCertificates: opts.caCertificates } : {}),
      ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.userAgent !== undefined ? { userAgent: opts.userAgent } : {}),
      ...(opts.onRequest !== undefined ? { onRequest: opts.onRequest } : {}),
    });
    this.pollIntervalMs = opts.pollIntervalMs ?? 200;
    this.pollBackoff = Math.max(1, opts.pollBackoff ?? 1.5);
    this.maxPollIntervalMs = Math.max(opts.maxPollIntervalMs ?? 10_000, this.pollIntervalMs);
    this.maxPollWaitMs = opts.maxPollWaitMs ?? 120_000;
    this.maxBadNonceRetries = opts.maxBadNonceRetries ?? 5;
  }

  /** The account URL (`kid`), once known. */
  get accountUrl(): string | undefined {
    return this.url;
  }

  /** The current account key (changes after {@link rolloverKey}). */
  get accountKey(): KeyObject {
    return this.key;
  }

  /** RFC 7638 thumbprint of the current account key. */
  get thumbprint(): string {
    return jwkThumbprint(this.key);
  }

  // ---------------------------------------------------------------- directory

  /** The directory, fetched once and cached. */
  async getDirectory(signal?: AbortSignal): Promise<AcmeDirectory> {
    if (!this.directory) {
      const p = fetchDirectory(this.http, this.directoryUrl);
      this.directory = p;
      p.catch(() => {
        if (this.directory === p) this.directory = undefined;
      });
    }
    return await raceSignal(this.directory, signal);
  }

  /** Drops the cached directory and fetches it again. */
  async refreshDirectory(signal?: AbortSignal): Promise<AcmeDirectory> {
    this.directory = undefined;
    return await this.getDirectory(signal);
  }

  /** The directory's `meta` object (empty when the CA sends none). */
  async getMeta(signal?: AbortSignal): Promise<AcmeDirectoryMeta> {
    return (await this.getDirectory(signal)).meta ?? {};
  }

  /** The CA's terms-of-service URL, when it has one. */
  async getTermsOfService(signal?: AbortSignal): Promise<string | undefined> {
    return (await this.getMeta(signal)).termsOfService;
  }

  /**
   * Runs `fn` with the directory; if it fails with 404/405 (the CA moved an endpoint) and a
   * fresh directory differs from the cached one, runs it once more with the fresh directory.
   */
  private async withDirectory<T>(fn: (dir: AcmeDirectory) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const dir = await this.getDirectory(signal);
    try {
      return await fn(dir);
    } catch (err) {
      if (!(err instanceof AcmeProblemError) || (err.status !== 404 && err.status !== 405)) throw err;
      let fresh: AcmeDirectory;
      try {
        fresh = await this.refreshDirectory(signal);
      } catch {
        throw err;
      }
      if (JSON.stringify(fresh) === JSON.stringify(dir)) throw err;
      this.nonces.clear();
      return await fn(fresh);
    }
  }

  // ---------------------------------------------------------------- requests

  /** A nonce from the pool, or from HEAD newNonce when the pool is empty (RFC 8555 §7.2). */
  private async takeNonce(signal?: AbortSignal): Promise<string> {
    const pooled = this.nonces.take();
    if (pooled) return pooled;
    return await this.withDirectory(async (dir) => {
      const res = await this.http.request({ method: 'HEAD', url: dir.newNonce, ...(signal ? { signal } : {}) });
      if (res.status >= 400) throw problemFromResponse(res, dir.newNonce);
      const nonce = res.headers['replay-nonce'];
      if (!nonce) throw new AcmeProtocolError('newNonce answered without a Replay-Nonce header', dir.newNonce);
      return nonce;
    }, signal);
  }

  private requireAccountUrl(): string {
    if (this.url === undefined) throw new AcmeStateError('no account URL: call registerAccount() or findAccount() first');
    return this.url;
  }

  /**
   * A signed POST. `payload` undefined is POST-as-GET (RFC 8555 §6.3). Throws AcmeProblemError
   * for any status ≥ 400 after the badNonce retries.
   */
  private async post(url: string, payload: unknown, opts: PostOptions = {}): Promise<AcmeHttpResponse> {
    const key = opts.key ?? this.key;
    let nonce: string | undefined;
    for (let attempt = 0; ; attempt++) {
      nonce ??= await this.takeNonce(opts.signal);
      const jws = signJws(key, opts.useJwk ? { url, nonce } : { url, nonce, kid: this.requireAccountUrl() }, payload);
      const headers: Record<string, string> = { 'content-type': 'application/jose+json' };
      if (opts.accept) headers.accept = opts.accept;
      const res = await this.http.request({
        method: 'POST', url, headers, body: JSON.stringify(jws), ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const next = res.headers['replay-nonce'];
      if (res.status < 400) {
        this.nonces.push(next);
        return res;
      }
      const err = problemFromResponse(res, url);
      if (err.is('badNonce') && attempt < this.maxBadNonceRetries) {
        // RFC 8555 §6.5: a badNonce error carries a fresh Replay-Nonce; retry with exactly that
        // one (or a new one if the server sent none).
        nonce = next && /^[A-Za-z0-9_-]+$/.test(next) ? next : undefined;
        continue;
      }
      this.nonces.push(next);
      throw err;
    }
  }

  /** POST-as-GET (RFC 8555 §6.3) returning parsed JSON and Retry-After. */
  private async postAsGetJson(url: string, signal?: AbortSignal): Promise<{ json: unknown; retryAfter?: Date }> {
    const res = await this.post(url, undefined, { signal });
    const retryAfter = parseRetryAfter(res.headers['retry-after']);
    return { json: parseJson(res, url), ...(retryAfter ? { retryAfter } : {}) };
  }

  // ---------------------------------------------------------------- accounts (§7.3)

  /**
   * Creates the account for the current key, or returns the existing one (RFC 8555 §7.3:
   * 201 when created, 200 when the key already had an account).
   */
  async registerAccount(opts: RegisterAccountOptions = {}, signal?: AbortSignal): Promise<AcmeAccountResult> {
    return await this.withDirectory(async (dir) => {
      const payload: Record<string, unknown> = {};
      if (opts.contact) payload.contact = opts.contact;
      if (opts.termsOfServiceAgreed !== undefined) payload.termsOfServiceAgreed = opts.termsOfServiceAgreed;
      if (opts.externalAccountBinding) {
        payload.externalAccountBinding = createEabJws(this.key, opts.externalAccountBinding, dir.newAccount);
      }
      return await this.accountRequest(dir.newAccount, payload, signal);
    }, signal);
  }

  /**
   * Looks up the account of the current key without creating one (RFC 8555 §7.3.1,
   * `onlyReturnExisting`). Throws AcmeProblemError `accountDoesNotExist` when there is none.
   */
  async findAccount(signal?: AbortSignal): Promise<AcmeAccountResult> {
    return await this.withDirectory((dir) => this.accountRequest(dir.newAccount, { onlyReturnExisting: true }, signal), signal);
  }

  private async accountRequest(newAccountUrl: string, payload: unknown, signal?: AbortSignal): Promise<AcmeAccountResult> {
    const res = await this.post(newAccountUrl, payload, { signal, useJwk: true });
    const accountUrl = locationOf(res, newAccountUrl);
    this.url = accountUrl;
    const account = res.body.length > 0 ? asAccount(parseJson(res, newAccountUrl), newAccountUrl) : await this.getAccount(signal);
    return { accountUrl, account, created: res.status === 201 };
  }

  /** The account object (POST-as-GET to the account URL, RFC 8555 §6.3, §7.3). */
  async getAccount(signal?: AbortSignal): Promise<AcmeAccount> {
    const url = this.requireAccountUrl();
    return asAccount((await this.postAsGetJson(url, signal)).json, url);
  }

  /** Changes contact or terms agreement (RFC 8555 §7.3.2). */
  async updateAccount(fields: AccountUpdate, signal?: AbortSignal): Promise<AcmeAccount> {
    const url = this.requireAccountUrl();
    const res = await this.post(url, fields, { signal });
    return asAccount(parseJson(res, url), url);
  }

  /** Deactivates the account for good (RFC 8555 §7.3.6). */
  async deactivateAccount(signal?: AbortSignal): Promise<AcmeAccount> {
    const url = this.requireAccountUrl();
    const res = await this.post(url, { status: 'deactivated' }, { signal });
    return asAccount(parseJson(res, url), url);
  }

  /**
   * Replaces the account key (RFC 8555 §7.3.5): an inner JWS by the new key (jwk header, no
   * nonce) over `{account, oldKey}`, wrapped in an outer JWS by the old key. Afterwards this
   * client signs with `newKey`.
   */
  async rolloverKey(newKey: KeyObject, signal?: AbortSignal): Promise<void> {
    const account = this.requireAccountUrl();
    publicJwk(newKey);
    await this.withDirectory(async (dir) => {
      const inner = signJws(newKey, { url: dir.keyChange }, { account, oldKey: publicJwk(this.key) });
      await this.post(dir.keyChange, inner, { signal });
    }, signal);
    this.key = newKey;
  }

  // ---------------------------------------------------------------- orders (§7.4)

  /** Creates an order (RFC 8555 §7.4); `profile` and `replaces` (RFC 9773 §5) where the CA supports them. */
  async newOrder(req: AcmeNewOrderRequest, signal?: AbortSignal): Promise<{ url: string; order: AcmeOrder }> {
    this.requireAccountUrl();
    const payload: Record<string, unknown> = { identifiers: req.identifiers.map((i) => ({ type: i.type, value: i.value })) };
    if (req.notBefore !== undefined) payload.notBefore = toRfc3339(req.notBefore);
    if (req.notAfter !== undefined) payload.notAfter = toRfc3339(req.notAfter);
    if (req.profile !== undefined) payload.profile = req.profile;
    if (req.replaces !== undefined) payload.replaces = req.replaces;
    return await this.withDirectory(async (dir) => {
      const res = await this.post(dir.newOrder, payload, { signal });
      const url = locationOf(res, dir.newOrder);
      return { url, order: asOrder(parseJson(res, dir.newOrder), dir.newOrder) };
    }, signal);
  }

  /** The current state of an order. */
  async getOrder(url: string, signal?: AbortSignal): Promise<AcmeOrder> {
    return asOrder((await this.postAsGetJson(url, signal)).json, url);
  }

  /** The current state of an authorization. */
  async getAuthorization(url: string, signal?: AbortSignal): Promise<AcmeAuthorization> {
    return asAuthorization((await this.postAsGetJson(url, signal)).json, url);
  }

  /** The current state of a challenge. */
  async getChallenge(url: string, signal?: AbortSignal): Promise<AcmeChallenge> {
    return asChallenge((await this.postAsGetJson(url, signal)).json, url);
  }

  /** Tells the CA the challenge is ready to be validated (RFC 8555 §7.5.1: POST `{}`). */
  async respondToChallenge(challengeUrl: string, signal?: AbortSignal): Promise<AcmeChallenge> {
    const res = await this.post(challengeUrl, {}, { signal });
    return asChallenge(parseJson(res, challengeUrl), challengeUrl);
  }

  /** Gives up an authorization (RFC 8555 §7.5.2). */
  async deactivateAuthorization(url: string, signal?: AbortSignal): Promise<AcmeAuthorization> {
    const res = await this.post(url, { status: 'deactivated' }, { signal });
    return asAuthorization(parseJson(res, url), url);
  }

  /**
   * Polls an authorization until it is valid. Throws AcmeValidationError (with the CA's
   * challenge problem, e.g. `connection` or `unauthorized`) when it becomes invalid,
   * AcmeStateError for deactivated/expired/revoked, AcmeTimeoutError when time runs out.
   */
  async waitForAuthorization(url: string, opts: WaitOptions = {}, signal?: AbortSignal): Promise<AcmeAuthorization> {
    return await this.poll(url, (json) => {
      const authz = asAuthorization(json, url);
      switch (authz.status) {
        case 'valid':
          return { done: true, value: authz };
        case 'pending':
          return { done: false, status: authz.status };
        case 'invalid':
          throw validationErrorOf(authz, url);
        default:
          throw new AcmeStateError(`authorization for ${authz.identifier.value} is ${authz.status}`, authz.status);
      }
    }, opts, signal);
  }

  /**
   * Polls an order until its status is one of `targetStatuses` (e.g. `['ready']`, `['valid']`).
   * An invalid order throws the order's problem, or the failed authorization's
   * AcmeValidationError; an order that moved past every target throws AcmeStateError.
   */
  async waitForOrder(url: string, targetStatuses: readonly string[], opts: WaitOptions = {}, signal?: AbortSignal): Promise<AcmeOrder> {
    const targetRank = Math.max(...targetStatuses.map((s) => ORDER_RANK[s] ?? -1));
    let invalid: AcmeOrder | undefined;
    const order = await this.poll(url, (json) => {
      const o = asOrder(json, url);
      if (targetStatuses.includes(o.status)) return { done: true, value: o };
      if (o.status === 'invalid') {
        invalid = o;
        return { done: true, value: o };
      }
      if ((ORDER_RANK[o.status] ?? -1) > targetRank) {
        throw new AcmeStateError(`order is already "${o.status}", not ${targetStatuses.join('/')}`, o.status);
      }
      return { done: false, status: o.status };
    }, opts, signal);
    if (invalid) throw await this.invalidOrderError(invalid, url, signal);
    return order;
  }

  private async invalidOrderError(order: AcmeOrder, url: string, signal?: AbortSignal): Promise<Error> {
    // Prefer the failed authorization's challenge problem: it names the identifier and the
    // CA's reason, which order.error (if any) often only summarises.
    for (const authzUrl of order.authorizations) {
      try {
        const authz = await this.getAuthorization(authzUrl, signal);
        if (authz.status === 'invalid') return validationErrorOf(authz, authzUrl);
      } catch (err) {
        if (signal?.aborted) throw err;
      }
    }
    if (order.error) return new AcmeProblemError(order.error, { url });
    return new AcmeStateError(`order ${url} is invalid`, 'invalid');
  }

  /**
   * Polls `url` until `check` says done. Honours Retry-After (RFC 8555 §7.4, §8.2) but never
   * pauses longer than maxPollIntervalMs, and tolerates a few transient (retryable) failures.
   */
  private async poll<T>(
    url: string,
    check: (json: unknown) => { done: true; value: T } | { done: false; status: string },
    opts: WaitOptions,
    signal?: AbortSignal,
  ): Promise<T> {
    const limit = opts.timeoutMs ?? this.maxPollWaitMs;
    const started = Date.now();
    const deadline = started + limit;
    const typical = opts.learn ? this.typicalWaitMs.get(opts.learn) : undefined;
    // After a learned first look that came too early, look again soon rather than after the
    // default interval: the CA is about to finish.
    const floor = typical === undefined ? this.pollIntervalMs : Math.max(MIN_LEARNED_MS, Math.min(this.pollIntervalMs, typical / 4));
    let interval = floor;
    const first = typical === undefined ? opts.firstPollDelayMs : Math.max(MIN_LEARNED_MS, typical * 0.9);
    if (first) await delayFor(Math.min(first, limit), signal);
    let lastStatus = 'unknown';
    let transient = 0;
    for (;;) {
      let retryAfter: Date | undefined;
      try {
        const sentAt = Date.now();
        const r = await this.postAsGetJson(url, signal);
        transient = 0;
        retryAfter = r.retryAfter;
        const verdict = check(r.json);
        if (verdict.done) {
          if (opts.learn) this.learnWait(opts.learn, sentAt - started);
          return verdict.value;
        }
        lastStatus = verdict.status;
      } catch (err) {
        if (signal?.aborted || !isRetryableAcmeError(err) || err instanceof AcmeTimeoutError) throw err;
        if (++transient > MAX_TRANSIENT_POLL_ERRORS || Date.now() >= deadline) throw err;
        retryAfter = (err as AcmeProblemError).retryAfter;
      }
      const now = Date.now();
      const remaining = deadline - now;
      if (remaining <= 0) throw new AcmeTimeoutError(url, lastStatus, limit);
      const wanted = retryAfter ? retryAfter.getTime() - now : interval;
      const delay = Math.min(Math.max(wanted, floor), this.maxPollIntervalMs, remaining);
      await delayFor(delay, signal);
      interval = Math.min(interval * this.pollBackoff, this.maxPollIntervalMs);
    }
  }

  /** Folds one observed wait into the moving average of its kind. */
  private learnWait(kind: string, ms: number): void {
    const sample = Math.min(Math.max(ms, MIN_LEARNED_MS), this.maxPollIntervalMs);
    const prev = this.typicalWaitMs.get(kind);
    this.typicalWaitMs.set(kind, prev === undefined ? sample : prev * 0.7 + sample * 0.3);
  }

  /** Submits the CSR (RFC 8555 §7.4: `csr` is base64url DER) and returns the updated order. */
  async finalize(finalizeUrl: string, csrDer: Buffer, signal?: AbortSignal): Promise<AcmeOrder> {
    const res = await this.post(finalizeUrl, { csr: csrDer.toString('base64url') }, { signal });
    return asOrder(parseJson(res, finalizeUrl), finalizeUrl);
  }

  /**
   * Downloads the certificate chain (RFC 8555 §7.4.2). With `preferredChain`, when no issuer
   * common name in the default chain matches, the `rel="alternate"` chains are tried in order;
   * the default chain is returned when none matches.
   */
  async downloadCertificate(certUrl: string, opts: DownloadOptions = {}, signal?: AbortSignal): Promise<DownloadedCertificate> {
    const accept = 'application/pem-certificate-chain';
    const res = await this.post(certUrl, undefined, { signal, accept });
    const pem = res.body.toString('utf8');
    const alternates = linksWithRel(res.links, 'alternate', certUrl);
    if (opts.preferredChain !== undefined && !chainHasIssuer(pem, opts.preferredChain)) {
      for (const alt of alternates) {
        const altRes = await this.post(alt, undefined, { signal, accept });
        const altPem = altRes.body.toString('utf8');
        if (chainHasIssuer(altPem, opts.preferredChain)) return { pem: altPem, url: alt, alternates };
      }
    }
    return { pem, url: certUrl, alternates };
  }

  /**
   * Revokes a certificate (RFC 8555 §7.6), signed by the account key (`kid`) or, with
   * `certificateKey`, by the certificate's own key (`jwk` header).
   */
  async revokeCertificate(certDer: Buffer, opts: RevokeOptions = {}, signal?: AbortSignal): Promise<void> {
    const payload: Record<string, unknown> = { certificate: certDer.toString('base64url') };
    if (opts.reason !== undefined) payload.reason = opts.reason;
    await this.withDirectory(async (dir) => {
      await this.post(dir.revokeCert, payload, opts.certificateKey
        ? { signal, key: opts.certificateKey, useJwk: true }
        : { signal });
    }, signal);
  }

  // ---------------------------------------------------------------- ARI (RFC 9773)

  /**
   * Fetches renewal information for an ARI certificate ID (see ariCertificateId): an
   * unauthenticated GET of `<renewalInfo>/<certId>` (RFC 9773 §4.1). Throws AcmeStateError
   * when the CA's directory has no `renewalInfo`.
   */
  async getRenewalInfo(certId: string, signal?: AbortSignal): Promise<AcmeRenewalInfo> {
    return await this.withDirectory(async (dir) => {
      if (!dir.renewalInfo) throw new AcmeStateError('the CA offers no renewalInfo (RFC 9773)');
      const url = `${dir.renewalInfo.replace(/\/+$/, '')}/${certId}`;
      const res = await this.http.request({ method: 'GET', url, headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
      this.nonces.push(res.headers['replay-nonce']);
      if (res.status >= 400) throw problemFromResponse(res, url);
      return parseRenewalInfo(parseJson(res, url), url, parseRetryAfter(res.headers['retry-after']));
    }, signal);
  }

  // ---------------------------------------------------------------- challenge values (§8)

  /** RFC 8555 §8.1 key authorization for `token` under the current account key. */
  keyAuthorization(token: string): string {
    return keyAuthorizationOf(token, this.thumbprint);
  }

  /** RFC 8555 §8.3 path for an http-01 token. */
  http01Path(token: string): string {
    return http01PathOf(token);
  }

  /** RFC 8555 §8.4 TXT value for a dns-01 token under the current account key. */
  dns01TxtValue(token: string): string {
    return dns01TxtValueOf(token, this.thumbprint);
  }
}

// ---------------------------------------------------------------- helpers

/** Builds the AcmeProblemError for a ≥ 400 response. */
function problemFromResponse(res: AcmeHttpResponse, url: string): AcmeProblemError {
  let doc: AcmeProblemDocument | undefined;
  try {
    doc = asProblemDocument(JSON.parse(res.body.toString('utf8')));
  } catch {
    doc = undefined;
  }
  if (!doc) {
    const text = res.body.toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
    doc = { type: 'about:blank', detail: `HTTP ${res.status}${text ? `: ${text}` : ''}` };
  }
  const retryAfter = parseRetryAfter(res.headers['retry-after']);
  return new AcmeProblemError(doc, { status: res.status, url, ...(retryAfter ? { retryAfter } : {}) });
}

function parseJson(res: AcmeHttpResponse, url: string): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new AcmeProtocolError(`HTTP ${res.status} answer is not JSON`, url);
  }
}

function locationOf(res: AcmeHttpResponse, url: string): string {
  const loc = res.headers.location;
  if (!loc) throw new AcmeProtocolError(`HTTP ${res.status} answer lacks a Location header`, url);
  return new URL(loc, url).toString();
}

function toRfc3339(v: string | Date): string {
  return typeof v === 'string' ? v : v.toISOString();
}

function validationErrorOf(authz: AcmeAuthorization, url: string): AcmeValidationError {
  const failed = authz.challenges.find((c) => c.error) ?? authz.challenges.find((c) => c.status === 'invalid');
  return new AcmeValidationError({
    authorizationUrl: url,
    identifier: authz.identifier,
    ...(failed ? { challengeType: failed.type } : {}),
    ...(failed?.error ? { problem: failed.error } : {}),
  });
}

/** True when any certificate in the PEM chain has an issuer CN equal to `issuerCn`. */
function chainHasIssuer(pem: string, issuerCn: string): boolean {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  for (const block of blocks) {
    let issuer: string;
    try {
      issuer = new X509Certificate(block).issuer;
    } catch {
      continue;
    }
    for (const line of issuer.split('\n')) {
      for (const part of line.split('+')) {
        if (part.startsWith('CN=') && part.slice(3) === issuerCn) return true;
      }
    }
  }
  return false;
}

/** Sleeps `ms`, rejecting with the signal's reason (like every other abort here) if it aborts. */
function delayFor(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Awaits `p`, rejecting early with the signal's reason if it aborts. */
async function raceSignal<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return await p;
  if (signal.aborted) throw signal.reason;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
