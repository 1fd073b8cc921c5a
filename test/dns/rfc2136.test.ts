// The `rfc2136` provider against a real BIND 9: the shared conformance suite once per TSIG
// algorithm, BIND's own refusals (BADSIG, BADKEY, REFUSED, NOTAUTH), and — against a fake server,
// since BIND always signs correctly — that the reply's signature is checked before a success is
// believed.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { DnsProviderError, type DnsProvider, type TxtRecord } from '../../src/dns/dns-provider.js';
import type { ProviderInit } from '../../src/dns/provider-manifest.js';
import { manifest } from '../../src/dns/providers/rfc2136/manifest.js';
import { readName } from '../../src/dns/wire/dns-name.js';
import { dnsQuery } from '../../src/dns/wire/dns-query.js';
import { DnsUpdateError } from '../../src/dns/wire/dns-update.js';
import { TSIG_ALGORITHMS, tsigSign, tsigVerify, type TsigAlgorithm, type TsigKey } from '../../src/dns/wire/tsig.js';
import { startBind, type BindHandle } from '../harness/bind.js';
import { dnsProviderConformance } from './conformance.js';

interface TestKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: string;
}

const keyFor = (algorithm: TsigAlgorithm): TestKey => ({ name: `certkeeper-${algorithm}`, algorithm, secret: randomBytes(32).toString('base64') });
const KEYS = new Map(TSIG_ALGORITHMS.map((a) => [a, keyFor(a)]));
const zoneFor = (algorithm: TsigAlgorithm): string => `${algorithm}.rfc2136.test`;
const OTHER_KEY: TestKey = { name: 'someone-else', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
const REFUSED_ZONE = 'refused.rfc2136.test';

// One BIND for the whole file, started by whichever suite needs it first.
let started: Promise<BindHandle> | undefined;
const bind = (): Promise<BindHandle> => (started ??= startBind({
  zones: [
    ...TSIG_ALGORITHMS.map((a) => ({ name: zoneFor(a), updateKey: KEYS.get(a) as TestKey })),
    { name: REFUSED_ZONE, updateKey: OTHER_KEY },
  ],
}));
after(async () => {
  const handle = await started?.catch(() => undefined);
  await handle?.stop();
});

function init(zoneName: string, nameserver: string, key: TestKey, settings: Record<string, unknown> = {}): ProviderInit {
  return {
    zoneName,
    settings: { nameserver, tsigKeyName: key.name, tsigAlgorithm: key.algorithm, ...settings },
    credentials: { tsigSecret: key.secret },
    allowPrivateAddresses: true,
  };
}

async function provider(zoneName: string, key: TestKey, settings: Record<string, unknown> = {}): Promise<DnsProvider> {
  return await manifest.create(init(zoneName, (await bind()).address, key, settings));
}

/** The TXT values at `fqdn` as BIND answers them (RD=0), each record's strings joined. */
async function lookupTxt(fqdn: string): Promise<string[]> {
  const b = await bind();
  const res = await dnsQuery({ host: b.host, port: b.port }, fqdn, 'TXT', { recursionDesired: false, timeoutMs: 1000 });
  return res.answers.filter((a) => a.type === 'TXT' && a.name.toLowerCase() === fqdn).map((a) => a.txt ?? '');
}

async function soaSerial(zone: string): Promise<number> {
  const b = await bind();
  const res = await dnsQuery({ host: b.host, port: b.port }, zone, 'SOA');
  const soa = res.answers.find((a) => a.type === 'SOA');
  assert.ok(soa, `no SOA for ${zone}`);
  return (soa.data as { serial: number }).serial;
}

/** The error `promise` rejects with, asserting it is a DnsProviderError that leaks none of `secrets`. */
async function providerError(promise: Promise<unknown>, secrets: string[]): Promise<DnsProviderError> {
  const err = await promise.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof DnsProviderError, `expected a DnsProviderError, got ${String(err)}`);
  assert.match(err.message, /^rfc2136: /);
  for (const s of secrets) {
    assert.ok(!err.message.includes(s), `the error leaks a secret: ${err.message}`);
    assert.ok(!JSON.stringify(err).includes(s), 'nor in its serialised form');
  }
  return err;
}

const value = (): string => randomBytes(32).toString('base64url');
const rec = (zone: string, fqdn: string, v: string): TxtRecord => ({ zone, fqdn, value: v, ttl: 60 });

