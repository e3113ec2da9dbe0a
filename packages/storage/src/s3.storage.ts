import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Client } from 'minio';
import { type ObjectStorage, type StoredObjectInfo, ObjectNotFoundError } from '@banatie/core';

export interface S3StorageOptions {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

const PING_TIMEOUT_MS = 2_000;
/** The S3 DeleteObjects API accepts at most 1000 keys per request. */
const DELETE_BATCH_SIZE = 1000;
const MISSING_OBJECT_CODES = new Set(['NoSuchKey', 'NotFound']);
const BUCKET_CREATED_CODES = new Set(['BucketAlreadyOwnedByYou', 'BucketAlreadyExists']);

export class S3ObjectStorage implements ObjectStorage {
  private readonly client: Client;
  private readonly bucket: string;
  private readonly region: string;

  constructor(opts: S3StorageOptions) {
    const { bucket, region, ...connection } = opts;
    this.client = new Client({ ...connection, region });
    this.bucket = bucket;
    this.region = region;
  }

  async init(): Promise<void> {
    if (await this.client.bucketExists(this.bucket)) return;
    try {
      await this.client.makeBucket(this.bucket, this.region);
    } catch (err) {
      // Another process (API or worker) created it between our check and create.
      if (!BUCKET_CREATED_CODES.has(errorCode(err))) throw err;
    }
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.client.putObject(this.bucket, key, body, body.length, { 'Content-Type': contentType });
  }

  async get(key: string): Promise<Buffer> {
    return buffer(await this.getStream(key));
  }

  async getStream(key: string): Promise<Readable> {
    try {
      return await this.client.getObject(this.bucket, key);
    } catch (err) {
      if (MISSING_OBJECT_CODES.has(errorCode(err))) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    try {
      const stat = await this.client.statObject(this.bucket, key);
      return { size: stat.size, contentType: String(stat.metaData['content-type'] ?? 'application/octet-stream') };
    } catch (err) {
      if (MISSING_OBJECT_CODES.has(errorCode(err))) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 DeleteObject already succeeds for a missing key.
    await this.client.removeObject(this.bucket, key);
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (prefix === '') throw new Error('Refusing to delete an empty prefix');
    // List everything before deleting so the listing never races its own deletes.
    const names = await this.listNames(prefix);
    for (let i = 0; i < names.length; i += DELETE_BATCH_SIZE) {
      await this.removeBatch(names.slice(i, i + DELETE_BATCH_SIZE));
    }
  }

  async ping(): Promise<void> {
    const exists = await withTimeout(this.client.bucketExists(this.bucket), PING_TIMEOUT_MS, 'S3 ping timed out');
    if (!exists) throw new Error(`S3 bucket ${this.bucket} does not exist`);
  }

  private async listNames(prefix: string): Promise<string[]> {
    const names: string[] = [];
    for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
      if (item.name !== undefined) names.push(item.name);
    }
    return names;
  }

  private async removeBatch(names: string[]): Promise<void> {
    const results = await this.client.removeObjects(this.bucket, names);
    const failure = results.find((r) => r?.Error && !MISSING_OBJECT_CODES.has(r.Error.Code ?? ''));
    if (failure?.Error) {
      throw new Error(`S3 delete of ${failure.Error.Key} failed: ${failure.Error.Code} ${failure.Error.Message}`);
    }
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Rejects after `ms`; the underlying request is left to settle on its own. */
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
