// Writes docs/dns-providers.md from the provider manifests.
import { writeFileSync } from 'node:fs';
import { DNS_PROVIDERS } from '../src/dns/providers/index.js';
import { renderProvidersDoc } from '../src/dns/providers-doc.js';

writeFileSync(new URL('../docs/dns-providers.md', import.meta.url), renderProvidersDoc(DNS_PROVIDERS.values()));
console.log('wrote docs/dns-providers.md');
