/**
 * Master key rotation: every envelope of the database gets its data key re-wrapped under the new
 * master key, in one transaction, so the database never holds a mix that only one key opens.
 * The values themselves are not decrypted. Envelopes already under the new key are left as they
 * are, so a rotation interrupted before its commit simply runs again.
 */
import type { Db } from '../store/database.js';
import type { KeyVault } from '../store/key-vault.js';
import { channelCredentialsContext } from '../notify/channels.js';
import { accountKeyContext, eabContext } from './acme-clients.js';
import { certificateKeyContext, orderKeyContext } from './context.js';
import { zoneCredentialsContext } from './dns-zones.js';

/** Every encrypted column, with the vault context of a row's value (see the seal calls). */
const SEALED: { table: 'providers' | 'certificates' | 'orders' | 'dns_zones' | 'notification_channels'; column: string; context: (id: string) => string }[] = [
  { table: 'providers', column: 'account_key_enc', context: accountKeyContext },
  { table: 'providers', column: 'eab_secret_enc', context: eabContext },
  { table: 'certificates', column: 'private_key_enc', context: certificateKeyContext },
  { table: 'orders', column: 'key_enc', context: orderKeyContext },
  { table: 'dns_zones', column: 'credentials_enc', context: zoneCredentialsContext },
  { table: 'notification_channels', column: 'credentials_enc', context: channelCredentialsContext },
];

/** What a rotation did, per table and column. */
export type RotationReport = Record<string, number>;

/** Re-wraps every envelope from `current` to `next`. Throws (and changes nothing) if any fails to open. */
export async function rotateMasterKey(db: Db, current: KeyVault, next: KeyVault): Promise<RotationReport> {
  const report: RotationReport = {};
  await db.kysely.transaction().execute(async (tx) => {
    for (const { table, column, context } of SEALED) {
      const rows = await (tx as any).selectFrom(table).select(['id', column]).where(column, 'is not', null).execute() as Record<string, string>[];
      let n = 0;
      for (const row of rows) {
        const id = row.id!;
        const envelope = row[column]!;
        const rewrapped = current.rewrap(envelope, context(id), next);
        if (rewrapped === envelope) continue;
        await (tx as any).updateTable(table).set({ [column]: rewrapped }).where('id', '=', id).execute();
        n++;
      }
      report[`${table}.${column}`] = n;
    }
  });
  return report;
}