for (const algorithm of TSIG_ALGORITHMS) {
  dnsProviderConformance(`rfc2136 (${algorithm})`, async () => {
    const key = KEYS.get(algorithm) as TestKey;
    const wrong = { ...key, secret: randomBytes(32).toString('base64') };
    return {
      provider: await provider(zoneFor(algorithm), key),
      zone: zoneFor(algorithm),
      lookup: lookupTxt,
      badProvider: await provider(zoneFor(algorithm), wrong),
      secrets: [wrong.secret, key.secret],
      teardown: async () => {},
    };
  });
}

describe('rfc2136 against BIND: what the server refuses, and how it is reported', () => {
  test('a wrong secret: BADSIG from the server, naming the server and the zone, for every algorithm', async () => {
    const b = await bind();
    for (const algorithm of TSIG_ALGORITHMS) {
      const key = KEYS.get(algorithm) as TestKey;
      const wrong = { ...key, secret: randomBytes(32).toString('base64') };
      const p = await provider(zoneFor(algorithm), wrong);
      for (const call of [() => p.check(zoneFor(algorithm)), () => p.appendTxt(rec(zoneFor(algorithm), `_acme-challenge.x.${zoneFor(algorithm)}`, value()))]) {
        const err = await providerError(call(), [wrong.secret, key.secret]);
        assert.match(err.message, /NOTAUTH/);
        assert.match(err.message, /BADSIG/);
        assert.ok(err.message.includes(zoneFor(algorithm)), err.message);
        assert.ok(err.message.includes(b.address), err.message);
        assert.equal(err.retryable, false);
        const cause = err.opts.cause;
        assert.ok(cause instanceof DnsUpdateError);
        assert.equal(cause.details.tsigError, 'BADSIG');
      }
    }
  });

  test('a key the server does not know, or the right name with the wrong algorithm: BADKEY', async () => {
    const zone = zoneFor('hmac-sha256');
    const key = KEYS.get('hmac-sha256') as TestKey;
    for (const bad of [{ ...key, name: 'no-such-key' }, { ...key, algorithm: 'hmac-sha512' as const }]) {
      const err = await providerError((await provider(zone, bad)).check(zone), [key.secret]);
      assert.match(err.message, /BADKEY/);
      assert.ok(err.message.includes(bad.name), err.message);
    }
  });

  test('a valid key that may not update the zone: REFUSED, from check() as from appendTxt()', async () => {
    const key = KEYS.get('hmac-sha256') as TestKey;
    const p = await provider(REFUSED_ZONE, key);
    for (const call of [() => p.check(REFUSED_ZONE), () => p.appendTxt(rec(REFUSED_ZONE, `_acme-challenge.${REFUSED_ZONE}`, value()))]) {
      const err = await providerError(call(), [key.secret]);
      assert.match(err.message, /REFUSED/);
      assert.ok(err.message.includes(REFUSED_ZONE));
    }
    assert.deepEqual(await lookupTxt(`_acme-challenge.${REFUSED_ZONE}`), []);
  });

  test('a zone the server does not serve: check() fails with NOTAUTH', async () => {
    const key = KEYS.get('hmac-sha256') as TestKey;
    const err = await providerError((await provider('elsewhere.test', key)).check('elsewhere.test'), [key.secret]);
    assert.match(err.message, /NOTAUTH/);
    assert.match(err.message, /elsewhere\.test/);
  });

  test('check() changes nothing: the SOA serial stays', async () => {
    const zone = zoneFor('hmac-sha384');
    const p = await provider(zone, KEYS.get('hmac-sha384') as TestKey);
    const before = await soaSerial(zone);
    await p.check(zone);
    await p.check(`${zone.toUpperCase()}.`);
    assert.equal(await soaSerial(zone), before);
  });

  test('a value longer than 255 octets is split into character-strings, and deleted again', async () => {
    const zone = zoneFor('hmac-sha512');
    const p = await provider(zone, KEYS.get('hmac-sha512') as TestKey);
    const fqdn = `_acme-challenge.long-${randomBytes(3).toString('hex')}.${zone}`;
    const long = randomBytes(300).toString('hex'); // 600 characters: 3 strings, and over 512 octets (TCP)
    await p.appendTxt(rec(zone, fqdn, long));
    assert.deepEqual(await lookupTxt(fqdn), [long]);
    await p.deleteTxt(rec(zone, fqdn, long));
    assert.deepEqual(await lookupTxt(fqdn), []);
  });

  test('concurrent appends of different values to one name all land (the server applies each update atomically)', async () => {
    const zone = zoneFor('hmac-sha256');
    const p = await provider(zone, KEYS.get('hmac-sha256') as TestKey);
    const fqdn = `_acme-challenge.many-${randomBytes(3).toString('hex')}.${zone}`;
    const values = Array.from({ length: 6 }, value);
    await Promise.all(values.map((v) => p.appendTxt(rec(zone, fqdn, v))));
    assert.deepEqual((await lookupTxt(fqdn)).sort(), [...values].sort());
    await Promise.all(values.map((v) => p.deleteTxt(rec(zone, fqdn, v))));
    assert.deepEqual(await lookupTxt(fqdn), []);
  });

  test('a name outside the zone is refused before anything is sent', async () => {
    const zone = zoneFor('hmac-sha256');
    const p = await provider(zone, KEYS.get('hmac-sha256') as TestKey);
    const err = await providerError(p.appendTxt(rec(zone, '_acme-challenge.example.org', value())), []);
    assert.match(err.message, /not inside zone/);
  });
});

