// The DNS wire code: TSIG (RFC 8945) signing and verification, with known answers and interop
// against BIND's own dig, and the stub query against a real BIND 9 and against sockets that
// misbehave on purpose.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { dnsQuery, DnsQueryError, parseServerAddress, type DnsServerAddress } from '../../src/dns/wire/dns-query.js';
import {
  decodeTsigSecret,
  encodeTsigRecord,
  readTsig,
  TSIG_ALGORITHMS,
  TSIG_ERRORS,
  tsigSign,
  tsigVerify,
  TsigError,
  type TsigKey,
} from '../../src/dns/wire/tsig.js';
import { startBind, type BindHandle } from '../harness/bind.js';

const execFileAsync = promisify(execFile);
const T0 = 1_700_000_000; // 0x6553f100

/** A query message (ID 0x1234, RD) for `name` TXT, encoded by dns-packet. */
function queryMessage(name = 'www.example.test', id = 0x1234): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'TXT', name, class: 'IN' }] });
}

function key(algorithm: TsigKey['algorithm'] = 'hmac-sha256', name = 'k1.example', secret = Buffer.alloc(32, 0x5a)): TsigKey {
  return { name, algorithm, secret };
}

/** Runs `fn` and returns the TsigError it throws. */
function tsigErrorOf(fn: () => unknown): TsigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TsigError, `expected a TsigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a TsigError, nothing was thrown');
}

describe('TSIG (RFC 8945)', () => {
  test('known answer: the MAC is HMAC(message ‖ TSIG variables in canonical form), and the RR is laid out as §4.2 says', () => {
    const message = queryMessage();
    const k = key('hmac-sha256', 'K1.Example.'); // mixed case and a trailing dot: canonical form is lower case, no dot
    const signed = tsigSign(message, k, { now: () => T0 * 1000 });
    // §4.3.3 by hand: NAME k1.example, CLASS ANY, TTL 0, Algorithm hmac-sha256, Time, Fudge 300, Error 0, Other Len 0.
    const variables = Buffer.from(
      '026b31076578616d706c6500' + '00ff' + '00000000' + '0b686d61632d73686132353600' + '00006553f100' + '012c' + '0000' + '0000',
      'hex',
    );
    const expectedMac = createHmac('sha256', k.secret).update(message).update(variables).digest();
    assert.deepEqual(signed.mac, expectedMac);
    assert.equal(signed.timeSigned, T0);
    const rr = Buffer.concat([
      Buffer.from('026b31076578616d706c6500' + '00fa' + '00ff' + '00000000', 'hex'), // owner, TYPE 250, CLASS ANY, TTL 0
      Buffer.from('003d', 'hex'), // RDLENGTH 61 = 13 + 6 + 2 + 2 + 32 + 2 + 2 + 2
      Buffer.from('0b686d61632d73686132353600' + '00006553f100' + '012c' + '0020', 'hex'),
      expectedMac,
      Buffer.from('1234' + '0000' + '0000', 'hex'), // Original ID, Error, Other Len
    ]);
    assert.deepEqual(signed.message.subarray(message.length), rr);
    assert.equal(signed.message.readUInt16BE(10), 1, 'ARCOUNT counts the TSIG');
    assert.deepEqual(signed.message.subarray(0, 10), message.subarray(0, 10), 'the rest of the header is unchanged');
  });

  for (const algorithm of TSIG_ALGORITHMS) {
    test(`${algorithm}: sign, then verify with the same key; the fields read back`, () => {
      const k = key(algorithm, 'k1.example', randomBytes(64));
      const signed = tsigSign(queryMessage(), k, { now: () => T0 * 1000 });
      const rec = tsigVerify(signed.message, k, { now: () => (T0 + 10) * 1000 });
      assert.equal(rec.keyName, 'k1.example');
      assert.equal(rec.algorithm, algorithm);
      assert.equal(rec.timeSigned, T0);
      assert.equal(rec.fudge, 300);
      assert.equal(rec.originalId, 0x1234);
      assert.equal(rec.error, 0);
      assert.deepEqual(rec.mac, signed.mac);
      assert.equal(rec.mac.length, { 'hmac-sha256': 32, 'hmac-sha384': 48, 'hmac-sha512': 64 }[algorithm]);
      assert.deepEqual(readTsig(signed.message), rec);
    });
  }

  test('a response MAC covers the request MAC (§4.3.1): it verifies with it and only with it', () => {
    const k = key();
    const now = () => T0 * 1000;
    const request = tsigSign(queryMessage(), k, { now });
    const response = dnsPacket.encode({ type: 'response', id: 0x1234, questions: [{ type: 'TXT', name: 'www.example.test' }], answers: [] });
    const signed = tsigSign(response, k, { now, requestMac: request.mac });
    tsigVerify(signed.message, k, { now, requestMac: request.mac });
    assert.equal(tsigErrorOf(() => tsigVerify(signed.message, k, { now })).code, 'BADSIG');
    const otherRequest = tsigSign(queryMessage('other.example.test'), k, { now });
    assert.equal(tsigErrorOf(() => tsigVerify(signed.message, k, { now, requestMac: otherRequest.mac })).code, 'BADSIG');
  });

  test('tampering, another secret → BADSIG; another key name or algorithm → BADKEY (all local)', () => {
    const k = key();
    const now = () => T0 * 1000;
    const signed = tsigSign(queryMessage(), k, { now });
    const tampered = Buffer.from(signed.message);
    tampered[14] = (tampered[14] ?? 0) ^ 0x01; // a letter of the question name
    for (const [bytes, other, code] of [
      [tampered, k, 'BADSIG'],
      [signed.message, key('hmac-sha256', 'k1.example', Buffer.alloc(32, 0x5b)), 'BADSIG'],
      [signed.message, key('hmac-sha256', 'k2.example'), 'BADKEY'],
      [signed.message, key('hmac-sha512'), 'BADKEY'],
    ] as const) {
      const err = tsigErrorOf(() => tsigVerify(bytes, other, { now }));
      assert.equal(err.code, code, err.message);
      assert.equal(err.origin, 'local');
      assert.ok(!err.message.includes(k.secret.toString('base64')));
    }
  });

  test('Time Signed outside the fudge → BADTIME; inside it → accepted', () => {
    const k = key();
    const signed = tsigSign(queryMessage(), k, { now: () => T0 * 1000 });
    tsigVerify(signed.message, k, { now: () => (T0 + 300) * 1000 });
    tsigVerify(signed.message, k, { now: () => (T0 - 300) * 1000 });
    for (const skew of [301, -301, 3600]) {
      const err = tsigErrorOf(() => tsigVerify(signed.message, k, { now: () => (T0 + skew) * 1000 }));
      assert.equal(err.code, 'BADTIME');
      assert.equal(err.origin, 'local');
      assert.equal(err.otherTime, T0);
    }
    // A message may not widen the window beyond ours by announcing a larger fudge.
    const wide = tsigSign(queryMessage(), k, { now: () => T0 * 1000, fudge: 3600 });
    assert.equal(tsigErrorOf(() => tsigVerify(wide.message, k, { now: () => (T0 + 1000) * 1000 })).code, 'BADTIME');
  });

  test('an unsigned message → UNSIGNED; a TSIG that is not the last record → FORMERR', () => {
    assert.equal(tsigErrorOf(() => tsigVerify(queryMessage(), key())).code, 'UNSIGNED');
    const k = key();
    const signed = tsigSign(queryMessage(), k);
    // Append one more additional record (a TXT) after the TSIG.
    const extra = Buffer.from('00' + '0010' + '0001' + '00000000' + '0002' + '0178', 'hex');
    const bad = Buffer.concat([signed.message, extra]);
    bad.writeUInt16BE(2, 10);
    assert.equal(tsigErrorOf(() => tsigVerify(bad, k)).code, 'FORMERR');
    assert.equal(tsigErrorOf(() => tsigVerify(signed.message.subarray(0, signed.message.length - 3), k)).code, 'FORMERR');
  });

  test('an error the server reports with an empty MAC (§5.3.2) is the server\'s BADSIG / BADKEY', () => {
    const k = key();
    for (const [error, code] of [[TSIG_ERRORS.BADSIG, 'BADSIG'], [TSIG_ERRORS.BADKEY, 'BADKEY']] as const) {
      const response = dnsPacket.encode({ type: 'response', id: 7, flags: 9, questions: [{ type: 'SOA', name: 'example.test' }] });
      const rr = encodeTsigRecord({
        keyName: k.name, algorithm: k.algorithm, timeSigned: T0, fudge: 300, mac: Buffer.alloc(0), originalId: 7, error, otherData: Buffer.alloc(0),
      });
      const message = Buffer.concat([response, rr]);
      message.writeUInt16BE(1, 10);
      const err = tsigErrorOf(() => tsigVerify(message, k, { requestMac: randomBytes(32) }));
      assert.equal(err.code, code);
      assert.equal(err.origin, 'server');
    }
  });

  test('BADTIME signed by the server (§5.2.3) is reported with the server\'s time from Other Data', () => {
    const k = key();
    const request = tsigSign(queryMessage(), k, { now: () => T0 * 1000 });
    const response = dnsPacket.encode({ type: 'response', id: 0x1234, flags: 9, questions: [{ type: 'TXT', name: 'www.example.test' }] });
    const serverTime = Buffer.alloc(6);
    serverTime.writeUIntBE(T0 + 7200, 0, 6);
    const signed = tsigSign(response, k, { now: () => T0 * 1000, requestMac: request.mac, error: TSIG_ERRORS.BADTIME, otherData: serverTime });
    const err = tsigErrorOf(() => tsigVerify(signed.message, k, { now: () => T0 * 1000, requestMac: request.mac }));
    assert.equal(err.code, 'BADTIME');
    assert.equal(err.origin, 'server');
    assert.equal(err.otherTime, T0 + 7200);
  });

  test('an ID rewritten on the way still verifies (the digest uses Original ID, §4.3.2)', () => {
    const k = key();
    const signed = tsigSign(queryMessage(), k);
    const forwarded = Buffer.from(signed.message);
    forwarded.writeUInt16BE(0xbeef, 0);
    assert.equal(tsigVerify(forwarded, k).originalId, 0x1234);
  });

  test('a MAC truncated to half the hash length verifies; shorter is refused (§5.2.2.1)', () => {
    const k = key('hmac-sha256');
    const message = queryMessage();
    const signed = tsigSign(message, k);
    const rec = readTsig(signed.message);
    assert.ok(rec);
    const withMac = (mac: Buffer): Buffer => {
      const m = Buffer.concat([message, encodeTsigRecord({ ...rec, mac })]);
      m.writeUInt16BE(1, 10);
      return m;
    };
    tsigVerify(withMac(signed.mac.subarray(0, 16)), k);
    assert.equal(tsigErrorOf(() => tsigVerify(withMac(signed.mac.subarray(0, 15)), k)).code, 'BADSIG');
    const flipped = Buffer.from(signed.mac.subarray(0, 16));
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    assert.equal(tsigErrorOf(() => tsigVerify(withMac(flipped), k)).code, 'BADSIG');
  });

  test('decodeTsigSecret accepts base64 and refuses anything else without repeating it', () => {
    assert.deepEqual(decodeTsigSecret(' c2VjcmV0 \n'), Buffer.from('secret'));
    for (const bad of ['', 'not base64!', 'abcde', '====']) {
      assert.throws(() => decodeTsigSecret(bad), (err: Error) => !err.message.includes(bad) || bad === '');
    }
  });

  for (const algorithm of TSIG_ALGORITHMS) {
    test(`${algorithm}: interop with BIND's dig — dig signs, we verify; we sign the reply, dig verifies`, async () => {
      const k: TsigKey = { name: 'Interop-Key.Example', algorithm, secret: randomBytes(48) };
      const server = await udpServer((msg, reply) => {
        const rec = tsigVerify(msg, k);
        const q = dnsPacket.decode(msg);
        const answer = dnsPacket.encode({
          type: 'response', id: q.id ?? 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: q.questions,
          answers: [{ type: 'TXT', name: 'q.example', ttl: 5, class: 'IN', data: ['signed-by-certkeeper'] }],
        });
        reply(tsigSign(answer, k, { requestMac: rec.mac }).message);
      });
      try {
        const { stdout } = await execFileAsync('dig', [
          '-y', `${algorithm}:interop-key.example:${k.secret.toString('base64')}`,
          '-p', String(server.port), '@127.0.0.1', '+tries=1', '+time=2', 'q.example', 'TXT',
        ]);
        assert.equal(server.errors.length, 0, `our verification of dig's request failed: ${server.errors.join('; ')}`);
        assert.match(stdout, /signed-by-certkeeper/);
        assert.match(stdout, /TSIG PSEUDOSECTION/);
        assert.doesNotMatch(stdout, /Couldn't verify|could not be validated/, 'dig verified our signature');
      } finally {
        await server.close();
      }
    });
  }
});

