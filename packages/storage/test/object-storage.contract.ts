import { randomBytes } from 'node:crypto';
import { buffer } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ObjectStorage, ObjectNotFoundError } from '@banatie/core';
import { imageObjectKey, variantPrefix } from '../src/index.js';

export interface StorageFixture {
  /** A new adapter instance over the fixture's backend (shared by all instances). */
  create(): ObjectStorage;
  cleanup(): Promise<void>;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Binary payload with every byte value (incl. NUL and newline) plus random bytes. */
export function binaryPayload(randomLength = 64 * 1024): Buffer {
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  return Buffer.concat([PNG_SIGNATURE, allBytes, randomBytes(randomLength)]);
}

export function objectStorageContract(name: string, setup: () => Promise<StorageFixture>): void {
  describe(`ObjectStorage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let storage: ObjectStorage;

    beforeEach(async () => {
      fixture = await setup();
      storage = fixture.create();
      await storage.init();
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('round-trips binary bytes through get and getStream', async () => {
      const body = binaryPayload();
      await storage.put('p1/img1', body, 'image/png');

      expect((await storage.get('p1/img1')).equals(body)).toBe(true);
      expect((await buffer(await storage.getStream('p1/img1'))).equals(body)).toBe(true);
    });

    it('overwrites an existing key', async () => {
      await storage.put('p1/img1', binaryPayload(), 'image/png');
      const replacement = Buffer.from('shorter replacement');
      await storage.put('p1/img1', replacement, 'image/jpeg');

      expect((await storage.get('p1/img1')).equals(replacement)).toBe(true);
      expect(await storage.stat('p1/img1')).toEqual({ size: replacement.length, contentType: 'image/jpeg' });
    });

    it('stats size and content type, and null when missing', async () => {
      const body = binaryPayload(1000);
      await storage.put('p1/img1', body, 'image/webp');

      expect(await storage.stat('p1/img1')).toEqual({ size: body.length, contentType: 'image/webp' });
      expect(await storage.stat('p1/missing')).toBeNull();
    });

    it('throws ObjectNotFoundError from get and getStream of a missing key', async () => {
      await expect(storage.get('p1/missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(storage.getStream('p1/missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(storage.get('p1/missing')).rejects.toMatchObject({ key: 'p1/missing' });
    });

    it('deletes idempotently', async () => {
      await storage.put('p1/img1', Buffer.from('x'), 'text/plain');

      await storage.delete('p1/img1');
      await storage.delete('p1/img1');
      await storage.delete('p9/never-existed');

      expect(await storage.stat('p1/img1')).toBeNull();
    });

    it('deletePrefix removes exactly the keys under the prefix', async () => {
      const doomed = ['p1/variants/img1/w100.webp', 'p1/variants/img1/deep/w200.png'];
      const kept = ['p1/variants/img10/w100.webp', 'p1/img1', 'p2/variants/img1/w100.webp'];
      await putAll(storage, [...doomed, ...kept]);

      await storage.deletePrefix(variantPrefix('p1', 'img1'));

      expect(await existing(storage, [...doomed, ...kept])).toEqual(kept);
    });

    it('deletePrefix matches keys by string prefix, not only whole segments', async () => {
      await putAll(storage, ['p1/img1', 'p1/img2', 'p1/other', 'p10/img1']);

      await storage.deletePrefix('p1/img');

      expect(await existing(storage, ['p1/img1', 'p1/img2', 'p1/other', 'p10/img1'])).toEqual(['p1/other', 'p10/img1']);
    });

    it('deletePrefix of a prefix with no objects is a no-op', async () => {
      await putAll(storage, ['p1/img1']);

      await storage.deletePrefix('p404/');

      expect(await existing(storage, ['p1/img1'])).toEqual(['p1/img1']);
    });

    it('can be initialised repeatedly and concurrently', async () => {
      await storage.init();
      await Promise.all([fixture.create().init(), fixture.create().init()]);

      await storage.put(imageObjectKey('p1', 'img1'), Buffer.from('ok'), 'text/plain');
      expect((await storage.get('p1/img1')).toString()).toBe('ok');
    });

    it('ends concurrent puts of one key with one complete object', async () => {
      const bodies = Array.from({ length: 8 }, (_, i) => Buffer.concat([Buffer.alloc(512, i), randomBytes(512)]));

      await Promise.all(bodies.map((body) => fixture.create().put('p1/img1', body, 'image/png')));

      const stored = await storage.get('p1/img1');
      expect(bodies.some((body) => body.equals(stored))).toBe(true);
      expect(await storage.stat('p1/img1')).toEqual({ size: 1024, contentType: 'image/png' });
    });
  });
}

async function putAll(storage: ObjectStorage, keys: string[]): Promise<void> {
  for (const key of keys) await storage.put(key, Buffer.from(key), 'text/plain');
}

async function existing(storage: ObjectStorage, keys: string[]): Promise<string[]> {
  const stats = await Promise.all(keys.map((key) => storage.stat(key)));
  return keys.filter((_, i) => stats[i] !== null);
}
