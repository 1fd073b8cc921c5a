/** The `powerdns` plug-in: TXT records through the PowerDNS Authoritative HTTP API. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { createPowerDnsProvider } from './provider.js';

/** Manifest of the `powerdns` DNS provider. */
export const manifest: DnsProviderManifest = {
  code: 'powerdns',
  name: 'PowerDNS Authoritative (HTTP API)',
  description:
    'Writes the TXT records through the HTTP API of a PowerDNS Authoritative Server (api=yes, 4.x). ' +
    'Adding or removing a value keeps every other value on the name.',
  docsUrl: 'https://doc.powerdns.com/authoritative/http-api/',
  settings: [
    {
      name: 'apiUrl',
      description: 'Base URL of the PowerDNS API (the webserver-address and webserver-port of pdns.conf), without /api/v1',
      type: 'string',
      required: true,
      example: 'http://127.0.0.1:8081',
    },
    {
      name: 'serverId',
      description: 'Server id in the API path /api/v1/servers/{serverId}',
      type: 'string',
      default: 'localhost',
      example: 'localhost',
    },
  ],
  credentials: [
    {
      name: 'apiKey',
      description: 'The api-key of pdns.conf, sent as the X-API-Key header',
      type: 'string',
      required: true,
      example: 'change-me',
    },
  ],
  create: (init) => createPowerDnsProvider(init),
};
