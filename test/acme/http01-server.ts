// A tiny http-01 responder for tests: serves registered key authorizations on 127.0.0.1.
import { createServer, type Server } from 'node:http';

/** A running responder; `set`/`delete` change what it serves. */
export interface Http01Server {
  set(token: string, body: string): void;
  delete(token: string): void;
  /** Paths requested so far (e.g. to see that the CA came). */
  hits: string[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` and answers `/.well-known/acme-challenge/<token>`. */
export async function startHttp01Server(port: number): Promise<Http01Server> {
  const bodies = new Map<string, string>();
  const hits: string[] = [];
  const prefix = '/.well-known/acme-challenge/';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.push(path);
    const body = path.startsWith(prefix) ? bodies.get(path.slice(prefix.length)) : undefined;
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    set: (token, body) => void bodies.set(token, body),
    delete: (token) => void bodies.delete(token),
    hits,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
