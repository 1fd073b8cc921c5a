/** The `acmesh` DNS provider: acme.sh's DNS API scripts, run through a small compatibility shim. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { MAX_TIMEOUT_SECONDS } from '../exec/provider.js';
import { ACMESH_DEFAULT_TIMEOUT_SECONDS, AcmeshDnsProvider, checkAcmeshCredentials, parseAcmeshSettings } from './provider.js';

/** The manifest of the `acmesh` provider. */
export const manifest: DnsProviderManifest = {
  code: 'acmesh',
  name: 'acme.sh DNS API script',
  description: [
    'Uses one of acme.sh\'s DNS API scripts (`<acmeshHome>/dnsapi/<dnsApi>.sh`) for a DNS host certkeeper has no provider for.',
    'certkeeper runs `bash` (never through a login shell) with a shim that defines the acme.sh helpers dnsapi scripts call',
    '(_info, _err, _debug*, _readaccountconf_mutable and the other conf helpers reading the environment, _get/_post through curl,',
    '_contains, _egrep_o, _math, _sleep, _head_n, _tail_n, _lower_case, _upper_case, _exists, _normalizeJson, …),',
    'sources the script and calls `<dnsApi>_add <fqdn> <value>` or `<dnsApi>_rm <fqdn> <value>`; a script that calls another acme.sh',
    'internal fails with "command not found" in its error.',
    'Credentials are the secret environment variables the script reads (any names, e.g. CF_Token for dns_cf); they reach the script',
    'through its environment only, never a command line, are not saved to any acme.sh account.conf, and every credential value is',
    'replaced by [redacted] in error messages (so keep non-secret variables in settings.environment, or short values like a TTL',
    'would be redacted wherever they occur). The record\'s name and value are passed through the environment too.',
    'check() writes and removes a throw-away TXT value at `_certkeeper-check.<zone>`, because dnsapi scripts have no read call.',
    'The script runs in its own process group, killed on timeout or when certkeeper gives up. Needs bash and curl (and whatever',
    'the script itself uses); runs as the certkeeper user, so only administrators should be able to create acmesh zones.',
  ].join(' '),
  docsUrl: 'https://github.com/acmesh-official/acme.sh/wiki/dnsapi',
  settings: [
    { name: 'acmeshHome', type: 'string', required: true, description: 'Absolute path of an acme.sh installation, or of any folder containing `dnsapi/`.', example: '/root/.acme.sh' },
    { name: 'dnsApi', type: 'string', required: true, description: 'The DNS API to use: the script name without `.sh`, matching ^dns_[a-z0-9_]+$.', example: 'dns_cf' },
    { name: 'timeoutSeconds', type: 'integer', default: ACMESH_DEFAULT_TIMEOUT_SECONDS, description: `Wall-clock limit of one script run, 1 to ${MAX_TIMEOUT_SECONDS} seconds.` },
    {
      name: 'environment',
      type: 'string[]',
      description: 'Variables the script reads that are not secrets (server names, zone ids, TTLs), as NAME=value entries (an object { NAME: value } is also accepted). Stored and shown in clear, and not scrubbed from error messages; a name may not also be a credential.',
      example: 'CF_Zone_ID=023e105f4ecef8ad9ca31a8372d0c353',
    },
  ],
  credentials: [
    {
      name: '*',
      type: 'string',
      description: 'Any number of secret environment variables the dnsapi script reads, by the names its acme.sh documentation gives (e.g. CF_Token and CF_Account_ID for dns_cf). Any name is accepted except PATH, HOME, LANG, LE_WORKING_DIR, CERTKEEPER_* and shell start-up or loader variables (BASH_ENV, ENV, SHELLOPTS, BASHOPTS, PS4, IFS, BASH_FUNC_*, LD_*).',
      example: 'CF_Token',
    },
  ],
  anyCredentials: true,
  credentialsOptional: true,
  create: async (init) => {
    const settings = await parseAcmeshSettings(init.settings);
    return new AcmeshDnsProvider(settings, checkAcmeshCredentials(init.credentials, settings), init.logger);
  },
};
