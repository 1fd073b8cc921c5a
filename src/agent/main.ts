/**
 * `certkeeper agent`: the deployment agent. It connects out to the certkeeper server, enrols once
 * (one-time enrolment token → credential kept in the state directory), then long-polls for work:
 * deployments (write files, reload, probe, report), http-01 tokens to serve, and keys to generate
 * (answered with a CSR). A heartbeat goes out at start and every minute.
 *
 * Exit codes: 0 stopped (SIGINT/SIGTERM, after the deployment in hand); 2 bad settings or the
 * http-01 listener could not bind; 3 the server refused the credential or enrolment token (revoked,
 * expired, already used) — restarting will not help until an admin acts.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import type {
  AgentCsrWork, AgentDeploymentResult, AgentDeploymentWork, AgentEnrolRequest, AgentEnrolResponse, AgentHeartbeat,
  AgentHttp01Work, AgentWork,
} from '../deploy/types.js';
import { ensureStateDir, readStoredCredential, storeCredential, credentialPath } from './credential.js';
import { executeDeployment } from './deploy-files.js';
import { disabledHttp01, listeningHttp01, webrootHttp01, type Http01Responder } from './http01.js';
import { createAgentCsr } from './keys.js';
import { AgentConfigError, resolveAgentSettings, type AgentFlags, type AgentSettings } from './options.js';
import { DEFAULT_RETRY_TIMING, sleep, withRetry, type RetryTiming } from './retry.js';
import { AgentApiError, AgentClient } from './server-client.js';

/** Exit codes of `certkeeper agent`. */
export const AGENT_EXIT = { OK: 0, FAILED: 1, CONFIG: 2, REFUSED: 3 } as const;

/** What {@link runAgent} takes: the validated settings plus what tests and embedders may change. */
export interface AgentOptions extends Omit<AgentSettings, 'logLevel'> {
  logger: Logger;
  /** Reported in enrolment and heartbeats; default: package.json's version. */
  version?: string;
  /** Default os.hostname(). */
  hostname?: string;
  /** Seconds the server may hold a work poll (0..30); default 30. */
  pollWaitSeconds?: number;
  /** Default 60 000. */
  heartbeatIntervalMs?: number;
  /** How long a stop waits for the deployment in hand (then it is interrupted and rolled back); default 150 000. */
  shutdownGraceMs?: number;
  retryTiming?: RetryTiming;
}

/** The version in package.json (same relative place from src/agent and dist/agent). */
export function agentVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const is401 = (err: unknown): err is AgentApiError => err instanceof AgentApiError && err.status === 401;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A stable signature of an http-01 set (to tell when it changed). */
function http01Signature(set: AgentHttp01Work[]): string {
  return set.map((t) => `${t.token}=${t.keyAuthorization}`).sort().join('\n');
}

/**
 * Runs the agent until `signal` aborts (returns 0 once the deployment in hand is finished) or the
 * server refuses its credential (returns 3). Configuration problems found on the way return 2.
 */
