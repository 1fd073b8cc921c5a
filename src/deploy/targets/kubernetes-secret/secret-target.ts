/**
 * The `kubernetes-secret` target: creates or replaces a Secret of type `kubernetes.io/tls`
 * (https://kubernetes.io/docs/concepts/configuration/secret/#tls-secrets) holding `tls.crt` (the
 * full chain) and `tls.key`, through the core/v1 API
 * (https://kubernetes.io/docs/reference/kubernetes-api/config-and-storage-resources/secret-v1/):
 * GET the Secret; 404 → POST to the namespace's collection; else PUT the read object back with its
 * `metadata.resourceVersion`, so a change made in between is not overwritten: the API server
 * answers 409 Conflict, and the target re-reads once and tries again
 * (https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions).
 * The Secret's other labels, annotations and data keys are kept.
 */
import { X509Certificate } from 'node:crypto';
import { decodePemBlocks } from '../../../pki/pem.js';
import { DeployError, type DeployMaterial, type DeployOutcome, type DeployTarget } from '../../types.js';
import { redactSecrets, reportOutput } from '../redact-output.js';
import type { FieldReader } from '../target-fields.js';
import { KubeClient, KubeNetworkError, type KubeResponse } from './client.js';

/** Annotation: id of the certificate version the Secret holds. */
export const CERTIFICATE_ID_ANNOTATION = 'certkeeper.io/certificate-id';
/** Annotation: serial number of that version (lower-case hex), read back to skip a redeployment. */
export const SERIAL_NUMBER_ANNOTATION = 'certkeeper.io/serial-number';
/** Label put on every Secret certkeeper writes (the settings' `labels` may override it). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
/** Default `timeoutSeconds` of one API request. */
export const KUBE_DEFAULT_TIMEOUT_SECONDS = 30;

/** The settings and credentials of a `kubernetes-secret` target. Holds the token: never log it. */
export interface KubeSecretSettings {
  apiUrl: URL;
  namespace: string;
  secretName: string;
  caCertificate?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  token: string;
  timeoutSeconds: number;
}

