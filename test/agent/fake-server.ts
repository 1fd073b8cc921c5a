// A small fake of the certkeeper server's agent endpoints (POST /api/v1/agent/enrol, heartbeat,
// GET work, results, http-01 ack, CSR), on 127.0.0.1. It checks method, path, headers and bodies
// as the real server would, records every call, and answers problem+json errors.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type {
  AgentCsrWork, AgentDeploymentResult, AgentDeploymentWork, AgentEnrolRequest, AgentHeartbeat, AgentHttp01Work,
} from '../../src/deploy/types.js';

/** One request the fake received. */
export interface FakeCall {
  method: string;
  path: string;
  /** The bearer token, if any. */
  bearer?: string;
  body?: unknown;
  status: number;
  at: number;
}

/** The fake; tests change its public fields to steer it. */
export class FakeAgentServer {
  enrolmentToken = 'cke_enrol_0123456789';
  credential = 'cka_credential_abcdefghij';
  /** Answers 401 to the credential when true (an admin revoked it). */
  revoked = false;
  /** The http-01 set handed out with every poll. */
  http01: AgentHttp01Work[] = [];
  /** Deployments and CSR requests handed out once each, in order. */
  pendingDeployments: AgentDeploymentWork[] = [];
  pendingCsr: AgentCsrWork[] = [];
  /** The next N work polls answer 503. */
  failWork = 0;
  /** Status for a deployment result (default 204). */
  resultStatus: (id: string) => number = () => 204;

  readonly calls: FakeCall[] = [];
  readonly results = new Map<string, AgentDeploymentResult>();
  readonly acks: string[][] = [];
  readonly csrs: { id: string; csr: string }[] = [];
  readonly heartbeats: AgentHeartbeat[] = [];
  readonly enrolments: AgentEnrolRequest[] = [];
  /** Anything the real server would have refused as malformed. */
  readonly protocolErrors: string[] = [];

  private server: Server | undefined;
  private enrolled = false;
  url = '';

  /** Starts on 127.0.0.1; with `tls`, over HTTPS (the URL then names `localhost`). */
  async start(tls?: { cert: string; key: string }): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    this.server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.url = tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  /** The calls to `path` (prefix match). */
  callsTo(path: string): FakeCall[] {
    return this.calls.filter((c) => c.path.startsWith(path));
  }

  /** Resolves when `predicate` holds (checked every 20 ms), or rejects after `timeoutMs`. */
  async waitFor(what: string, predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; calls: ${this.calls.map((c) => `${c.method} ${c.path} ${c.status}`).join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private problem(res: ServerResponse, status: number, title: string, detail: string): number {
    res.writeHead(status, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title, status, detail }));
    return status;
  }

  private json(res: ServerResponse, status: number, body: unknown): number {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return status;
  }

  private noContent(res: ServerResponse): number {
    res.writeHead(204).end();
    return 204;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
    let body: unknown;
    if (raw) {
      if (!String(req.headers['content-type']).startsWith('application/json')) this.protocolErrors.push(`${req.method} ${url.pathname}: content-type ${req.headers['content-type']}`);
      try {
        body = JSON.parse(raw);
      } catch {
        this.protocolErrors.push(`${req.method} ${url.pathname}: body is not JSON`);
      }
    }
    const call: FakeCall = { method: req.method ?? '', path: url.pathname + url.search, ...(bearer ? { bearer } : {}), ...(body !== undefined ? { body } : {}), status: 0, at: Date.now() };
    this.calls.push(call);
    call.status = await this.route(req.method ?? '', url, bearer, body, res);
  }

