// DATABASE_STATEMENT_TIMEOUT_MS in the API (SPEC §14): a statement stuck behind a
// lock answers 503 SERVICE_UNAVAILABLE by the deadline instead of hanging, and
// the API serves again as soon as the lock is gone.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ worker: false, env: { DATABASE_STATEMENT_TIMEOUT_MS: '500' } });
});

afterAll(async () => {
  await stack?.close();
});

describe('a statement that cannot finish', () => {
  it('answers 503 by the deadline (submit and poll), and 2xx again once the lock is released', async () => {
    const headers = { 'x-api-key': stack.key.key };
    const submit = () =>
      stack.app.inject({ method: 'POST', url: '/api/v1/generations', headers, payload: { prompt: 'behind a lock', autoEnhance: false } });
    // Also warms the API key cache, so the requests below reach the generations table.
    const first = await submit();
    expect(first.statusCode).toBe(202);
    const id = first.json().data.id as string;

    const holder = new pg.Client({ connectionString: stack.config.databaseUrl });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE generations IN ACCESS EXCLUSIVE MODE');
      for (const res of [await submit(), await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers })]) {
        expect(res.statusCode, res.body).toBe(503);
        expect(res.json().error.code).toBe('SERVICE_UNAVAILABLE');
        expect(res.headers['retry-after']).toBeDefined();
      }
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    expect((await submit()).statusCode).toBe(202);
    expect((await stack.app.inject({ method: 'GET', url: `/api/v1/generations/${id}`, headers })).statusCode).toBe(200);
  });
});
