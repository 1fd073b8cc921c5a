/**
 * A fake of the Route 53 REST/XML API paths the SDK calls
 * (https://docs.aws.amazon.com/Route53/latest/APIReference/): ListHostedZonesByName,
 * ListResourceRecordSets (ordered by reversed name, then type), ChangeResourceRecordSets (atomic;
 * CREATE of an existing set, DELETE of a missing or different one: 400 InvalidChangeBatch) and
 * GetChange (PENDING, then INSYNC). Every request must carry a valid SigV4 signature: an unknown
 * access key is 403 InvalidClientTokenId, a wrong secret 403 SignatureDoesNotMatch, as AWS answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { expectHeaders, expectNoBody, expectQuery, RouteServer, type FakeReply, type FakeRequest } from './route-server.js';
import { parseSigV4, verifySigV4 } from './sigv4.js';
import { child, esc, expectChildren, parseXml, type XmlElement } from './xml.js';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

interface RRSet {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

interface HostedZone {
  id: string;
  name: string;
  private: boolean;
}

const xml = (status: number, body: string, headers: Record<string, string> = {}): FakeReply => ({
  status,
  headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomBytes(16).toString('hex'), ...headers },
  text: `<?xml version="1.0"?>\n${body}`,
});
const awsError = (status: number, code: string, message: string): FakeReply =>
  xml(status, `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>${randomBytes(16).toString('hex')}</RequestId></ErrorResponse>`);

/** Route 53's list order: labels reversed, then type. */
const orderKey = (name: string, type: string) => `${name.replace(/\.$/, '').split('.').reverse().join('.')}\u0000${type}`;

/** The fake account: a public zone, a private zone of the same name, and a sub-zone. */
export class FakeRoute53 {
  readonly zones: HostedZone[];
  readonly rrsets = new Map<string, Map<string, RRSet>>();
  readonly changes = new Map<string, number>();
  /** GetChange answers PENDING this many times before INSYNC. */
  pendingPolls = 1;
  /** Run before the next ChangeResourceRecordSets is judged: a concurrent writer. */
  beforeNextChange: ((sets: Map<string, RRSet>) => void) | undefined;

  private constructor(
    readonly server: RouteServer,
    readonly zone: string,
    readonly accessKeyId: string,
    readonly secretAccessKey: string,
    readonly region: string,
  ) {
    const id = () => `Z${randomBytes(10).toString('hex').toUpperCase()}`;
    this.zones = [
      { id: id(), name: `${zone}.`, private: false },
      { id: id(), name: `${zone}.`, private: true },
      { id: id(), name: `sub.${zone}.`, private: false },
    ];
    for (const z of this.zones) {
      const sets = new Map<string, RRSet>();
      sets.set(orderKey(z.name, 'NS'), { name: z.name, type: 'NS', ttl: 172800, values: ['ns-1.awsdns-01.org.'] });
      sets.set(orderKey(z.name, 'SOA'), { name: z.name, type: 'SOA', ttl: 900, values: ['ns-1.awsdns-01.org. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400'] });
      this.rrsets.set(z.id, sets);
    }
  }

  /** The public hosted zone under test. */
  get hostedZoneId(): string {
    return this.zones[0]!.id;
  }

