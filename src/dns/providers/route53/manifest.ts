/** The Amazon Route 53 provider plug-in. */
import type { DnsProviderManifest } from '../../provider-manifest.js';
import { createRoute53Provider } from './provider.js';

export const manifest: DnsProviderManifest = {
  code: 'route53',
  name: 'Amazon Route 53',
  description:
    'Amazon Route 53 public hosted zones, with an access key or, without credentials, the AWS default credential chain (environment, shared config, web identity, ECS/EC2 roles). Needs route53:ListHostedZonesByName (unless hostedZoneId is set), route53:ListResourceRecordSets, route53:ChangeResourceRecordSets and route53:GetChange.',
  docsUrl: 'https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html',
  settings: [
    { name: 'hostedZoneId', description: 'The hosted zone ID. When absent, the one public hosted zone with the zone\'s name is looked up.', type: 'string', example: 'Z0123456789ABCDEFGHIJ' },
    { name: 'region', description: 'AWS region for signing and the partition (Route 53 is global; cn-north-1 selects the China partition).', type: 'string', default: 'us-east-1' },
    { name: 'endpoint', description: 'Route 53 API endpoint, instead of the region\'s (a VPC endpoint, or a test double).', type: 'string', example: 'https://route53.amazonaws.com' },
  ],
  credentials: [
    { name: 'accessKeyId', description: 'Access key ID of an IAM user or role; with secretAccessKey, or neither.', type: 'string', example: 'AKIAIOSFODNN7EXAMPLE' },
    { name: 'secretAccessKey', description: 'The secret access key.', type: 'string', example: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    { name: 'sessionToken', description: 'A session token, for temporary credentials.', type: 'string' },
  ],
  credentialsOptional: true,
  create: (init) => createRoute53Provider(init),
};
