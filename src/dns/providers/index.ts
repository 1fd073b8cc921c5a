/** Every DNS provider plug-in, by code. Adding a provider: a folder with a manifest, and a line here. */
import type { DnsProviderManifest } from '../provider-manifest.js';
import { manifest as acmeDns } from './acme-dns/manifest.js';
import { manifest as acmesh } from './acmesh/manifest.js';
import { manifest as azure } from './azure/manifest.js';
import { manifest as cloudflare } from './cloudflare/manifest.js';
import { manifest as exec } from './exec/manifest.js';
import { manifest as ionos } from './ionos/manifest.js';
import { manifest as powerdns } from './powerdns/manifest.js';
import { manifest as rfc2136 } from './rfc2136/manifest.js';
import { manifest as route53 } from './route53/manifest.js';

const manifests: DnsProviderManifest[] = [acmeDns, acmesh, azure, cloudflare, exec, ionos, powerdns, rfc2136, route53];

/** The registered providers, by code. */
export const DNS_PROVIDERS: ReadonlyMap<string, DnsProviderManifest> = new Map(manifests.map((m) => [m.code, m]));
