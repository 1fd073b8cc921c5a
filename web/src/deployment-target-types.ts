/**
 * The deployment target types and the settings and credentials of each, for the target form
 * (docs/deployment-targets.md, docs/agent.md "File layout"). The names and required flags of the
 * agentless types are a copy of their manifests (src/deploy/targets/<type>/index.ts): the browser
 * bundle cannot import the server's targets, so test/ui/ui-deploy.test.ts fails when this drifts.
 */

/**
 * How a field is edited and sent: `path` is a file the target writes (grouped under "Files"),
 * `text` a multi-line value (PEM), `map` `name=value` lines sent as an object, `probe` the
 * `{ host, port, serverName?, timeoutSeconds? }` group.
 */
export type TargetFieldType = 'string' | 'path' | 'integer' | 'boolean' | 'text' | 'map' | 'probe';

/** One setting or credential. */
export interface TargetFieldSpec {
  name: string;
  type: TargetFieldType;
  description: string;
  required?: boolean;
  placeholder?: string;
}

/** One target type. */
export interface TargetTypeSpec {
  code: string;
  title: string;
  summary: string;
  settings: TargetFieldSpec[];
  credentials: TargetFieldSpec[];
}

const paths = (keyNote: string): TargetFieldSpec[] => [
  { name: 'certificatePath', type: 'path', description: 'The leaf certificate (PEM).', placeholder: '/etc/ssl/example.com/cert.pem' },
  { name: 'chainPath', type: 'path', description: 'The intermediates, leaf excluded (PEM).' },
  { name: 'fullchainPath', type: 'path', description: 'Leaf then intermediates (PEM): what nginx\'s ssl_certificate wants.', placeholder: '/etc/nginx/certs/example.com/fullchain.pem' },
  { name: 'keyPath', type: 'path', description: `The private key (PKCS#8 PEM, ${keyNote}).`, placeholder: '/etc/nginx/certs/example.com/privkey.pem' },
  { name: 'combinedPath', type: 'path', description: `Key, leaf and intermediates in one file (HAProxy; ${keyNote}).` },
];

const probe: TargetFieldSpec = {
  name: 'probe', type: 'probe',
  description: 'After the reload, a TLS connection to host:port must present the new serial (else the deployment fails).',
};

