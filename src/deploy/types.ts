/**
 * The shapes deployment is built from, shared by the server (orchestration, agentless targets) and
 * the agent (`certkeeper agent`). Kept free of server imports so the agent loads little.
 */
import type { Logger } from 'pino';

/** What a deployment puts on a server: one certificate version. */
export interface DeployMaterial {
  /** Id of the certificate version. */
  certificateId: string;
  /** Its name (`<commonName>_<UTC timestamp>`). */
  name: string;
  commonName: string;
  names: string[];
  /** Hex serial number, lower case, no separators (as `metadata.serialNumber`). */
  serialNumber: string;
  notAfter: string;
  /** The leaf alone (PEM). */
  certificatePem: string;
  /** The intermediates, leaf excluded (PEM, may be empty). */
  chainPem: string;
  /** Leaf then intermediates (PEM). */
  fullchainPem: string;
  /** PKCS#8 PEM; absent when the target is not allowed the key or the version holds none. */
  privateKeyPem?: string;
  /**
   * Set when the key was generated on the agent and never left it (see {@link AgentCsrWork}): the
   * agent takes the key it keeps under this id.
   */
  agentKeyId?: string;
}

/** Where to check, after a deployment, that the server serves the new certificate. */
export interface ProbeSettings {
  host: string;
  port: number;
  /** SNI name; default: the certificate's common name. */
  serverName?: string;
  /** Seconds to keep probing until the new serial is served (default 10). */
  timeoutSeconds?: number;
}

/** Result of one deployment attempt. */
export interface DeployOutcome {
  /** Short human-readable summary (becomes `metadata.message`). */
  message: string;
  /** Output of commands run, bounded (a few KiB), secrets never included. */
  output?: string;
  /** The serial the probe saw, when a probe ran. */
  servedSerial?: string;
  /** True when nothing was done because the target already served this version. */
  skipped?: boolean;
}

/** A failed attempt: the message says what failed; output is what the command printed. */
export class DeployError extends Error {
  override name = 'DeployError';
  constructor(message: string, readonly output?: string, readonly servedSerial?: string) {
    super(message);
  }
}

/** One field error of a target's settings. */
export interface TargetFieldError {
  field: string;
  message: string;
}

/** What a target manifest's `create` receives. */
export interface TargetOptions {
  settings: Record<string, unknown>;
  credentials: Record<string, string>;
  /** CERTKEEPER_ALLOW_PRIVATE_ADDRESSES: URLs and hosts may be loopback/private. */
  allowPrivateAddresses: boolean;
  logger: Logger;
}

/** A target that deploys without an agent (`src/deploy/targets/<code>/`). */
export interface DeployTarget {
  /** Puts the material in place, reloads and (where configured) probes. Throws {@link DeployError}. */
  deploy(material: DeployMaterial, signal: AbortSignal): Promise<DeployOutcome>;
  /** The serial the target serves now, where it can tell cheaply (for skipping); else undefined. */
  servedSerial?(material: DeployMaterial, signal: AbortSignal): Promise<string | undefined>;
  close?(): Promise<void>;
}

/** The manifest of a target type, like the DNS providers' manifests. */
export interface TargetManifest {
  /** The `type` of a deployment target: `ssh`, `script`, `webhook`, `kubernetes-secret`. */
  code: string;
  title: string;
  /** Names of the settings it takes, with a one-line description each (docs, UI). */
  settings: Record<string, { description: string; required?: boolean }>;
  /** Names of its write-only credentials, with a description each. */
  credentials: Record<string, { description: string; required?: boolean }>;
  /** Whether the private key is sent (true) unless the target's `includePrivateKey` is false. */
  needsPrivateKey: boolean;
  /** Checks settings and credentials; returns every problem (empty when valid). */
  validate(settings: Record<string, unknown>, credentials: Record<string, string>): TargetFieldError[];
  create(options: TargetOptions): DeployTarget;
}

