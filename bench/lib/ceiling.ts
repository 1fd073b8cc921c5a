/**
 * Pebble's own ceiling: the fastest client path there is — certkeeper's RFC 8555 client
 * (src/acme, no storage, no scheduler, no REST) in a tight loop with many orders in flight,
 * against a Pebble started with PEBBLE_VA_ALWAYS_VALID=1 so no challenge is really validated.
 * What it reaches is the limit of Pebble on this machine, not of any client.
 */
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AcmeClient, generateAccountKey } from '../../src/acme/index.js';
import { createCsr } from '../../src/pki/csr.js';
import { runLanes } from './lanes.js';

/** A registered account at the ceiling Pebble. */
export interface CeilingClient {
  client: AcmeClient;
  /** Wall time of the account registration (excluded from the figures). */
  registrationMs: number;
}

/** Per-request limit: a request Pebble leaves unanswered this long fails the burst. */
const REQUEST_TIMEOUT_MS = 5_000;

/** Registers a fresh P-256 account; polls start after 20 ms and grow by 1.5× per poll. */
export async function registerCeilingClient(directoryUrl: string, caCertificates: string, signal: AbortSignal): Promise<CeilingClient> {
  const t0 = performance.now();
  const client = new AcmeClient({
    directoryUrl,
    accountKey: await generateAccountKey('ES256'),
    caCertificates,
    timeoutMs: REQUEST_TIMEOUT_MS,
    pollIntervalMs: 20,
    pollBackoff: 1.5,
    maxPollIntervalMs: 500,
  });
  await client.registerAccount({ termsOfServiceAgreed: true }, signal);
  return { client, registrationMs: performance.now() - t0 };
}

/**
 * One certificate the shortest way (RFC 8555 §7.4): newOrder, the authorization (for the
 * challenge URL), the challenge, order polls until `ready`, finalize with a fresh P-256 key's
 * CSR, order polls until `valid`, download. Resolves with its wall time in ms.
 */
async function issueRaw(client: AcmeClient, name: string, timeoutMs: number, signal: AbortSignal): Promise<number> {
  const t0 = performance.now();
  const { url, order } = await client.newOrder({ identifiers: [{ type: 'dns', value: name }] }, signal);
  for (const authzUrl of order.authorizations) {
    const authz = await client.getAuthorization(authzUrl, signal);
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'http-01') ?? authz.challenges[0];
    if (!challenge) throw new Error(`${name}: the authorization offers no challenge`);
    await client.respondToChallenge(challenge.url, signal);
  }
  await client.waitForOrder(url, ['ready'], { timeoutMs }, signal);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let final = await client.finalize(order.finalize, await createCsr([name], privateKey), signal);
  if (final.status !== 'valid') final = await client.waitForOrder(url, ['valid'], { timeoutMs }, signal);
  if (!final.certificate) throw new Error(`${name}: order is valid but has no certificate URL`);
  const cert = await client.downloadCertificate(final.certificate, {}, signal);
  if (!cert.pem.includes('BEGIN CERTIFICATE')) throw new Error(`${name}: the download is not a PEM chain`);
  return performance.now() - t0;
}

/**
 * Issues one certificate per name with `concurrency` in flight. Resolves with the wall time of
 * the whole burst and each certificate's completion time from the burst's start, in ms. A request
 * left unanswered for 5 s fails the burst (the caller runs it again on a fresh Pebble).
 */
export async function ceilingBurst(
  ceiling: CeilingClient,
  names: readonly string[],
  concurrency: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ totalMs: number; latenciesMs: number[] }> {
  const started = performance.now();
  const latenciesMs = await runLanes(names.length, concurrency, async (i) => {
    signal.throwIfAborted();
    await issueRaw(ceiling.client, names[i]!, timeoutMs, signal);
    return performance.now() - started;
  });
  return { totalMs: performance.now() - started, latenciesMs };
}
