import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ObjectNotFoundError } from '@banatie/core';
import { FsObjectStorage } from '../src/index.js';
import { objectStorageContract } from './object-storage.contract.js';

async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'banatie-fs-storage-'));
}

objectStorageContract('fs', async () => {
  const dir = await makeTempDir();
  return {
    create: () => new FsObjectStorage(join(dir, 'root')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

describe('FsObjectStorage', () => {
  let dir: string;
  let root: string;
  let storage: FsObjectStorage;

  beforeEach(async () => {
    dir = await makeTempDir();
    root = join(dir, 'root');
    storage = new FsObjectStorage(root);
    await storage.init();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['../escape', 'p1/../../escape', '/etc/passwd', 'p1\\img1', 'p1//img1', 'p1/img1/', './p1', '', 'p1/..'])(
    'rejects the unsafe key %j',
    async (key) => {
      const body = Buffer.from('x');
      await expect(storage.put(key, body, 'text/plain')).rejects.toThrow(/Invalid storage key/);
      await expect(storage.get(key)).rejects.toThrow(/Invalid storage key/);
      await expect(storage.getStream(key)).rejects.toThrow(/Invalid storage key/);
      await expect(storage.stat(key)).rejects.toThrow(/Invalid storage key/);
      await expect(storage.delete(key)).rejects.toThrow(/Invalid storage key/);
    },
  );

  it.each(['', '../', 'p1/../', '/', '/etc/', 'p1\\'])('deletePrefix rejects the unsafe prefix %j', async (prefix) => {
    await expect(storage.deletePrefix(prefix)).rejects.toThrow();
  });

  it('treats a key naming a directory of other keys as missing', async () => {
    await storage.put('p1/variants/img1/w100', Buffer.from('x'), 'text/plain');

    expect(await storage.stat('p1/variants')).toBeNull();
    await expect(storage.get('p1/variants')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('leaves no temporary files behind', async () => {
    await storage.put('p1/img1', Buffer.from('first'), 'text/plain');
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => storage.put('p1/img1', Buffer.alloc(1000 * (i + 1), i), 'image/png')),
    );
    await storage.put('p1/variants/img1/w100', Buffer.from('variant'), 'image/webp');

    expect(await listFiles(root)).toEqual(['p1/img1', 'p1/variants/img1/w100']);
  });

  it('keeps body and content type of the same writer under concurrent puts', async () => {
    const versions = Array.from({ length: 10 }, (_, i) => ({
      body: Buffer.alloc(10_000 * (i + 1), i),
      contentType: `image/x-writer-${i}`,
    }));

    await Promise.all(versions.map((v) => new FsObjectStorage(root).put('p1/img1', v.body, v.contentType)));

    const [body, stat] = await Promise.all([storage.get('p1/img1'), storage.stat('p1/img1')]);
    const writer = versions.find((v) => v.body.equals(body));
    expect(writer).toBeDefined();
    expect(stat).toEqual({ size: writer!.body.length, contentType: writer!.contentType });
  });

  it('never lets a reader see a partially written object', async () => {
    const small = Buffer.alloc(64 * 1024, 'a');
    const large = Buffer.alloc(1024 * 1024, 'b');
    await storage.put('p1/img1', small, 'image/png');

    const writes = (async () => {
      for (let i = 0; i < 20; i++) await storage.put('p1/img1', i % 2 ? small : large, 'image/png');
    })();
    const reads = (async () => {
      const seen: boolean[] = [];
      for (let i = 0; i < 50; i++) {
        // A failed read counts as a bad read, so the writer loop still finishes before cleanup.
        const body = await storage.get('p1/img1').catch(() => null);
        seen.push(body !== null && (body.equals(small) || body.equals(large)));
      }
      return seen;
    })();

    const [, seen] = await Promise.all([writes, reads]);
    expect(seen.every(Boolean)).toBe(true);
  });

  it('ping resolves for an accessible root and rejects for a missing one', async () => {
    await expect(storage.ping()).resolves.toBeUndefined();
    await expect(new FsObjectStorage(join(dir, 'nope')).ping()).rejects.toThrow();
  });
});
