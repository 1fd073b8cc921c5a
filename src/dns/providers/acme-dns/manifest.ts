/** The acme-dns provider plug-in. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { createAcmeDnsProvider } from './provider.js';

export const manifest: DnsProviderManifest = {
  code: 'acme-dns',
  name: 'acme-dns',
  description:
    'An acme-dns server (a DNS server only for ACME challenges) that the _acme-challenge name is delegated to by CNAME. acme-dns keeps the two most recent values and cannot delete: cleanup is a no-op, and a value stays until two newer ones replace it.',
  docsUrl: 'https://github.com/joohoi/acme-dns',
  settings: [
    {
      name: 'apiUrl',
      description: 'Base URL of the acme-dns HTTP API (the /update endpoint is below it).',
      type: 'string',
      required: true,
      example: 'https://auth.acme-dns.io',
    },
    {
      name: 'subdomain',
      description: 'The registration\'s subdomain, as /register answered it.',
      type: 'string',
      required: true,
      example: '8e5700ea-a4bf-41c7-8a77-e990661dcc6a',
    },
    {
      name: 'fulldomain',
      description: 'The registration\'s fulldomain, the CNAME target of _acme-challenge. When set, a name in the acme-dns domain other than this one is refused.',
      type: 'string',
      example: '8e5700ea-a4bf-41c7-8a77-e990661dcc6a.auth.acme-dns.io',
    },
  ],
  credentials: [
    { name: 'username', description: 'The registration\'s username (X-Api-User).', type: 'string', required: true, example: 'c36f50e8-4632-44f0-83fe-e070fef28a10' },
    { name: 'password', description: 'The registration\'s password (X-Api-Key).', type: 'string', required: true, example: 'htB9mR9DYgcu9bX_afHF62erXaH2TS7bg9KW3F7Z' },
  ],
  create: (init) => createAcmeDnsProvider(init),
};
