import { defaultClientConditions, defineConfig } from 'vite';

// Served by the API at /studio (apps/api/src/routes/studio.ts). Workspace packages
// are bundled from their TypeScript sources (the `source` export condition).
export default defineConfig({
  base: '/studio/',
  resolve: { conditions: ['source', ...defaultClientConditions] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npm run dev -w @banatie/studio`: the API (PORT 3000) answers /api and /cdn behind Vite's dev server.
  server: {
    proxy: {
      '/api': process.env.BANATIE_API_URL ?? 'http://localhost:3000',
      '/cdn': process.env.BANATIE_API_URL ?? 'http://localhost:3000',
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Hashed file names under assets/: the API serves them with a year-long cache.
    assetsDir: 'assets',
    // No inline data: URLs for assets (the Content-Security-Policy allows only 'self').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
