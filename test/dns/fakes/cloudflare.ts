/**
 * A fake of the Cloudflare API v4 DNS records endpoints, following the documented API
 * (https://developers.cloudflare.com/api/resources/dns/subresources/records/): the
 * `{ success, errors, messages, result }` envelope, Bearer tokens, one record per TXT value,
 * error 81058 for an identical record, 10000 "Authentication error" for a wrong token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { expectHeaders, expectJsonBody, expectNoBody, expectQuery, RouteServer, type FakeReply, type FakeRequest } from './route-server.js';

interface CfRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied: boolean;
}

const ok = (result: unknown, extra: Record<string, unknown> = {}): FakeReply => ({ status: 200, json: { success: true, errors: [], messages: [], result, ...extra } });
const fail = (status: number, code: number, message: string): FakeReply => ({ status, json: { success: false, errors: [{ code, message }], messages: [], result: null } });

/** The fake Cloudflare account: one zone, one valid token. */
export class FakeCloudflare {
  readonly records = new Map<string, CfRecord>();

  private constructor(
    readonly server: RouteServer,
    readonly zone: string,
    readonly zoneId: string,
    readonly token: string,
  ) {}

  /** Starts a fake holding `zone`. */
  static async start(zone = 'example.com'): Promise<FakeCloudflare> {
    const token = randomBytes(20).toString('base64url');
    const zoneId = randomBytes(16).toString('hex');
    const auth = (req: FakeRequest, body: boolean): FakeReply | undefined => {
      expectHeaders(req, { authorization: /^Bearer \S+$/, accept: 'application/json', ...(body ? {} : { 'content-type': undefined }) });
      if (req.headers.authorization !== `Bearer ${token}`) return fail(403, 10000, 'Authentication error');
      return undefined;
    };
    const zoneOf = (id: string): FakeReply | undefined => (id === zoneId ? undefined : fail(404, 7003, `Could not route to /zones/${id}, perhaps your object identifier is invalid?`));
    const server = await RouteServer.start('cloudflare', [
      {
        method: 'GET',
        path: '/client/v4/zones',
        handle(req) {
          expectNoBody(req);
          const denied = auth(req, false);
          if (denied) return denied;
          const q = expectQuery(req, ['name'], ['per_page', 'page']);
          const result = q.get('name') === zone ? [{ id: zoneId, name: zone, status: 'active', paused: false, type: 'full' }] : [];
          return ok(result, { result_info: { page: 1, per_page: 50, count: result.length, total_count: result.length, total_pages: 1 } });
        },
      },
      {
        method: 'GET',
        path: '/client/v4/zones/:zoneId',
        handle(req) {
          expectNoBody(req);
          expectQuery(req, []);
          return auth(req, false) ?? zoneOf(req.params.zoneId!) ?? ok({ id: zoneId, name: zone, status: 'active', paused: false, type: 'full' });
        },
      },
      {
        method: 'GET',
        path: '/client/v4/zones/:zoneId/dns_records',
        handle(req) {
          expectNoBody(req);
          const denied = auth(req, false) ?? zoneOf(req.params.zoneId!);
          if (denied) return denied;
          const q = expectQuery(req, ['type', 'name.exact'], ['per_page', 'page']);
          assert.equal(q.get('type'), 'TXT');
          const perPage = Number(q.get('per_page') ?? 100);
          const page = Number(q.get('page') ?? 1);
          assert.ok(perPage >= 5 && perPage <= 5_000_000 && page >= 1, 'per_page and page in range');
          const all = [...self.records.values()].filter((r) => r.type === 'TXT' && r.name === q.get('name.exact'));
          const slice = all.slice((page - 1) * perPage, page * perPage);
          return ok(slice, { result_info: { page, per_page: perPage, count: slice.length, total_count: all.length, total_pages: Math.max(1, Math.ceil(all.length / perPage)) } });
        },
      },
      {
        method: 'POST',
        path: '/client/v4/zones/:zoneId/dns_records',
        handle(req) {
          const denied = auth(req, true) ?? zoneOf(req.params.zoneId!);
          if (denied) return denied;
          expectQuery(req, []);
          const body = expectJsonBody(req, ['type', 'name', 'content', 'ttl'], ['comment', 'proxied']);
          assert.equal(body.type, 'TXT');
          assert.ok(typeof body.name === 'string' && (body.name === zone || body.name.endsWith(`.${zone}`)), `name ${String(body.name)} is in the zone`);
          assert.match(String(body.content), /^"[^"]*"$/, 'TXT content is one quoted character-string (current API docs)');
          assert.ok(typeof body.ttl === 'number' && (body.ttl === 1 || (body.ttl >= 60 && body.ttl <= 86400)), 'ttl is 1 or 60..86400');
          const dup = [...self.records.values()].find((r) => r.type === 'TXT' && r.name === body.name && r.content === body.content);
          if (dup) return fail(400, 81058, 'An identical record already exists.');
          const rec: CfRecord = { id: randomBytes(16).toString('hex'), zone_id: zoneId, zone_name: zone, type: 'TXT', name: String(body.name), content: String(body.content), ttl: Number(body.ttl), proxied: false };
          self.records.set(rec.id, rec);
          return ok(rec);
        },
      },
      {
        method: 'DELETE',
        path: '/client/v4/zones/:zoneId/dns_records/:recordId',
        handle(req) {
          expectNoBody(req);
          expectQuery(req, []);
          const denied = auth(req, false) ?? zoneOf(req.params.zoneId!);
          if (denied) return denied;
          if (!self.records.delete(req.params.recordId!)) return fail(404, 81044, 'Record does not exist.');
          return ok({ id: req.params.recordId });
        },
      },
    ]);
    const self = new FakeCloudflare(server, zone, zoneId, token);
    return self;
  }

  /** The API base URL the provider is pointed at. */
  get apiUrl(): string {
    return `${this.server.url}/client/v4`;
  }

  /** The TXT values at `fqdn`, unquoted (the source of truth for the conformance suite). */
  lookup(fqdn: string): string[] {
    return [...this.records.values()].filter((r) => r.type === 'TXT' && r.name === fqdn).map((r) => r.content.replace(/^"(.*)"$/, '$1'));
  }

  /** Adds a record as another tool would (e.g. unquoted, as written before Cloudflare asked for quotes). */
  seed(fqdn: string, content: string): void {
    const id = randomBytes(16).toString('hex');
    this.records.set(id, { id, zone_id: this.zoneId, zone_name: this.zone, type: 'TXT', name: fqdn, content, ttl: 300, proxied: false });
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
