// Killing the server in the middle of an order: the restarted server finishes that same order
// (one newOrder at the CA, one order row, one certificate stored).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDatabase } from '../../src/store/database.js';
import { startPebble, type PebbleHandle } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { startServeProcess, type ServeProcess } from '../harness/serve-process.js';

let pebble: PebbleHandle | undefined;
let proc: ServeProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'ck-restart-'));
after(async () => {
  await proc?.stop();
  await pebble?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test('a server killed mid-order resumes the same order after restart', async () => {
  // Pebble's VA connects to this proxy, which parks validation requests until we let them through
  // to certkeeper's http-01 responder: the kill is sure to land while the order is in flight.
  const vaPort = await freePort();
  const http01Port = await freePort();
  let parked: { req: IncomingMessage; res: ServerResponse }[] = [];
  let holding = true;
  let sawValidation!: () => void;
  const validationSeen = new Promise<void>((r) => (sawValidation = r));
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const up = request({ host: '127.0.0.1', port: http01Port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    up.end();
  };
  const proxy = createServer((req, res) => {
    if (holding) {
      parked.push({ req, res });
      sawValidation();
    } else forward(req, res);
  });
  await new Promise<void>((r) => proxy.listen(vaPort, '127.0.0.1', r));
  after(() => new Promise<void>((r) => proxy.close(() => r())));

  pebble = await startPebble({ httpPort: vaPort });
  const apiPort = await freePort();
  const token = randomBytes(16).toString('hex');
  const env = {
    CERTKEEPER_DATA_DIR: dataDir,
    CERTKEEPER_LISTEN: `127.0.0.1:${apiPort}`,
    CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${http01Port}`,
    CERTKEEPER_ADMIN_TOKEN: token,
    CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1',
  };
  const api = `http://127.0.0.1:${apiPort}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    return { status: res.status, body: (await res.json()) as any };
  };
  proc = await startServeProcess(env, api);

  const provider = await call('POST', '/api/v1/providers', { properties: { name: 'pebble', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem } });
  assert.equal(provider.status, 202);
  for (let i = 0; i < 200 && (await call('GET', `/api/v1/providers/${provider.body.id}`)).body.metadata.state !== 'AVAILABLE'; i++) await new Promise((r) => setTimeout(r, 50));
  const ac = await call('POST', '/api/v1/auto-certificates', { properties: { name: 'crash', provider: 'pebble', commonName: 'crash.e2e.test', subjectAlternativeNames: ['www.crash.e2e.test'] } });
  assert.equal(ac.status, 202);

  await validationSeen;
  await proc.kill();
  // Pebble logs every POST /order-plz, including those it refused for a bad nonce (5 % of them):
  // count the orders it created through the events certkeeper writes for each accepted newOrder.
  const ordersCreated = async () => (await call('GET', `/api/v1/events?filter.type=certificate.order_created&filter.subjectId=${ac.body.id}`)).body.total as number;

  proc = await startServeProcess(env, api);
  assert.equal(await ordersCreated(), 1, proc.output());
  holding = false;
  for (const p of parked) forward(p.req, p.res);
  parked = [];

  let state: any;
  for (let i = 0; i < 600; i++) {
    state = (await call('GET', `/api/v1/auto-certificates/${ac.body.id}`)).body;
    if (state.metadata.state === 'AVAILABLE' || state.metadata.state === 'FAILED') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(state.metadata.state, 'AVAILABLE', state.metadata.message);
  assert.equal(await ordersCreated(), 1, 'one order at the CA');
  const certs = await call('GET', '/api/v1/certificates');
  assert.equal(certs.body.total, 1, 'one certificate stored');
  // The server's store, SQLite in the data dir or the PostgreSQL database the harness made for it.
  const db = await openDatabase(proc.databaseUrl ?? `sqlite:${join(dataDir, 'certkeeper.db')}`);
  try {
    const { n } = await db.kysely.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n), 1, 'one order row');
  } finally {
    await db.close();
  }
});
