/**
 * The `webhook` target: POSTs the certificate as JSON to a URL, signed exactly as the generic
 * notification webhooks are (src/notify/webhook-signature.ts: `X-Certkeeper-Timestamp` and
 * `X-Certkeeper-Signature: v1=<HMAC-SHA256(secret, "<timestamp>.<body>")>`), so one receiver
 * verifies both. The private key is in the body only when `includePrivateKey` is true.
 * Redirects are not followed; every connection goes through the private-address guard.
 */
import { DomainError } from '../../../domain-error.js';
import { checkOutboundUrl } from '../../../lifecycle/address-policy.js';
import { guardedFetch } from '../../../lifecycle/guarded-fetch.js';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from '../../../notify/webhook-signature.js';
import { DeployError, type DeployMaterial, type DeployOutcome, type DeployTarget } from '../../types.js';
import { redactSecrets, reportOutput } from '../redact-output.js';
import type { FieldReader } from '../target-fields.js';

/** Default `timeoutSeconds`. */
export const WEBHOOK_DEFAULT_TIMEOUT_SECONDS = 30;
/** Largest `timeoutSeconds`. */
export const WEBHOOK_MAX_TIMEOUT_SECONDS = 300;

/** The settings and credentials of a `webhook` target. Holds the secret: never log it. */
export interface WebhookSettings {
  url: string;
  secret: string;
  includePrivateKey: boolean;
  timeoutSeconds: number;
}

/** Reads the settings and credentials (problems go to `r.errors`). */
export function readWebhookSettings(r: FieldReader): WebhookSettings {
  const url = r.url('url', { required: true });
  const secret = r.credential('secret', { required: true }) ?? '';
  const includePrivateKey = r.boolean('includePrivateKey', false);
  const timeoutSeconds = r.integer('timeoutSeconds', { min: 1, max: WEBHOOK_MAX_TIMEOUT_SECONDS, default: WEBHOOK_DEFAULT_TIMEOUT_SECONDS });
  return { url: url?.href ?? '', secret, includePrivateKey, timeoutSeconds };
}

/** The JSON body a webhook target sends. */
export interface WebhookDeployBody {
  certificateId: string;
  name: string;
  commonName: string;
  names: string[];
  serialNumber: string;
  notAfter: string;
  certificate: string;
  certificateChain: string;
  fullchain: string;
  privateKey?: string;
}

/** The body for `material`; the key only when `includePrivateKey`. */
export function webhookBody(material: DeployMaterial, includePrivateKey: boolean): WebhookDeployBody {
  return {
    certificateId: material.certificateId,
    name: material.name,
    commonName: material.commonName,
    names: material.names,
    serialNumber: material.serialNumber,
    notAfter: material.notAfter,
    certificate: material.certificatePem,
    certificateChain: material.chainPem,
    fullchain: material.fullchainPem,
    ...(includePrivateKey && material.privateKeyPem ? { privateKey: material.privateKeyPem } : {}),
  };
}

/** What the target needs besides its settings. */
export interface WebhookTargetDeps {
  allowPrivateAddresses: boolean;
  /** Default: {@link guardedFetch} with the private-address rule. */
  fetch?: typeof fetch;
  /** The clock of the signature timestamp. */
  now?: () => Date;
}

/** Why a fetch failed, without the URL. */
function networkCause(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer within the time limit';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** A `webhook` deployment target. */
export class WebhookTarget implements DeployTarget {
  readonly #fetch: typeof fetch;
  readonly #label: string;

  constructor(private readonly settings: WebhookSettings, private readonly deps: WebhookTargetDeps) {
    this.#fetch = deps.fetch ?? guardedFetch({ allowPrivateAddresses: deps.allowPrivateAddresses });
    // Only the host is shown: a webhook URL's path or query often carries a token.
    this.#label = new URL(settings.url).host;
  }

  async deploy(material: DeployMaterial, signal: AbortSignal): Promise<DeployOutcome> {
    const { settings } = this;
    const secrets = [settings.secret, material.privateKeyPem];
    try {
      // Checked at each deployment, for a clear message; the guarded fetch checks again at connect time.
      await checkOutboundUrl(settings.url, 'settings.url', this.deps.allowPrivateAddresses);
    } catch (err) {
      if (err instanceof DomainError) throw new DeployError(`webhook: ${err.message}`);
      throw err;
    }
    const body = JSON.stringify(webhookBody(material, settings.includePrivateKey));
    const timestamp = Math.floor((this.deps.now?.() ?? new Date()).getTime() / 1000);
    let res: Response;
    try {
      res = await this.#fetch(settings.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'certkeeper',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(settings.secret, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutSeconds * 1000)]),
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new DeployError(`webhook: ${this.#label}: ${redactSecrets(networkCause(err), secrets)}`);
    }
    const text = await res.text().catch(() => '');
    const output = text ? reportOutput(text, secrets) : undefined;
    if (res.status >= 200 && res.status < 300) {
      return { message: `webhook: ${this.#label} answered HTTP ${res.status}`, ...(output ? { output } : {}) };
    }
    const hint = res.status >= 300 && res.status < 400 ? '; redirects are not followed: configure the final URL' : '';
    throw new DeployError(`webhook: ${this.#label} answered HTTP ${res.status}${hint}`, output);
  }
}
