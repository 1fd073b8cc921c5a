// Rows the CLI tests need but cannot get through the API without a CA: an AVAILABLE provider (the
// API registers an account first) and auto certificates in a given state, written straight into the
// store of the in-process server. No job is queued, so nothing runs behind the tests' backs.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { DEFAULT_TENANT } from '../../src/api/auth.js';
import { accountKeyContext } from '../../src/lifecycle/acme-clients.js';
import type { RunningServer } from '../../src/server/serve.js';

const now = () => new Date().toISOString();

/** An AVAILABLE provider named `name` whose CA is nowhere (nothing ever talks to it). */
export async function seedProvider(server: RunningServer, name: string): Promise<string> {
  const id = randomUUID();
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await server.ctx.providers.insert({
    id, tenant_id: DEFAULT_TENANT, name, email: null, server: 'https://127.0.0.1:1/directory',
    eab_key_id: null, eab_secret_enc: null, ca_certificates: null, profile: null, preferred_chain: null,
    account_key_enc: server.ctx.vault.seal(key, accountKeyContext(id)),
    account_url: 'https://127.0.0.1:1/acct/1', terms_of_service: null, profiles_json: null,
    state: 'AVAILABLE', message: 'seeded by the test',
    created_at: now(), created_by: 'test', updated_at: now(), updated_by: 'test',
  });
  return id;
}

/** An auto certificate of `providerId` in `state`, with no order. */
export async function seedAutoCertificate(server: RunningServer, providerId: string, o: { name: string; commonName: string; challengeType: string; state: string }): Promise<string> {
  const id = randomUUID();
  await server.ctx.autoCertificates.insert({
    id, tenant_id: DEFAULT_TENANT, name: o.name, provider_id: providerId, fallback_provider_ids: '[]',
    common_name: o.commonName, names_json: JSON.stringify([o.commonName]), key_algorithm: 'ecdsa256',
    challenge_type: o.challengeType, key_policy: 'rotate', renew_before_days: null, profile: null,
    state: o.state, message: 'seeded by the test', last_issued_certificate_id: null, next_renewal_at: null,
    renewal_reason: null, last_attempt_at: null, next_attempt_at: null, failure_count: 0,
    ari_window_start: null, ari_window_end: null, ari_next_check_at: null, ari_explanation_url: null, current_provider_id: null,
    created_at: now(), created_by: 'test', updated_at: now(), updated_by: 'test',
  });
  return id;
}
