/**
 * /agent/*: what `certkeeper agent` calls. Enrolment trades a one-time token for the agent's own
 * credential; every other call authenticates with that credential (not with an API token: an
 * agent's credential opens these routes and nothing else).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Context } from '../../lifecycle/context.js';
import { authenticateAgent, enrolAgent, touchAgent } from '../../deploy/agents.js';
import { ackHttp01, agentWork } from '../../deploy/agent-work.js';
import { acceptAgentCsr } from '../../deploy/agent-keys.js';
import { recordAgentResult } from '../../deploy/orchestrator.js';
import type { AgentRow } from '../../store/deployments.js';
import { DomainError } from '../../domain-error.js';
import { IdParams, NoQuery } from '../schemas.js';
import { AckBody, CsrBody, EnrolBody, HeartbeatBody, ResultBody, WorkQuery } from '../deploy-schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    agent: AgentRow;
  }
}

/** Routes of the agent protocol. */
export const agentProtocolRoutes = (ctx: Context): FastifyPluginAsync => async (app) => {
  const tags = ['agent protocol'];
  const config = { public: true };
  app.decorateRequest('agent', null as unknown as AgentRow);
  app.addHook('onRequest', async (req: FastifyRequest, reply) => {
    if (req.routeOptions.url === '/api/v1/agent/enrol') return;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const agent = m ? await authenticateAgent(ctx, m[1]!) : undefined;
    if (!agent) {
      reply.header('www-authenticate', 'Bearer realm="certkeeper-agent"');
      throw new DomainError('unauthorized', 'send Authorization: Bearer <agent credential>; the credential is unknown or was revoked (enrol again with a new enrolment token)');
    }
    req.agent = agent;
  });

  app.post<{ Body: Static<typeof EnrolBody> }>('/agent/enrol', { config, schema: { tags, body: EnrolBody, querystring: NoQuery } }, async (req, reply) => {
    const { token, ...facts } = req.body;
    const { row, credential } = await enrolAgent(ctx, token, facts);
    return reply.header('cache-control', 'no-store').send({ agentId: row.id, name: row.name, credential });
  });
  app.post<{ Body: Static<typeof HeartbeatBody> }>('/agent/heartbeat', { config, schema: { tags, body: HeartbeatBody, querystring: NoQuery } }, async (req, reply) => {
    await touchAgent(ctx, req.agent, req.body);
    return reply.code(204).send();
  });
  app.get<{ Querystring: Static<typeof WorkQuery> }>('/agent/work', { config, schema: { tags, querystring: WorkQuery } }, async (req, reply) => {
    await touchAgent(ctx, req.agent);
    const gone = new AbortController();
    const onClose = () => gone.abort();
    req.raw.socket.once('close', onClose);
    try {
      const work = await agentWork(ctx, req.agent, req.query.wait ?? 25, gone.signal);
      return reply.header('cache-control', 'no-store').send(work);
    } finally {
      req.raw.socket.off('close', onClose);
    }
  });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ResultBody> }>('/agent/deployments/:id/result', { config, schema: { tags, params: IdParams, body: ResultBody, querystring: NoQuery } }, async (req, reply) => {
    await recordAgentResult(ctx, req.agent, req.params.id, req.body);
    return reply.code(204).send();
  });
  app.post<{ Body: Static<typeof AckBody> }>('/agent/http-01/ack', { config, schema: { tags, body: AckBody, querystring: NoQuery } }, async (req, reply) => {
    await ackHttp01(ctx, req.agent, req.body.tokens);
    return reply.code(204).send();
  });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof CsrBody> }>('/agent/csr/:id', { config, schema: { tags, params: IdParams, body: CsrBody, querystring: NoQuery } }, async (req, reply) => {
    await acceptAgentCsr(ctx, req.agent, req.params.id, req.body.csr);
    return reply.code(204).send();
  });
};
