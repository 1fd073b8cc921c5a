/** The services a lifecycle operation works with, built once per process (src/server/context.ts). */
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Db } from '../store/database.js';
import type { KeyVault } from '../store/key-vault.js';
import type { JobQueue } from '../store/jobs.js';
import type { EventLog } from '../store/events.js';
import type { Http01Tokens } from '../store/http01-tokens.js';
import type { ApiTokens, SessionsRepository, TenantsRepository, UsersRepository } from '../store/access.js';
import type { AutoCertificatesRepository, CertificatesRepository, ChallengesRepository, DnsZonesRepository, OrdersRepository, ProvidersRepository } from '../store/repositories.js';
import type { DnsProviders } from './dns-zones.js';
import type { DnsServerAddress } from '../dns/wire/dns-query.js';
import type { Clock } from '../store/time.js';
import type { AcmeClients } from './acme-clients.js';
import type { CaLimiter } from './ca-limiter.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AgentsRepository, DeploymentTargetsRepository, DeploymentsRepository } from '../store/deployments.js';
import type { AgentSignals } from '../deploy/agent-signals.js';

/** Everything a lifecycle operation or a route needs. */
export interface Context {
  config: Config;
  db: Db;
  clock: Clock;
  vault: KeyVault;
  logger: Logger;
  jobs: JobQueue;
  events: EventLog;
  http01: Http01Tokens;
  apiTokens: ApiTokens;
  tenants: TenantsRepository;
  users: UsersRepository;
  sessions: SessionsRepository;
  providers: ProvidersRepository;
  autoCertificates: AutoCertificatesRepository;
  certificates: CertificatesRepository;
  orders: OrdersRepository;
  acme: AcmeClients;
  dnsZones: DnsZonesRepository;
  challenges: ChallengesRepository;
  dnsProviders: DnsProviders;
  agents: AgentsRepository;
  deploymentTargets: DeploymentTargetsRepository;
  deployments: DeploymentsRepository;
  /** Wakes the long polls of agents in this process when their work changed. */
  agentSignals: AgentSignals;
  /** Recursive resolvers for CNAME and zone-cut lookups (CERTKEEPER_DNS_RESOLVERS, else the system's). */
  dnsResolvers: DnsServerAddress[];
  /** Prometheus metrics of this process (`/metrics`); issuance reports its outcomes here. */
  metrics: Metrics;
  /** Orders in flight per CA. */
  caLimiter: CaLimiter;
  /** Wakes the worker after work was enqueued. */
  kick(): void;
}

/** The vault context of a certificate version's private key. */
export const certificateKeyContext = (certificateId: string) => `certificates/${certificateId}/private_key`;
/** The vault context of an order's certificate key (before it becomes a version). */
export const orderKeyContext = (orderId: string) => `orders/${orderId}/key`;
