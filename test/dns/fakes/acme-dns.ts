/**
 * A fake acme-dns server, after its source (pkg/api/auth.go, update.go, healthcheck.go): one
 * registration with two TXT slots; `POST /update` checks X-Api-User (a UUID), X-Api-Key (40
 * characters), the password and the subject subdomain first (401 `{"error":"forbidden"}`), then
 * the value (400 `bad_txt` unless 43 characters), and replaces the older slot; `GET /health` is 200.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { expectHeaders, expectJsonBody, expectNoBody, expectQuery, RouteServer } from './route-server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The fake server with one registration. */
export class FakeAcmeDns {
  /** The two slots, as acme-dns's `txt` table rows: value and last update. */
  readonly slots: { value: string; lastUpdate: number }[] = [
    { value: '', lastUpdate: 0 },
    { value: '', lastUpdate: 0 },
  ];
  /** Count of writes (successful updates). */
  writes = 0;
  /** When false, /health answers 503. */
  healthy = true;
  private clock = 0;

  private constructor(
    readonly server: RouteServer,
    readonly username: string,
    readonly password: string,
    readonly subdomain: string,
  ) {}

  static async start(): Promise<FakeAcmeDns> {
    const username = randomUUID();
    const password = randomBytes(30).toString('base64url');
    const subdomain = randomUUID();
    const server = await RouteServer.start('acme-dns', [
      {
        method: 'POST',
        path: '/update',
        handle(req) {
          expectQuery(req, []);
          expectHeaders(req, { 'x-api-user': /\S/, 'x-api-key': /\S/ });
          const body = expectJsonBody(req, ['subdomain', 'txt']);
          assert.equal(typeof body.subdomain, 'string');
          assert.equal(typeof body.txt, 'string');
          const user = String(req.headers['x-api-user']);
          const key = String(req.headers['x-api-key']);
          const authorised = UUID.test(user) && key.length === 40 && user === username && key === password && body.subdomain === subdomain;
          if (!authorised) return { status: 401, json: { error: 'forbidden' } };
          if ([...String(body.txt)].length !== 43) return { status: 400, json: { error: 'bad_txt' } };
          const s = self;
          const oldest = s.slots[0]!.lastUpdate <= s.slots[1]!.lastUpdate ? s.slots[0]! : s.slots[1]!;
          oldest.value = String(body.txt);
          oldest.lastUpdate = ++s.clock;
          s.writes++;
          return { status: 200, json: { txt: body.txt } };
        },
      },
      {
        method: 'GET',
        path: '/health',
        handle(req) {
          expectNoBody(req);
          expectQuery(req, []);
          return { status: self.healthy ? 200 : 503, text: '' };
        },
      },
    ]);
    const self = new FakeAcmeDns(server, username, password, subdomain);
    return self;
  }

  get apiUrl(): string {
    return this.server.url;
  }

  /** What acme-dns serves at the subdomain: the non-empty slots, oldest first. */
  lookup(): string[] {
    return [...this.slots].sort((a, b) => a.lastUpdate - b.lastUpdate).map((s) => s.value).filter((v) => v !== '');
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
