/**
 * The request a piece of work runs for: who and from which address. Events appended while a
 * request runs record its source address without every function passing it along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What is known about the current request. */
export interface RequestInfo {
  /** The client address (Fastify's `req.ip`, which honours `trustProxy` when configured). */
  address: string;
}

const storage = new AsyncLocalStorage<RequestInfo>();

/** Runs `fn` as part of a request from `info`. */
export function runInRequest<T>(info: RequestInfo, fn: () => T): T {
  return storage.run(info, fn);
}

/** The current request, or undefined for the service's own work (scheduler, workers). */
export function currentRequest(): RequestInfo | undefined {
  return storage.getStore();
}
