/**
 * Builds the ACME client of a provider: opens its account key from the vault and trusts the
 * provider's own CA certificates where given. Clients are cached per provider and account key,
 * so their directory and nonce pool are reused across jobs.
 */
import { createPrivateKey } from 'node:crypto';
import type { LookupFunction } from 'node:net';
import { AcmeClient, createHttpTransport } from '../acme/index.js';
import type { KeyVault } from '../store/key-vault.js';
import type { ProviderRow } from '../store/repositories.js';

/** The vault context of a provider's account key. */
export const accountKeyContext = (providerId: string) => `providers/${providerId}/account_key`;
/** The vault context of a provider's EAB HMAC key. */
export const eabContext = (providerId: string) => `providers/${providerId}/eab_secret`;

/** Hands out one cached client per provider. */
export class AcmeClients {
  readonly #cache = new Map<string, { fingerprint: string; client: AcmeClient }>();

  /** `lookup` vets every connection's address (the private-address rule: {@link guardedLookup} of address-policy.ts). */
  constructor(private readonly vault: KeyVault, private readonly opts: { timeoutMs?: number; onRequest?: (method: string, url: string, status: number) => void; lookup?: LookupFunction } = {}) {}

  /** The client for `provider` (its account URL set once known). */
  for(provider: ProviderRow): AcmeClient {
    const fingerprint = [provider.server, provider.account_key_enc, provider.account_url ?? '', provider.ca_certificates ?? ''].join('|');
    const hit = this.#cache.get(provider.id);
    if (hit && hit.fingerprint === fingerprint) return hit.client;
    const accountKey = createPrivateKey(this.vault.openText(provider.account_key_enc, accountKeyContext(provider.id)));
    const http = createHttpTransport({
      ...(provider.ca_certificates ? { caCertificates: provider.ca_certificates } : {}),
      timeoutMs: this.opts.timeoutMs ?? 30_000,
      ...(this.opts.onRequest ? { onRequest: this.opts.onRequest } : {}),
      ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
    });
    const client = new AcmeClient({
      directoryUrl: provider.server,
      accountKey,
      http,
      // Start looking soon and double the pause each time: a local or fast CA answers within the
      // first looks, a slow one is asked 6 times in its first 3 s (Retry-After always wins).
      pollIntervalMs: 50,
      pollBackoff: 2,
      ...(provider.account_url ? { accountUrl: provider.account_url } : {}),
    });
    this.#cache.set(provider.id, { fingerprint, client });
    return client;
  }

  /** Forgets a provider's client (after deletion or key change). */
  forget(providerId: string): void {
    this.#cache.delete(providerId);
  }
}
