/**
 * The built-in http-01 responder (RFC 8555 §8.3): answers `GET /.well-known/acme-challenge/<token>`
 * with the key authorization of an order in flight, read from the database so any instance can
 * answer for any order. Everything else is 404.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Http01Tokens } from '../store/http01-tokens.js';

const PREFIX = '/.well-known/acme-challenge/';
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** Creates (does not start) the responder server. */
export function createHttp01Responder(tokens: Http01Tokens, logger: Logger): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const token = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : '';
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !TOKEN.test(token)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    tokens.lookup(token).then((keyAuthorization) => {
      if (!keyAuthorization) {
        logger.debug({ token, host: req.headers.host }, 'http-01 request for an unknown token');
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(keyAuthorization) });
      res.end(req.method === 'HEAD' ? undefined : keyAuthorization);
    }, (err) => {
      logger.error({ err }, 'http-01 token lookup failed');
      res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable\n');
    });
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;
  return server;
}
