/** Builds the process-wide {@link Context}: database, vault, repositories, ACME clients. */
import { mkdirSync } from 'node:fs';
import { AgentsRepository, DeploymentTargetsRepository, DeploymentsRepository } from '../store/deployments.js';
import { AgentSignals } from '../deploy/agent-signals.js';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { openDatabase } from '../store/database.js';
import { KeyVault } from '../store/key-vault.js';
import { loadOrCreateMasterKey } from '../store/master-key.js';
import { JobQueue } from '../store/jobs.js';
import { EventLog } from '../store/events.js';
import { Http01Tokens } from '../store/http01-tokens.js';
import { ApiTokens, SessionsRepository, TenantsRepository, UsersRepository } from '../store/access.js';
import { AutoCertificatesRepository, CertificatesRepository, ChallengesRepository, DnsZonesRepository, OrdersRepository, ProvidersRepository } from '../store/repositories.js';
import { getServers } from 'node:dns';
import { DnsProviders } from '../lifecycle/dns-zones.js';
import { CaLimiter } from '../lifecycle/ca-limiter.js';
import { parseServerAddress } from '../dns/wire/dns-query.js';
import { systemClock, type Clock } from '../store/time.js';
import { AcmeClients } from '../lifecycle/acme-clients.js';
import { guardedLookup } from '../lifecycle/address-policy.js';
import type { Context } from '../lifecycle/context.js';
import { Metrics } from '../metrics/metrics.js';

/** Opens everything a server needs. `kick` is wired to the worker once it exists. */
export async function createContext(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Context> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const master = loadOrCreateMasterKey(config.masterKey, config.dataDir);
  if (master.generatedAt) {
    logger.warn({ file: master.generatedAt }, 'CERTKEEPER_MASTER_KEY is not set: generated a master key into the data dir. Back it up: without it no stored key can be read. Set CERTKEEPER_MASTER_KEY (or _FILE) in production.');
  }
  const db = await openDatabase(config.databaseUrl, { logger: logger.child({ component: 'db' }) });
  const vault = new KeyVault(master.key);
  const metrics = new Metrics({ db, clock, logger, perCertificateLimit: config.metricsPerCertificateLimit });
  return {
    config,
    db,
    clock,
    vault,
    logger,
    jobs: new JobQueue(db, clock),
    events: new EventLog(db, clock),
    http01: new Http01Tokens(db, clock),
    apiTokens: new ApiTokens(db, clock),
    tenants: new TenantsRepository(db, clock),
    users: new UsersRepository(db),
    sessions: new SessionsRepository(db, clock),
    providers: new ProvidersRepository(db),
    autoCertificates: new AutoCertificatesRepository(db),
    certificates: new CertificatesRepository(db),
    orders: new OrdersRepository(db),
    acme: new AcmeClients(vault, { onRequest: metrics.acmeRequest, lookup: guardedLookup({ allowPrivate: config.allowPrivateAddresses }) }),
    dnsZones: new DnsZonesRepository(db),
    agents: new AgentsRepository(db),
    deploymentTargets: new DeploymentTargetsRepository(db),
    deployments: new DeploymentsRepository(db),
    agentSignals: new AgentSignals(),
    challenges: new ChallengesRepository(db),
    dnsProviders: new DnsProviders({ vault, config, logger }),
    dnsResolvers: (config.dnsResolvers.length ? config.dnsResolvers : getServers()).map((s) => parseServerAddress(s)),
    metrics,
    caLimiter: new CaLimiter(config.caConcurrency),
    kick: () => undefined,
  };
}
