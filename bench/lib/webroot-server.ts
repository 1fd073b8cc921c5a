/**
 * A minimal http-01 responder for clients that only write files (uacme's hook, `lego
 * --http.webroot`, `certbot --webroot`): serves `<dir>/.well-known/acme-challenge/<token>` on
 * 127.0.0.1:<port>, whatever the Host header, so several client processes can validate at once
 * through the one port Pebble's VA connects to.
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const PREFIX = '/.well-known/acme-challenge/';

/** A running {@link startWebrootServer}. */
export interface WebrootServer {
  /** Requests answered with 200 so far. */
  served(): number;
  stop(): Promise<void>;
}

/** Listens on 127.0.0.1:`port`, serving challenge files from `dir`. */
export async function startWebrootServer(dir: string, port: number): Promise<WebrootServer> {
  let served = 0;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const token = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : '';
    if (req.method !== 'GET' || !/^[A-Za-z0-9_-]+$/.test(token)) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(dir, '.well-known', 'acme-challenge', token)).then(
      (body) => {
        served++;
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  let stopped: Promise<void> | undefined;
  return {
    served: () => served,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
