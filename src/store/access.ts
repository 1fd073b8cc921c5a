/**
 * Row access for tenants, users, sessions and API tokens. Tokens and session cookies are stored
 * only as SHA-256 hashes: a copy of the database does not let anyone in.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Db } from './database.js';
import type { ApiTokensTable, SessionsTable, TenantsTable, UsersTable } from './schema.js';
import { page, type Page } from './pagination.js';
import { iso, type Clock } from './time.js';

/** A tenant row. */
export type TenantRow = TenantsTable;
/** A user row. */
export type UserRow = UsersTable;
/** A session row. */
export type SessionRow = SessionsTable;
/** A token row. */
export type TokenRow = ApiTokensTable;

/** SHA-256 of a token, hex. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A fresh secret: 32 random bytes, base64url, with a prefix that tells what it is. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** How long an invitation can be redeemed. */
export const INVITATION_TTL_MS = 7 * 86_400_000;

/** A fresh invitation: the token (shown once) and the hash and expiry that are stored. */
export function newInvitation(now: Date): { token: string; hash: string; expiresAt: string } {
  const token = newSecret('cki');
  return { token, hash: hashToken(token), expiresAt: iso(new Date(now.getTime() + INVITATION_TTL_MS)) };
}

/** Tenants (organisations). Platform-level: no tenant scope. */
export class TenantsRepository {
  constructor(private readonly db: Db, private readonly clock: Clock) {}
  get(id: string): Promise<TenantRow | undefined> {
    return this.db.kysely.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  }
  /** By id or by (unique) name. */
  async find(idOrName: string): Promise<TenantRow | undefined> {
    return (await this.get(idOrName)) ?? this.db.kysely.selectFrom('tenants').selectAll().where('name', '=', idOrName).executeTakeFirst();
  }
  list(): Promise<TenantRow[]> {
    return this.db.kysely.selectFrom('tenants').selectAll().orderBy('created_at').orderBy('id').execute();
  }
  async create(name: string, createdBy: string): Promise<TenantRow> {
    const row: TenantRow = { id: randomUUID(), name, created_at: iso(this.clock()), created_by: createdBy };
    await this.db.kysely.insertInto('tenants').values(row).execute();
    return row;
  }
}

/** Users of a tenant; lookups by e-mail and invitation are platform-wide (that is how one logs in). */
export class UsersRepository {
  constructor(private readonly db: Db) {}
  get(tenantId: string, id: string): Promise<UserRow | undefined> {
    return this.db.kysely.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }
  /** By id or e-mail address, within the tenant. */
  async find(tenantId: string, idOrEmail: string): Promise<UserRow | undefined> {
    return (await this.get(tenantId, idOrEmail)) ??
      this.db.kysely.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).where('email', '=', idOrEmail.toLowerCase()).executeTakeFirst();
  }
  /** The users (of any tenant, at most `limit`) who log in with this address. */
  byEmail(email: string, limit = 20): Promise<UserRow[]> {
    return this.db.kysely.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).orderBy('created_at').limit(limit).execute();
  }
  byInvitation(token: string): Promise<UserRow | undefined> {
    return this.db.kysely.selectFrom('users').selectAll().where('invitation_hash', '=', hashToken(token)).executeTakeFirst();
  }
  list(tenantId: string, filter: { role?: string; email?: string }, offset: number, limit: number): Promise<Page<UserRow>> {
    let q = this.db.kysely.selectFrom('users').selectAll().where('tenant_id', '=', tenantId);
    if (filter.role) q = q.where('role', '=', filter.role);
    if (filter.email) q = q.where('email', '=', filter.email.toLowerCase());
    return page(q.orderBy('created_at').orderBy('id'), offset, limit);
  }
  async insert(row: UserRow): Promise<void> {
    await this.db.kysely.insertInto('users').values(row).execute();
  }
  async update(tenantId: string, id: string, set: Partial<UserRow>): Promise<void> {
    await this.db.kysely.updateTable('users').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  /** Counts a failed login and locks the account once `limit` failures follow each other. */
  async recordFailedLogin(id: string, limit: number, lockUntil: Date): Promise<void> {
    await this.db.kysely.updateTable('users').set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) })).where('id', '=', id).execute();
    await this.db.kysely.updateTable('users').set({ locked_until: iso(lockUntil), failed_logins: 0 })
      .where('id', '=', id).where('failed_logins', '>=', limit).execute();
  }
  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.deleteFrom('users').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
  async countAdmins(tenantId: string): Promise<number> {
    const r = await this.db.kysely.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId).where('role', '=', 'admin').executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