/** Every type, `agent` first. */
export const TARGET_TYPES: TargetTypeSpec[] = [
  {
    code: 'agent',
    title: 'Agent (files on an agent\'s host)',
    summary: 'The agent on the end server writes the files atomically, runs the reload command and probes the served certificate; a failure restores the previous files.',
    settings: [
      ...paths('mode 0600'),
      { name: 'pkcs12Path', type: 'path', description: 'A PKCS#12 file of key, leaf and chain, protected with the pkcs12Password credential (mode 0600).' },
      { name: 'owner', type: 'string', description: 'User of every file, a name or numeric id (POSIX).', placeholder: 'root' },
      { name: 'group', type: 'string', description: 'Group of every file, a name or numeric id (POSIX).', placeholder: 'nginx' },
      { name: 'mode', type: 'string', description: 'Octal permissions of every file; replaces both defaults (0644, 0600 for files with the key).', placeholder: '0640' },
      { name: 'reloadCommand', type: 'string', description: 'Run through the shell after the files are written.', placeholder: 'systemctl reload nginx' },
      { name: 'reloadTimeoutSeconds', type: 'integer', description: 'How long the reload may run, 1–3600 s (default 60).', placeholder: '60' },
      probe,
    ],
    credentials: [
      { name: 'pkcs12Password', type: 'string', description: 'Password of the PKCS#12 file; needed with pkcs12Path.' },
    ],
  },
  {
    code: 'ssh',
    title: 'SSH / SFTP (agentless)',
    summary: 'certkeeper logs in over SSH, writes the files over SFTP, runs the reload command and restores the previous files if it fails. Nothing is installed on the server.',
    settings: [
      { name: 'host', type: 'string', required: true, description: 'Host name or IP address of the SSH server.', placeholder: 'web-1.example.net' },
      { name: 'port', type: 'integer', description: 'SSH port (default 22).', placeholder: '22' },
      { name: 'username', type: 'string', required: true, description: 'The user to log in as; it needs write access to the directories of the files.' },
      { name: 'hostKey', type: 'string', required: true, description: 'The server\'s public host key (a line of /etc/ssh/ssh_host_ed25519_key.pub) or its fingerprint (SHA256:…, from ssh-keygen -lf). There is no trust on first use.', placeholder: 'ssh-ed25519 AAAA…' },
      ...paths('mode 0600 unless mode is set'),
      { name: 'mode', type: 'string', description: 'Octal mode of every file written (default 0644, 0600 for files with the key; files with the key may not be world-readable).', placeholder: '0640' },
      { name: 'reloadCommand', type: 'string', description: 'Run after the files are in place; a non-zero exit puts the previous files back.', placeholder: 'sudo systemctl reload nginx' },
      { name: 'timeoutSeconds', type: 'integer', description: 'Limit of the connection, of each file operation and of the reload command, 1–3600 s (default 60).', placeholder: '60' },
      probe,
    ],
    credentials: [
      { name: 'privateKey', type: 'text', required: true, description: 'The private key to log in with (OpenSSH or PEM form); its public key goes into the user\'s authorized_keys.', placeholder: '-----BEGIN OPENSSH PRIVATE KEY-----' },
      { name: 'passphrase', type: 'string', description: 'The passphrase of the private key, when it is encrypted.' },
    ],
  },
  {
    code: 'script',
    title: 'Local script (on the certkeeper server)',
    summary: 'A command run on the certkeeper host through /bin/sh, with the certificate as files named by CERTKEEPER_CERTIFICATE_FILE, CERTKEEPER_CHAIN_FILE, CERTKEEPER_FULLCHAIN_FILE and CERTKEEPER_KEY_FILE; exit 0 means deployed.',
    settings: [
      { name: 'command', type: 'string', required: true, description: 'The command line; it runs as the certkeeper user.', placeholder: 'install -m 0644 "$CERTKEEPER_FULLCHAIN_FILE" /etc/haproxy/certs/site.pem && systemctl reload haproxy' },
      { name: 'timeoutSeconds', type: 'integer', description: 'Wall-clock limit, 1–3600 s (default 60); the command\'s process group is killed when it passes.', placeholder: '60' },
      { name: 'workingDirectory', type: 'string', description: 'Absolute path of the directory the command runs in (default: the temporary directory holding the files).' },
    ],
    credentials: [],
  },
  {
    code: 'webhook',
    title: 'Webhook (signed JSON POST)',
    summary: 'certkeeper POSTs the certificate as JSON, signed like the notification webhooks (X-Certkeeper-Signature); a 2xx answer is success.',
    settings: [
      { name: 'url', type: 'string', required: true, description: 'The https:// URL to POST to. Redirects are not followed.', placeholder: 'https://cdn-hooks.example.net/certkeeper' },
      { name: 'includePrivateKey', type: 'boolean', description: 'Send the private key in privateKey (default false).' },
      { name: 'timeoutSeconds', type: 'integer', description: 'Time limit of the request, 1–300 s (default 30).', placeholder: '30' },
    ],
    credentials: [
      { name: 'secret', type: 'string', required: true, description: 'The HMAC-SHA256 key of the signature (e.g. 32 random bytes, base64url).' },
    ],
  },
  {
    code: 'kubernetes-secret',
    title: 'Kubernetes TLS Secret',
    summary: 'certkeeper creates or replaces a Secret of type kubernetes.io/tls through the Kubernetes API; labels, annotations and keys others put on it are kept.',
    settings: [
      { name: 'apiUrl', type: 'string', required: true, description: 'The API server (a path prefix, as behind Rancher, is kept).', placeholder: 'https://k8s.example.net:6443' },
      { name: 'namespace', type: 'string', required: true, description: 'The Secret\'s namespace.' },
      { name: 'secretName', type: 'string', required: true, description: 'The Secret\'s name (created when absent, replaced otherwise).' },
      { name: 'caCertificate', type: 'text', description: 'PEM of the CA that issued the API server\'s certificate (the cluster CA); default: the system\'s trusted roots.', placeholder: '-----BEGIN CERTIFICATE-----' },
      { name: 'labels', type: 'map', description: 'Labels to set on the Secret.' },
      { name: 'annotations', type: 'map', description: 'Annotations to set; certkeeper.io/ keys are reserved.' },
      { name: 'timeoutSeconds', type: 'integer', description: 'Time limit of each API request, 1–300 s (default 30).', placeholder: '30' },
    ],
    credentials: [
      { name: 'token', type: 'string', required: true, description: 'A bearer token (e.g. of a ServiceAccount) allowed get, create and update on secrets in the namespace.' },
    ],
  },
];

/** The type with `code`, if this UI knows it. */
export function targetTypeSpec(code: string): TargetTypeSpec | undefined {
  return TARGET_TYPES.find((t) => t.code === code);
}

/** "ssh" → "SSH / SFTP (agentless)". */
export function targetTypeTitle(code: string): string {
  return targetTypeSpec(code)?.title ?? code;
}

/** The settings that name a file (at least one is needed by agent and ssh targets). */
export const PATH_SETTINGS = ['certificatePath', 'chainPath', 'fullchainPath', 'keyPath', 'combinedPath', 'pkcs12Path'] as const;
