/** `certkeeper serve`: the API, the http-01 responder, the job worker and the periodic sweeps. */
import { randomUUID } from 'node:crypto';
import { DEPLOY_JOB, deploymentJobHandler } from '../deploy/orchestrator.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Context } from '../lifecycle/context.js';
import { Worker } from '../lifecycle/worker.js';
import { ISSUE_JOB, issuanceHandler } from '../lifecycle/issuance.js';
import { REGISTER_JOB, registrationHandler } from '../lifecycle/providers.js';
import { sweepRepository } from '../lifecycle/certificates.js';
import { Scheduler } from '../lifecycle/scheduler.js';
import { createHttp01Responder } from '../http01/responder.js';
import { startNotifications, type NotificationService } from '../notify/notifications.js';
import { buildApp } from '../api/app.js';
import { DEFAULT_TENANT } from '../api/auth.js';
import type { Clock } from '../store/time.js';
import { createContext } from './context.js';
import { createLogger } from './logger.js';
import { SelfTls } from './tls.js';

/** A running server. */
export interface RunningServer {
  ctx: Context;
  scheduler: Scheduler;
  app: FastifyInstance;
  /** The notification dispatcher and expiry scan. */
  notifications: NotificationService;
  /** Base URL of the API, e.g. `http://127.0.0.1:8080` (`https://…` with CERTKEEPER_TLS_*). */
  url: string;
  /** The certificate of the HTTPS listener and its updates, or null when the API speaks plain HTTP. */
  tls: SelfTls | null;
  /** Port of the http-01 responder, or null when disabled. */
  http01Port: number | null;
  stop(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 3_600_000;

/** A stable id for this instance's job leases: kept in the data dir so a restart takes back its own jobs. */
function instanceId(dataDir: string): string {
  const file = join(dataDir, 'instance-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomUUID();
  writeFileSync(file, id + '\n', { mode: 0o600 });
  return id;
}

function listen(server: Server | HttpsServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts everything; `announce` receives the one-time bootstrap token when one is generated. */
export async function startServer(config: Config, opts: { logger?: Logger; clock?: Clock; announce?: (msg: string) => void } = {}): Promise<RunningServer> {
  const logger = opts.logger ?? createLogger(config.logLevel);
  const ctx = await createContext(config, logger, opts.clock);
  // Before anything is announced: a file pair that does not fit stops the start here.
  let tls: SelfTls | null = null;
  if (config.tls) {
    try {
      tls = await SelfTls.start(ctx, config.tls, { logger: logger.child({ component: 'tls' }), listenHost: config.listen.host });
    } catch (err) {
      await ctx.db.close();
      throw err;
    }
  }
  const worker = new Worker(ctx.jobs, { [ISSUE_JOB]: issuanceHandler(ctx), [REGISTER_JOB]: registrationHandler(ctx), [DEPLOY_JOB]: deploymentJobHandler(ctx) }, {
    owner: instanceId(config.dataDir),
    concurrency: config.workerConcurrency,
    logger: logger.child({ component: 'worker' }),
  });
  ctx.kick = () => worker.kick();

  if (!config.adminToken && (await ctx.apiTokens.count()) === 0) {
    const { token } = await ctx.apiTokens.create({ tenantId: DEFAULT_TENANT, name: 'bootstrap-admin', role: 'admin' });
    (opts.announce ?? ((m: string) => process.stderr.write(m + '\n')))(
      `certkeeper: no CERTKEEPER_ADMIN_TOKEN set; generated an admin API token. It is shown only this once:\n\n    ${token}\n`,
    );
  }

  const app = await buildApp(ctx);
  let http01: Server | null = null;
  let http01Port: number | null = null;
  let https: HttpsServer | null = null;
  try {
    if (tls) {
      await app.ready();
      https = tls.createServer(app);
      await listen(https, config.listen.host, config.listen.port);
    } else {
      await app.listen({ host: config.listen.host, port: config.listen.port });
    }
    if (config.http01Listen) {
      http01 = createHttp01Responder(ctx.http01, logger.child({ component: 'http01' }));
      http01Port = await listen(http01, config.http01Listen.host, config.http01Listen.port);
    }
  } catch (err) {
    await tls?.stop();
    if (https?.listening) await new Promise<void>((r) => https!.close(() => r()));
    await app.close();
    await ctx.db.close();
    throw err;
  }
  await worker.start();
  const notifications = startNotifications(ctx);
  const scheduler = new Scheduler(ctx, config.schedulerIntervalSeconds * 1000);
  scheduler.start();

  const sweep = async () => {
    try {
      const r = await sweepRepository(ctx);
      await ctx.http01.sweep();
      await ctx.sessions.purgeExpired();
      if (r.deleted || r.expired) logger.info(r, 'repository sweep');
    } catch (err) {
      logger.error({ err }, 'repository sweep failed');
    }
  };
  void sweep();
  const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
  timer.unref();

  const address = (https ?? app.server).address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${https ? 'https' : 'http'}://${host}:${address.port}`;
  logger.info({ api: url, http01Port }, 'certkeeper is serving');
  let stopped = false;
  return {
    ctx,
    scheduler,
    app,
    notifications,
    url,
    tls,
    http01Port,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await tls?.stop();
      // Together, so the worker's grace (jobs in hand finish, up to 20 s, then are aborted and
      // handed back) bounds the whole: the scheduler and dispatcher stop their timers meanwhile.
      // Settled, not all: whatever fails here, the pool still closes last.
      await Promise.allSettled([notifications.stop(), scheduler.stop(), worker.stop()]);
      await app.close();
      // Node closes idle keep-alive connections; requests in flight finish (Fastify answers 503 to new ones).
      if (https) await new Promise<void>((r) => https!.close(() => r()));
      if (http01) await new Promise<void>((r) => http01!.close(() => r()));
      await ctx.db.close();
    },
  };
}
