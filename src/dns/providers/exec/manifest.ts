/** The `exec` DNS provider: TXT records written by a program the user supplies. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { EXEC_DEFAULT_TIMEOUT_SECONDS, ExecDnsProvider, MAX_TIMEOUT_SECONDS, parseExecSettings } from './provider.js';

/** The manifest of the `exec` provider. */
export const manifest: DnsProviderManifest = {
  code: 'exec',
  name: 'Exec hook (your own program)',
  description: [
    'certkeeper runs your program, without a shell, as `command [args…] present <fqdn> <value>` to add a TXT value,',
    '`command [args…] cleanup <fqdn> <value>` to remove it, and `command [args…] check <zone>` when the zone is created or changed.',
    'Exit 0 means success; any other exit fails the call with the last 500 characters of stderr in the message',
    '(exit 75, EX_TEMPFAIL, marks the failure as worth retrying).',
    'The program MUST keep other TXT values on the name (present adds, cleanup removes exactly the value given);',
    'present of a value that is already there and cleanup of one that is absent MUST succeed (idempotency is the program\'s job);',
    'check MUST exit 0 when the program can write the zone and MUST NOT change anything.',
    'It gets no stdin and a clean environment: PATH, HOME, LANG, CERTKEEPER_ZONE, CERTKEEPER_FQDN, CERTKEEPER_VALUE, CERTKEEPER_TTL',
    '(only CERTKEEPER_ZONE for check) and the zone\'s `environment`.',
    'It runs in its own process group, which is killed (SIGTERM, then SIGKILL 2 s later) on timeout or when certkeeper gives up.',
    'It runs as the certkeeper user: only administrators should be able to create exec zones.',
  ].join(' '),
  docsUrl: 'src/dns/providers/exec/README.md',
  settings: [
    { name: 'command', type: 'string', required: true, description: 'Absolute path of the executable to run (run directly, never through a shell).', example: '/usr/local/lib/certkeeper/dns-hook' },
    { name: 'args', type: 'string[]', description: 'Arguments put before the verb, e.g. a script for an interpreter given as `command`.', example: '--config=/etc/dns-hook.conf' },
    { name: 'timeoutSeconds', type: 'integer', default: EXEC_DEFAULT_TIMEOUT_SECONDS, description: `Wall-clock limit of one run, 1 to ${MAX_TIMEOUT_SECONDS} seconds; the program and its process group are killed when it passes.` },
    {
      name: 'environment',
      type: 'string[]',
      description: 'Extra environment variables as NAME=value entries (an object { NAME: value } is also accepted). Not secrets: they are stored and shown in clear. CERTKEEPER_*, BASH_ENV, ENV, SHELLOPTS, BASHOPTS, PS4, IFS, BASH_FUNC_*, LD_* cannot be set.',
      example: 'DNS_API_URL=https://dns.internal.example',
    },
  ],
  credentials: [],
  create: async (init) => new ExecDnsProvider(await parseExecSettings(init.settings), init.logger),
};
