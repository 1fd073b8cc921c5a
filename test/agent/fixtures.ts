// Shared pieces of the agent tests: throw-away certificates (OpenSSL CLI), deployment work built
// from them, a real nginx from Debian on a free loopback port, and a logger whose lines are kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { makeChain, type TestChain } from '../harness/openssl-ca.js';
import { freePort } from '../harness/ports.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { stopChild, trackChild } from '../../src/demo/child-processes.js';
import { createLogger } from '../../src/server/logger.js';
import type { AgentDeploymentWork, AgentFileSettings, DeployMaterial } from '../../src/deploy/types.js';

/** A fresh temporary directory and its removal. */
export function scratch(prefix = 'ck-agent-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A test certificate with its key and chain. */
export interface TestCert {
  chain: TestChain;
  serial: string;
  material: DeployMaterial;
}

let seq = 0;

/** A leaf for `cn` under its own throw-away CA, as deployment material. */
export function makeCert(cn: string): TestCert {
  const chain = makeChain(cn, [`www.${cn}`]);
  const serial = parseCertificate(chain.leafPem).serialNumber;
  return {
    chain,
    serial,
    material: {
      certificateId: `cert-${++seq}`,
      name: `${cn}_2026-01-01T00-00-00Z`,
      commonName: cn,
      names: [cn, `www.${cn}`],
      serialNumber: serial,
      notAfter: new Date(Date.now() + 90 * 86_400_000).toISOString(),
      certificatePem: chain.leafPem,
      chainPem: chain.intermediatePem,
      fullchainPem: chain.leafPem + chain.intermediatePem,
      privateKeyPem: chain.leafKeyPem,
    },
  };
}

/** An agent deployment of `material` to `settings`. */
export function deploymentWork(material: DeployMaterial, settings: AgentFileSettings, extra: Partial<AgentDeploymentWork> = {}): AgentDeploymentWork {
  return {
    kind: 'deployment',
    id: `dep-${++seq}`,
    attempt: 1,
    target: { id: 'target-1', name: 'web', settings },
    material,
    ...extra,
  };
}

/** A logger whose JSON lines are kept in `lines` (and in `text()`). */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Record<string, unknown>[]; text(): string } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = createLogger(level, stream);
  return {
    logger,
    get lines() {
      return raw.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

/** A running nginx serving TLS on 127.0.0.1:`port` from `certFile`/`keyFile`. */
export interface TestNginx {
  port: number;
  /** `nginx -s reload` for this instance. */
  reloadCommand: string;
  errorLog(): string;
  stop(): Promise<void>;
}

const NGINX = '/usr/sbin/nginx';

/**
 * Starts Debian's nginx in the foreground with everything (pid, logs, temp paths) in `dir`,
 * serving `fullchainFile` and `keyFile`, which must exist. Stopped by its own PID.
 */
export async function startNginx(dir: string, fullchainFile: string, keyFile: string): Promise<TestNginx> {
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'temp'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  const temp = (name: string) => join(prefix, 'temp', name);
  writeFileSync(conf, `
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'error.log')} info;
events { worker_connections 64; }
http {
  access_log ${join(prefix, 'access.log')};
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port} ssl;
    server_name _;
    ssl_certificate ${fullchainFile};
    ssl_certificate_key ${keyFile};
    location / { return 200 "ok\\n"; }
  }
}
`);
  const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  trackChild(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // Ready when the port accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited at start (${child.exitCode}): ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      import('node:net').then(({ connect }) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve(true); });
        s.once('error', () => resolve(false));
      }, () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    reloadCommand: `${NGINX} -p ${prefix} -c ${conf} -s reload`,
    errorLog: () => {
      try {
        return readFileSync(join(prefix, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    },
    stop: () => stopChild(child),
  };
}
