/** Renders docs/dns-providers.md from the provider manifests (a test keeps the file in step). */
import type { DnsProviderManifest, FieldSpec } from './provider-manifest.js';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function fields(list: readonly FieldSpec[]): string {
  if (list.length === 0) return '_none_\n';
  const rows = list.map((f) => `| \`${f.name}\` | ${f.type}${f.enum ? ` (${f.enum.map((e) => `\`${e}\``).join(', ')})` : ''} | ${f.required ? 'yes' : 'no'} | ${f.default !== undefined ? `\`${String(f.default)}\`` : ''} | ${cell(f.description)} |`);
  return ['| name | type | required | default | description |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The Markdown document listing every provider. */
export function renderProvidersDoc(manifests: Iterable<DnsProviderManifest>): string {
  const list = [...manifests].sort((a, b) => a.code.localeCompare(b.code));
  const out = [
    '# DNS providers',
    '',
    '<!-- Generated from src/dns/providers/*/manifest.ts by `npm run docs:dns`; do not edit by hand. -->',
    '',
    'A DNS zone (`POST /api/v1/dns-zones`) names one of these providers in `properties.provider`, its',
    'non-secret `settings`, and its write-only `credentials` (stored encrypted, never returned).',
    'Every zone also takes `resolvers`, `propagationTimeoutSeconds` and `extraDelaySeconds`.',
    '',
    '| code | name | settings | credentials |',
    '|---|---|---|---|',
    ...list.map((m) => `| [\`${m.code}\`](#${m.code}) | ${cell(m.name)} | ${m.settings.map((f) => `\`${f.name}\``).join(', ') || '—'} | ${m.anyCredentials ? 'any variables the script reads' : m.credentials.map((f) => `\`${f.name}\``).join(', ') || '—'}${m.credentialsOptional ? ' (optional)' : ''} |`),
    '',
  ];
  for (const m of list) {
    out.push(`## ${m.code}`, '', `**${m.name}** — ${m.description}`, '', `Documentation: ${m.docsUrl}`, '', '### Settings', '', fields(m.settings), '### Credentials', '');
    if (m.anyCredentials) out.push('Any name: each credential is passed to the script as an environment variable of that name.\n');
    out.push(fields(m.credentials));
    if (m.credentialsOptional) out.push('The credentials may be omitted: the provider then uses its ambient identity.\n');
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}
