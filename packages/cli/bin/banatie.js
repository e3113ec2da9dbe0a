#!/usr/bin/env node
// The `banatie` command (npx @banatie/cli …). npm links bins when it installs, before
// `tsc -b` has compiled dist/, and skips a bin whose file is missing; this file
// is committed (executable) so the link always exists, and runs the compiled CLI.
try {
  await import('../dist/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/main.js')) throw err;
  process.stderr.write('banatie: the CLI is not compiled yet; run `npm run build` first\n');
  process.exitCode = 1;
}
