/**
 * uacme (Debian `uacme`): `uacme issue` per certificate with a hook script, all lanes sharing one
 * configuration directory (account key, certificates). uacme has no http-01 server of its own:
 * the hook writes the key authorization into the webroot that the bench serves on the http-01
 * port; for dns-01 it sends an RFC 2136 update with `nsupdate -k` (Debian `bind9-dnsutils`).
 *
 * uacme has no option for a CA bundle (libcurl uses /etc/ssl/certs/ca-certificates.crt), so each
 * run is `unshare -m` with Pebble's listener root bind-mounted over that file, in a private mount
 * namespace that ends with the process (needs root).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChallengeType } from '../certkeeper.js';
import { packageVersion } from '../environment.js';
import { onCleanup } from '../interrupts.js';
import { runMeasured, type MeasuredRun } from '../proc.js';
import { checkRun, cleanEnv, rerunOnBadNonce, type HttpMode, type PeerClient, type PeerRun, type PeerSetup } from './peer.js';

/** The system CA bundle libcurl (GnuTLS build) reads. */
const SYSTEM_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const NSUPDATE = '/usr/bin/nsupdate';

// uacme calls the hook as: <begin|done|failed> <type> <identifier> <token> <key authorization>
// (dns-01: the authorization is already the TXT value). Declining (exit 1) a type makes uacme
// offer the next challenge of the authorization, so BENCH_CHALLENGE picks the type.
const HOOK = `#!/bin/sh
set -u
method=$1 type=$2 ident=$3 token=$4 auth=$5
[ "$type" = "$BENCH_CHALLENGE" ] || exit 1
case "$type:$method" in
  http-01:begin) printf '%s' "$auth" > "$BENCH_WEBROOT/.well-known/acme-challenge/$token"; exit ;;
  http-01:done|http-01:failed) rm -f "$BENCH_WEBROOT/.well-known/acme-challenge/$token"; exit ;;
  dns-01:begin) op=add ;;
  dns-01:done|dns-01:failed) op=delete ;;
  *) exit 1 ;;
esac
printf 'server %s %s\\nzone %s\\nupdate %s _acme-challenge.%s. 60 IN TXT "%s"\\nsend\\n' \\
  "$BENCH_DNS_HOST" "$BENCH_DNS_PORT" "$BENCH_DNS_ZONE" "$op" "$ident" "$auth" | ${NSUPDATE} -t 10 -k "$BENCH_KEYFILE"
`;

// sh -c '<this>' <ca file> <uacme arguments…>: $0 is the CA file, "$@" the arguments.
const MOUNT_AND_EXEC = `mount --bind "$0" ${SYSTEM_BUNDLE} && exec uacme "$@"`;

/** Creates the uacme peer with a fresh configuration directory and hook (removed at cleanup). */
export async function createUacme(setup: PeerSetup): Promise<PeerClient> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-bench-uacme-'));
  onCleanup('uacme dir', () => rm(dir, { recursive: true, force: true }));
  const confdir = join(dir, 'conf');
  const hook = join(dir, 'hook.sh');
  const keyFile = join(dir, 'tsig.key');
  await mkdir(confdir);
  await writeFile(hook, HOOK);
  await chmod(hook, 0o755);
  if (setup.dns) await writeFile(keyFile, setup.dns.keyFileText, { mode: 0o600 });
  const env = cleanEnv(['BENCH_']);
  Object.assign(env, {
    BENCH_WEBROOT: setup.webroot,
    BENCH_KEYFILE: keyFile,
    BENCH_DNS_HOST: setup.dns?.host ?? '',
    BENCH_DNS_PORT: String(setup.dns?.port ?? ''),
    BENCH_DNS_ZONE: setup.dns?.zone ?? '',
  });
  const noNamespace = process.getuid?.() !== 0
    ? 'uacme has no CA-bundle option and bind-mounting the test root over the system bundle (unshare -m) needs root'
    : !existsSync('/usr/bin/unshare') || !existsSync(SYSTEM_BUNDLE) ? `needs /usr/bin/unshare and ${SYSTEM_BUNDLE}` : undefined;
  const run = (args: string[], challenge: string, timeoutMs = setup.timeoutMs): Promise<MeasuredRun> =>
    runMeasured('unshare', ['-m', 'sh', '-c', MOUNT_AND_EXEC, setup.caFile, ...args], { ...env, BENCH_CHALLENGE: challenge }, timeoutMs, setup.signal);
  const common = ['-a', setup.directoryUrl, '-c', confdir, '-t', 'EC', '-b', '256'];
  return {
    name: 'uacme',
    latencyHttpMode: 'webroot',
    unsupported(challenge: ChallengeType, http: HttpMode) {
      if (noNamespace) return noNamespace;
      if (challenge === 'http-01' && http === 'standalone') return 'uacme has no http-01 server of its own (its hook writes into a webroot)';
      if (challenge === 'dns-01' && !setup.dns) return 'no DNS server in this run';
      if (challenge === 'dns-01' && !existsSync(NSUPDATE)) return `the hook needs ${NSUPDATE} (Debian bind9-dnsutils)`;
      return undefined;
    },
    async prepareLane(lane: number): Promise<MeasuredRun[]> {
      if (lane > 0) return []; // the lanes share the account key in the configuration directory
      return [checkRun('uacme', 'new (account registration)', await run([...common, '-y', 'new'], 'none'))];
    },
    async issue(domain: string, challenge: ChallengeType): Promise<PeerRun> {
      const r = await rerunOnBadNonce(() => run([...common, '-o', '-h', hook, 'issue', domain], challenge));
      return checkRun('uacme', domain, r, join(confdir, domain, 'cert.pem'));
    },
    // `uacme -V` prints its version and exits 2; run the same way (unshare + mount) as every issue.
    async startOnly(): Promise<MeasuredRun> {
      const r = await run(['-V'], 'none', 10_000);
      if (!/uacme: version/.test(r.output)) throw new Error(`uacme -V printed no version (exit ${r.exitCode ?? r.signal}):\n${r.output.slice(-2000)}`);
      return r;
    },
    version: () => packageVersion('uacme'),
  };
}
