/** The `webhook` deployment target: the certificate POSTed as signed JSON. */
import type { TargetManifest } from '../../types.js';
import { FieldReader } from '../target-fields.js';
import { readWebhookSettings, WEBHOOK_DEFAULT_TIMEOUT_SECONDS, WEBHOOK_MAX_TIMEOUT_SECONDS, WebhookTarget } from './webhook-target.js';

/** The manifest of the `webhook` target. */
export const manifest: TargetManifest = {
  code: 'webhook',
  title: 'Webhook (signed JSON POST)',
  settings: {
    url: { required: true, description: 'The https:// URL the certificate is POSTed to (http:// only to a loopback address, with CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1). Redirects are not followed.' },
    includePrivateKey: { description: 'Send the private key in `privateKey` (default false).' },
    timeoutSeconds: { description: `Time limit of the request, 1 to ${WEBHOOK_MAX_TIMEOUT_SECONDS} s (default ${WEBHOOK_DEFAULT_TIMEOUT_SECONDS}).` },
  },
  credentials: {
    secret: { required: true, description: 'HMAC-SHA256 key of the X-Certkeeper-Signature header, as for notification webhooks.' },
  },
  needsPrivateKey: false,
  validate(settings, credentials) {
    const r = new FieldReader(settings, credentials);
    readWebhookSettings(r);
    return r.errors;
  },
  create({ settings, credentials, allowPrivateAddresses }) {
    const r = new FieldReader(settings, credentials);
    const parsed = readWebhookSettings(r);
    r.throwIfInvalid('webhook');
    return new WebhookTarget(parsed, { allowPrivateAddresses });
  },
};
