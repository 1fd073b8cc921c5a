/**
 * Bearer authentication. `CERTKEEPER_ADMIN_TOKEN` is a full-rights token on the default tenant;
 * other tokens live hashed in the database. Comparison of the admin token is constant-time.
 */
import { timingSafeEqual } from 'node:crypto';
import { hashToken, type Principal } from '../store/api-tokens.js';
import type { Context } from '../lifecycle/context.js';

/** The tenant of single-tenant installs (tenants arrive with the roles issue). */
export const DEFAULT_TENANT = 'default';

/** Resolves the principal of an `Authorization` header, or undefined. */
export async function authenticate(ctx: Context, header: string | undefined): Promise<Principal | undefined> {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const token = m[1]!;
  if (ctx.config.adminToken) {
    const a = Buffer.from(hashToken(token), 'hex');
    const b = Buffer.from(hashToken(ctx.config.adminToken), 'hex');
    if (timingSafeEqual(a, b)) return { tenantId: DEFAULT_TENANT, name: 'admin', role: 'admin' };
  }
  return ctx.apiTokens.authenticate(token);
}
