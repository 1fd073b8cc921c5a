/** /certificates: the repository of stored versions. */
import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { deleteCertificate, exportCertificate, importCertificate, revokeCertificate } from '../../lifecycle/certificates.js';
import { DomainError, notFound } from '../../domain-error.js';
import { inScope, mayExportKeys, scopeIds } from '../access/permissions.js';
import type { CertificateRow } from '../../store/repositories.js';
import { certificateResource, collection } from '../envelope.js';
import { CertificateImport, ExportBody, IdParams, ListQuery, NoQuery, RevokeBody } from '../schemas.js';
import { DeployBody } from '../deploy-schemas.js';
import { deployCertificate } from '../../deploy/orchestrator.js';
import { deploymentResource } from '../deploy-envelope.js';
import { filters } from '../app.js';

/** Routes of the certificate resource. */
export const certificateRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['certificates'];
  /** Latest version id of each auto certificate among `rows`, in one query. */
  const lastIssued = async (tenantId: string, rows: CertificateRow[]) => {
    const ids = [...new Set(rows.map((r) => r.auto_certificate_id).filter((x): x is string => !!x))];
    if (!ids.length) return new Map<string, string | null>();
    const acs = await ctx.db.kysely.selectFrom('auto_certificates').select(['id', 'last_issued_certificate_id'])
      .where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    return new Map(acs.map((a) => [a.id, a.last_issued_certificate_id]));
  };
  const show = async (tenantId: string, row: CertificateRow) => {
    const m = await lastIssued(tenantId, [row]);
    return certificateResource(row, ctx.clock(), row.auto_certificate_id ? m.get(row.auto_certificate_id) ?? null : null);
  };

  app.get<{ Querystring: Static<typeof ListQuery> }>('/certificates', { config: { access: 'read', consumer: true }, schema: { tags, querystring: ListQuery } }, async (req) => {
    const f = filters(req.query, ['commonName', 'name', 'state', 'source', 'autoCertificate']);
    const page = await ctx.certificates.list(req.principal.tenantId, f, req.query.offset ?? 0, req.query.limit ?? 100, scopeIds(req.principal));
    const m = await lastIssued(req.principal.tenantId, page.items);
    const now = ctx.clock();
    return collection('certificates', 'certificates', page, (row) => certificateResource(row, now, row.auto_certificate_id ? m.get(row.auto_certificate_id) ?? null : null));
  });
  app.get<{ Params: Static<typeof IdParams> }>('/certificates/:id', { config: { access: 'read', consumer: true }, schema: { tags, params: IdParams } }, async (req) => {
    const row = await ctx.certificates.get(req.principal.tenantId, req.params.id);
    if (!row || !inScope(req.principal, row.auto_certificate_id)) throw notFound('certificate', req.params.id);
    return show(req.principal.tenantId, row);
  });
  app.post<{ Body: Static<typeof CertificateImport> }>('/certificates', { config: { access: 'operate' }, schema: { tags, body: CertificateImport } }, async (req, reply) => {
    const row = await importCertificate(ctx, req.principal.tenantId, req.principal.name, req.body.properties);
    const res = await show(req.principal.tenantId, row);
    return reply.code(201).header('location', res.href).send(res);
  });
  app.delete<{ Params: Static<typeof IdParams> }>('/certificates/:id', { config: { access: 'operate' }, schema: { tags, params: IdParams } }, async (req, reply) => {
    await deleteCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id);
    return reply.code(204).send();
  });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RevokeBody> }>('/certificates/:id/revoke', { config: { access: 'operate' }, schema: { tags, params: IdParams, body: RevokeBody } }, async (req) => {
    const row = await revokeCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body);
    return show(req.principal.tenantId, row);
  });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ExportBody> }>('/certificates/:id/export', { config: { access: 'read', consumer: true }, schema: { tags, params: IdParams, body: ExportBody } }, async (req, reply) => {
    const withKey = req.body.format === 'pkcs12' || !!req.body.includePrivateKey;
    if (req.principal.role === 'consumer') {
      const row = await ctx.certificates.get(req.principal.tenantId, req.params.id);
      if (!row || !inScope(req.principal, row.auto_certificate_id)) throw notFound('certificate', req.params.id);
    }
    if (withKey && !mayExportKeys(req.principal)) {
      throw new DomainError('forbidden', req.principal.role === 'consumer'
        ? 'this consumer token may read the certificate only; create one with scope.includePrivateKey to export the key'
        : 'a viewer may not export private keys; export without the key, or use an operator or admin');
    }
    const res = await exportCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id, {
      format: req.body.format, includePrivateKey: withKey, ...(req.body.password ? { password: req.body.password } : {}),
    });
    const base = res.row.name.replace(/[^A-Za-z0-9._-]/g, '_');
    reply.header('cache-control', 'no-store');
    if (res.pkcs12) {
      return reply.type('application/x-pkcs12').header('content-disposition', `attachment; filename="${base}.p12"`).send(res.pkcs12);
    }
    const pem = res.pem!;
    if ((req.headers.accept ?? '').includes('application/x-pem-file')) {
      return reply.type('application/x-pem-file').header('content-disposition', `attachment; filename="${base}.pem"`)
        .send(pem.fullchain + (pem.privateKey ?? ''));
    }
    return { certificate: pem.certificate, certificateChain: pem.chain, fullchain: pem.fullchain, ...(pem.privateKey ? { privateKey: pem.privateKey } : {}) };
  });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof DeployBody> }>('/certificates/:id/deploy', { config: { access: 'operate' }, schema: { tags, params: IdParams, body: DeployBody, querystring: NoQuery } }, async (req, reply) => {
    const rows = await deployCertificate(ctx, req.principal.tenantId, req.principal.name, req.params.id, req.body.targets);
    const href = `/api/v1/deployments?filter.certificate=${req.params.id}`;
    return reply.code(202).send({ id: 'deployments', type: 'collection', href, items: rows.map(deploymentResource), offset: 0, limit: rows.length, total: rows.length });
  });
};
