/** The IONOS Cloud DNS provider plug-in. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { IONOS_API_URL } from './client.js';
import { createIonosProvider } from './provider.js';

export const manifest: DnsProviderManifest = {
  code: 'ionos',
  name: 'IONOS Cloud DNS',
  description: 'IONOS Cloud DNS through its REST API v1 with a bearer token. One record per TXT value, so a wildcard and its apex coexist.',
  docsUrl: 'https://api.ionos.com/docs/dns/v1/',
  settings: [
    {
      name: 'apiUrl',
      description: 'Base URL of the IONOS Cloud DNS API.',
      type: 'string',
      default: IONOS_API_URL,
      example: IONOS_API_URL,
    },
    {
      name: 'zoneId',
      description: 'The zone\'s ID (UUID). When absent it is looked up by the zone name.',
      type: 'string',
      example: 'e74d0d15-f567-4b7b-9069-26ee1f93bae3',
    },
  ],
  credentials: [
    {
      name: 'token',
      description: 'An IONOS Cloud API token (Authentication → Token Manager) of a user allowed to manage the zone\'s records.',
      type: 'string',
      required: true,
      example: 'eyJ0eXAiOiJKV1Qi…redacted',
    },
  ],
  create: (init) => createIonosProvider(init),
};
