/** The manifest of the RFC 2136 provider: dynamic DNS updates signed with TSIG. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { TSIG_ALGORITHMS } from '../../wire/tsig.js';
import { rfc2136Config, Rfc2136Provider } from './provider.js';

/** RFC 2136 + TSIG (BIND, Knot DNS, PowerDNS, …). */
export const manifest: DnsProviderManifest = {
  code: 'rfc2136',
  name: 'RFC 2136 dynamic update (BIND, Knot DNS, PowerDNS, …)',
  description:
    'Writes TXT records with DNS UPDATE messages (RFC 2136) signed with a TSIG key (RFC 8945), sent to the ' +
    'zone\'s primary server over UDP, falling back to TCP. The key must be allowed to update the zone ' +
    '(BIND: allow-update { key <name>; } or an update-policy granting TXT records under _acme-challenge).',
  docsUrl: 'https://www.rfc-editor.org/rfc/rfc2136',
  settings: [
    {
      name: 'nameserver',
      description: 'The primary server that accepts updates for the zone, as host:port ([IPv6]:port for IPv6; port 53 when omitted).',
      type: 'string',
      required: true,
      example: '192.0.2.53:53',
    },
    {
      name: 'tsigKeyName',
      description: 'The name of the TSIG key as the server knows it (BIND: the name in key "<name>" { … }).',
      type: 'string',
      required: true,
      example: 'certkeeper-key',
    },
    {
      name: 'tsigAlgorithm',
      description: 'The TSIG algorithm of the key.',
      type: 'string',
      default: 'hmac-sha256',
      enum: TSIG_ALGORITHMS,
      example: 'hmac-sha256',
    },
    {
      name: 'timeoutSeconds',
      description: 'How long to wait for the server\'s answer to each update (the UDP message is sent twice within it).',
      type: 'integer',
      default: 10,
      example: 10,
    },
  ],
  credentials: [
    {
      name: 'tsigSecret',
      description: 'The TSIG key\'s shared secret, base64 (BIND: the secret in key "<name>" { … }; tsig-keygen makes one).',
      type: 'string',
      required: true,
      example: 'c2VjcmV0LW5vdC1yZWFsLXNlY3JldC1ub3QtcmVhbC0=',
    },
  ],
  create(init) {
    return new Rfc2136Provider(rfc2136Config(init));
  },
};