  private async route(method: string, url: URL, bearer: string | undefined, body: unknown, res: ServerResponse): Promise<number> {
    const path = url.pathname;
    if (method === 'POST' && path === '/api/v1/agent/enrol') {
      const b = body as AgentEnrolRequest;
      if (!b || typeof b.token !== 'string' || typeof b.hostname !== 'string' || typeof b.version !== 'string' || typeof b.platform !== 'string') {
        this.protocolErrors.push('enrol body');
        return this.problem(res, 400, 'Bad Request', 'token, hostname, version and platform are required');
      }
      this.enrolments.push(b);
      if (b.token !== this.enrolmentToken || this.enrolled) {
        return this.problem(res, 401, 'Unauthorized', 'this enrolment token is unknown, used or expired; ask an admin for a new one');
      }
      this.enrolled = true;
      return this.json(res, 200, { agentId: 'agent-1', name: 'web-1', credential: this.credential });
    }
    if (bearer !== this.credential || this.revoked) return this.problem(res, 401, 'Unauthorized', 'the agent credential is unknown or revoked');

    if (method === 'POST' && path === '/api/v1/agent/heartbeat') {
      const b = body as AgentHeartbeat;
      if (!b || !b.hostname || !b.version || !/^[a-z0-9]+-[a-z0-9]+$/.test(b.platform) || typeof b.http01 !== 'string') this.protocolErrors.push(`heartbeat body ${JSON.stringify(b)}`);
      this.heartbeats.push(b);
      return this.noContent(res);
    }
    if (method === 'GET' && path === '/api/v1/agent/work') {
      const wait = Number(url.searchParams.get('wait') ?? '0');
      if (!Number.isInteger(wait) || wait < 0 || wait > 30) this.protocolErrors.push(`wait=${url.searchParams.get('wait')}`);
      if (this.failWork > 0) {
        this.failWork--;
        return this.problem(res, 503, 'Service Unavailable', 'database is restarting');
      }
      const hasWork = () => this.pendingDeployments.length > 0 || this.pendingCsr.length > 0;
      const deadline = Date.now() + wait * 1000;
      while (!hasWork() && Date.now() < deadline && !res.destroyed && !res.socket?.destroyed) await new Promise((r) => setTimeout(r, 20));
      const deployments = this.pendingDeployments.splice(0);
      const csr = this.pendingCsr.splice(0);
      return this.json(res, 200, { agent: { id: 'agent-1', name: 'web-1' }, deployments, http01: this.http01, csr, leaseSeconds: 600 });
    }
    const result = /^\/api\/v1\/agent\/deployments\/([^/]+)\/result$/.exec(path);
    if (method === 'POST' && result) {
      const b = body as AgentDeploymentResult;
      if (!b || (b.state !== 'DEPLOYED' && b.state !== 'FAILED') || typeof b.message !== 'string') this.protocolErrors.push(`result body ${JSON.stringify(b)}`);
      const id = decodeURIComponent(result[1]!);
      const status = this.resultStatus(id);
      if (status === 409) return this.problem(res, 409, 'Conflict', 'this deployment was superseded');
      this.results.set(id, b);
      return this.noContent(res);
    }
    if (method === 'POST' && path === '/api/v1/agent/http-01/ack') {
      const b = body as { tokens?: unknown };
      if (!b || !Array.isArray(b.tokens) || !b.tokens.every((t) => typeof t === 'string')) this.protocolErrors.push('ack body');
      this.acks.push(b.tokens as string[]);
      return this.noContent(res);
    }
    const csr = /^\/api\/v1\/agent\/csr\/([^/]+)$/.exec(path);
    if (method === 'POST' && csr) {
      const b = body as { csr?: unknown };
      if (!b || typeof b.csr !== 'string' || Object.keys(b).length !== 1) this.protocolErrors.push(`csr body keys ${Object.keys(b ?? {}).join(',')}`);
      this.csrs.push({ id: decodeURIComponent(csr[1]!), csr: b.csr as string });
      return this.noContent(res);
    }
    this.protocolErrors.push(`unexpected ${method} ${path}`);
    return this.problem(res, 404, 'Not Found', `${method} ${path}`);
  }
}
