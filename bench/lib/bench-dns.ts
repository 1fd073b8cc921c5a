/**
 * The benchmark's DNS: a BIND 9 (test/harness/bind.ts) on a free loopback port, primary for one
 * zone that accepts RFC 2136 updates signed with a fresh TSIG key. Every name in the zone has an
 * A record 127.0.0.1 (the harness's wildcard), so Pebble, started with `-dnsserver` pointing here,
 * finds the http-01 responder on loopback and sees the `_acme-challenge` TXT records that the
 * clients write through RFC 2136. BIND answers only loopback clients, and its recursion never
 * leaves loopback (the harness serves its own root zone).
 */
import { randomBytes } from 'node:crypto';
import { startBind, type BindHandle, type BindUpdateKey } from '../../test/harness/bind.js';

/** The zone every benchmark name is in. */
export const BENCH_ZONE = 'bench.test';

/** A running benchmark DNS. */
export interface BenchDns {
  zone: string;
  bind: BindHandle;
  /** `127.0.0.1:<port>` */
  address: string;
  host: string;
  port: number;
  key: BindUpdateKey;
  /** The key in named.conf syntax, as `nsupdate -k` reads it. */
  keyFileText: string;
}

/** Starts BIND for {@link BENCH_ZONE}; stop it with `bind.stop()`. */
export async function startBenchDns(): Promise<BenchDns> {
  const key: BindUpdateKey = { name: 'certkeeper-bench.', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
  const bind = await startBind({ zones: [{ name: BENCH_ZONE, updateKey: key }] });
  return {
    zone: BENCH_ZONE,
    bind,
    address: bind.address,
    host: bind.host,
    port: bind.port,
    key,
    keyFileText: `key "${key.name}" { algorithm ${key.algorithm}; secret "${key.secret}"; };\n`,
  };
}
