/** The Azure DNS provider plug-in. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { AZURE_CLOUDS, IMDS_TOKEN_URL } from './client.js';
import { createAzureProvider } from './provider.js';

export const manifest: DnsProviderManifest = {
  code: 'azure',
  name: 'Azure DNS',
  description:
    'Azure DNS (public zones) through Azure Resource Manager, as a service principal with a client secret or, without credentials, as the managed identity of the Azure machine certkeeper runs on. Needs the "DNS Zone Contributor" role on the zone.',
  docsUrl: 'https://learn.microsoft.com/rest/api/dns/record-sets',
  settings: [
    { name: 'subscriptionId', description: 'The subscription that holds the zone.', type: 'string', required: true, example: '00000000-0000-0000-0000-000000000000' },
    { name: 'resourceGroup', description: 'The resource group that holds the zone.', type: 'string', required: true, example: 'dns-rg' },
    { name: 'tenantId', description: 'The Microsoft Entra tenant (directory) ID; required with a client secret.', type: 'string', example: '11111111-1111-1111-1111-111111111111' },
    {
      name: 'clientId',
      description: 'The application (client) ID of the service principal; required with a client secret. Without one it selects a user-assigned managed identity (absent: the system-assigned one).',
      type: 'string',
      example: '22222222-2222-2222-2222-222222222222',
    },
    { name: 'environment', description: 'The Azure cloud.', type: 'string', enum: Object.keys(AZURE_CLOUDS), default: 'AzurePublicCloud' },
    // No `default` on these two: a filled-in default would override `environment`.
    {
      name: 'authorityHost',
      description: `Microsoft Entra ID endpoint, overriding the environment's (absent: the environment's, ${AZURE_CLOUDS.AzurePublicCloud.authorityHost} for the public cloud); for a test double.`,
      type: 'string',
      example: AZURE_CLOUDS.AzurePublicCloud.authorityHost,
    },
    {
      name: 'resourceManagerUrl',
      description: `Azure Resource Manager endpoint, overriding the environment's (absent: the environment's, ${AZURE_CLOUDS.AzurePublicCloud.resourceManagerUrl} for the public cloud); also the token audience.`,
      type: 'string',
      example: AZURE_CLOUDS.AzurePublicCloud.resourceManagerUrl,
    },
    { name: 'imdsUrl', description: 'The managed identity token endpoint (IMDS); change it only for a test double.', type: 'string', default: IMDS_TOKEN_URL },
  ],
  credentials: [
    { name: 'clientSecret', description: 'A client secret of the service principal. Absent: the machine\'s managed identity.', type: 'string', example: 'Abc8Q~…redacted' },
  ],
  credentialsOptional: true,
  create: (init) => createAzureProvider(init),
};
