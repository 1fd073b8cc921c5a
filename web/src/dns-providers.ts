/**
 * The DNS providers a zone may use, with their settings and credentials, for the zone form. The
 * data is a copy of the server's provider manifests (src/dns/providers/<code>/manifest.ts) kept in
 * dns-providers.json; test/ui/dns-provider-specs.test.ts fails when it drifts.
 */
import specs from './dns-providers.json';

/** One setting or credential of a provider. */
export interface DnsFieldSpec {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'string[]';
  description: string;
  required?: boolean;
  default?: string | number | boolean;
  enum?: string[];
  example?: string | number | boolean;
}

/** One provider. */
export interface DnsProviderSpec {
  code: string;
  name: string;
  docsUrl: string;
  /** The provider can run without credentials (a default credential chain, a managed identity). */
  credentialsOptional?: boolean;
  /** Any credential name is accepted (acme.sh scripts read their own variables). */
  anyCredentials?: boolean;
  settings: DnsFieldSpec[];
  credentials: DnsFieldSpec[];
}

/** Every provider, in the server's order. */
export const DNS_PROVIDER_SPECS = specs as DnsProviderSpec[];

/** The provider with `code`, if this UI knows it. */
export function dnsProviderSpec(code: string): DnsProviderSpec | undefined {
  return DNS_PROVIDER_SPECS.find((p) => p.code === code);
}

/** The human name of a provider code ("rfc2136" → "RFC 2136 dynamic update (…)"). */
export function dnsProviderName(code: string): string {
  return dnsProviderSpec(code)?.name ?? code;
}