export async function runAgent(options: AgentOptions, signal: AbortSignal): Promise<number> {
  const log = options.logger;
  const version = options.version ?? agentVersion();
  const host = options.hostname ?? osHostname();
  const platform = `${process.platform}-${process.arch}`;
  const pollWait = Math.max(0, Math.min(30, Math.floor(options.pollWaitSeconds ?? 30)));
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 60_000;
  const graceMs = options.shutdownGraceMs ?? 150_000;
  const timing = options.retryTiming ?? DEFAULT_RETRY_TIMING;

  // `stop` ends polling (the caller's signal, or a refused credential); `hardStop` fires a grace
  // period later and interrupts the deployment in hand, whose files are then rolled back.
  const stop = new AbortController();
  const hardStop = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  let refused = false;
  const onStop = () => {
    if (!stop.signal.aborted) stop.abort(signal.reason);
    graceTimer ??= setTimeout(() => hardStop.abort(new Error('shutdown grace period over')), graceMs);
  };
  if (signal.aborted) onStop();
  else signal.addEventListener('abort', onStop, { once: true });
  const refuse = (message: string) => {
    if (!refused) log.error(message);
    refused = true;
    onStop();
  };

  let client: AgentClient;
  try {
    client = new AgentClient({ server: options.server, userAgent: `certkeeper-agent/${version} node/${process.versions.node}`, ...(options.caPem ? { caPem: options.caPem } : {}) });
  } catch (err) {
    log.error(errorText(err));
    return AGENT_EXIT.CONFIG;
  }
  if (client.insecure) log.warn({ server: client.serverUrl }, 'the server URL is plain http: the agent credential and private keys travel unencrypted; use https');

  let http01: Http01Responder;
  if (options.http01Listen) http01 = listeningHttp01(options.http01Listen.host, options.http01Listen.port, log.child({ component: 'http-01' }));
  else if (options.http01Webroot) http01 = webrootHttp01(options.http01Webroot, log.child({ component: 'http-01' }));
  else http01 = disabledHttp01();

  const heartbeatBody = (): AgentHeartbeat => ({ hostname: host, version, platform, http01: http01.description });
  const heartbeat = async (): Promise<void> => {
    await client.call('POST', '/agent/heartbeat', heartbeatBody(), stop.signal, { timeoutMs: 20_000 });
  };

  let heartbeatLoop: Promise<void> | undefined;
  /** Whether the credential in use is the one in the state directory (for the advice on refusal). */
  let inFile = false;
  try {
    await ensureStateDir(options.stateDir);
    await http01.start();

    // --- Credential: stored, or enrolment, or the given token used as the credential.
    const stored = await readStoredCredential(options.stateDir, (m) => log.warn(m));
    inFile = stored !== undefined;
    if (stored !== undefined) {
      client.credential = stored;
      log.info({ server: client.serverUrl, stateDir: options.stateDir }, 'starting with the stored credential');
    } else if (options.token === undefined) {
      log.error(`no credential in ${credentialPath(options.stateDir)} and no enrolment token: give --token, --token-file or CERTKEEPER_AGENT_TOKEN`);
      return AGENT_EXIT.CONFIG;
    } else {
      const enrolled = await enrol(client, options, { hostname: host, version, platform }, stop.signal, log, timing);
      if (enrolled === 'stopped') return AGENT_EXIT.OK;
      if (enrolled === 'refused') return AGENT_EXIT.REFUSED;
      inFile = enrolled === 'enrolled';
    }

    // --- Heartbeat: now, then every interval.
    try {
      await withRetry(heartbeat, { signal: stop.signal, logger: log, what: 'heartbeat', maxAttempts: 3, timing });
    } catch (err) {
      if (is401(err)) throw err;
      if (!stop.signal.aborted) log.warn({ error: errorText(err) }, 'heartbeat failed');
    }
    heartbeatLoop = (async () => {
      while (!stop.signal.aborted) {
        try {
          await sleep(heartbeatIntervalMs, stop.signal);
          await heartbeat();
        } catch (err) {
          if (stop.signal.aborted) return;
          if (is401(err)) refuse(refusedMessage(options, inFile, err));
          else log.warn({ error: errorText(err) }, 'heartbeat failed');
        }
      }
    })();

    // --- Work loop.
    let ackedHttp01: string | undefined;
    let warnedNoHttp01 = '';
    // The first poll does not wait: after a restart the current http-01 set is served at once.
    let wait = 0;
    while (!stop.signal.aborted) {
      const started = Date.now();
      let work: AgentWork;
      try {
        const w = wait;
        work = await withRetry(
          () => client.call<AgentWork>('GET', `/agent/work?wait=${w}`, undefined, stop.signal, { timeoutMs: (w + 30) * 1000 }),
          { signal: stop.signal, logger: log, what: 'polling for work', timing },
        );
      } catch (err) {
        if (stop.signal.aborted) break;
        if (is401(err)) throw err;
        // A 4xx other than 401 will not change by asking again at once: say so and wait the longest backoff.
        log.error({ error: errorText(err) }, 'polling for work failed');
        await sleep(timing.capMs, stop.signal).catch(() => undefined);
        continue;
      }
      wait = pollWait;
      const deployments = Array.isArray(work?.deployments) ? work.deployments : [];
      const csrs = Array.isArray(work?.csr) ? work.csr : [];
      const tokens = Array.isArray(work?.http01) ? work.http01 : [];
      let didSomething = false;

      // http-01 first: a validation is waiting on it.
      const signature = http01Signature(tokens);
      if (signature !== ackedHttp01) {
        if (http01.description === 'off' && tokens.length > 0) {
          if (warnedNoHttp01 !== signature) log.warn({ tokens: tokens.length }, 'the server sent http-01 tokens but this agent has no --http01-listen or --http01-webroot');
          warnedNoHttp01 = signature;
        } else {
          didSomething = true;
          try {
            const served = await http01.apply(tokens);
            if (served.length > 0) await withRetry(() => client.call('POST', '/agent/http-01/ack', { tokens: served }, stop.signal, { timeoutMs: 20_000 }),
              { signal: stop.signal, logger: log, what: 'acknowledging http-01 tokens', maxAttempts: 5, timing });
            ackedHttp01 = signature;
            log.info({ tokens: served.length, identifiers: tokens.map((t) => t.identifier) }, 'http-01 set in place');
          } catch (err) {
            if (is401(err)) throw err;
            if (!stop.signal.aborted) log.error({ error: errorText(err) }, 'putting the http-01 set in place failed');
          }
        }
      }

      for (const csr of csrs) {
        if (stop.signal.aborted) break;
        didSomething = true;
        await answerCsr(client, csr, options.stateDir, hardStop.signal, log, timing);
      }
      for (const deployment of deployments) {
        if (stop.signal.aborted) break;
        didSomething = true;
        await deploy(client, deployment, options.stateDir, hardStop.signal, log, timing);
      }
      if (refused) break;
      // Never a busy loop: a server that answers at once with nothing new is asked again later.
      if (!didSomething && Date.now() - started < 1000) await sleep(2000, stop.signal).catch(() => undefined);
    }
    return refused ? AGENT_EXIT.REFUSED : AGENT_EXIT.OK;
  } catch (err) {
    // A 401 anywhere (poll, heartbeat, ack, result, CSR): the credential was revoked.
    if (is401(err)) {
      refuse(refusedMessage(options, inFile, err));
      return AGENT_EXIT.REFUSED;
    }
    if (err instanceof AgentConfigError) {
      log.error(err.message);
      return AGENT_EXIT.CONFIG;
    }
    if (err instanceof Error && 'code' in err && (err.code === 'EADDRINUSE' || err.code === 'EACCES') && !stop.signal.aborted) {
      log.error({ error: err.message }, 'cannot start: check --http01-listen and the state directory permissions');
      return AGENT_EXIT.CONFIG;
    }
    if (stop.signal.aborted && !refused) return AGENT_EXIT.OK;
    throw err;
  } finally {
    onStop();
    signal.removeEventListener('abort', onStop);
    await heartbeatLoop;
    clearTimeout(graceTimer);
    await http01.close().catch(() => undefined);
    client.close();
    log.info('agent stopped');
  }
}

