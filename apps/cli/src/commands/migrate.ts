import { migrateToLatest } from '@banatie/db';
import { defineCommand, LOCAL_GLOBALS, print, printJson, type LeafCommand } from '@banatie/cli';
import { withDatabase } from './database.js';

export const migrate: LeafCommand = defineCommand({
  name: 'migrate',
  summary: 'Apply pending database migrations, creating the database if it is missing',
  synopsis: '',
  args: { min: 0, max: 0 },
  options: {},
  globals: LOCAL_GLOBALS,
  async run({ values, io }) {
    const applied = await withDatabase(io, (db) => migrateToLatest(db), { create: true, direct: true });
    if (values.json) return printJson(io, { applied });
    print(io, applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date');
  },
});
