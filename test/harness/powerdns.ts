// Starts Debian's PowerDNS Authoritative Server (`pdns_server` 4.7 with the gsqlite3 back end) on
// loopback ports, with the HTTP API on, and creates the asked-for zones through that API.
import { spawn, type ChildProcess } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { freePort } from './ports.js';
import { stopChild, trackChild } from '../../src/demo/child-processes.js';

/** Options of {@link startPowerDns}. */
export interface PowerDnsOptions {
  /** Zones to create (lower case, no trailing dot), each Native with its own SOA, NS and the NS's A. */
  zones: string[];
  /** The API key (`X-API-Key`). */
  apiKey: string;
}

/** A running pdns_server started by {@link startPowerDns}. */
export interface PowerDnsHandle {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:40123` (the server id is `localhost`). */
  apiUrl: string;
  /** `127.0.0.1:<port>` where pdns answers DNS queries (UDP and TCP). */
  dnsAddress: string;
  /** Stops the pdns_server this handle started and removes its temp dir. */
  stop(): Promise<void>;
  /** Everything pdns_server wrote so far. */
  logText(): string;
}

const SCHEMA_FILE = '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql';
const READY_TRIES = 100;
const READY_DELAY_MS = 50;
const STOP_GRACE_MS = 3000;



function pdnsConf(o: { dbFile: string; dir: string; dnsPort: number; apiPort: number; apiKey: string }): string {
  return [
    'launch=gsqlite3',
    `gsqlite3-database=${o.dbFile}`,
    'gsqlite3-pragma-synchronous=0',
    'local-address=127.0.0.1',
    `local-port=${o.dnsPort}`,
    // Outgoing queries (NOTIFY, ALIAS) stay on loopback too; there are none for Native zones.
    'query-local-address=127.0.0.1',
    'api=yes',
    `api-key=${o.apiKey}`,
    'webserver=yes',
    'webserver-address=127.0.0.1',
    `webserver-port=${o.apiPort}`,
    'webserver-allow-from=127.0.0.1',
    'webserver-loglevel=normal',
    `socket-dir=${o.dir}`,
    'guardian=no',
    'daemon=no',
    'disable-syslog=yes',
    'log-timestamp=no',
    'loglevel=6',
    // The Debian default polls secpoll.powerdns.com through the system resolver: never leave loopback.
    'security-poll-suffix=',
    // No caches: a test reads back what it just wrote (the API purges them anyway; this removes the doubt).
    'cache-ttl=0',
    'query-cache-ttl=0',
    'negquery-cache-ttl=0',
    'receiver-threads=1',
    'distributor-threads=1',
    '',
  ].join('\n');
}

async function api(apiUrl: string, apiKey: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { 'X-API-Key': apiKey, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
  return { status: res.status, text: await res.text() };
}

/** Starts pdns_server on 127.0.0.1 (DNS and API on free ports) and creates `opts.zones`. */
export async function startPowerDns(opts: PowerDnsOptions): Promise<PowerDnsHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-pdns-'));
  let child: ChildProcess | undefined;
  let log = '';
  const cleanup = async (): Promise<void> => {
    if (child) await stopChild(child, STOP_GRACE_MS);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const dbFile = join(dir, 'pdns.sqlite3');
    const db = new Database(dbFile);
    try {
      db.exec(await readFile(SCHEMA_FILE, 'utf8'));
    } finally {
      db.close();
    }
    const dnsPort = await freePort();
    const apiPort = await freePort();
    await writeFile(join(dir, 'pdns.conf'), pdnsConf({ dbFile, dir, dnsPort, apiPort, apiKey: opts.apiKey }), { mode: 0o600 });

    const proc = spawn('pdns_server', [`--config-dir=${dir}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    trackChild(proc);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8');
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    let spawnError: Error | undefined; // e.g. ENOENT when pdns-server is not installed
    proc.once('error', (err) => {
      spawnError = new Error(`pdns_server did not start (is Debian's pdns-server installed?): ${err.message}`);
    });
    const exitedEarly = (): Error | undefined =>
      spawnError ??
      (proc.exitCode !== null || proc.signalCode !== null
        ? new Error(`pdns_server exited (${proc.exitCode ?? proc.signalCode}) during start-up:\n${log.slice(-2000)}`)
        : undefined);

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    for (let i = 0; ; i++) {
      const early = exitedEarly();
      if (early) throw early;
      try {
        const res = await api(apiUrl, opts.apiKey, 'GET', '/api/v1/servers/localhost');
        if (res.status === 200) break;
        throw new Error(`HTTP ${res.status}: ${res.text}`);
      } catch (err) {
        if (i >= READY_TRIES) throw new Error(`pdns_server's API did not come up: ${String(err)}\n${log.slice(-2000)}`);
        await sleep(READY_DELAY_MS);
      }
    }

    for (const zone of opts.zones) {
      const name = `${zone}.`;
      const res = await api(apiUrl, opts.apiKey, 'POST', '/api/v1/servers/localhost/zones', {
        name,
        kind: 'Native',
        nameservers: [],
        rrsets: [
          { name, type: 'SOA', ttl: 60, records: [{ content: `ns1.${name} hostmaster.${name} 1 10800 3600 604800 60`, disabled: false }] },
          { name, type: 'NS', ttl: 60, records: [{ content: `ns1.${name}`, disabled: false }] },
          { name: `ns1.${name}`, type: 'A', ttl: 60, records: [{ content: '127.0.0.1', disabled: false }] },
        ],
      });
      if (res.status !== 201) throw new Error(`creating zone ${zone} failed: HTTP ${res.status}: ${res.text}`);
    }

    // Ready when DNS answers too: the SOA of every zone, from the DNS port.
    const dnsAddress = `127.0.0.1:${dnsPort}`;
    for (const zone of opts.zones) {
      for (let i = 0; ; i++) {
        const resolver = new Resolver({ timeout: 500, tries: 1 });
        resolver.setServers([dnsAddress]);
        try {
          await resolver.resolveSoa(zone);
          break;
        } catch (err) {
          if (i >= READY_TRIES) throw new Error(`pdns_server does not answer for ${zone} at ${dnsAddress}: ${String(err)}\n${log.slice(-2000)}`);
          await sleep(READY_DELAY_MS);
        }
      }
    }

    let stopping: Promise<void> | undefined;
    return {
      apiUrl,
      dnsAddress,
      stop: () => (stopping ??= cleanup()),
      logText: () => log,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
