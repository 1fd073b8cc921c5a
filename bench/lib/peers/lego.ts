/**
 * lego (Debian `lego`): `lego run` per certificate, all lanes sharing one `--path` (account and
 * certificates). http-01 standalone (`--http --http.port`) or webroot (`--http.webroot`); dns-01
 * through its rfc2136 provider. It trusts Pebble's listener through LEGO_CA_CERTIFICATES.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChallengeType } from '../certkeeper.js';
import { packageVersion } from '../environment.js';
import { onCleanup } from '../interrupts.js';
import { runMeasured } from '../proc.js';
import { checkRun, cleanEnv, rerunOnBadNonce, type HttpMode, type PeerClient, type PeerRun, type PeerSetup } from './peer.js';

/** Creates the lego peer with a fresh `--path` (removed at cleanup). */
export async function createLego(setup: PeerSetup): Promise<PeerClient> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-lego-'));
  onCleanup('lego dir', () => rm(dir, { recursive: true, force: true }));
  const env = cleanEnv(['LEGO_', 'RFC2136_']);
  env.LEGO_CA_CERTIFICATES = setup.caFile;
  if (setup.dns) {
    env.RFC2136_NAMESERVER = setup.dns.address;
    env.RFC2136_TSIG_KEY = setup.dns.key.name;
    env.RFC2136_TSIG_SECRET = setup.dns.key.secret;
    env.RFC2136_TSIG_ALGORITHM = `${setup.dns.key.algorithm}.`;
    env.RFC2136_TTL = '60';
    env.RFC2136_PROPAGATION_TIMEOUT = String(Math.ceil(setup.timeoutMs / 1000));
  }
  const common = ['--server', setup.directoryUrl, '--email', 'bench@example.com', '--accept-tos', '--path', dir, '--key-type', 'ec256'];
  return {
    name: 'lego',
    latencyHttpMode: 'standalone',
    unsupported: (challenge: ChallengeType) => (challenge === 'dns-01' && !setup.dns ? 'no DNS server in this run' : undefined),
    // lego registers its account during its first `run` (the warm-up); the lanes share it.
    prepareLane: async () => [],
    async issue(domain: string, challenge: ChallengeType, http: HttpMode): Promise<PeerRun> {
      const how = challenge === 'dns-01'
        // lego's complete-propagation check asks each authoritative server on port 53; this BIND
        // listens on another port, so only the first check (through --dns.resolvers) is kept.
        ? ['--dns', 'rfc2136', '--dns.resolvers', setup.dns!.address, '--dns.disable-cp']
        : http === 'standalone' ? ['--http', '--http.port', `127.0.0.1:${setup.httpPort}`] : ['--http', '--http.webroot', setup.webroot];
      const r = await rerunOnBadNonce(() => runMeasured('lego', [...common, ...how, '--domains', domain, 'run'], env, setup.timeoutMs, setup.signal));
      return checkRun('lego', domain, r, join(dir, 'certificates', `${domain}.crt`));
    },
    startOnly: async () => checkRun('lego', '--version', await runMeasured('lego', ['--version'], env, 10_000, setup.signal)),
    version: () => packageVersion('lego'),
  };
}
