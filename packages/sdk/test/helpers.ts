import sharp from 'sharp';
import { expect } from 'vitest';
import type { z } from 'zod';
import { BanatieError } from '../src/index.js';

/** Asserts that an SDK answer matches the contract's strict response schema (an extra or missing field fails). */
export function expectShape<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  expect(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues, null, 2)).toBe(true);
  return parsed.data as z.infer<T>;
}

/** The BanatieError a promise rejects with (fails the test if it resolves or throws something else). */
export async function caught(promise: Promise<unknown>): Promise<BanatieError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BanatieError);
  return err as BanatieError;
}

export function png(width = 64, height = 48, colour = { r: 200, g: 30, b: 30 }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();
}

/** Polls `check` until it returns a value, with a deadline (no fixed sleeps standing in for a condition). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 25));
  }
}
