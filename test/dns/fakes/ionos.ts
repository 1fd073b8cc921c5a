/**
 * A fake of the IONOS Cloud DNS API v1 (https://api.ionos.com/docs/dns/v1/): zones found with the
 * "contains" filter `filter.zoneName`, records with `filter.zoneId` / `filter.name` ("contains"),
 * offset/limit paging, `{ properties: {...} }` bodies, 202 for writes, and
 * `{ httpStatus, messages: [{ errorCode, message }] }` errors (401 `paas-auth-1` for a bad token).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { expectHeaders, expectJsonBody, expectKeys, expectNoBody, expectQuery, RouteServer, type FakeReply, type FakeRequest } from './route-server.js';

interface IonosRecord {
  id: string;
  zoneId: string;
  fqdn: string;
  properties: { name: string; type: string; content: string; ttl: number; enabled: boolean };
}

const error = (status: number, errorCode: string, message: string): FakeReply => ({ status, json: { httpStatus: status, messages: [{ errorCode, message }] } });
const metadata = (extra: Record<string, unknown>) => ({
  createdDate: '2026-01-01T00:00:00Z',
  createdBy: 'ionos:iam:cloud:31960002:users/87f9a82e',
  lastModifiedDate: '2026-01-01T00:00:00Z',
  lastModifiedBy: 'ionos:iam:cloud:31960002:users/87f9a82e',
  resourceURN: 'ionos:dns:de/fra:31960002:zones/x',
  state: 'AVAILABLE',
  ...extra,
});

/** The fake contract: the zone under test plus a decoy sub-zone whose name contains it. */
export class FakeIonos {
  readonly records = new Map<string, IonosRecord>();
  readonly zones: { id: string; zoneName: string }[];

  private constructor(
    readonly server: RouteServer,
    readonly zone: string,
    readonly zoneId: string,
    readonly token: string,
    decoyId: string,
  ) {
    this.zones = [
      { id: decoyId, zoneName: `foo.${zone}` },
      { id: zoneId, zoneName: zone },
    ];
  }

