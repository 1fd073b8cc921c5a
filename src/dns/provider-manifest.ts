/**
 * The manifest of a DNS provider: what the docs table, the API schema and the UI are generated
 * from, and the factory that builds the provider for one zone.
 */
import type { Logger } from 'pino';
import type { DnsProvider } from './dns-provider.js';

/** One setting or credential field. */
export interface FieldSpec {
  name: string;
  description: string;
  type: 'string' | 'integer' | 'boolean' | 'string[]';
  required?: boolean;
  /** Default used when the field is absent (documented). */
  default?: string | number | boolean;
  /** Allowed values, when the field is an enumeration. */
  enum?: readonly string[];
  /** Example value for the docs (never a real secret). */
  example?: string | number | boolean;
}

/** What a factory receives. Settings and credentials were validated against the manifest. */
export interface ProviderInit {
  zoneName: string;
  settings: Record<string, unknown>;
  credentials: Record<string, string>;
  /** Loopback and private addresses allowed (CERTKEEPER_ALLOW_PRIVATE_ADDRESSES). */
  allowPrivateAddresses: boolean;
  logger?: Logger;
  /** HTTP client; tests inject one. Defaults to global fetch. */
  fetch?: typeof fetch;
}

/** A DNS provider plug-in. */
export interface DnsProviderManifest {
  /** Stable code used in the API (`provider`), e.g. `rfc2136`. */
  code: string;
  /** Human name, e.g. `RFC 2136 (BIND, Knot, …)`. */
  name: string;
  description: string;
  docsUrl: string;
  settings: readonly FieldSpec[];
  credentials: readonly FieldSpec[];
  /** True when the provider can run with no credentials at all (e.g. a default credential chain). */
  credentialsOptional?: boolean;
  /** True when any credential name is accepted (e.g. `acmesh`, whose scripts read their own variables). */
  anyCredentials?: boolean;
  create(init: ProviderInit): DnsProvider | Promise<DnsProvider>;
}
