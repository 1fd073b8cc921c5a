/** The `ssh` deployment target: files over SFTP and a reload command, no agent on the server. */
import type { TargetManifest } from '../../types.js';
import { FieldReader, MAX_TIMEOUT_SECONDS } from '../target-fields.js';
import { readSshSettings, SSH_DEFAULT_TIMEOUT_SECONDS, SshTarget } from './ssh-target.js';

/** The manifest of the `ssh` target. */
export const manifest: TargetManifest = {
  code: 'ssh',
  title: 'SSH / SFTP (agentless)',
  settings: {
    host: { required: true, description: 'Host name or IP address of the SSH server.' },
    port: { description: 'SSH port (default 22).' },
    username: { required: true, description: 'The user to log in as; it needs write access to the directories of the files.' },
    hostKey: { required: true, description: 'The server\'s public host key ("ssh-ed25519 AAAA…", from /etc/ssh/ssh_host_ed25519_key.pub) or its fingerprint ("SHA256:…", from ssh-keygen -lf). A server presenting another key is refused; there is no trust on first use.' },
    certificatePath: { description: 'Absolute path for the leaf certificate (PEM).' },
    chainPath: { description: 'Absolute path for the intermediates (PEM).' },
    fullchainPath: { description: 'Absolute path for leaf + intermediates (PEM).' },
    keyPath: { description: 'Absolute path for the private key (PKCS#8 PEM, mode 0600 unless `mode`).' },
    combinedPath: { description: 'Absolute path for key, leaf and intermediates in one file (HAProxy; mode 0600 unless `mode`).' },
    mode: { description: 'Octal mode of every file written, e.g. "0640" (default 0644 for certificates, 0600 for files with the key; files with the key may not be world-readable).' },
    reloadCommand: { description: 'Run after the files are in place, e.g. "sudo systemctl reload nginx". A non-zero exit puts the previous files back.' },
    timeoutSeconds: { description: `Limit of the connection, of each file operation and of the reload command, 1 to ${MAX_TIMEOUT_SECONDS} s (default ${SSH_DEFAULT_TIMEOUT_SECONDS}).` },
    probe: { description: 'Optional { host, port, serverName?, timeoutSeconds? }: after the reload, a TLS connection there must present the new certificate.' },
  },
  credentials: {
    privateKey: { required: true, description: 'The private key to log in with (OpenSSH or PEM form).' },
    passphrase: { description: 'The passphrase of privateKey, when it is encrypted.' },
  },
  needsPrivateKey: true,
  validate(settings, credentials) {
    const r = new FieldReader(settings, credentials);
    readSshSettings(r);
    return r.errors;
  },
  create({ settings, credentials, allowPrivateAddresses }) {
    const r = new FieldReader(settings, credentials);
    const parsed = readSshSettings(r);
    r.throwIfInvalid('ssh');
    return new SshTarget(parsed, allowPrivateAddresses);
  },
};
