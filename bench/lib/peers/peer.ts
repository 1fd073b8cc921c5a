/**
 * The contract every peer ACME client (a Debian package run as one process per certificate)
 * fulfils for the benchmarks, and what they share: a clean environment and result checks.
 */
import { existsSync } from 'node:fs';
import type { BenchDns } from '../bench-dns.js';
import type { ChallengeType } from '../certkeeper.js';
import type { MeasuredRun } from '../proc.js';

/** The peers, by the name of their Debian package. */
export type PeerName = 'uacme' | 'lego' | 'certbot';

/**
 * How a client answers http-01: `standalone` = its own server on the validation port (only one
 * process at a time), `webroot` = it writes the token file into the directory that the bench's
 * webroot server serves on that port (any number of processes at once).
 */
export type HttpMode = 'standalone' | 'webroot';

/** What a peer needs to know about the run. */
export interface PeerSetup {
  directoryUrl: string;
  /** PEM file of the root that signs Pebble's HTTPS listener. */
  caFile: string;
  /** The port Pebble's VA connects to for http-01, on 127.0.0.1. */
  httpPort: number;
  /** The directory the webroot server serves (`<webroot>/.well-known/acme-challenge/<token>`). */
  webroot: string;
  /** RFC 2136 target for dns-01; absent when the run has no DNS. */
  dns: BenchDns | undefined;
  /** Limit of one process run. */
  timeoutMs: number;
  signal: AbortSignal;
}

/** One peer client. Every method MUST be bounded by `PeerSetup.timeoutMs` and `signal`. */
export interface PeerClient {
  readonly name: PeerName;
  /** The http-01 mode of the single-certificate latency runs (its most direct way). */
  readonly latencyHttpMode: HttpMode;
  /** Why the client cannot do this here (shown as "n/a"); undefined when it can. */
  unsupported(challenge: ChallengeType, http: HttpMode): string | undefined;
  /**
   * Makes lane `lane` ready to issue (e.g. registers its account); lanes share state where the
   * client allows it. Returns the process runs it made (excluded from the figures).
   */
  prepareLane(lane: number): Promise<MeasuredRun[]>;
  /** One certificate for `domain` as one process run (or reruns, see {@link rerunOnBadNonce}); MUST throw unless the certificate was written. */
  issue(domain: string, challenge: ChallengeType, http: HttpMode, lane: number): Promise<PeerRun>;
  /** A run that only starts the program (prints its version): what process start alone costs. */
  startOnly(): Promise<MeasuredRun>;
  /** The installed version, for the report. */
  version(): string;
}

/** A measured issue: `attempts` process runs, their wall and CPU times added up. */
export interface PeerRun extends MeasuredRun {
  attempts: number;
}

/**
 * Runs `attempt` again, at most `reruns` more times, while it fails with an ACME `badNonce` error
 * the client gave up on (RFC 8555 §6.5 says to retry; uacme does not when it looks up its account).
 * What a cron job would see as "failed, try again": the result adds up the wall and CPU times of
 * every attempt and keeps the highest RSS, so the cost of the failure stays in the figures.
 */
export async function rerunOnBadNonce(attempt: () => Promise<MeasuredRun>, reruns = 2): Promise<PeerRun> {
  let sum: PeerRun | undefined;
  for (let i = 0; ; i++) {
    const r = await attempt();
    sum = sum === undefined ? { ...r, attempts: 1 } : {
      ...r,
      attempts: sum.attempts + 1,
      wallMs: sum.wallMs + r.wallMs,
      cpuMs: sum.cpuMs === undefined || r.cpuMs === undefined ? undefined : sum.cpuMs + r.cpuMs,
      peakRssKiB: Math.max(sum.peakRssKiB ?? 0, r.peakRssKiB ?? 0) || undefined,
      output: `${sum.output}\n--- rerun after badNonce ---\n${r.output}`,
    };
    if (r.exitCode === 0 || i >= reruns || !/urn:ietf:params:acme:error:badNonce/.test(r.output)) return sum;
  }
}

const PROXY_VARIABLES = /^(?:https?_proxy|all_proxy|no_proxy|ftp_proxy)$/i;

/** This process's environment without proxy variables and without variables starting with `dropPrefix`. */
export function cleanEnv(dropPrefixes: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (PROXY_VARIABLES.test(k) || dropPrefixes.some((p) => k.startsWith(p))) continue;
    env[k] = v;
  }
  return env;
}

/** Throws with the tail of the output unless the run exited 0 (and wrote `file`, when given). */
export function checkRun<T extends MeasuredRun>(client: string, what: string, r: T, file?: string): T {
  if (r.exitCode !== 0) throw new Error(`${client} ${what} failed (exit ${r.exitCode ?? r.signal}):\n${r.output.slice(-3000)}`);
  if (file !== undefined && !existsSync(file)) throw new Error(`${client} ${what} exited 0 but wrote no ${file}:\n${r.output.slice(-2000)}`);
  return r;
}
