// Writes docs/openapi.json from the route schemas (the same document the server serves at
// /api/v1/openapi.json). A test fails when the committed file drifts: run `npm run openapi`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { createContext } from '../src/server/context.js';
import { createLogger } from '../src/server/logger.js';
import { buildApp } from '../src/api/app.js';

const dir = mkdtempSync(join(tmpdir(), 'ck-openapi-'));
const ctx = await createContext(loadConfig({ CERTKEEPER_DATA_DIR: dir }), createLogger('silent'));
const app = await buildApp(ctx);
await app.ready();
writeFileSync(new URL('../docs/openapi.json', import.meta.url), JSON.stringify(app.swagger(), null, 2) + '\n');
await app.close();
await ctx.db.close();
rmSync(dir, { recursive: true, force: true });
console.log('wrote docs/openapi.json');
