/** API bearer tokens, stored only as SHA-256 hashes. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './database.js';
import { iso, type Clock } from './time.js';

/** The principal a token authenticates. */
export interface Principal {
  tenantId: string;
  /** Shown in `createdBy` / `lastModifiedBy` and the audit log. */
  name: string;
  role: 'admin' | 'operator' | 'viewer';
}

/** SHA-256 of a token, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Token storage and lookup. */
export class ApiTokens {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** Creates a token and returns it: the only time the token itself is known. */
  async create(p: { tenantId: string; name: string; role: Principal['role']; expiresAt?: Date }): Promise<{ id: string; token: string }> {
    const token = `ck_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    await this.db.kysely.insertInto('api_tokens').values({
      id, tenant_id: p.tenantId, name: p.name, role: p.role, token_hash: hashToken(token),
      created_at: iso(this.clock()), expires_at: p.expiresAt ? iso(p.expiresAt) : null, last_used_at: null,
    }).execute();
    return { id, token };
  }

  /** Number of tokens stored (all tenants). */
  async count(): Promise<number> {
    const r = await this.db.kysely.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** The principal of a valid, unexpired token. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const row = await this.db.kysely.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!row) return undefined;
    const now = this.clock();
    if (row.expires_at && row.expires_at <= iso(now)) return undefined;
    // Record use at most once a minute: a busy client must not turn every read into a write.
    if (!row.last_used_at || Date.parse(row.last_used_at) < now.getTime() - 60_000) {
      await this.db.kysely.updateTable('api_tokens').set({ last_used_at: iso(now) }).where('id', '=', row.id).execute();
    }
    return { tenantId: row.tenant_id, name: `token:${row.name}`, role: row.role as Principal['role'] };
  }
}
