/** The `kubernetes-secret` deployment target: a `kubernetes.io/tls` Secret through the API server. */
import type { TargetManifest } from '../../types.js';
import { FieldReader } from '../target-fields.js';
import { CERTIFICATE_ID_ANNOTATION, KUBE_DEFAULT_TIMEOUT_SECONDS, KubeSecretTarget, readKubeSecretSettings, SERIAL_NUMBER_ANNOTATION } from './secret-target.js';

/** The manifest of the `kubernetes-secret` target. */
export const manifest: TargetManifest = {
  code: 'kubernetes-secret',
  title: 'Kubernetes TLS Secret',
  settings: {
    apiUrl: { required: true, description: 'The API server, e.g. https://k8s.example.net:6443 (a path prefix of an API proxy is kept). http:// only to a loopback address (kubectl proxy), with CERTKEEPER_ALLOW_PRIVATE_ADDRESSES=1.' },
    namespace: { required: true, description: 'The namespace of the Secret.' },
    secretName: { required: true, description: 'The name of the Secret (created when absent, replaced otherwise).' },
    caCertificate: { description: 'PEM of the CA that issued the API server\'s certificate (the cluster CA); default: the system\'s trusted roots.' },
    labels: { description: 'Labels to set on the Secret ({ "name": "value" }); others already on it are kept.' },
    annotations: { description: `Annotations to set on the Secret; certkeeper also sets ${CERTIFICATE_ID_ANNOTATION} and ${SERIAL_NUMBER_ANNOTATION}.` },
    timeoutSeconds: { description: `Time limit of each API request, 1 to 300 s (default ${KUBE_DEFAULT_TIMEOUT_SECONDS}).` },
  },
  credentials: {
    token: { required: true, description: 'A bearer token (e.g. of a ServiceAccount) allowed get, create and update on secrets in the namespace.' },
  },
  needsPrivateKey: true,
  validate(settings, credentials) {
    const r = new FieldReader(settings, credentials);
    readKubeSecretSettings(r);
    return r.errors;
  },
  create({ settings, credentials, allowPrivateAddresses }) {
    const r = new FieldReader(settings, credentials);
    const parsed = readKubeSecretSettings(r);
    r.throwIfInvalid('kubernetes-secret');
    return new KubeSecretTarget(parsed, allowPrivateAddresses);
  },
};
