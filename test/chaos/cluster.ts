/**
 * Small helpers for tests that run several real `certkeeper serve` processes against one database
 * and one Pebble: the processes themselves (SIGKILL and restart on the same data dir), a
 * round-robin HTTP proxy in front of their http-01 responders (Pebble's VA connects to one port only),
 * a REST client, and the reading of Pebble's log. Used by test/chaos/multi-instance.chaos.ts and
 * test/e2e/sqlite-two-instances.test.ts. Every wait here is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(import.meta.dirname, '..', '..');

/** Builds dist/ when src/ is newer (the processes run `node bin/certkeeper.js` over dist/). */
export function ensureBuilt(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-built.mjs')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  if (r.status !== 0) throw new Error(`scripts/ensure-built.mjs failed (exit ${r.status ?? r.signal})`);
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** One `certkeeper serve` process that can be killed and started again with the same settings. */
export class Instance {
  child: ChildProcess | null = null;
  starts = 0;
  readonly #log: WriteStream;
  #exited: Promise<void> = Promise.resolve();

  /**
   * @param env the CERTKEEPER_* settings; inherited CERTKEEPER_* variables are dropped so a
   *            developer's exported settings cannot point the process elsewhere.
   */
  constructor(readonly name: string, readonly env: Record<string, string>, readonly apiUrl: string, readonly logFile: string) {
    this.#log = createWriteStream(logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process and waits (at most `timeoutMs`) until `/healthz` answers; throws if it exits first. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CERTKEEPER_')) env[k] = v;
    Object.assign(env, { CERTKEEPER_LOG_LEVEL: 'info', ...this.env });
    this.starts++;
    this.#log.write(`\n===== ${new Date().toISOString()} ${this.name}: start #${this.starts} =====\n`);
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'certkeeper.js'), 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    let tail = '';
    const onData = (d: Buffer) => {
      this.#log.write(d);
      tail = (tail + d.toString('utf8')).slice(-4000);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.#exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
      live.delete(child);
      this.#log.write(`===== ${new Date().toISOString()} ${this.name}: exited (${code ?? signal}) =====\n`);
      resolve();
    }));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode}) during start:\n${tail}`);
      try {
        const res = await fetch(`${this.apiUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
        if (res.ok) return;
      } catch { /* not up yet */ }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${this.name} did not answer /healthz within ${timeoutMs / 1000} s:\n${tail}`);
      }
      await sleep(100);
    }
  }

  /** Starts, trying again (the database may be away for a moment) until `timeoutMs` has passed. */
  async startWithRetry(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.start(Math.max(5_000, Math.min(30_000, deadline - Date.now())));
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        this.#log.write(`===== start attempt ${attempt} failed: ${(err as Error).message.split('\n')[0]}; trying again =====\n`);
        await sleep(1_000);
      }
    }
  }

  /** SIGKILL, then wait for the exit. */
  async kill(): Promise<void> {
    if (this.running) this.child!.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, SIGKILL after `graceMs`; then closes the log. */
  async stop(graceMs = 30_000): Promise<void> {
    if (this.running) {
      this.child!.kill('SIGTERM');
      const inTime = await Promise.race([this.#exited.then(() => true), sleep(graceMs, false, { ref: false })]);
      if (!inTime) await this.kill();
    }
    await this.#exited;
  }

  closeLog(): Promise<void> {
    return new Promise((resolve) => this.#log.end(resolve));
  }
}

/**
 * An HTTP load balancer on `port` in front of the instances' http-01 responders, as docs/operations.md
 * describes the deployment: each request goes to the next instance in turn, and when that instance
 * fails before answering (refused, reset, killed mid-request) the request goes to the next one —
 * what nginx does by default (`proxy_next_upstream error timeout`). Answers are passed on as they
 * are (a 404 or 503 is not retried); 502 when no instance answered.
 */
export class RoundRobinProxy {
  readonly #server: HttpServer;
  #next = 0;
  /** Requests answered by an instance; of them, those that needed another instance; those none answered. */
  forwarded = 0;
  retried = 0;
  failed = 0;
  /** Requests not answered 200 (`status` 0: no instance answered), with the time they arrived. */
  readonly notOk: { at: number; status: number; path: string }[] = [];

  constructor(readonly port: number, readonly backends: number[]) {
    this.#server = createHttpServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 1_000;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const arrived = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const first = this.#next++ % this.backends.length;
      const attempt = (i: number) => {
        if (i >= this.backends.length) {
          this.failed++;
          this.notOk.push({ at: arrived, status: 0, path: req.url ?? '' });
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('no instance answered\n');
          return;
        }
        let done = false;
        const next = () => {
          if (done) return;
          done = true;
          attempt(i + 1);
        };
        const up = httpRequest({
          host: '127.0.0.1', port: this.backends[(first + i) % this.backends.length]!, method: req.method, path: req.url,
          headers: req.headers, agent: false, timeout: 10_000,
        }, (upRes) => {
          done = true;
          this.forwarded++;
          if (i > 0) this.retried++;
          if (upRes.statusCode !== 200) this.notOk.push({ at: arrived, status: upRes.statusCode ?? 0, path: req.url ?? '' });
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('error', () => res.destroy());
        });
        up.on('timeout', () => up.destroy(new Error('timeout')));
        up.on('error', next);
        up.end(body);
      };
      attempt(0);
    });
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** A JSON response. */
export interface ApiResponse<T = any> {
  status: number;
  body: T;
  text: string;
}

/** Calls `/api/v1` of an instance with a bearer token (each request bounded to 15 s). */
export async function api<T = any>(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed as T, text };
}

/** One certificate Pebble issued ("Issued certificate serial <hex> for order <id>"). */
export interface PebbleIssue {
  serial: string;
  orderId: string;
}

/** The certificates Pebble's log says it issued, in log order. */
export function pebbleIssued(log: string): PebbleIssue[] {
  return [...log.matchAll(/Issued certificate serial ([0-9a-fA-F]+) for order (\S+)/g)].map((m) => ({ serial: m[1]!, orderId: m[2]! }));
}

/** Requests Pebble logged for one endpoint path prefix ("POST /order-plz"), badNonce refusals included. */
export function pebbleRequests(log: string, method: string, pathPrefix: string): number {
  let n = 0;
  for (const m of log.matchAll(/ (GET|HEAD|POST) (\S+) -> calling handler\(\)/g)) if (m[1] === method && m[2]!.startsWith(pathPrefix)) n++;
  return n;
}

/** The id at the end of an ACME order URL (`…/my-order/<id>`). */
export function orderIdOf(orderUrl: string): string {
  return orderUrl.replace(/\/+$/, '').split('/').pop() ?? '';
}

/** Same serial number whatever the case and leading zeros. */
export function sameSerial(a: string, b: string): boolean {
  return BigInt(`0x${a}`) === BigInt(`0x${b}`);
}

/** Small deterministic PRNG (mulberry32), so a chaos run can be repeated with its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
