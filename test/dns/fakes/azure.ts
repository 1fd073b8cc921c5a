/**
 * A fake of what Azure DNS needs, on one server: the Microsoft Entra ID token endpoint (client
 * credentials, form-encoded; `invalid_client` AADSTS7000215 for a wrong secret), the IMDS managed
 * identity endpoint (`Metadata: true`), and the ARM DNS zone and TXT record-set resources of API
 * 2018-05-01 with ETags, If-Match / If-None-Match and 412 Precondition Failed.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { expectHeaders, expectJsonBody, expectKeys, expectNoBody, expectQuery, RouteServer, type FakeReply, type FakeRequest } from './route-server.js';

interface RecordSet {
  etag: string;
  ttl: number;
  records: string[][];
  metadata?: Record<string, string>;
}

const armError = (status: number, code: string, message: string): FakeReply => ({ status, json: { error: { code, message } } });

/** The fake tenant, subscription, resource group and zone. */
export class FakeAzure {
  readonly tenantId = randomUUID();
  readonly clientId = randomUUID();
  readonly clientSecret = `${randomBytes(3).toString('hex')}8Q~${randomBytes(24).toString('base64url')}`;
  /** The client id of a user-assigned managed identity IMDS knows. */
  readonly identityClientId = randomUUID();
  readonly subscriptionId = randomUUID();
  readonly resourceGroup = 'dns-rg';
  readonly recordSets = new Map<string, RecordSet>();
  /** Tokens the fake issued and still accepts. */
  readonly tokens = new Set<string>();
  tokenRequests = 0;
  imdsRequests = 0;
  /** Run before the next PUT/DELETE of a record set is judged: a concurrent writer. */
  beforeNextWrite: ((sets: Map<string, RecordSet>) => void) | undefined;

  private constructor(
    readonly zone: string,
    readonly server: RouteServer,
  ) {}

