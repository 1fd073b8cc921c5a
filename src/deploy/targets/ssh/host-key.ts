/**
 * The pinned host key of an `ssh` target. There is no trust on first use: the key (or its SHA256
 * fingerprint) MUST be configured, and a server that presents another key is refused before any
 * credential is sent. Key blobs and fingerprints are as in RFC 4253 §6.6 and OpenSSH's
 * `ssh-keygen -lf` (base64 of SHA-256 of the blob, without padding).
 */
import { createHash } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';

/** What `settings.hostKey` pins: a whole public key, or only its fingerprint. */
export type HostKeyPin =
  | { kind: 'key'; type: string; blob: Buffer }
  | { kind: 'fingerprint'; sha256: string };

const KEY_TYPES: Record<string, ServerHostKeyAlgorithm[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  // An RSA key signs with SHA-2 (RFC 8332) where both sides can; ssh-rsa (SHA-1) last.
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** The key type named inside a public key blob (its first SSH string), or undefined. */
export function blobKeyType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** The OpenSSH fingerprint of a key blob: `SHA256:<base64, no padding>`. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Reads `settings.hostKey`: `<type> <base64> [comment]` (a line of `ssh_host_*_key.pub`, or of
 * `ssh-keyscan` without the host name) or `SHA256:<base64>`. Returns undefined when it is neither.
 */
export function parseHostKey(text: string): HostKeyPin | undefined {
  const t = text.trim();
  const fp = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(t);
  if (fp) return { kind: 'fingerprint', sha256: `SHA256:${fp[1]}` };
  const m = /^(\S+)\s+([A-Za-z0-9+/]+={0,2})(?:\s.*)?$/s.exec(t);
  if (!m) return undefined;
  const type = m[1]!;
  if (!(type in KEY_TYPES)) return undefined;
  const blob = Buffer.from(m[2]!, 'base64');
  // The blob names its own type: a pasted key whose two halves disagree is a mistake.
  if (blobKeyType(blob) !== type) return undefined;
  return { kind: 'key', type, blob };
}

/** True when the server's key blob is the pinned one. */
export function hostKeyMatches(pin: HostKeyPin, blob: Buffer): boolean {
  if (pin.kind === 'key') return pin.blob.equals(blob);
  return fingerprintOf(blob) === pin.sha256;
}

/**
 * The host key algorithms to offer: with a whole key pinned, only those of its type, so a server
 * with several host keys presents the pinned one. With a fingerprint, the defaults (the server
 * then presents its preferred key, usually Ed25519: pin the fingerprint of that key).
 */
export function hostKeyAlgorithms(pin: HostKeyPin): ServerHostKeyAlgorithm[] | undefined {
  return pin.kind === 'key' ? KEY_TYPES[pin.type] : undefined;
}

/** The words to say which key a server presented (type and fingerprint; public facts). */
export function describeHostKey(blob: Buffer): string {
  return `${blobKeyType(blob) ?? 'unknown type'} ${fingerprintOf(blob)}`;
}