describe('rfc2136 manifest', () => {
  test('code, docs link, settings and credentials as DESIGN.md lists them', () => {
    assert.equal(manifest.code, 'rfc2136');
    assert.equal(manifest.docsUrl, 'https://www.rfc-editor.org/rfc/rfc2136');
    assert.deepEqual(manifest.settings.filter((f) => f.required).map((f) => f.name), ['nameserver', 'tsigKeyName']);
    const alg = manifest.settings.find((f) => f.name === 'tsigAlgorithm');
    assert.equal(alg?.default, 'hmac-sha256');
    assert.deepEqual(alg?.enum, ['hmac-sha256', 'hmac-sha384', 'hmac-sha512']);
    assert.deepEqual(manifest.credentials.map((f) => [f.name, f.required]), [['tsigSecret', true]]);
  });

  test('bad settings and credentials are refused with a DnsProviderError that never repeats the secret', async () => {
    const good = { name: 'k', algorithm: 'hmac-sha256' as const, secret: randomBytes(32).toString('base64') };
    const badSecret = 'this-is-*not*-base64-but-secret';
    const cases: [ProviderInit, RegExp][] = [
      [init('z.test', '', good), /nameserver/],
      [init('z.test', '127.0.0.1:99999', good), /nameserver/],
      [init('z.test', '127.0.0.1:53', { ...good, name: '' }), /tsigKeyName/],
      [init('z.test', '127.0.0.1:53', good, { tsigAlgorithm: 'hmac-md5' }), /tsigAlgorithm/],
      [init('z.test', '127.0.0.1:53', { ...good, secret: badSecret }), /tsigSecret/],
      [init('z.test', '127.0.0.1:53', good, { timeoutSeconds: 0 }), /timeoutSeconds/],
    ];
    for (const [i, pattern] of cases) {
      const err = await providerError(Promise.resolve().then(() => manifest.create(i)), [badSecret, good.secret]);
      assert.match(err.message, pattern);
    }
  });
});

// ——— A fake update server, for what BIND never does: answer with a bad or missing signature. ———

/** How the fake answers one UPDATE; `via` says which transport it came over. */
type FakeAnswer = (request: Buffer, via: 'udp' | 'tcp') => Buffer | undefined;

interface FakeServer {
  address: string;
  requests: { via: 'udp' | 'tcp' }[];
  close(): Promise<void>;
}

/** Listens on one port for both UDP and TCP on 127.0.0.1. */
async function fakeUpdateServer(answer: FakeAnswer): Promise<FakeServer> {
  const requests: { via: 'udp' | 'tcp' }[] = [];
  for (let attempt = 0; attempt < 10; attempt++) {
    const tcp: Server = createServer((conn: Socket) => {
      let buf = Buffer.alloc(0);
      conn.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
        requests.push({ via: 'tcp' });
        const reply = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), 'tcp');
        if (reply) {
          const len = Buffer.alloc(2);
          len.writeUInt16BE(reply.length, 0);
          conn.end(Buffer.concat([len, reply]));
        }
      });
      conn.on('error', () => {});
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', () => resolve()));
    const port = (tcp.address() as { port: number }).port;
    const udp: UdpSocket = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      continue;
    }
    udp.on('message', (msg, rinfo) => {
      requests.push({ via: 'udp' });
      const reply = answer(msg, 'udp');
      if (reply) udp.send(reply, rinfo.port, rinfo.address);
    });
    return {
      address: `127.0.0.1:${port}`,
      requests,
      close: async () => {
        await new Promise<void>((resolve) => udp.close(() => resolve()));
        await new Promise<void>((resolve) => tcp.close(() => resolve()));
      },
    };
  }
  throw new Error('no port free for both UDP and TCP');
}

