/** Deployment resources as the API shows them: credentials never, only which ones are set. */
import type { AgentRow, DeploymentRow, DeploymentTargetRow } from '../store/deployments.js';
import { agentState } from '../deploy/agents.js';
import { BASE, resourceMetadata } from './envelope.js';

/** An agent; its credential and enrolment token never appear. */
export function agentResource(row: AgentRow, now: Date, enrolmentToken?: string) {
  const { state, message } = agentState(row, now);
  return {
    id: row.id,
    type: 'agent',
    href: `${BASE}/agents/${row.id}`,
    metadata: resourceMetadata({ ...row, state, message }, {
      online: state === 'ONLINE',
      enrolledAt: row.enrolled_at, lastSeenAt: row.last_seen_at, revokedAt: row.revoked_at,
      enrolmentExpiresAt: row.enrolment_expires_at,
      hostname: row.hostname, version: row.version, platform: row.platform, http01Mode: row.http01_mode,
      ...(enrolmentToken ? { enrolmentToken } : {}),
    }),
    properties: {
      name: row.name,
      description: row.description,
      http01Names: JSON.parse(row.http01_names_json) as string[],
    },
  };
}

/** A deployment target; credentials never appear, only their names. */
export function deploymentTargetResource(row: DeploymentTargetRow, credentialNames: string[]) {
  return {
    id: row.id,
    type: 'deployment-target',
    href: `${BASE}/deployment-targets/${row.id}`,
    metadata: resourceMetadata({
      ...row,
      state: row.enabled ? 'AVAILABLE' : 'DISABLED',
      message: row.enabled ? 'In use for new deployments' : 'Disabled: no new deployments go here',
    }, { credentialsSet: credentialNames }),
    properties: {
      name: row.name,
      type: row.type,
      agent: row.agent_id,
      settings: JSON.parse(row.settings_json) as Record<string, unknown>,
      enabled: row.enabled === 1,
    },
  };
}

/** A deployment: one version to one target. */
export function deploymentResource(row: DeploymentRow) {
  return {
    id: row.id,
    type: 'deployment',
    href: `${BASE}/deployments/${row.id}`,
    metadata: resourceMetadata(row, {
      attempts: row.attempts, nextAttemptAt: row.next_attempt_at, running: row.lease_owner !== null,
      deployedAt: row.deployed_at, servedSerial: row.served_serial, output: row.output,
    }),
    properties: {
      target: row.target_id,
      certificate: row.certificate_id,
      autoCertificate: row.auto_certificate_id,
    },
  };
}