  static async start(zone = 'example.com'): Promise<FakeIonos> {
    const token = `eyJ${randomUUID().replace(/-/g, '')}`;
    const zoneId = randomUUID();
    const decoyId = randomUUID();
    const auth = (req: FakeRequest, body: boolean): FakeReply | undefined => {
      expectHeaders(req, { authorization: /^Bearer \S+$/, accept: 'application/json', ...(body ? {} : { 'content-type': undefined }) });
      if (req.headers.authorization !== `Bearer ${token}`) return error(401, 'paas-auth-1', 'Unauthorized, wrong or no api key provided to process this request');
      return undefined;
    };
    const view = (r: IonosRecord) => ({ id: r.id, type: 'record', href: `/zones/${r.zoneId}/records/${r.id}`, metadata: metadata({ fqdn: r.fqdn, zoneId: r.zoneId }), properties: r.properties });
    const paging = (q: URLSearchParams) => {
      const offset = Number(q.get('offset') ?? 0);
      const limit = Number(q.get('limit') ?? 100);
      assert.ok(Number.isInteger(offset) && offset >= 0 && Number.isInteger(limit) && limit >= 1 && limit <= 1000, 'offset >= 0, 1 <= limit <= 1000');
      return { offset, limit };
    };
    const server = await RouteServer.start('ionos', [
      {
        method: 'GET',
        path: '/zones',
        handle(req) {
          expectNoBody(req);
          const denied = auth(req, false);
          if (denied) return denied;
          const q = expectQuery(req, [], ['filter.zoneName', 'filter.state', 'offset', 'limit']);
          const { offset, limit } = paging(q);
          const all = self.zones.filter((z) => z.zoneName.includes(q.get('filter.zoneName') ?? ''));
          const items = all.slice(offset, offset + limit).map((z) => ({ id: z.id, type: 'zone', href: `/zones/${z.id}`, metadata: metadata({ nameservers: ['ns-ic.ui-dns.com'] }), properties: { zoneName: z.zoneName, enabled: true } }));
          return { status: 200, json: { id: randomUUID(), type: 'collection', href: '/zones', items, offset, limit, _links: {} } };
        },
      },
      {
        method: 'GET',
        path: '/records',
        handle(req) {
          expectNoBody(req);
          const denied = auth(req, false);
          if (denied) return denied;
          const q = expectQuery(req, [], ['filter.zoneId', 'filter.name', 'filter.state', 'offset', 'limit']);
          const { offset, limit } = paging(q);
          const all = [...self.records.values()].filter((r) => (!q.has('filter.zoneId') || r.zoneId === q.get('filter.zoneId')) && r.properties.name.includes(q.get('filter.name') ?? ''));
          return { status: 200, json: { id: randomUUID(), type: 'collection', href: '/records', items: all.slice(offset, offset + limit).map(view), offset, limit, _links: {} } };
        },
      },
      {
        method: 'POST',
        path: '/zones/:zoneId/records',
        handle(req) {
          const denied = auth(req, true);
          if (denied) return denied;
          expectQuery(req, []);
          const z = self.zones.find((x) => x.id === req.params.zoneId);
          if (!z) return error(404, 'dns-404', 'zone not found');
          const body = expectJsonBody(req, ['properties']);
          const p = body.properties as Record<string, unknown>;
          expectKeys(p, ['name', 'type', 'content'], ['ttl', 'priority', 'enabled'], 'properties');
          assert.equal(p.type, 'TXT');
          assert.ok(typeof p.name === 'string' && !p.name.endsWith(z.zoneName) && !p.name.endsWith('.'), `name ${String(p.name)} is relative to the zone`);
          assert.ok(typeof p.content === 'string' && p.content !== '' && !p.content.includes('"'), 'TXT content is sent bare');
          assert.ok(p.ttl === undefined || (typeof p.ttl === 'number' && p.ttl >= 60), 'ttl >= 60');
          assert.ok(p.enabled === undefined || typeof p.enabled === 'boolean');
          const rec: IonosRecord = {
            id: randomUUID(),
            zoneId: z.id,
            fqdn: p.name === '' ? z.zoneName : `${String(p.name)}.${z.zoneName}`,
            properties: { name: String(p.name), type: 'TXT', content: String(p.content), ttl: Number(p.ttl ?? 3600), enabled: p.enabled !== false },
          };
          self.records.set(rec.id, rec);
          return { status: 202, json: view(rec) };
        },
      },
      {
        method: 'DELETE',
        path: '/zones/:zoneId/records/:recordId',
        handle(req) {
          expectNoBody(req);
          expectQuery(req, []);
          const denied = auth(req, false);
          if (denied) return denied;
          const r = self.records.get(req.params.recordId!);
          if (!r || r.zoneId !== req.params.zoneId) return error(404, 'dns-404', 'record not found');
          self.records.delete(r.id);
          return { status: 202, text: '' };
        },
      },
    ]);
    const self = new FakeIonos(server, zone, zoneId, token, decoyId);
    return self;
  }

  get apiUrl(): string {
    return this.server.url;
  }

  /** The TXT values at `fqdn` in the zone under test. */
  lookup(fqdn: string): string[] {
    return [...this.records.values()].filter((r) => r.zoneId === this.zoneId && r.fqdn === fqdn && r.properties.type === 'TXT').map((r) => r.properties.content);
  }

  /** Adds a TXT record as another tool would, in the zone under test or (decoy) the sub-zone. */
  seed(name: string, content: string, decoy = false): void {
    const z = this.zones[decoy ? 0 : 1]!;
    const id = randomUUID();
    this.records.set(id, { id, zoneId: z.id, fqdn: name === '' ? z.zoneName : `${name}.${z.zoneName}`, properties: { name, type: 'TXT', content, ttl: 3600, enabled: true } });
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