/** A UDP server on 127.0.0.1 that calls `handle` for each datagram; errors it throws are collected. */
async function udpServer(handle: (msg: Buffer, reply: (b: Buffer) => void, rinfo: RemoteInfo) => void): Promise<{ port: number; errors: string[]; received: Buffer[]; close(): Promise<void> }> {
  const socket: Socket = createSocket('udp4');
  const errors: string[] = [];
  const received: Buffer[] = [];
  socket.on('message', (msg, rinfo) => {
    received.push(msg);
    try {
      handle(msg, (b) => socket.send(b, rinfo.port, rinfo.address), rinfo);
    } catch (err) {
      errors.push(String(err));
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, errors, received, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

describe('parseServerAddress', () => {
  test('host, host:port, [v6]:port, bare v6, names; bad input is refused', () => {
    assert.deepEqual(parseServerAddress('1.2.3.4'), { host: '1.2.3.4', port: 53 });
    assert.deepEqual(parseServerAddress('1.2.3.4:5353'), { host: '1.2.3.4', port: 5353 });
    assert.deepEqual(parseServerAddress('[::1]:53'), { host: '::1', port: 53 });
    assert.deepEqual(parseServerAddress('[2001:db8::1]'), { host: '2001:db8::1', port: 53 });
    assert.deepEqual(parseServerAddress('::1'), { host: '::1', port: 53 });
    assert.deepEqual(parseServerAddress('ns1.example.com:8053'), { host: 'ns1.example.com', port: 8053 });
    assert.deepEqual(parseServerAddress('10.0.0.1', 5300), { host: '10.0.0.1', port: 5300 });
    for (const bad of ['', '1.2.3.4:0', '1.2.3.4:65536', '1.2.3.4:x', '[nope]:53', 'a b', 'host:53:53', 'http://x']) {
      assert.throws(() => parseServerAddress(bad), TypeError, bad);
    }
  });
});

describe('dnsQuery against BIND', () => {
  let bind: BindHandle | undefined;
  let started: Promise<BindHandle> | undefined;
  const server = async (): Promise<DnsServerAddress> => {
    bind = await (started ??= startBind({
      zones: [
        {
          name: 'wire.test',
          records: [
            'multi TXT "part one" "part two"',
            'multi TXT "second record"',
            // Six 200-octet records: about 1.3 kB, far over 512 octets, so UDP truncates.
            ...Array.from({ length: 6 }, (_, i) => `big TXT "${String(i).repeat(200)}"`),
            '_acme-challenge.www CNAME _acme-challenge.www.target.test.',
          ],
        },
        { name: 'target.test', records: ['_acme-challenge.www TXT "at-target"'] },
      ],
    }));
    return { host: bind.host, port: bind.port };
  };
  after(async () => {
    await (await started?.catch(() => undefined))?.stop();
  });

  test('SOA at a zone apex: NOERROR, authoritative', async () => {
    const res = await dnsQuery(await server(), 'wire.test', 'SOA');
    assert.equal(res.rcode, 'NOERROR');
    assert.equal(res.authoritative, true);
    assert.equal(res.truncated, false);
    const soa = res.answers.find((a) => a.type === 'SOA');
    assert.ok(soa);
    assert.equal(soa.name, 'wire.test');
    assert.equal(soa.class, 'IN');
    assert.equal((soa.data as { mname: string }).mname, 'ns.wire.test');
  });

  test('TXT with several character-strings: data holds them, txt joins them, one entry per record', async () => {
    const res = await dnsQuery(await server(), 'MULTI.wire.test.', 'TXT');
    assert.equal(res.rcode, 'NOERROR');
    const txt = res.answers.filter((a) => a.type === 'TXT');
    assert.deepEqual(txt.map((a) => a.txt).sort(), ['part onepart two', 'second record']);
    assert.deepEqual(txt.find((a) => a.txt === 'part onepart two')?.data, ['part one', 'part two']);
    assert.ok(txt.every((a) => a.ttl === 60));
  });

  test('a name outside every zone: NXDOMAIN, authoritative (from the local root), with RD=0 and RD=1', async () => {
    for (const recursionDesired of [false, true]) {
      const res = await dnsQuery(await server(), `nothing-${randomBytes(3).toString('hex')}.example.com`, 'A', { recursionDesired });
      assert.equal(res.rcode, 'NXDOMAIN');
      assert.equal(res.authoritative, true);
      assert.deepEqual(res.answers, []);
      assert.equal(res.authorities[0]?.type, 'SOA');
      assert.equal(res.authorities[0]?.name, '.');
    }
  });

  test('RD=0 gets the CNAME only; RD=1 lets BIND chase it into the other zone (what Pebble relies on)', async () => {
    const s = await server();
    const plain = await dnsQuery(s, '_acme-challenge.www.wire.test', 'TXT');
    assert.deepEqual(plain.answers.map((a) => a.type), ['CNAME']);
    assert.equal(plain.answers[0]?.data, '_acme-challenge.www.target.test');
    const chased = await dnsQuery(s, '_acme-challenge.www.wire.test', 'TXT', { recursionDesired: true });
    assert.deepEqual(chased.answers.map((a) => a.txt ?? a.type), ['CNAME', 'at-target']);
  });

  test('a reply truncated over UDP is asked again over TCP', async () => {
    const res = await dnsQuery(await server(), 'big.wire.test', 'TXT');
    assert.equal(res.rcode, 'NOERROR');
    assert.equal(res.truncated, false);
    assert.deepEqual(res.answers.map((a) => a.txt).sort(), Array.from({ length: 6 }, (_, i) => String(i).repeat(200)));
  });

  test('NS at the apex comes with its glue', async () => {
    const res = await dnsQuery(await server(), 'wire.test', 'NS');
    assert.deepEqual(res.answers.map((a) => a.data), ['ns.wire.test']);
    assert.ok(res.additionals.some((a) => a.type === 'A' && a.name === 'ns.wire.test' && a.data === '127.0.0.1'));
  });
});

describe('dnsQuery failure modes', () => {
  test('a server that drops everything: DnsQueryError timeout naming the server, after the tries', async () => {
    const drop = await udpServer(() => {});
    const s = { host: '127.0.0.1', port: drop.port };
    const t0 = Date.now();
    try {
      const err = await dnsQuery(s, 'example.test', 'TXT', { timeoutMs: 200, tries: 2 }).then(() => null, (e: unknown) => e);
      const elapsed = Date.now() - t0;
      assert.ok(err instanceof DnsQueryError, String(err));
      assert.equal(err.code, 'timeout');
      assert.equal(err.server, `127.0.0.1:${drop.port}`);
      assert.equal(err.queryName, 'example.test');
      assert.equal(err.type, 'TXT');
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${drop.port}`));
      assert.ok(elapsed >= 380 && elapsed < 1500, `took ${elapsed} ms`);
      assert.equal(drop.received.length, 2, 'sent twice');
    } finally {
      await drop.close();
    }
  });

  test('nothing listening: a network error at once (ICMP port unreachable on the connected socket)', async () => {
    const gone = await udpServer(() => {});
    await gone.close();
    const t0 = Date.now();
    const err = await dnsQuery({ host: '127.0.0.1', port: gone.port }, 'example.test', 'SOA', { timeoutMs: 2000 }).then(() => null, (e: unknown) => e);
    assert.ok(err instanceof DnsQueryError, String(err));
    assert.equal(err.code, 'network');
    assert.ok(Date.now() - t0 < 1500);
  });

  test('replies with another ID or another question are ignored; the real one is taken', async () => {
    const srv = await udpServer((msg, reply) => {
      const q = dnsPacket.decode(msg);
      const id = q.id ?? 0;
      const answer = (overrides: Partial<dnsPacket.Packet>, data: string): Buffer => dnsPacket.encode({
        type: 'response', id, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: q.questions,
        answers: [{ type: 'TXT', name: 'example.test', data }], ...overrides,
      });
      reply(answer({ id: (id + 1) & 0xffff }, 'wrong-id'));
      reply(answer({ questions: [{ type: 'TXT', name: 'evil.test' }] }, 'wrong-question'));
      reply(answer({ questions: [{ type: 'A', name: 'example.test' }] }, 'wrong-type'));
      setTimeout(() => reply(answer({}, 'genuine')), 20);
    });
    try {
      const res = await dnsQuery({ host: '127.0.0.1', port: srv.port }, 'example.test', 'TXT', { timeoutMs: 1000, tries: 1 });
      assert.deepEqual(res.answers.map((a) => a.txt), ['genuine']);
    } finally {
      await srv.close();
    }
  });

  test('a reply with our ID that cannot be decoded: malformed', async () => {
    const srv = await udpServer((msg, reply) => {
      const bad = Buffer.from(msg.subarray(0, 12));
      bad.writeUInt16BE(0x8400, 2); // QR, AA
      bad.writeUInt16BE(1, 6); // ANCOUNT 1, but no records follow
      reply(Buffer.concat([bad, msg.subarray(12)]));
    });
    try {
      const err = await dnsQuery({ host: '127.0.0.1', port: srv.port }, 'example.test', 'TXT', { timeoutMs: 1000 }).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof DnsQueryError, String(err));
      assert.equal(err.code, 'malformed');
    } finally {
      await srv.close();
    }
  });

  test('an AbortSignal ends the query at once with its reason', async () => {
    const drop = await udpServer(() => {});
    try {
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(dnsQuery({ host: '127.0.0.1', port: drop.port }, 'example.test', 'TXT', { timeoutMs: 5000, signal: ac.signal }), { name: 'AbortError' });
      assert.ok(Date.now() - t0 < 1000);
      await assert.rejects(dnsQuery({ host: '127.0.0.1', port: drop.port }, 'example.test', 'TXT', { signal: AbortSignal.abort() }), { name: 'AbortError' });
    } finally {
      await drop.close();
    }
  });
});
