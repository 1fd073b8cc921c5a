/**
 * The double issuance the chaos test found (test/chaos/multi-instance.chaos.ts), made
 * deterministic: an instance stores a certificate and dies (or loses the database) before its
 * worker records the job as done. The job's lease then lapses and the job is claimed again; that
 * run must not order a second certificate. Since the fix the job is marked done in the very
 * transaction that stores the certificate (src/lifecycle/issuance.ts, storeVersion).
 *
 * In process, against real Pebble: the worker's "record the outcome" step is made to fail for
 * issuance jobs, exactly what a SIGKILL right after the store looks like to the database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.js';
import { createContext } from '../../src/server/context.js';
import { createLogger } from '../../src/server/logger.js';
import { Worker } from '../../src/lifecycle/worker.js';
import { ISSUE_JOB, issuanceHandler } from '../../src/lifecycle/issuance.js';
import { REGISTER_JOB, createProvider, registrationHandler } from '../../src/lifecycle/providers.js';
import { createAutoCertificate } from '../../src/lifecycle/auto-certificates.js';
import { createHttp01Responder } from '../../src/http01/responder.js';
import { DEFAULT_TENANT } from '../../src/store/migration-access.js';
import { startPebble } from '../harness/pebble.js';
import { freePort } from '../harness/ports.js';
import { pebbleIssued } from './cluster.js';

const LEASE_MS = 1_500;

test('an issuance whose outcome the worker could not record does not run again: one certificate, one order', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ck-outcome-lost-'));
  const httpPort = await freePort();
  const pebble = await startPebble({ httpPort });
  const logger = createLogger('silent');
  const ctx = await createContext(loadConfig({ CERTKEEPER_DATA_DIR: dir, CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: '1', CERTKEEPER_HTTP01_LISTEN: `127.0.0.1:${httpPort}` }), logger);
  let responder: Server | undefined;
  let worker: Worker | undefined;
  try {
    responder = createHttp01Responder(ctx.http01, logger);
    await new Promise<void>((resolve) => responder!.listen(httpPort, '127.0.0.1', resolve));

    // The worker cannot record an issuance job's outcome: as if the instance died right after
    // the handler returned.
    let lostOutcomes = 0;
    const complete = ctx.jobs.complete.bind(ctx.jobs);
    ctx.jobs.complete = async (id: string, owner: string) => {
      const row = await ctx.db.kysely.selectFrom('jobs').select('kind').where('id', '=', id).executeTakeFirst();
      if (row?.kind === ISSUE_JOB) {
        lostOutcomes++;
        throw new Error('simulated: the instance died before recording the outcome');
      }
      return complete(id, owner);
    };
    worker = new Worker(ctx.jobs, { [ISSUE_JOB]: issuanceHandler(ctx), [REGISTER_JOB]: registrationHandler(ctx) }, {
      owner: 'w1', concurrency: 2, leaseMs: LEASE_MS, pollMs: 100, logger,
    });
    ctx.kick = () => worker!.kick();
    await worker.start();

    const provider = await createProvider(ctx, DEFAULT_TENANT, 'test', { name: 'pebble', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem });
    for (let i = 0; (await ctx.providers.get(DEFAULT_TENANT, provider.id))?.state !== 'AVAILABLE'; i++) {
      assert.ok(i < 300, 'the provider did not become AVAILABLE');
      await sleep(100);
    }
    const ac = await createAutoCertificate(ctx, DEFAULT_TENANT, 'test', { name: 'once', provider: 'pebble', commonName: 'once.outcome-lost.test', challengeType: 'http-01' });
    for (let i = 0; (await ctx.autoCertificates.get(DEFAULT_TENANT, ac.id))?.state !== 'AVAILABLE'; i++) {
      assert.ok(i < 600, 'the auto certificate did not become AVAILABLE');
      await sleep(100);
    }
    // Long enough for a lapsed lease to be claimed again and a second order to be finished.
    await sleep(LEASE_MS * 6);

    assert.equal(lostOutcomes, 1, 'the worker tried to record the outcome once');
    const certificates = await ctx.db.kysely.selectFrom('certificates').select('id').where('auto_certificate_id', '=', ac.id).execute();
    assert.equal(certificates.length, 1, 'one certificate version');
    const orders = await ctx.db.kysely.selectFrom('orders').select(['id', 'certificate_id']).where('auto_certificate_id', '=', ac.id).execute();
    assert.equal(orders.length, 1, 'one order');
    const jobs = await ctx.db.kysely.selectFrom('jobs').select(['state', 'attempts']).where('kind', '=', ISSUE_JOB).execute();
    assert.deepEqual(jobs, [{ state: 'done', attempts: 1 }], 'the job was done with the certificate, and never claimed again');
    await sleep(300);
    assert.equal(pebbleIssued(pebble.logText()).length, 1, 'Pebble issued one certificate');
  } finally {
    await worker?.stop(0);
    if (responder) await new Promise<void>((resolve) => responder!.close(() => resolve()));
    await ctx.db.close();
    await pebble.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
