/** The Cloudflare DNS provider plug-in. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { CLOUDFLARE_API_URL } from './client.js';
import { createCloudflareProvider } from './provider.js';

export const manifest: DnsProviderManifest = {
  code: 'cloudflare',
  name: 'Cloudflare',
  description:
    'Cloudflare DNS through the API v4 with a scoped API token (Zone:Read and DNS:Edit on the zone). One TXT record per value, so a wildcard and its apex coexist.',
  docsUrl: 'https://developers.cloudflare.com/api/resources/dns/subresources/records/',
  settings: [
    {
      name: 'zoneId',
      description: 'The Cloudflare zone ID (Overview page of the zone). When absent it is looked up by the zone name, which needs Zone:Read.',
      type: 'string',
      example: '023e105f4ecef8ad9ca31a8372d0c353',
    },
    {
      name: 'apiUrl',
      description: 'Base URL of the Cloudflare API; change it only for a proxy or a test double.',
      type: 'string',
      default: CLOUDFLARE_API_URL,
      example: CLOUDFLARE_API_URL,
    },
  ],
  credentials: [
    {
      name: 'apiToken',
      description: 'An API token (not the global API key) with Zone:Read and DNS:Edit permissions on the zone.',
      type: 'string',
      required: true,
      example: 'Y9n…redacted…k2',
    },
  ],
  create: (init) => createCloudflareProvider(init),
};
