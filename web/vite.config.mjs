// @ts-check
// Builds the web UI (web/) into web/dist: hashed assets under /assets, no inline script or style
// (the server's Content-Security-Policy is `default-src 'self'`), nothing fetched from a CDN.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  // Preact's automatic JSX runtime through Vite's own transformer (no Babel, no preset).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The polyfill is an inline <script>: CSP would block it, and every supported browser has modulepreload.
    modulePreload: { polyfill: false },
    // A data: URI would be refused by `img-src 'self'` (default-src); keep every asset a file.
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev:web` proxies the API to a running `certkeeper serve` (CERTKEEPER_URL or :8080).
    proxy: { '/api': process.env.CERTKEEPER_URL ?? 'http://127.0.0.1:8080' },
  },
});