/** Browser sessions, in the database so that every instance knows them. */
export class SessionsRepository {
  constructor(private readonly db: Db, private readonly clock: Clock) {}
  /** Opens a session and returns its cookie value: the only time it is known. */
  async create(p: { tenantId: string; userId: string; address: string; userAgent: string; ttlMs: number }): Promise<{ row: SessionRow; token: string }> {
    const token = newSecret('cks');
    const now = this.clock();
    const row: SessionRow = {
      id: randomUUID(), token_hash: hashToken(token), tenant_id: p.tenantId, user_id: p.userId,
      csrf_token: randomBytes(32).toString('base64url'), address: p.address, user_agent: p.userAgent.slice(0, 300),
      created_at: iso(now), last_seen_at: iso(now), expires_at: iso(new Date(now.getTime() + p.ttlMs)),
    };
    await this.db.kysely.insertInto('sessions').values(row).execute();
    return { row, token };
  }
  /** The live session of a cookie value; slides its expiry (at most once a minute: reads stay reads). */
  async authenticate(token: string, ttlMs: number): Promise<SessionRow | undefined> {
    const row = await this.db.kysely.selectFrom('sessions').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    const now = this.clock();
    if (!row || row.expires_at <= iso(now)) return undefined;
    if (Date.parse(row.last_seen_at) < now.getTime() - 60_000) {
      await this.db.kysely.updateTable('sessions').set({ last_seen_at: iso(now), expires_at: iso(new Date(now.getTime() + ttlMs)) }).where('id', '=', row.id).execute();
    }
    return row;
  }
  async delete(id: string): Promise<void> {
    await this.db.kysely.deleteFrom('sessions').where('id', '=', id).execute();
  }
  /** Ends every session of a user ("log out everywhere", password change, removal). */
  async deleteForUser(userId: string): Promise<number> {
    const r = await this.db.kysely.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  /** Removes expired sessions. */
  async purgeExpired(): Promise<void> {
    await this.db.kysely.deleteFrom('sessions').where('expires_at', '<=', iso(this.clock())).execute();
  }
}

/** API bearer tokens of a tenant. */
export class ApiTokens {
  constructor(private readonly db: Db, private readonly clock: Clock) {}

  /** Creates a token and returns it: the only time the token itself is known. */
  async create(p: { tenantId: string; name: string; role: string; expiresAt?: Date | undefined; scope?: unknown; createdBy?: string }): Promise<{ row: TokenRow; token: string }> {
    const token = newSecret('ck');
    const row: TokenRow = {
      id: randomUUID(), tenant_id: p.tenantId, name: p.name, role: p.role, token_hash: hashToken(token),
      created_at: iso(this.clock()), expires_at: p.expiresAt ? iso(p.expiresAt) : null, last_used_at: null,
      scope_json: p.scope === undefined ? null : JSON.stringify(p.scope), created_by: p.createdBy ?? 'system',
    };
    await this.db.kysely.insertInto('api_tokens').values(row).execute();
    return { row, token };
  }

  /** Number of tokens stored (all tenants). */
  async count(): Promise<number> {
    const r = await this.db.kysely.selectFrom('api_tokens').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  get(tenantId: string, id: string): Promise<TokenRow | undefined> {
    return this.db.kysely.selectFrom('api_tokens').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  /** By id or by name, within the tenant. */
  async find(tenantId: string, idOrName: string): Promise<TokenRow | undefined> {
    return (await this.get(tenantId, idOrName)) ??
      this.db.kysely.selectFrom('api_tokens').selectAll().where('tenant_id', '=', tenantId).where('name', '=', idOrName).executeTakeFirst();
  }

  list(tenantId: string, filter: { role?: string; name?: string }, offset: number, limit: number): Promise<Page<TokenRow>> {
    let q = this.db.kysely.selectFrom('api_tokens').selectAll().where('tenant_id', '=', tenantId);
    if (filter.role) q = q.where('role', '=', filter.role);
    if (filter.name) q = q.where('name', '=', filter.name);
    return page(q.orderBy('created_at').orderBy('id'), offset, limit);
  }

  async delete(tenantId: string, id: string): Promise<void> {
    await this.db.kysely.deleteFrom('api_tokens').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  /** The row of a valid, unexpired token. */
  async authenticate(token: string): Promise<TokenRow | undefined> {
    const row = await this.db.kysely.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    if (!row) return undefined;
    const now = this.clock();
    if (row.expires_at && row.expires_at <= iso(now)) return undefined;
    // Record use at most once a minute: a busy client must not turn every read into a write.
    if (!row.last_used_at || Date.parse(row.last_used_at) < now.getTime() - 60_000) {
      await this.db.kysely.updateTable('api_tokens').set({ last_used_at: iso(now) }).where('id', '=', row.id).execute();
    }
    return row;
  }
}