/** The reply to an UPDATE: same ID, QR, opcode UPDATE, `rcode`, the zone section echoed; unsigned. */
function updateReply(request: Buffer, rcode = 0, flags = 0): Buffer {
  const zoneEnd = readName(request, 12).next + 4;
  const reply = Buffer.from(request.subarray(0, zoneEnd));
  reply.writeUInt16BE(0x8000 | (5 << 11) | flags | rcode, 2);
  reply.writeUInt16BE(1, 4);
  reply.writeUInt16BE(0, 6);
  reply.writeUInt16BE(0, 8);
  reply.writeUInt16BE(0, 10);
  return reply;
}

describe('rfc2136: the reply\'s TSIG is verified (fake server)', () => {
  const key: TestKey = { name: 'fake-key', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  const tsigKey = (k: TestKey): TsigKey => ({ name: k.name, algorithm: k.algorithm, secret: Buffer.from(k.secret, 'base64') });
  const zone = 'fake.test';
  const fqdn = `_acme-challenge.${zone}`;

  /** A fake that checks our request with the right key and signs its reply with `signer` (or not at all). */
  async function withFake(signer: TestKey | null, run: (p: DnsProvider, fake: FakeServer) => Promise<void>, opts: { now?: () => number; udpTruncates?: boolean } = {}): Promise<void> {
    const fake = await fakeUpdateServer((request, via) => {
      const rec = tsigVerify(request, tsigKey(key)); // our request is always signed correctly
      if (opts.udpTruncates && via === 'udp') return updateReply(request, 0, 0x0200);
      const reply = updateReply(request);
      return signer ? tsigSign(reply, tsigKey(signer), { requestMac: rec.mac, ...(opts.now ? { now: opts.now } : {}) }).message : reply;
    });
    try {
      await run(await manifest.create(init(zone, fake.address, key, { timeoutSeconds: 2 })), fake);
    } finally {
      await fake.close();
    }
  }

  test('a reply signed with the right key is accepted (the fake itself is sound)', async () => {
    await withFake(key, async (p) => {
      await p.appendTxt(rec(zone, fqdn, value()));
      await p.check(zone);
    });
  });

  test('a reply signed with another secret is rejected: BADSIG, not trusted', async () => {
    const impostor = { ...key, secret: randomBytes(32).toString('base64') };
    await withFake(impostor, async (p, fake) => {
      const err = await providerError(p.appendTxt(rec(zone, fqdn, value())), [key.secret, impostor.secret]);
      assert.match(err.message, /BADSIG/);
      assert.match(err.message, /not trusted/);
      assert.ok(err.message.includes(fake.address) && err.message.includes(zone), err.message);
      const cause = err.opts.cause;
      assert.ok(cause instanceof DnsUpdateError);
      assert.equal(cause.code, 'tsig');
      assert.equal(cause.details.tsigError, 'BADSIG');
    });
  });

  test('a reply signed with another key name is rejected: BADKEY', async () => {
    await withFake({ ...key, name: 'other-key' }, async (p) => {
      const err = await providerError(p.check(zone), [key.secret]);
      assert.match(err.message, /BADKEY/);
    });
  });

  test('an unsigned NOERROR reply to our signed request is rejected', async () => {
    await withFake(null, async (p) => {
      const err = await providerError(p.appendTxt(rec(zone, fqdn, value())), [key.secret]);
      assert.match(err.message, /not signed/);
      assert.equal((err.opts.cause as DnsUpdateError).details.tsigError, 'UNSIGNED');
    });
  });

  test('a reply signed an hour ago is rejected: BADTIME', async () => {
    await withFake(key, async (p) => {
      const err = await providerError(p.check(zone), [key.secret]);
      assert.match(err.message, /BADTIME/);
    }, { now: () => Date.now() - 3_600_000 });
  });

  test('a truncated UDP reply: the same signed update again over TCP', async () => {
    await withFake(key, async (p, fake) => {
      await p.appendTxt(rec(zone, fqdn, value()));
      assert.deepEqual(fake.requests.map((r) => r.via), ['udp', 'tcp']);
    }, { udpTruncates: true });
  });

  test('a server that never answers: a retryable error naming the server, within timeoutSeconds', async () => {
    const fake = await fakeUpdateServer(() => undefined);
    try {
      const p = await manifest.create(init(zone, fake.address, key, { timeoutSeconds: 1 }));
      const t0 = Date.now();
      const err = await providerError(p.appendTxt(rec(zone, fqdn, value())), [key.secret]);
      const elapsed = Date.now() - t0;
      assert.equal(err.retryable, true);
      assert.ok(err.message.includes(fake.address), err.message);
      assert.match(err.message, /did not answer/);
      assert.ok(elapsed >= 900 && elapsed < 2500, `took ${elapsed} ms`);
      assert.equal(fake.requests.length, 2, 'sent twice over UDP');
    } finally {
      await fake.close();
    }
  });
});