function refusedMessage(options: AgentOptions, fromFile: boolean, err: AgentApiError): string {
  const detail = err.problem.detail ?? err.problem.title ?? 'unauthorized';
  return fromFile
    ? `the server refused the agent credential (${detail}); it was probably revoked. Create a new enrolment token, delete ${credentialPath(options.stateDir)} and start the agent with --token`
    : `the server refused the agent credential (${detail}); it was probably revoked. Create a new enrolment token and start the agent with it`;
}

/**
 * Enrols with the token and stores the credential. When the server refuses the token as an
 * enrolment token, it is tried as a credential (`--token` may carry either).
 */
async function enrol(
  client: AgentClient, options: AgentOptions, about: Omit<AgentEnrolRequest, 'token'>, signal: AbortSignal, log: Logger, timing: RetryTiming,
): Promise<'enrolled' | 'token' | 'stopped' | 'refused'> {
  const token = options.token as string;
  // Server credentials start `cka_` and enrolment tokens `cke_`: a credential is not sent to enrol.
  if (token.startsWith('cka_')) {
    client.credential = token;
    log.info({ server: client.serverUrl }, 'the given token is an agent credential; using it (it is not stored)');
    return 'token';
  }
  const body: AgentEnrolRequest = { token, ...about };
  let answer: AgentEnrolResponse;
  try {
    answer = await withRetry(() => client.call<AgentEnrolResponse>('POST', '/agent/enrol', body, signal, { auth: false, timeoutMs: 30_000 }),
      { signal, logger: log, what: 'enrolment', timing });
  } catch (err) {
    if (signal.aborted) return 'stopped';
    if (!(err instanceof AgentApiError)) throw err;
    // Perhaps the token is already a credential: a heartbeat tells.
    client.credential = token;
    try {
      await withRetry(() => client.call('POST', '/agent/heartbeat', { ...about, http01: 'off' } satisfies AgentHeartbeat, signal, { timeoutMs: 20_000 }),
        { signal, logger: log, what: 'checking the token as a credential', timing });
      log.info({ server: client.serverUrl }, 'the given token is an agent credential; using it (it is not stored)');
      return 'token';
    } catch (err2) {
      if (signal.aborted) return 'stopped';
      const detail = err.problem.detail ?? err.problem.title ?? `status ${err.status}`;
      log.error(`the server refused the token: it is not a valid enrolment token (${detail}) — enrolment tokens work once; create a new one for this agent — nor an agent credential (${errorText(err2)})`);
      client.credential = undefined;
      return 'refused';
    }
  }
  if (!answer || typeof answer.credential !== 'string' || answer.credential === '') {
    log.error('the server answered the enrolment without a credential');
    return 'refused';
  }
  await storeCredential(options.stateDir, answer.credential, {
    agentId: String(answer.agentId), name: String(answer.name), server: client.serverUrl, enrolledAt: new Date().toISOString(),
  });
  client.credential = answer.credential;
  log.info({ agentId: answer.agentId, name: answer.name, file: credentialPath(options.stateDir) }, 'enrolled; the credential is stored');
  return 'enrolled';
}

