// RFC 8555 §6.5 anti-replay nonces: every response's Replay-Nonce feeds the pool, each nonce is
// used once, and newNonce is asked only when the pool is empty.

/** A bounded pool of unused nonces; the newest is handed out first (least likely to be stale). */
export class NoncePool {
  private readonly nonces: string[] = [];

  constructor(private readonly capacity = 16) {}

  /** Adds a nonce from a `Replay-Nonce` header; ignores values that are not base64url (§6.5.1). */
  push(nonce: string | undefined): void {
    if (nonce === undefined || !/^[A-Za-z0-9_-]+$/.test(nonce)) return;
    if (this.nonces.includes(nonce)) return;
    this.nonces.push(nonce);
    if (this.nonces.length > this.capacity) this.nonces.shift();
  }

  /** Removes and returns a nonce, or undefined when the pool is empty. */
  take(): string | undefined {
    return this.nonces.pop();
  }

  /** Forgets every nonce (e.g. after the directory moved). */
  clear(): void {
    this.nonces.length = 0;
  }

  /** Number of unused nonces held. */
  get size(): number {
    return this.nonces.length;
  }
}
