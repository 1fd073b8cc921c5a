/**
 * The long poll of `GET /api/v1/agent/work`: what an agent must do now. It answers at once when a
 * deployment is due for the agent, a key is to be generated, or an http-01 token it has not
 * confirmed is published; otherwise it waits (woken in this process by {@link AgentSignals}, and
 * looking at the database once a second for work other instances created) and answers with the
 * current http-01 set when the wait is over.
 */
import { createHash } from 'node:crypto';
import type { AgentRow } from '../store/deployments.js';
import { iso } from '../store/time.js';
import type { Context } from '../lifecycle/context.js';
import { ATTEMPT_LEASE_MS, claimAgentDeployments } from './orchestrator.js';
import type { AgentCsrWork, AgentHttp01Work, AgentWork } from './types.js';
import { pendingCsrWork } from './agent-keys.js';

const RECHECK_MS = 1_000;
/** An unconfirmed http-01 set is handed out at once, but not more often than this (a broken agent must not spin). */
const UNACKED_REPEAT_MS = 5_000;

/** Tokens an agent serves now; and whether any is unconfirmed. */
async function http01For(ctx: Context, agent: AgentRow): Promise<{ items: AgentHttp01Work[]; unacked: boolean }> {
  const rows = await ctx.db.kysely.selectFrom('http01_tokens').selectAll()
    .where('agent_id', '=', agent.id).where('expires_at', '>', iso(ctx.clock())).orderBy('token').execute();
  return {
    items: rows.map((r) => ({ kind: 'http-01' as const, identifier: r.identifier, token: r.token, keyAuthorization: r.key_authorization })),
    unacked: rows.some((r) => !r.agent_ack_at),
  };
}

/** When each agent was last handed an unconfirmed set (by its hash), per process. */
const handedOut = new Map<string, { hash: string; at: number }>();

/** Waits up to `waitSeconds` for work; `signal` ends the wait early (the client went away). */
export async function agentWork(ctx: Context, agent: AgentRow, waitSeconds: number, signal: AbortSignal): Promise<AgentWork> {
  const deadline = Date.now() + waitSeconds * 1000;
  for (;;) {
    const http01 = await http01For(ctx, agent);
    const hash = createHash('sha256').update(http01.items.map((t) => t.token).join(',')).digest('hex');
    const last = handedOut.get(agent.id);
    const freshUnacked = http01.unacked && !(last && last.hash === hash && Date.now() - last.at < UNACKED_REPEAT_MS);
    const csr: AgentCsrWork[] = await pendingCsrWork(ctx, agent);
    const deployments = signal.aborted ? [] : await claimAgentDeployments(ctx, agent);
    if (deployments.length > 0 || csr.length > 0 || freshUnacked || Date.now() >= deadline || signal.aborted) {
      if (http01.unacked) handedOut.set(agent.id, { hash, at: Date.now() });
      else handedOut.delete(agent.id);
      return { agent: { id: agent.id, name: agent.name }, deployments, http01: http01.items, csr, leaseSeconds: ATTEMPT_LEASE_MS / 1000 };
    }
    await ctx.agentSignals.wait(agent.id, Math.min(RECHECK_MS, Math.max(0, deadline - Date.now())), signal);
  }
}

/** The agent says it serves these tokens now. */
export async function ackHttp01(ctx: Context, agent: AgentRow, tokens: string[]): Promise<void> {
  if (tokens.length === 0) return;
  await ctx.db.kysely.updateTable('http01_tokens').set({ agent_ack_at: iso(ctx.clock()) })
    .where('agent_id', '=', agent.id).where('token', 'in', tokens).where('agent_ack_at', 'is', null).execute();
}