/** Generates the key of a CSR request and sends the CSR (never the key). */
async function answerCsr(client: AgentClient, work: AgentCsrWork, stateDir: string, signal: AbortSignal, log: Logger, timing: RetryTiming): Promise<void> {
  const l = log.child({ csr: work.id, keyId: work.keyId });
  let csr: string;
  try {
    csr = await createAgentCsr(stateDir, work);
    l.info({ keyAlgorithm: work.keyAlgorithm, names: [work.commonName, ...work.names] }, 'key generated; sending its CSR');
  } catch (err) {
    l.error({ error: errorText(err) }, 'cannot create the key or CSR');
    return;
  }
  try {
    await withRetry(() => client.call('POST', `/agent/csr/${encodeURIComponent(work.id)}`, { csr }, signal, { timeoutMs: 30_000 }),
      { signal, logger: l, what: 'sending the CSR', maxAttempts: 8, timing });
  } catch (err) {
    if (is401(err)) throw err;
    if (err instanceof AgentApiError && (err.status === 409 || err.status === 404)) l.warn({ status: err.status }, 'the server no longer wants this CSR; dropped');
    else l.error({ error: errorText(err) }, 'sending the CSR failed');
  }
}

/** Executes one deployment and reports its result. */
async function deploy(client: AgentClient, work: AgentDeploymentWork, stateDir: string, signal: AbortSignal, log: Logger, timing: RetryTiming): Promise<void> {
  const l = log.child({ deployment: work.id, target: work.target?.name, attempt: work.attempt });
  l.info({ certificate: work.material?.name, serial: work.material?.serialNumber }, 'deploying');
  let result: AgentDeploymentResult;
  try {
    result = await executeDeployment(work, { stateDir, logger: l, signal });
  } catch (err) {
    // executeDeployment reports failures itself; this is a malformed work item.
    result = { state: 'FAILED', message: `the agent could not run this deployment: ${errorText(err)}` };
  }
  l.info({ state: result.state, message: result.message, skipped: result.skipped }, 'deployment finished');
  try {
    await withRetry(() => client.call('POST', `/agent/deployments/${encodeURIComponent(work.id)}/result`, result, signal, { timeoutMs: 30_000 }),
      { signal, logger: l, what: 'reporting the deployment result', maxAttempts: 10, timing });
  } catch (err) {
    if (is401(err)) throw err;
    if (err instanceof AgentApiError && err.status === 409) l.warn('the server took this deployment back (superseded); result dropped');
    else l.error({ error: errorText(err) }, 'reporting the deployment result failed');
  }
}

/**
 * The `certkeeper agent` command: settings from flags and environment, the logger, SIGINT/SIGTERM
 * handling (a second signal exits at once). Returns the exit code.
 */
export async function agentCommand(flags: AgentFlags): Promise<number> {
  let settings: AgentSettings;
  try {
    settings = await resolveAgentSettings(flags);
  } catch (err) {
    if (err instanceof AgentConfigError) {
      console.error(`certkeeper agent: ${err.message}`);
      return AGENT_EXIT.CONFIG;
    }
    throw err;
  }
  const { createLogger } = await import('../server/logger.js');
  const logger = createLogger(settings.logLevel).child({ component: 'agent' });
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.warn({ signal: name }, 'second signal: exiting now');
      process.exit(AGENT_EXIT.FAILED);
    }
    logger.info({ signal: name }, 'stopping after the work in hand');
    controller.abort(new Error(`received ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { logLevel: _logLevel, ...rest } = settings;
    return await runAgent({ ...rest, logger }, controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
