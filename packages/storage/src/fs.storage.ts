import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { type ObjectStorage, type StoredObjectInfo, ObjectNotFoundError } from '@banatie/core';

/*
 * File layout: one file per key, `<rootDir>/<key>`, starting with a one-line
 * JSON header (`{"contentType":"..."}\n`) followed by the object bytes. Keeping
 * the content type in the same file as the data means a single rename publishes
 * both, so concurrent puts of the same key can never pair one writer's bytes
 * with another writer's content type (a sidecar file would need two renames).
 */

const MAX_HEADER_BYTES = 4096;
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

interface OpenedObject {
  handle: FileHandle;
  contentType: string;
  headerLength: number;
  size: number;
}

export class FsObjectStorage implements ObjectStorage {
  constructor(private readonly rootDir: string) {}

  async init(): Promise<void> {
    await mkdir(this.rootDir, { recursive: true });
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const header = Buffer.from(`${JSON.stringify({ contentType })}\n`);
    await writeAtomically(target, [header, body]);
  }

  async get(key: string): Promise<Buffer> {
    return buffer(await this.getStream(key));
  }

  async getStream(key: string): Promise<Readable> {
    const object = await this.openOrThrow(key);
    // Streaming from the already-open handle keeps reading the version whose
    // header we parsed, even if a concurrent put replaces the file meanwhile.
    return object.handle.createReadStream({ start: object.headerLength });
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    const object = await this.open(key);
    if (!object) return null;
    await object.handle.close();
    return { size: object.size, contentType: object.contentType };
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (prefix === '') throw new Error('Refusing to delete an empty prefix');
    const cut = prefix.lastIndexOf('/') + 1;
    const dirPart = prefix.slice(0, cut);
    const namePart = prefix.slice(cut);
    // A prefix is a key path (its directories) plus an optional partial name.
    assertSafeKey(namePart === '' ? dirPart.slice(0, -1) : prefix);
    const dir = join(this.rootDir, dirPart);
    if (namePart === '') {
      await rm(dir, { recursive: true, force: true });
      return;
    }
    for (const entry of await readDirOrEmpty(dir)) {
      if (entry.startsWith(namePart)) await rm(join(dir, entry), { recursive: true, force: true });
    }
  }

  async ping(): Promise<void> {
    await access(this.rootDir, constants.R_OK | constants.W_OK);
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    return join(this.rootDir, key);
  }

  private async openOrThrow(key: string): Promise<OpenedObject> {
    const object = await this.open(key);
    if (!object) throw new ObjectNotFoundError(key);
    return object;
  }

  private async open(key: string): Promise<OpenedObject | null> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
    const object = await readHeader(handle, key).catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
    if (!object) await handle.close();
    return object;
  }
}

/** Keys are relative, '/'-separated, with no empty, `.` or `..` segments. */
function assertSafeKey(key: string): void {
  const bad =
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new Error(`Invalid storage key: ${JSON.stringify(key)}`);
}

async function writeAtomically(target: string, chunks: Buffer[]): Promise<void> {
  const temp = join(dirname(target), `.tmp-${randomUUID()}`);
  try {
    const handle = await open(temp, 'wx');
    try {
      // writeFile loops until every byte is written and continues at the current position.
      for (const chunk of chunks) await handle.writeFile(chunk);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

async function readHeader(handle: FileHandle, key: string): Promise<OpenedObject | null> {
  const stats = await handle.stat();
  // A key that names a directory (a prefix of other keys) is not an object.
  if (!stats.isFile()) return null;
  const probe = Buffer.alloc(Math.min(MAX_HEADER_BYTES, stats.size));
  const { bytesRead } = await handle.read(probe, 0, probe.length, 0);
  const newline = probe.subarray(0, bytesRead).indexOf(0x0a);
  if (newline < 0) throw new Error(`Corrupt stored object (no header): ${key}`);
  const { contentType } = JSON.parse(probe.subarray(0, newline).toString('utf8')) as { contentType: string };
  const headerLength = newline + 1;
  return { handle, contentType, headerLength, size: stats.size - headerLength };
}

async function readDirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  return NOT_FOUND_CODES.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}
