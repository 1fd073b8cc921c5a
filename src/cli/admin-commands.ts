/**
 * `certkeeper admin`: platform-level commands that work on the database directly, with the same
 * CERTKEEPER_* environment as `serve` (CERTKEEPER_DATA_DIR or CERTKEEPER_DATABASE_URL). They are for
 * whoever runs the installation: create tenants and their first admin, and get back into a tenant
 * whose admins are all locked out. Nothing here goes through the REST API.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import type { Db } from '../store/database.js';

interface AdminOptions { json?: boolean }

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const { loadConfig, ConfigError } = await import('../config/config.js');
  const { openDatabase } = await import('../store/database.js');
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`certkeeper: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const db = await openDatabase(config.databaseUrl);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

function fail(message: string): never {
  console.error(`certkeeper admin: ${message}`);
  process.exit(1);
}

const ROLES = ['admin', 'operator', 'viewer'];

/** Adds `certkeeper admin …` to `program`. */
export function registerAdminCommands(program: Command): void {
  const admin = program.command('admin').description('platform administration on the database itself (same CERTKEEPER_* environment as serve)');

  admin.command('create-tenant <name>')
    .description('create a tenant (organisation) and invite its first admin; prints the one-time invitation')
    .requiredOption('--admin-email <email>', 'e-mail address of the first admin')
    .option('--token <name>', 'also create an admin API token with this name, printed once')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { adminEmail: string; token?: string } & AdminOptions) => {
      if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name)) fail('a tenant name is 1–63 characters of a-z, 0-9, ".", "_" and "-", starting with a letter or digit');
      const out = await withDb(async (db) => {
        const { TenantsRepository, ApiTokens } = await import('../store/access.js');
        const { systemClock } = await import('../store/time.js');
        const { EventLog } = await import('../store/events.js');
        const tenants = new TenantsRepository(db, systemClock);
        if (await tenants.find(name)) fail(`a tenant named "${name}" exists already`);
        const email = opts.adminEmail.toLowerCase();
        const tenant = await tenants.create(name, 'platform-admin');
        const invitation = await invite(db, tenant.id, email, 'admin');
        await new EventLog(db, systemClock).append({ tenantId: tenant.id, type: 'tenant.created', subjectType: 'tenant', subjectId: tenant.id, actor: 'platform-admin', message: `tenant ${name} created; ${email} invited as admin` });
        const token = opts.token ? (await new ApiTokens(db, systemClock).create({ tenantId: tenant.id, name: opts.token, role: 'admin', createdBy: 'platform-admin' })).token : undefined;
        return { tenant: { id: tenant.id, name }, admin: { email, invitation }, ...(token ? { token } : {}) };
      });
      if (opts.json) return void console.log(JSON.stringify(out, null, 2));
      console.log(`Tenant ${out.tenant.name} (${out.tenant.id}) created.`);
      console.log(`Invitation for ${out.admin.email} (valid until ${out.admin.invitation.expiresAt}); shown once:`);
      console.log(`  ${out.admin.invitation.token}`);
      console.log('The admin sets a password with POST /api/v1/users/activate {"invitation": "…", "password": "…"} or in the web UI.');
      if (out.token) console.log(`Admin API token "${opts.token}" (shown once):\n  ${out.token}`);
    });

  admin.command('list-tenants')
    .description('list the tenants with their numbers of users and auto certificates')
    .option('--json', 'print JSON')
    .action(async (opts: AdminOptions) => {
      const rows = await withDb(async (db) => {
        const tenants = await db.kysely.selectFrom('tenants').selectAll().orderBy('created_at').execute();
        const count = async (table: 'users' | 'auto_certificates', id: string) => Number((await db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', id).executeTakeFirst())?.n ?? 0);
        return Promise.all(tenants.map(async (t) => ({ id: t.id, name: t.name, createdAt: t.created_at, users: await count('users', t.id), autoCertificates: await count('auto_certificates', t.id) })));
      });
      if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
      console.log(['NAME', 'ID', 'USERS', 'AUTO CERTIFICATES', 'CREATED'].join('\t'));
      for (const r of rows) console.log([r.name, r.id, r.users, r.autoCertificates, r.createdAt].join('\t'));
    });

  admin.command('rotate-master-key')
    .description('re-wrap every stored secret under a new master key, in one transaction; stop every instance first')
    .requiredOption('--new-key-file <file>', 'file with the new master key (base64 of 32 bytes); with --generate, written here')
    .option('--generate', 'generate the new key into --new-key-file (mode 0600; the file must not exist)')
    .option('--json', 'print JSON')
    .action(async (opts: { newKeyFile: string; generate?: boolean } & AdminOptions) => {
      const { randomBytes } = await import('node:crypto');
      const { copyFileSync, existsSync, writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { loadConfig } = await import('../config/config.js');
      const { KeyVault } = await import('../store/key-vault.js');
      const { rotateMasterKey } = await import('../lifecycle/rotate-master-key.js');
      const config = loadConfig();
      const dataDirKey = join(config.dataDir, 'master.key');
      if (!config.masterKey && !existsSync(dataDirKey)) fail(`no current master key: set CERTKEEPER_MASTER_KEY (or _FILE), or run where ${dataDirKey} exists`);
      const current = new KeyVault(config.masterKey ?? (await readKeyFile(dataDirKey)));
      if (opts.generate) {
        if (existsSync(opts.newKeyFile)) fail(`${opts.newKeyFile} exists; --generate writes a new file only`);
        writeFileSync(opts.newKeyFile, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      }
      const next = new KeyVault(await readKeyFile(opts.newKeyFile));
      if (next.masterKeyId === current.masterKeyId) fail('the new master key is the current one');
      const report = await withDb((db) => rotateMasterKey(db, current, next).catch((err: Error) => fail(`nothing changed: ${err.message}`)));
      // The default install keeps its key in the data directory: replace it there, keeping the old one.
      let replaced: string | null = null;
      if (!config.masterKey) {
        const backup = `${dataDirKey}.${current.masterKeyId}.old`;
        copyFileSync(dataDirKey, backup);
        copyFileSync(opts.newKeyFile, dataDirKey);
        replaced = backup;
      }
      const out = { from: current.masterKeyId, to: next.masterKeyId, rewrapped: report, dataDirKeyReplaced: replaced !== null, oldKeyBackup: replaced };
      if (opts.json) return void console.log(JSON.stringify(out, null, 2));
      const total = Object.values(report).reduce((a, b) => a + b, 0);
      console.log(`Re-wrapped ${total} secret(s) from master key ${out.from} to ${out.to}.`);
      for (const [where, n] of Object.entries(report)) console.log(`  ${where}: ${n}`);
      if (replaced) console.log(`${dataDirKey} now holds the new key; the old one is in ${replaced} (delete it once backups have the new key).`);
      else console.log('Now set CERTKEEPER_MASTER_KEY (or _FILE) to the new key on every instance, and start them.');
    });

  admin.command('invite <tenant> <email>')
    .description('invite a user into a tenant, or invite an existing user again (a password reset that also unlocks)')
    .option('--role <role>', 'admin, operator or viewer', 'admin')
    .option('--json', 'print JSON')
    .action(async (tenantName: string, emailArg: string, opts: { role: string } & AdminOptions) => {
      if (!ROLES.includes(opts.role)) fail(`--role must be one of ${ROLES.join(', ')}`);
      const out = await withDb(async (db) => {
        const { TenantsRepository } = await import('../store/access.js');
        const { systemClock } = await import('../store/time.js');
        const tenant = await new TenantsRepository(db, systemClock).find(tenantName);
        if (!tenant) fail(`no tenant "${tenantName}"; see certkeeper admin list-tenants`);
        const email = emailArg.toLowerCase();
        return { tenant: tenant.name, email, role: opts.role, invitation: await invite(db, tenant.id, email, opts.role) };
      });
      if (opts.json) return void console.log(JSON.stringify(out, null, 2));
      console.log(`Invitation for ${out.email} (${out.role} of ${out.tenant}, valid until ${out.invitation.expiresAt}); shown once:\n  ${out.invitation.token}`);
    });
}

/** Reads a master key file: the base64 of 32 bytes. */
async function readKeyFile(file: string): Promise<Buffer> {
  const { readFileSync } = await import('node:fs');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) fail(`${file} does not hold the base64 of 32 bytes (make one with: head -c 32 /dev/urandom | base64)`);
  return key;
}

/** Creates the user, or resets an existing one to a fresh invitation (ending its sessions). */
async function invite(db: Db, tenantId: string, email: string, role: string): Promise<{ token: string; expiresAt: string }> {
  const { newInvitation } = await import('../store/access.js');
  const now = new Date();
  const invitation = newInvitation(now);
  const existing = await db.kysely.selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('email', '=', email).executeTakeFirst();
  const fields = { role, password_hash: null, invitation_hash: invitation.hash, invitation_expires_at: invitation.expiresAt, failed_logins: 0, locked_until: null, updated_at: now.toISOString(), updated_by: 'platform-admin' };
  if (existing) {
    await db.kysely.updateTable('users').set(fields).where('id', '=', existing.id).execute();
    await db.kysely.deleteFrom('sessions').where('user_id', '=', existing.id).execute();
  } else {
    await db.kysely.insertInto('users').values({ id: randomUUID(), tenant_id: tenantId, email, ...fields, last_login_at: null, created_at: now.toISOString(), created_by: 'platform-admin' }).execute();
  }
  return { token: invitation.token, expiresAt: invitation.expiresAt };
}
