// The retention sweep with a fixed clock: superseded versions go 30 days after their own expiry,
// and versions past notAfter become EXPIRED; on SQLite and PostgreSQL.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { createContext } from '../../src/server/context.js';
import { createLogger } from '../../src/server/logger.js';
import { sweepRepository } from '../../src/lifecycle/certificates.js';
import type { CertificateRow } from '../../src/store/repositories.js';
import { allDatabases } from '../harness/databases.js';

const backends = await allDatabases();
const day = 86_400_000;

function row(id: string, state: string, notAfter: Date, deleteAfter: Date | null): CertificateRow {
  const t = '2026-01-01T00:00:00.000Z';
  return {
    id, tenant_id: 'default', name: `${id}_v`, auto_certificate_id: null, provider_id: null, source: 'acme', state, message: '',
    common_name: 'a.example', sans_json: '["a.example"]', issuer: 'CN=x', serial_number: id, not_before: t, not_after: notAfter.toISOString(),
    fingerprint_sha256: 'AA', key_algorithm: 'ecdsa256', certificate_pem: 'x', chain_pem: '', private_key_enc: 'ck1.x', delete_after: deleteAfter?.toISOString() ?? null,
    revoked_at: null, revocation_reason: null, created_at: t, created_by: 's', updated_at: t, updated_by: 's',
  };
}

for (const backend of backends) {
  describe(`retention on ${backend.name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-ret-'));
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
      await backend.cleanup();
    });
    test('superseded versions are deleted after delete_after; expired ones are marked', async () => {
      let now = new Date('2026-05-25T00:00:00.000Z');
      const ctx = await createContext(loadConfig({ CERTKEEPER_DATA_DIR: dir, CERTKEEPER_DATABASE_URL: backend.url }), createLogger('silent'), () => now);
      try {
        const notAfter = new Date('2026-05-01T00:00:00.000Z');
        await ctx.certificates.insert(row('old', 'SUPERSEDED', notAfter, new Date(notAfter.getTime() + 30 * day)));
        await ctx.certificates.insert(row('active', 'AVAILABLE', new Date('2026-08-01T00:00:00.000Z'), null));
        await ctx.certificates.insert(row('lapsed', 'AVAILABLE', new Date('2026-05-20T00:00:00.000Z'), null));
        let r = await sweepRepository(ctx);
        assert.deepEqual(r, { deleted: 0, expired: 2 }, '24 days after expiry: kept; both past notAfter are EXPIRED');
        assert.equal((await ctx.certificates.get('default', 'lapsed'))?.state, 'EXPIRED');
        assert.equal((await ctx.certificates.get('default', 'old'))?.state, 'EXPIRED', 'a superseded version past notAfter reads EXPIRED');
        const expiredEvents = await ctx.events.list('default', { type: 'certificate.expired' }, 0, 10);
        assert.deepEqual(expiredEvents.items.map((e) => e.subject_id), ['lapsed'], 'only the version in use that lapsed is announced');
        now = new Date(notAfter.getTime() + 30 * day + 1);
        r = await sweepRepository(ctx);
        assert.equal(r.deleted, 1);
        assert.equal(await ctx.certificates.get('default', 'old'), undefined);
        assert.ok(await ctx.certificates.get('default', 'active'));
        const ev = await ctx.events.list('default', { type: 'certificate.deleted' }, 0, 10);
        assert.equal(ev.total, 1);
        assert.match(ev.items[0]!.message, /retention/);
      } finally {
        await ctx.db.close();
      }
    });
  });
}
