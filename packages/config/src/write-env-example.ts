import { writeFileSync } from 'node:fs';
import { renderEnvExample } from './env-example.js';

// Run from the repository root: `npm run env:example`.
writeFileSync(process.argv[2] ?? '.env.example', renderEnvExample());
