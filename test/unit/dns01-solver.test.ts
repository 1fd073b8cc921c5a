// The dns-01 solver's decisions with a scripted DNS: CNAME chains and loops, the NS walk, and a
// propagation timeout that names the server missing the record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Dns01Solver, PropagationError, challengeRecordName } from '../../src/dns/dns01-solver.js';
import type { DnsResponse, DnsServerAddress } from '../../src/dns/wire/dns-query.js';

type Rec = { name: string; type: string; data: unknown; txt?: string };
function response(answers: Rec[], additionals: Rec[] = [], rcode = 'NOERROR'): DnsResponse {
  const full = (r: Rec) => ({ ttl: 60, class: 'IN', ...r });
  return { rcode, authoritative: true, truncated: false, answers: answers.map(full), authorities: [], additionals: additionals.map(full) };
}

test('challenge record names strip the wildcard label', () => {
  assert.equal(challengeRecordName('*.example.com'), '_acme-challenge.example.com');
  assert.equal(challengeRecordName('www.example.com'), '_acme-challenge.www.example.com');
});

test('CNAME chains are followed; loops are refused', async () => {
  const cnames: Record<string, string> = {
    '_acme-challenge.www.a.test': '_acme-challenge.www.b.test',
    '_acme-challenge.www.b.test': 'token.c.test',
    'loop1.test': 'loop2.test',
    'loop2.test': 'loop1.test',
  };
  const solver = new Dns01Solver({
    resolvers: [{ host: '192.0.2.1', port: 53 }],
    query: async (_s, name) => response(cnames[name] ? [{ name, type: 'CNAME', data: cnames[name] }] : []),
  });
  assert.equal(await solver.resolveTarget('_acme-challenge.www.a.test'), 'token.c.test');
  assert.equal(await solver.resolveTarget('_acme-challenge.plain.test'), '_acme-challenge.plain.test');
  await assert.rejects(solver.resolveTarget('loop1.test'), /loop/);
});

test('authoritative servers come from NS records and their glue or address lookups', async () => {
  const solver = new Dns01Solver({
    resolvers: [{ host: '192.0.2.1', port: 53 }],
    query: async (_s, name, type) => {
      if (type === 'NS') return response([{ name, type: 'NS', data: 'ns1.example.net' }, { name, type: 'NS', data: 'ns2.example.net' }], [{ name: 'ns1.example.net', type: 'A', data: '198.51.100.1' }]);
      if (name === 'ns2.example.net' && type === 'A') return response([{ name, type: 'A', data: '198.51.100.2' }]);
      if (name === 'ns2.example.net' && type === 'AAAA') return response([{ name, type: 'AAAA', data: '2001:db8::2' }]);
      return response([]);
    },
  });
  assert.deepEqual(await solver.authoritativeServers('example.com'), [
    { host: '198.51.100.1', port: 53 }, { host: '198.51.100.2', port: 53 }, { host: '2001:db8::2', port: 53 },
  ]);
});

test('waitVisible asks every server with RD=0 and names the one that lags', async () => {
  const asked: { server: string; rd: boolean | undefined }[] = [];
  const lagging: DnsServerAddress = { host: '203.0.113.2', port: 5353 };
  const solver = new Dns01Solver({
    resolvers: [],
    pollIntervalMs: 20,
    query: async (server, name, _type, opts) => {
      asked.push({ server: `${server.host}:${server.port}`, rd: opts?.recursionDesired });
      return response(server.host === lagging.host ? [] : [{ name, type: 'TXT', data: ['v'], txt: 'value-1' }]);
    },
  });
  const zone = { zoneName: 'example.com', resolvers: [{ host: '203.0.113.1', port: 53 }, lagging], propagationTimeoutSeconds: 0.2, extraDelaySeconds: 0 };
  const err = await solver.waitVisible([{ fqdn: '_acme-challenge.example.com', value: 'value-1', zone }]).catch((e: Error) => e);
  assert.ok(err instanceof PropagationError);
  assert.match(err.message, /203\.0\.113\.2:5353 does not answer TXT _acme-challenge\.example\.com with "value-1"/);
  assert.deepEqual(err.missing.map((m) => m.server), ['203.0.113.2:5353']);
  assert.ok(asked.every((a) => a.rd === false), 'propagation checks never ask for recursion');
  assert.ok(asked.some((a) => a.server === '203.0.113.1:53'));
});