// Kubernetes object names: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
// Label and annotation keys and label values:
// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
const QUALIFIED_NAME = /^(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:(?=.{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !DNS1123_SUBDOMAIN.test(prefix)) return 'has an invalid prefix (a DNS subdomain, then /)';
  if (!QUALIFIED_NAME.test(name)) return 'is not a valid key (at most 63 letters, digits, -, _ or ., starting and ending alphanumeric)';
  if (prefix === 'certkeeper.io' || prefix?.endsWith('.certkeeper.io')) return 'uses the certkeeper.io/ prefix, which certkeeper sets itself';
  return undefined;
}

/** Reads the settings and credentials (problems go to `r.errors`). */
export function readKubeSecretSettings(r: FieldReader): KubeSecretSettings {
  const apiUrl = r.url('apiUrl', { required: true });
  const namespace = r.string('namespace', { required: true });
  if (namespace !== undefined && !DNS1123_LABEL.test(namespace)) r.fail('settings.namespace', 'must be a Kubernetes namespace name (lower-case letters, digits and -, at most 63)');
  const secretName = r.string('secretName', { required: true });
  if (secretName !== undefined && !DNS1123_SUBDOMAIN.test(secretName)) r.fail('settings.secretName', 'must be a Kubernetes object name (lower-case letters, digits, - and ., at most 253)');
  const caCertificate = r.string('caCertificate');
  if (caCertificate !== undefined) {
    let ok = false;
    try {
      const blocks = decodePemBlocks(caCertificate);
      ok = blocks.length > 0 && blocks.every((b) => {
        if (b.label !== 'CERTIFICATE') return false;
        new X509Certificate(b.der); // throws when it is not a certificate
        return true;
      });
    } catch {
      ok = false;
    }
    if (!ok) r.fail('settings.caCertificate', 'must be one or more PEM certificates (-----BEGIN CERTIFICATE-----)');
  }
  const labels = r.stringMap('labels') ?? {};
  for (const [k, v] of Object.entries(labels)) {
    const problem = keyProblem(k);
    if (problem) r.fail(`settings.labels.${k}`, problem);
    else if (!LABEL_VALUE.test(v)) r.fail(`settings.labels.${k}`, 'has an invalid value (at most 63 letters, digits, -, _ or ., starting and ending alphanumeric)');
  }
  const annotations = r.stringMap('annotations') ?? {};
  for (const k of Object.keys(annotations)) {
    const problem = keyProblem(k);
    if (problem) r.fail(`settings.annotations.${k}`, problem);
  }
  const token = r.credential('token', { required: true }) ?? '';
  if (token && /[\r\n\0]/.test(token.trim())) r.fail('credentials.token', 'must be a single line (a bearer token)');
  const timeoutSeconds = r.integer('timeoutSeconds', { min: 1, max: 300, default: KUBE_DEFAULT_TIMEOUT_SECONDS });
  return {
    apiUrl: apiUrl ?? new URL('https://invalid.invalid'),
    namespace: namespace ?? '',
    secretName: secretName ?? '',
    ...(caCertificate ? { caCertificate } : {}),
    labels,
    annotations,
    token: token.trim(),
    timeoutSeconds,
  };
}

/** The parts of a Secret this target reads. */
interface SecretObject {
  metadata?: {
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    finalizers?: string[];
  };
  type?: string;
  immutable?: boolean;
  data?: Record<string, string>;
}

/** The `message` and `reason` of a Kubernetes `Status` answer, where there is one. */
function statusText(res: KubeResponse): string {
  const s = res.json as { kind?: string; message?: unknown; reason?: unknown } | undefined;
  if (s && s.kind === 'Status') {
    const reason = typeof s.reason === 'string' ? s.reason : '';
    const message = typeof s.message === 'string' ? s.message : '';
    return [reason, message].filter(Boolean).join(': ');
  }
  return '';
}

/** Node's codes of a certificate the TLS client could not verify. */
const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/** A `kubernetes-secret` deployment target. */
export class KubeSecretTarget implements DeployTarget {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #collection: string;
  readonly #where: string;

  constructor(private readonly settings: KubeSecretSettings, allowPrivateAddresses: boolean) {
    this.#client = new KubeClient({
      apiUrl: settings.apiUrl,
      token: settings.token,
      ...(settings.caCertificate ? { caCertificate: settings.caCertificate } : {}),
      allowPrivateAddresses,
      timeoutMs: settings.timeoutSeconds * 1000,
    });
    const ns = encodeURIComponent(settings.namespace);
    this.#collection = `/api/v1/namespaces/${ns}/secrets`;
    this.#path = `${this.#collection}/${encodeURIComponent(settings.secretName)}`;
    this.#where = `Secret ${settings.namespace}/${settings.secretName}`;
  }

  async deploy(material: DeployMaterial, signal: AbortSignal): Promise<DeployOutcome> {
    if (!material.privateKeyPem) {
      throw new DeployError(`kubernetes-secret: the certificate version holds no private key, and a kubernetes.io/tls Secret needs tls.key`);
    }
    const secrets = [this.settings.token, material.privateKeyPem];
    // One re-read and retry on 409: someone changed (or created) the Secret between our read and our write.
    for (let attempt = 0; ; attempt++) {
      const existing = await this.#read(signal, secrets);
      const res = existing
        ? await this.#call('PUT', this.#path, this.#replacement(existing, material), signal, secrets)
        : await this.#call('POST', this.#collection, this.#replacement(undefined, material), signal, secrets);
      if (res.status === 200 || res.status === 201) {
        const rv = (res.json as SecretObject | undefined)?.metadata?.resourceVersion;
        return { message: `kubernetes-secret: ${existing ? 'replaced' : 'created'} ${this.#where}${rv ? ` (resourceVersion ${rv})` : ''} on ${this.#client.label}` };
      }
      if (res.status === 409 && attempt === 0) continue;
      throw this.#failure(existing ? 'replace' : 'create', res, secrets);
    }
  }

  async servedSerial(_material: DeployMaterial, signal: AbortSignal): Promise<string | undefined> {
    try {
      const existing = await this.#read(signal, [this.settings.token]);
      const serial = existing?.metadata?.annotations?.[SERIAL_NUMBER_ANNOTATION];
      return typeof serial === 'string' && serial ? serial : undefined;
    } catch (err) {
      if (signal.aborted) throw err;
      // Cannot tell cheaply: the deployment runs and reports the real error.
      return undefined;
    }
  }

  /** The Secret as it is now, or undefined when there is none (404). */
  async #read(signal: AbortSignal, secrets: (string | undefined)[]): Promise<SecretObject | undefined> {
    const res = await this.#call('GET', this.#path, undefined, signal, secrets);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.#failure('read', res, secrets);
    const obj = res.json as SecretObject | undefined;
    if (!obj || typeof obj !== 'object') throw new DeployError(`kubernetes-secret: ${this.#client.label} answered the read of ${this.#where} with something that is not a Secret`, reportOutput(res.text, secrets));
    return obj;
  }

  /** The object to POST (no `existing`) or PUT (built on `existing`, keeping what is not ours). */
  #replacement(existing: SecretObject | undefined, material: DeployMaterial): object {
    const s = this.settings;
    if (existing && existing.type !== undefined && existing.type !== 'kubernetes.io/tls') {
      throw new DeployError(`kubernetes-secret: ${this.#where} exists with type ${existing.type}, and a Secret's type cannot be changed; delete it or choose another secretName`);
    }
    if (existing?.immutable === true) {
      throw new DeployError(`kubernetes-secret: ${this.#where} is immutable and cannot be replaced; delete it or choose another secretName`);
    }
    const old = existing?.metadata ?? {};
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: s.secretName,
        namespace: s.namespace,
        ...(old.resourceVersion ? { resourceVersion: old.resourceVersion } : {}),
        ...(old.ownerReferences ? { ownerReferences: old.ownerReferences } : {}),
        ...(old.finalizers ? { finalizers: old.finalizers } : {}),
        labels: { ...old.labels, [MANAGED_BY_LABEL]: 'certkeeper', ...s.labels },
        annotations: {
          ...old.annotations,
          ...s.annotations,
          [CERTIFICATE_ID_ANNOTATION]: material.certificateId,
          [SERIAL_NUMBER_ANNOTATION]: material.serialNumber,
        },
      },
      type: 'kubernetes.io/tls',
      data: {
        ...existing?.data,
        'tls.crt': Buffer.from(material.fullchainPem, 'utf8').toString('base64'),
        'tls.key': Buffer.from(material.privateKeyPem ?? '', 'utf8').toString('base64'),
      },
    };
  }

  async #call(method: 'GET' | 'POST' | 'PUT', path: string, body: object | undefined, signal: AbortSignal, secrets: (string | undefined)[]): Promise<KubeResponse> {
    try {
      return await this.#client.request(method, path, body, signal);
    } catch (err) {
      if (signal.aborted || err instanceof DeployError) throw err;
      if (err instanceof KubeNetworkError) {
        const hint = err.code && TLS_TRUST_CODES.has(err.code)
          ? ': the API server\'s certificate is not trusted; set settings.caCertificate to the cluster\'s CA (PEM)'
          : err.code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? ': the API server\'s certificate does not name this host; use the host name it was issued for in settings.apiUrl' : '';
        throw new DeployError(`kubernetes-secret: ${this.#client.label}: ${redactSecrets(err.message, secrets)}${hint}`);
      }
      throw err;
    }
  }

  /** A DeployError for an unexpected answer, with the API server's own words. */
  #failure(action: 'read' | 'create' | 'replace', res: KubeResponse, secrets: (string | undefined)[]): DeployError {
    const said = statusText(res);
    const what = `kubernetes-secret: ${this.#client.label} refused to ${action} ${this.#where}: HTTP ${res.status}${said ? ` (${redactSecrets(said, secrets)})` : ''}`;
    const hint = res.status === 401 ? '; the token is not valid (expired or revoked?): replace credentials.token'
      : res.status === 403 ? `; the token's account needs get, create and update on secrets in namespace ${this.settings.namespace}`
        : res.status === 404 && action === 'create' ? `; does namespace ${this.settings.namespace} exist?`
          : res.status === 409 ? '; it changed again while being replaced: the next attempt retries' : '';
    return new DeployError(`${what}${hint}`, res.text ? reportOutput(res.text, secrets) : undefined);
  }
}