  static async start(zone = 'example.com'): Promise<FakeAzure> {
    const arm = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/dnsZones/:zone';
    const issue = (): string => {
      const t = `eyJ0eXAi.${randomBytes(24).toString('base64url')}`;
      self.tokens.add(t);
      return t;
    };
    /** The checks of every ARM call: token, api-version, subscription, group, zone. */
    const armGate = (req: FakeRequest, body: boolean): FakeReply | undefined => {
      const s = self;
      expectQuery(req, ['api-version']);
      assert.equal(req.query.get('api-version'), '2018-05-01');
      expectHeaders(req, { authorization: /^Bearer \S+$/, accept: 'application/json', ...(body ? {} : { 'content-type': undefined }) });
      if (!s.tokens.has(String(req.headers.authorization).slice(7))) return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
      if (req.params.sub !== s.subscriptionId) return armError(404, 'SubscriptionNotFound', `The subscription '${req.params.sub}' could not be found.`);
      if (req.params.rg !== s.resourceGroup) return armError(404, 'ResourceGroupNotFound', `Resource group '${req.params.rg}' could not be found.`);
      if (req.params.zone !== s.zone) return armError(404, 'ParentResourceNotFound', `Can not perform requested operation on nested resource. Parent resource '${req.params.zone}' not found.`);
      return undefined;
    };
    const view = (name: string, set: RecordSet) => {
      const s = self;
      return {
        id: `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Network/dnszones/${s.zone}/TXT/${name}`,
        name,
        type: 'Microsoft.Network/dnszones/TXT',
        etag: set.etag,
        properties: { ...(set.metadata ? { metadata: set.metadata } : {}), TTL: set.ttl, fqdn: `${name === '@' ? s.zone : `${name}.${s.zone}`}.`, provisioningState: 'Succeeded', targetResource: {}, TXTRecords: set.records.map((value) => ({ value })) },
      };
    };
    /** Judges If-Match / If-None-Match against the current set; a 412 reply when they fail. */
    const precondition = (req: FakeRequest, cur: RecordSet | undefined, creating: boolean): FakeReply | undefined => {
      const ifMatch = req.headers['if-match'];
      const ifNoneMatch = req.headers['if-none-match'];
      assert.ok(ifMatch !== undefined || (creating && ifNoneMatch === '*'), 'every write is conditional (If-Match, or If-None-Match: * to create)');
      const failed = ifMatch !== undefined ? cur?.etag !== ifMatch : cur !== undefined;
      return failed ? armError(412, 'PreconditionFailed', 'The condition specified using HTTP conditional header(s) is not met.') : undefined;
    };
    const server = await RouteServer.start('azure', [
      {
        method: 'POST',
        path: '/:tenant/oauth2/v2.0/token',
        handle(req) {
          const s = self;
          s.tokenRequests++;
          expectQuery(req, []);
          expectHeaders(req, { 'content-type': 'application/x-www-form-urlencoded', authorization: undefined });
          const form = new URLSearchParams(req.body);
          assert.deepEqual([...form.keys()].sort(), ['client_id', 'client_secret', 'grant_type', 'scope']);
          assert.equal(form.get('grant_type'), 'client_credentials');
          assert.equal(form.get('scope'), `${s.server.url}/.default`, 'scope is {resourceManagerUrl}/.default');
          if (req.params.tenant !== s.tenantId) return { status: 400, json: { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${req.params.tenant}' not found.\r\nTrace ID: ${randomUUID()}` } };
          if (form.get('client_id') !== s.clientId) return { status: 400, json: { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.get('client_id')}' was not found in the directory.\r\nTrace ID: ${randomUUID()}` } };
          if (form.get('client_secret') !== s.clientSecret) {
            return { status: 401, json: { error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}`, error_codes: [7000215] } };
          }
          return { status: 200, json: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: issue() } };
        },
      },
      {
        method: 'GET',
        path: '/metadata/identity/oauth2/token',
        handle(req) {
          const s = self;
          s.imdsRequests++;
          expectNoBody(req);
          expectHeaders(req, { metadata: 'true', authorization: undefined });
          const q = expectQuery(req, ['api-version', 'resource'], ['client_id']);
          assert.equal(q.get('api-version'), '2018-02-01');
          assert.equal(q.get('resource'), `${s.server.url}/`, 'resource is {resourceManagerUrl}/');
          if (q.has('client_id') && q.get('client_id') !== s.identityClientId) return { status: 400, json: { error: 'invalid_request', error_description: 'Identity not found' } };
          return { status: 200, json: { access_token: issue(), expires_in: '86399', expires_on: String(Math.floor(Date.now() / 1000) + 86399), resource: q.get('resource'), token_type: 'Bearer' } };
        },
      },
      {
        method: 'GET',
        path: arm,
        handle(req) {
          expectNoBody(req);
          const s = self;
          return armGate(req, false) ?? { status: 200, json: { id: `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Network/dnszones/${s.zone}`, name: s.zone, type: 'Microsoft.Network/dnszones', location: 'global', etag: randomUUID(), properties: { maxNumberOfRecordSets: 10000, numberOfRecordSets: s.recordSets.size + 2, nameServers: ['ns1-01.azure-dns.com.'], zoneType: 'Public' } } };
        },
      },
      {
        method: 'GET',
        path: `${arm}/TXT/:name`,
        handle(req) {
          expectNoBody(req);
          const denied = armGate(req, false);
          if (denied) return denied;
          const set = self.recordSets.get(req.params.name!);
          if (!set) return { status: 404, json: { code: 'NotFound', message: `The resource record '${req.params.name}' does not exist in resource group '${self.resourceGroup}' of subscription '${self.subscriptionId}'.` } };
          return { status: 200, headers: { etag: set.etag }, json: view(req.params.name!, set) };
        },
      },
      {
        method: 'PUT',
        path: `${arm}/TXT/:name`,
        handle(req) {
          const denied = armGate(req, true);
          if (denied) return denied;
          const s = self;
          const body = expectJsonBody(req, ['properties']);
          const props = body.properties as Record<string, unknown>;
          expectKeys(props, ['TTL', 'TXTRecords'], ['metadata'], 'properties');
          assert.ok(typeof props.TTL === 'number' && props.TTL >= 1, 'TTL is a positive number');
          assert.ok(Array.isArray(props.TXTRecords) && props.TXTRecords.length > 0, 'TXTRecords is a non-empty array');
          const records = (props.TXTRecords as unknown[]).map((r) => {
            expectKeys(r as Record<string, unknown>, ['value'], [], 'a TXT record');
            const v = (r as { value: unknown }).value;
            assert.ok(Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x.length <= 255), 'value is a list of strings of up to 255 characters');
            return v as string[];
          });
          const hook = s.beforeNextWrite;
          s.beforeNextWrite = undefined;
          hook?.(s.recordSets);
          const cur = s.recordSets.get(req.params.name!);
          const failed = precondition(req, cur, true);
          if (failed) return failed;
          const set: RecordSet = { etag: randomUUID(), ttl: props.TTL as number, records, ...(props.metadata ? { metadata: props.metadata as Record<string, string> } : {}) };
          s.recordSets.set(req.params.name!, set);
          return { status: cur ? 200 : 201, headers: { etag: set.etag }, json: view(req.params.name!, set) };
        },
      },
      {
        method: 'DELETE',
        path: `${arm}/TXT/:name`,
        handle(req) {
          expectNoBody(req);
          const denied = armGate(req, false);
          if (denied) return denied;
          const s = self;
          const hook = s.beforeNextWrite;
          s.beforeNextWrite = undefined;
          hook?.(s.recordSets);
          const cur = s.recordSets.get(req.params.name!);
          const failed = precondition(req, cur, false);
          if (failed) return failed;
          if (!cur) return { status: 204, text: '' };
          s.recordSets.delete(req.params.name!);
          return { status: 200, text: '' };
        },
      },
    ]);
    const self = new FakeAzure(zone, server);
    return self;
  }

  /** The TXT values at `fqdn` (each record's strings joined). */
  lookup(fqdn: string): string[] {
    const name = fqdn === this.zone ? '@' : fqdn.slice(0, -(this.zone.length + 1));
    return (this.recordSets.get(name)?.records ?? []).map((r) => r.join(''));
  }

  /** Sets a record set as another tool would. */
  seed(name: string, records: string[][], metadata?: Record<string, string>): void {
    this.recordSets.set(name, { etag: randomUUID(), ttl: 3600, records, ...(metadata ? { metadata } : {}) });
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