  static async start(zone = 'example.com', region = 'us-east-1'): Promise<FakeRoute53> {
    const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const secretAccessKey = randomBytes(30).toString('base64');
    /** Signature, then the request shape common to all calls. */
    const gate = (req: FakeRequest, body: boolean): FakeReply | undefined => {
      const s = self;
      expectHeaders(req, { authorization: /^AWS4-HMAC-SHA256 /, 'x-amz-date': /^\d{8}T\d{6}Z$/, ...(body ? { 'content-type': 'application/xml' } : {}) });
      const auth = parseSigV4(String(req.headers.authorization));
      assert.ok(auth, 'the Authorization header is SigV4');
      assert.equal(auth.region, s.region, 'credential scope region');
      assert.equal(auth.service, 'route53', 'credential scope service');
      assert.equal(auth.date, String(req.headers['x-amz-date']).slice(0, 8), 'credential scope date is the x-amz-date day');
      assert.ok(auth.signedHeaders.includes('host') && auth.signedHeaders.includes('x-amz-date'), 'host and x-amz-date are signed');
      if (auth.accessKeyId !== s.accessKeyId) return awsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
      if (!verifySigV4(auth, { method: req.method, rawPath: req.path, rawQuery: req.rawQuery, headers: req.headers, body: req.body }, s.secretAccessKey)) {
        return awsError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
      }
      return undefined;
    };
    const zoneOf = (id: string): Map<string, RRSet> | FakeReply => self.rrsets.get(id) ?? awsError(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
    const rrsetXml = (r: RRSet) => `<ResourceRecordSet><Name>${esc(r.name)}</Name><Type>${r.type}</Type><TTL>${r.ttl}</TTL><ResourceRecords>${r.values.map((v) => `<ResourceRecord><Value>${esc(v)}</Value></ResourceRecord>`).join('')}</ResourceRecords></ResourceRecordSet>`;
    const changeInfo = (id: string, status: string) => `<ChangeInfo><Id>/change/${id}</Id><Status>${status}</Status><SubmittedAt>${new Date().toISOString()}</SubmittedAt><Comment>certkeeper dns-01</Comment></ChangeInfo>`;

    const server = await RouteServer.start('route53', [
      {
        method: 'GET',
        path: '/2013-04-01/hostedzonesbyname',
        handle(req) {
          expectNoBody(req);
          const denied = gate(req, false);
          if (denied) return denied;
          const q = expectQuery(req, [], ['dnsname', 'hostedzoneid', 'maxitems']);
          const start = q.get('dnsname') ?? '';
          const max = Number(q.get('maxitems') ?? 100);
          const all = [...self.zones].sort((a, b) => (orderKey(a.name, '') < orderKey(b.name, '') ? -1 : 1)).filter((z) => orderKey(z.name, '') >= orderKey(start, ''));
          const page = all.slice(0, max);
          const zones = page.map((z) => `<HostedZone><Id>/hostedzone/${z.id}</Id><Name>${esc(z.name)}</Name><CallerReference>${z.id}</CallerReference><Config><PrivateZone>${z.private}</PrivateZone></Config><ResourceRecordSetCount>${self.rrsets.get(z.id)!.size}</ResourceRecordSetCount></HostedZone>`);
          return xml(200, `<ListHostedZonesByNameResponse xmlns="${NS}"><HostedZones>${zones.join('')}</HostedZones><DNSName>${esc(start)}</DNSName><IsTruncated>${all.length > max}</IsTruncated><MaxItems>${max}</MaxItems></ListHostedZonesByNameResponse>`);
        },
      },
      {
        method: 'GET',
        path: '/2013-04-01/hostedzone/:id/rrset',
        handle(req) {
          expectNoBody(req);
          const denied = gate(req, false);
          if (denied) return denied;
          const sets = zoneOf(req.params.id!);
          if (!(sets instanceof Map)) return sets;
          const q = expectQuery(req, [], ['name', 'type', 'identifier', 'maxitems']);
          assert.ok(!q.has('type') || q.has('name'), 'type only with name');
          const start = orderKey(q.get('name') ?? '', q.get('type') ?? '');
          const max = Number(q.get('maxitems') ?? 300);
          const all = [...sets.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).filter(([k]) => k >= start);
          const page = all.slice(0, max).map(([, r]) => r);
          const next = all[max]?.[1];
          return xml(200, `<ListResourceRecordSetsResponse xmlns="${NS}"><ResourceRecordSets>${page.map(rrsetXml).join('')}</ResourceRecordSets><IsTruncated>${next !== undefined}</IsTruncated>${next ? `<NextRecordName>${esc(next.name)}</NextRecordName><NextRecordType>${next.type}</NextRecordType>` : ''}<MaxItems>${max}</MaxItems></ListResourceRecordSetsResponse>`);
        },
      },
      {
        method: 'POST',
        path: '/2013-04-01/hostedzone/:id/rrset',
        handle(req) {
          const denied = gate(req, true);
          if (denied) return denied;
          expectQuery(req, []);
          const s = self;
          const sets = zoneOf(req.params.id!);
          if (!(sets instanceof Map)) return sets;
          const zoneName = s.zones.find((z) => z.id === req.params.id)!.name;
          const root = parseXml(req.body);
          assert.equal(root.name, 'ChangeResourceRecordSetsRequest');
          assert.equal(root.attributes.xmlns, NS);
          expectChildren(root, ['ChangeBatch']);
          const batch = child(root, 'ChangeBatch');
          expectChildren(batch, ['Changes'], ['Comment']);
          const changes = child(batch, 'Changes').children.map((c): { action: string; set: RRSet } => {
            assert.equal(c.name, 'Change');
            expectChildren(c, ['Action', 'ResourceRecordSet']);
            const action = child(c, 'Action').text;
            assert.ok(['CREATE', 'DELETE', 'UPSERT'].includes(action), `action ${action}`);
            return { action, set: readSet(child(c, 'ResourceRecordSet'), zoneName) };
          });
          assert.ok(changes.length > 0, 'at least one change');
          const hook = s.beforeNextChange;
          s.beforeNextChange = undefined;
          hook?.(sets);
          // Atomic: judge every change against a copy, commit only if all pass.
          const next = new Map(sets);
          const problems: string[] = [];
          for (const { action, set } of changes) {
            const key = orderKey(set.name, set.type);
            const cur = next.get(key);
            const label = `[name='${set.name}', type='${set.type}']`;
            if (action === 'CREATE' && cur) problems.push(`Tried to create resource record set ${label} but it already exists`);
            else if (action === 'DELETE' && !cur) problems.push(`Tried to delete resource record set ${label} but it was not found`);
            else if (action === 'DELETE' && cur && (cur.ttl !== set.ttl || [...cur.values].sort().join('\n') !== [...set.values].sort().join('\n'))) {
              problems.push(`Tried to delete resource record set ${label} but the values provided do not match the current values`);
            } else if (action === 'DELETE') next.delete(key);
            else next.set(key, set);
          }
          if (problems.length) return awsError(400, 'InvalidChangeBatch', `[${problems.join(', ')}]`);
          sets.clear();
          for (const [k, v] of next) sets.set(k, v);
          const id = `C${randomBytes(10).toString('hex').toUpperCase()}`;
          s.changes.set(id, 0);
          return xml(200, `<ChangeResourceRecordSetsResponse xmlns="${NS}">${changeInfo(id, 'PENDING')}</ChangeResourceRecordSetsResponse>`);
        },
      },
      {
        method: 'GET',
        path: '/2013-04-01/change/:id',
        handle(req) {
          expectNoBody(req);
          const denied = gate(req, false);
          if (denied) return denied;
          expectQuery(req, []);
          const s = self;
          const polls = s.changes.get(req.params.id!);
          if (polls === undefined) return awsError(404, 'NoSuchChange', `A change with the specified change ID does not exist.`);
          s.changes.set(req.params.id!, polls + 1);
          return xml(200, `<GetChangeResponse xmlns="${NS}">${changeInfo(req.params.id!, polls >= s.pendingPolls ? 'INSYNC' : 'PENDING')}</GetChangeResponse>`);
        },
      },
    ]);
    const self = new FakeRoute53(server, zone, accessKeyId, secretAccessKey, region);
    return self;
  }

  /** The TXT values at `fqdn` in the public zone, unquoted. */
  lookup(fqdn: string): string[] {
    const set = this.rrsets.get(this.hostedZoneId)!.get(orderKey(`${fqdn}.`, 'TXT'));
    return (set?.values ?? []).map((v) => v.replace(/^"(.*)"$/, '$1'));
  }

  /** The TXT record set at `fqdn`, as stored. */
  txtSet(fqdn: string): RRSet | undefined {
    return this.rrsets.get(this.hostedZoneId)!.get(orderKey(`${fqdn}.`, 'TXT'));
  }

  /** Sets a TXT record set as another tool would (values quoted as given). */
  seed(fqdn: string, values: string[], ttl = 300): void {
    this.rrsets.get(this.hostedZoneId)!.set(orderKey(`${fqdn}.`, 'TXT'), { name: `${fqdn}.`, type: 'TXT', ttl, values });
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

function readSet(el: XmlElement, zoneName: string): RRSet {
  expectChildren(el, ['Name', 'Type', 'TTL', 'ResourceRecords']);
  const name = child(el, 'Name').text;
  const type = child(el, 'Type').text;
  const ttl = Number(child(el, 'TTL').text);
  assert.equal(type, 'TXT', 'only TXT record sets are changed');
  assert.ok(name === zoneName || name.endsWith(`.${zoneName}`), `${name} is in ${zoneName} (fully qualified, with the trailing dot)`);
  assert.ok(Number.isInteger(ttl) && ttl >= 0 && ttl <= 2147483647, 'TTL');
  const values = child(el, 'ResourceRecords').children.map((r) => {
    assert.equal(r.name, 'ResourceRecord');
    expectChildren(r, ['Value']);
    const v = child(r, 'Value').text;
    assert.match(v, /^"[^"]{0,255}"( "[^"]{0,255}")*$/, 'a TXT value is quoted character-strings');
    return v;
  });
  assert.ok(values.length > 0, 'at least one value');
  return { name, type, ttl, values };
}
