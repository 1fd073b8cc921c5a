// Light structural checks of server responses (RFC 8555 §7.1), so the rest of the client can
// rely on the members it reads. Unknown members are kept.
import { AcmeProtocolError } from './problem.js';
import type { AcmeAccount, AcmeAuthorization, AcmeChallenge, AcmeOrder } from './types.js';

function obj(v: unknown, what: string, url: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AcmeProtocolError(`${what} is not a JSON object`, url);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, what: string, url: string): void {
  if (typeof o[key] !== 'string') throw new AcmeProtocolError(`${what} lacks "${key}"`, url);
}

/** Checks an account object (RFC 8555 §7.1.2). */
export function asAccount(v: unknown, url: string): AcmeAccount {
  const o = obj(v, 'account', url);
  str(o, 'status', 'account', url);
  return o as unknown as AcmeAccount;
}

/** Checks an order object (RFC 8555 §7.1.3). */
export function asOrder(v: unknown, url: string): AcmeOrder {
  const o = obj(v, 'order', url);
  str(o, 'status', 'order', url);
  str(o, 'finalize', 'order', url);
  if (!Array.isArray(o.authorizations) || !o.authorizations.every((a) => typeof a === 'string')) {
    throw new AcmeProtocolError('order lacks "authorizations"', url);
  }
  if (!Array.isArray(o.identifiers)) throw new AcmeProtocolError('order lacks "identifiers"', url);
  return o as unknown as AcmeOrder;
}

/** Checks a challenge object (RFC 8555 §7.1.5). */
export function asChallenge(v: unknown, url: string): AcmeChallenge {
  const o = obj(v, 'challenge', url);
  str(o, 'type', 'challenge', url);
  str(o, 'url', 'challenge', url);
  str(o, 'status', 'challenge', url);
  return o as unknown as AcmeChallenge;
}

/** Checks an authorization object (RFC 8555 §7.1.4). */
export function asAuthorization(v: unknown, url: string): AcmeAuthorization {
  const o = obj(v, 'authorization', url);
  str(o, 'status', 'authorization', url);
  const id = obj(o.identifier, 'authorization identifier', url);
  str(id, 'type', 'authorization identifier', url);
  str(id, 'value', 'authorization identifier', url);
  if (!Array.isArray(o.challenges)) throw new AcmeProtocolError('authorization lacks "challenges"', url);
  for (const c of o.challenges) asChallenge(c, url);
  return o as unknown as AcmeAuthorization;
}
