/**
 * Keys that never leave the server they protect. An auto certificate with `keyAgent` set has its
 * key generated on that agent: at finalize the issuance gives the order a key id and waits; the
 * agent's next poll receives a CSR request, generates and keeps the key, and answers with a CSR,
 * which is checked here (signature, names, key algorithm) before the order uses it. The version
 * stored holds no private key; deployments to that agent name the key id instead.
 */
import 'reflect-metadata';
import { createPublicKey } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { AgentRow } from '../store/deployments.js';
import { iso } from '../store/time.js';
import { DomainError, notFound } from '../domain-error.js';
import { keyAlgorithmOf } from '../pki/keys.js';
import type { Context } from '../lifecycle/context.js';
import type { AgentCsrWork } from './types.js';

/** The CSR requests of orders waiting for this agent's key. */
export async function pendingCsrWork(ctx: Context, agent: AgentRow): Promise<AgentCsrWork[]> {
  const rows = await ctx.db.kysely.selectFrom('orders')
    .innerJoin('auto_certificates', 'auto_certificates.id', 'orders.auto_certificate_id')
    .select(['orders.id', 'orders.agent_key_id', 'orders.key_algorithm', 'orders.names_json'])
    .where('auto_certificates.key_agent_id', '=', agent.id)
    .where('orders.tenant_id', '=', agent.tenant_id)
    .where('orders.finished_at', 'is', null)
    .where('orders.agent_key_id', 'is not', null)
    .where('orders.csr_pem', 'is', null)
    .limit(20).execute();
  return rows.map((r) => {
    const names = JSON.parse(r.names_json) as string[];
    return { kind: 'csr' as const, id: r.id, keyId: r.agent_key_id!, keyAlgorithm: r.key_algorithm as AgentCsrWork['keyAlgorithm'], commonName: names[0]!, names };
  });
}

/** Checks and stores the CSR an agent answered for an order, then wakes the issuance. */
export async function acceptAgentCsr(ctx: Context, agent: AgentRow, orderId: string, pem: string): Promise<void> {
  const row = await ctx.db.kysely.selectFrom('orders')
    .innerJoin('auto_certificates', 'auto_certificates.id', 'orders.auto_certificate_id')
    .select(['orders.id', 'orders.names_json', 'orders.key_algorithm', 'orders.csr_pem', 'orders.finished_at', 'orders.agent_key_id', 'auto_certificates.key_agent_id', 'orders.tenant_id'])
    .where('orders.id', '=', orderId).where('orders.tenant_id', '=', agent.tenant_id).executeTakeFirst();
  if (!row || row.key_agent_id !== agent.id || !row.agent_key_id) throw notFound('CSR request', orderId);
  if (row.finished_at) throw new DomainError('conflict', 'this order is finished; its CSR is no longer needed');
  if (row.csr_pem) return;
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new DomainError('validation_failed', 'csr is not a PEM PKCS#10 certificate request', [{ field: 'csr', message: 'expected "-----BEGIN CERTIFICATE REQUEST-----"' }]);
  }
  if (!(await csr.verify())) throw new DomainError('validation_failed', 'the CSR\'s signature does not verify with its own key', [{ field: 'csr', message: 'bad signature' }]);
  const algorithm = keyAlgorithmOf(createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' }));
  if (algorithm !== row.key_algorithm) {
    throw new DomainError('validation_failed', `the CSR's key is ${algorithm ?? 'of an unsupported kind'}; this auto certificate asks for ${row.key_algorithm}`, [{ field: 'csr', message: 'wrong key algorithm' }]);
  }
  const ext = csr.getExtension('2.5.29.17');
  const san = ext ? new x509.SubjectAlternativeNameExtension(ext.rawData) : null;
  const names = new Set((san?.names.items ?? []).map((n) => n.value.toLowerCase()));
  const wanted = JSON.parse(row.names_json) as string[];
  if (wanted.some((n) => !names.has(n)) || names.size !== wanted.length) {
    throw new DomainError('validation_failed', `the CSR must name exactly ${wanted.join(', ')} in subjectAltName`, [{ field: 'csr', message: 'names differ from the order' }]);
  }
  await ctx.db.kysely.updateTable('orders').set({ csr_pem: pem, updated_at: iso(ctx.clock()) })
    .where('id', '=', orderId).where('csr_pem', 'is', null).execute();
  ctx.kick();
}