/** File layout of an agent deployment (the `settings` of a target of type `agent`). */
export interface AgentFileSettings {
  /** Absolute paths; at least one of them. */
  certificatePath?: string;
  chainPath?: string;
  fullchainPath?: string;
  keyPath?: string;
  /** Key, then leaf, then chain, in one PEM file (HAProxy and others). */
  combinedPath?: string;
  /** A PKCS#12 file; its password is the target's `pkcs12Password` credential. */
  pkcs12Path?: string;
  /** User and group names or numeric ids (POSIX only). */
  owner?: string;
  group?: string;
  /** Octal string, e.g. "0640"; default 0644 for certificates, 0600 for files with a key. */
  mode?: string;
  /** Run after the files are written, e.g. `systemctl reload nginx` (through the shell). */
  reloadCommand?: string;
  /** Default 60. */
  reloadTimeoutSeconds?: number;
  probe?: ProbeSettings;
}

/** One piece of work an agent receives from `GET /api/v1/agent/work`. */
export interface AgentDeploymentWork {
  kind: 'deployment';
  /** Deployment id; report with `POST /api/v1/agent/deployments/{id}/result`. */
  id: string;
  attempt: number;
  target: { id: string; name: string; settings: AgentFileSettings };
  /** Present when `pkcs12Path` is set. */
  pkcs12Password?: string;
  material: DeployMaterial;
}

/** An http-01 token the agent should serve while it is listed. */
export interface AgentHttp01Work {
  kind: 'http-01';
  /** The identifier (host name) the token validates. */
  identifier: string;
  token: string;
  keyAuthorization: string;
}

/**
 * A key the agent must generate and keep (keys that never leave the server they protect): the
 * agent generates it, keeps it under `keyId` in its state directory (mode 0600), and answers with a
 * CSR through `POST /api/v1/agent/csr/{id}` `{ csr }` (PEM, PKCS#10, signed by the new key, the
 * names as subjectAltName, the common name as subject CN).
 */
export interface AgentCsrWork {
  kind: 'csr';
  /** Request id (the path parameter of the answer). */
  id: string;
  /** The agent keeps the key under this id; later deployments name it in `material.agentKeyId`. */
  keyId: string;
  keyAlgorithm: 'rsa2048' | 'rsa3072' | 'rsa4096' | 'ecdsa256' | 'ecdsa384';
  commonName: string;
  names: string[];
}

/** The answer of `GET /api/v1/agent/work?wait=<seconds>`. */
export interface AgentWork {
  agent: { id: string; name: string };
  /** Deployments claimed for this agent (leased for `leaseSeconds`). */
  deployments: AgentDeploymentWork[];
  /**
   * Every http-01 token to serve now (the complete set: serve exactly these). Once it serves a set,
   * the agent confirms with `POST /api/v1/agent/http-01/ack` `{ tokens: [token…] }`.
   */
  http01: AgentHttp01Work[];
  /** Keys to generate (see {@link AgentCsrWork}). */
  csr: AgentCsrWork[];
  leaseSeconds: number;
}

/** The body of `POST /api/v1/agent/deployments/{id}/result`. */
export interface AgentDeploymentResult {
  state: 'DEPLOYED' | 'FAILED';
  message: string;
  output?: string;
  servedSerial?: string;
  skipped?: boolean;
}

/** The body of `POST /api/v1/agent/heartbeat` (sent at start and every minute; answer 204). */
export interface AgentHeartbeat {
  hostname: string;
  version: string;
  platform: string;
  /** Whether and how it answers http-01: `listen 0.0.0.0:80`, `webroot /var/www/html`, or `off`. */
  http01: string;
}

/** The body of `POST /api/v1/agent/enrol`. */
export interface AgentEnrolRequest {
  token: string;
  hostname: string;
  version: string;
  platform: string;
}

/** The answer of `POST /api/v1/agent/enrol`: the credential is shown once. */
export interface AgentEnrolResponse {
  agentId: string;
  name: string;
  credential: string;
}

/** Bounds the captured output of a command (keeps the tail, which holds the error). */
export function boundOutput(text: string, max = 8192): string {
  if (text.length <= max) return text;
  return `…(${text.length - max} characters cut)\n${text.slice(text.length - max)}`;
}
