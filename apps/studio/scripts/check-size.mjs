// Fails the build when the Studio's JavaScript is over budget (issue 8: first load
// under 200 KB gzipped). Counts every .js file the build emitted, gzipped.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const BUDGET_BYTES = 200 * 1024;
const dist = fileURLToPath(new URL('../dist', import.meta.url));

export function gzippedJsBytes(dir = dist) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.js')) total += gzipSync(readFileSync(join(entry.parentPath, entry.name)), { level: 9 }).length;
  }
  return total;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = gzippedJsBytes();
  const kb = (bytes / 1024).toFixed(1);
  if (bytes > BUDGET_BYTES) {
    console.error(`studio: ${kb} KB of gzipped JavaScript, over the ${BUDGET_BYTES / 1024} KB budget`);
    process.exit(1);
  }
  console.error(`studio: ${kb} KB of gzipped JavaScript (budget ${BUDGET_BYTES / 1024} KB)`);
}
