/**
 * `certkeeper serve --demo`: starts a local Pebble ACME CA (Debian package `pebble`), whose
 * http-01 validation connects to this server's responder port and whose DNS (pebble-challtestsrv)
 * answers 127.0.0.1 for every name, and points a provider named `pebble` at it. Everything stays
 * on loopback, so a newcomer sees a certificate issued within a minute with no internet access.
 */
import { execFileSync } from 'node:child_process';
import { generateAccountKey } from '../acme/index.js';
import { privateKeyToPem } from '../pki/keys.js';
import { startPebble } from '../demo/local-pebble.js';
import { createProvider, REGISTER_JOB } from '../lifecycle/providers.js';
import { accountKeyContext } from '../lifecycle/acme-clients.js';
import { DEFAULT_TENANT } from '../api/auth.js';
import { iso } from '../store/time.js';
import type { RunningServer } from './serve.js';

/** The provider name the demo creates. */
export const DEMO_PROVIDER = 'pebble';

/** Starts Pebble for `server` and creates (or re-points) the `pebble` provider. */
export async function startDemo(server: RunningServer): Promise<{ stop(): Promise<void> }> {
  const { ctx } = server;
  try {
    execFileSync('pebble', ['-h'], { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('--demo needs the Debian package "pebble": apt-get install pebble');
    }
  }
  if (!server.http01Port) throw new Error('--demo needs the http-01 responder: set CERTKEEPER_HTTP01_LISTEN (e.g. 127.0.0.1:5002)');
  const pebble = await startPebble({ httpPort: server.http01Port });
  const existing = await ctx.providers.find(DEFAULT_TENANT, DEMO_PROVIDER);
  if (existing) {
    // Pebble keeps nothing across restarts: point the provider at the new instance and register again.
    const key = await generateAccountKey('ES256');
    const now = iso(ctx.clock());
    await ctx.providers.update(DEFAULT_TENANT, existing.id, {
      server: pebble.directoryUrl, ca_certificates: pebble.tlsCaPem, account_url: null,
      account_key_enc: ctx.vault.seal(privateKeyToPem(key), accountKeyContext(existing.id)),
      state: 'PROVISIONING', message: 'Registering at the demo Pebble', updated_at: now, updated_by: 'demo',
    });
    ctx.acme.forget(existing.id);
    await ctx.jobs.enqueue({ tenantId: DEFAULT_TENANT, kind: REGISTER_JOB, subjectId: existing.id });
    ctx.kick();
  } else {
    await createProvider({ ...ctx, config: { ...ctx.config, allowPrivateAddresses: true } }, DEFAULT_TENANT, 'demo', {
      name: DEMO_PROVIDER, email: 'demo@example.test', server: pebble.directoryUrl, caCertificates: pebble.tlsCaPem,
    });
  }
  ctx.logger.info({ directory: pebble.directoryUrl, provider: DEMO_PROVIDER }, 'demo: local Pebble started; every name resolves to 127.0.0.1 for it');
  process.stderr.write(`certkeeper demo: Pebble ACME CA at ${pebble.directoryUrl}; provider "${DEMO_PROVIDER}" points at it.\n`);
  return { stop: () => pebble.stop() };
}
