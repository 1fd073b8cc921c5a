/**
 * certbot (Debian `certbot`): `certbot certonly` per certificate. certbot locks its directories,
 * so each lane has its own config/work/logs directories and its own account. http-01 standalone
 * (`--standalone --http-01-port`) or webroot (`--webroot -w`); dns-01 through the
 * `certbot-dns-rfc2136` plugin (Debian python3-certbot-dns-rfc2136) with no propagation wait (the
 * update goes straight to the authoritative server). It trusts Pebble through REQUESTS_CA_BUNDLE.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChallengeType } from '../certkeeper.js';
import { packageVersion } from '../environment.js';
import { onCleanup } from '../interrupts.js';
import { runMeasured, type MeasuredRun } from '../proc.js';
import { checkRun, cleanEnv, rerunOnBadNonce, type HttpMode, type PeerClient, type PeerRun, type PeerSetup } from './peer.js';

const DNS_PLUGIN_PACKAGE = 'python3-certbot-dns-rfc2136';

/** Creates the certbot peer with a fresh directory tree (removed at cleanup). */
export async function createCertbot(setup: PeerSetup): Promise<PeerClient> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-certbot-'));
  onCleanup('certbot dir', () => rm(dir, { recursive: true, force: true }));
  const env = cleanEnv(['REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'SSL_CERT_']);
  env.REQUESTS_CA_BUNDLE = setup.caFile;
  const credentials = join(dir, 'rfc2136.ini');
  if (setup.dns) {
    // certbot refuses credentials files that others can read.
    await writeFile(credentials, [
      `dns_rfc2136_server = ${setup.dns.host}`,
      `dns_rfc2136_port = ${setup.dns.port}`,
      `dns_rfc2136_name = ${setup.dns.key.name}`,
      `dns_rfc2136_secret = ${setup.dns.key.secret}`,
      `dns_rfc2136_algorithm = ${setup.dns.key.algorithm.toUpperCase()}`,
      '',
    ].join('\n'), { mode: 0o600 });
  }
  const plugin = packageVersion(DNS_PLUGIN_PACKAGE) !== 'not installed';
  const laneDirs = (lane: number): string[] => {
    const base = join(dir, `lane-${lane}`);
    return ['--config-dir', join(base, 'config'), '--work-dir', join(base, 'work'), '--logs-dir', join(base, 'logs')];
  };
  const common = (lane: number): string[] => [
    '-n', '--server', setup.directoryUrl, '--agree-tos', '--register-unsafely-without-email', ...laneDirs(lane),
    // One log file per lane, appended to: no rotation work per run.
    '--max-log-backups', '0',
  ];
  return {
    name: 'certbot',
    latencyHttpMode: 'standalone',
    unsupported(challenge: ChallengeType) {
      if (challenge !== 'dns-01') return undefined;
      if (!setup.dns) return 'no DNS server in this run';
      if (!plugin) return `the certbot-dns-rfc2136 plugin is not installed (apt-get install ${DNS_PLUGIN_PACKAGE})`;
      return undefined;
    },
    async prepareLane(lane: number): Promise<MeasuredRun[]> {
      await mkdir(join(dir, `lane-${lane}`), { recursive: true });
      return [checkRun('certbot', `register (lane ${lane})`, await runMeasured('certbot', ['register', ...common(lane)], env, setup.timeoutMs, setup.signal))];
    },
    async issue(domain: string, challenge: ChallengeType, http: HttpMode, lane: number): Promise<PeerRun> {
      const how = challenge === 'dns-01'
        ? ['--dns-rfc2136', '--dns-rfc2136-credentials', credentials, '--dns-rfc2136-propagation-seconds', '0']
        : http === 'standalone'
          ? ['--standalone', '--preferred-challenges', 'http-01', '--http-01-port', String(setup.httpPort), '--http-01-address', '127.0.0.1']
          : ['--webroot', '-w', setup.webroot];
      const logFile = join(dir, `lane-${lane}`, 'logs', 'letsencrypt.log');
      const r = await rerunOnBadNonce(async () => {
        const offset = await stat(logFile).then((st) => st.size, () => 0);
        const run = await runMeasured('certbot', [
          'certonly', ...common(lane), ...how, '--key-type', 'ecdsa', '--elliptic-curve', 'secp256r1', '-d', domain,
        ], env, setup.timeoutMs, setup.signal);
        // On Python 3.11, certbot 2.1 reports any ACME error (here: Pebble's random badNonce) as
        // "AttributeError: can't set attribute" (certbot/certbot#9539); the CA's problem is only in
        // its log, so a failed run's part of the log goes into its output.
        if (run.exitCode !== 0) run.output += `\n--- ${logFile} (this run) ---\n${(await readFile(logFile).catch(() => Buffer.alloc(0))).subarray(offset).toString('utf8').slice(-6000)}`;
        return run;
      });
      const cert = join(dir, `lane-${lane}`, 'config', 'live', domain, 'fullchain.pem');
      return checkRun('certbot', domain, r, cert);
    },
    startOnly: async () => checkRun('certbot', '--version', await runMeasured('certbot', ['--version'], env, 30_000, setup.signal)),
    version: () => packageVersion('certbot'),
  };
}

/** The installed version of the dns-01 plugin's package, for the report. */
export const certbotDnsPluginVersion = (): string => packageVersion(DNS_PLUGIN_PACKAGE);
