import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Client } from 'minio';
import { type ObjectStorage, type StoredObjectInfo, ObjectNotFoundError, StorageCheckError } from '@banatie/core';

export interface S3StorageOptions {
  /** Host name or IP address (no scheme, no port). */
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
  /** Bucket in the path (default) or in the host name; AWS's own endpoints are always addressed by host name. */
  pathStyle?: boolean;
  /** Each operation gives up after this long (default 30 s). */
  timeoutMs?: number;
}

const PING_TIMEOUT_MS = 2_000;
const DEFAULT_TIMEOUT_MS = 30_000;
/** The S3 DeleteObjects API accepts at most 1000 keys per request. */
const DELETE_BATCH_SIZE = 1000;
const MISSING_OBJECT_CODES = new Set(['NoSuchKey', 'NotFound']);
const BUCKET_CREATED_CODES = new Set(['BucketAlreadyOwnedByYou', 'BucketAlreadyExists']);

export class S3ObjectStorage implements ObjectStorage {
  private readonly client: Client;
  private readonly bucket: string;
  private readonly region: string;
  private readonly timeoutMs: number;
  /** Where the server is, for messages: never the credentials. */
  private readonly endpoint: string;

  constructor(opts: S3StorageOptions) {
    const { bucket, region, timeoutMs, pathStyle = true, ...connection } = opts;
    this.client = new Client({ ...connection, region, pathStyle });
    this.bucket = bucket;
    this.region = region;
    this.timeoutMs = timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const host = connection.endPoint.includes(':') ? `[${connection.endPoint}]` : connection.endPoint;
    this.endpoint = `${connection.useSSL ? 'https' : 'http'}://${host}:${connection.port}`;
  }

  /** Creates the bucket if missing; a failure says which bucket, where, and the server's error code. */
  async init(): Promise<void> {
    try {
      if (await this.timed(this.client.bucketExists(this.bucket))) return;
      await this.timed(this.client.makeBucket(this.bucket, this.region));
    } catch (err) {
      // Another process (API or worker) created it between our check and create.
      if (BUCKET_CREATED_CODES.has(errorCode(err))) return;
      throw this.checkError(err);
    }
  }

  async put(key: string, body: Buffer, contentType: string): Promise<void> {
    await this.timed(this.client.putObject(this.bucket, key, body, body.length, { 'Content-Type': contentType }));
  }

  async get(key: string): Promise<Buffer> {
    return buffer(await this.getStream(key));
  }

  async getStream(key: string): Promise<Readable> {
    try {
      const opening = this.client.getObject(this.bucket, key);
      return await this.timed(opening).catch((err: unknown) => {
        // A stream that opens after its caller gave up would hold the connection: close it.
        if (err instanceof StorageTimeoutError) opening.then((stream) => stream.destroy(), () => undefined);
        throw err;
      });
    } catch (err) {
      if (MISSING_OBJECT_CODES.has(errorCode(err))) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async stat(key: string): Promise<StoredObjectInfo | null> {
    try {
      const stat = await this.timed(this.client.statObject(this.bucket, key));
      return { size: stat.size, contentType: String(stat.metaData['content-type'] ?? 'application/octet-stream') };
    } catch (err) {
      if (MISSING_OBJECT_CODES.has(errorCode(err))) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 DeleteObject already succeeds for a missing key.
    await this.timed(this.client.removeObject(this.bucket, key));
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
    let exists: boolean;
    try {
      exists = await withTimeout(this.client.bucketExists(this.bucket), Math.min(PING_TIMEOUT_MS, this.timeoutMs));
    } catch (err) {
      throw this.checkError(err);
    }
    if (!exists) throw new StorageCheckError({ endpoint: this.endpoint, bucket: this.bucket, code: 'NoSuchBucket' });
  }

  private timed<T>(operation: Promise<T>): Promise<T> {
    return withTimeout(operation, this.timeoutMs);
  }

  /** The server's error code (S3 or network), with where: the secret never appears. */
  private checkError(err: unknown): StorageCheckError {
    const code = errorCode(err) || (err as { cause?: { code?: string } })?.cause?.code || 'UnknownError';
    return new StorageCheckError({ endpoint: this.endpoint, bucket: this.bucket, code }, { cause: err });
  }

  private async listNames(prefix: string): Promise<string[]> {
    const names: string[] = [];
    const listing = (async () => {
      for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
        if (item.name !== undefined) names.push(item.name);
      }
    })();
    await this.timed(listing);
    return names;
  }

  private async removeBatch(names: string[]): Promise<void> {
    const results = await this.timed(this.client.removeObjects(this.bucket, names));
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

/** A storage operation that outlived its time; `ETIMEDOUT`, so the API answers 503 as for any unreachable backend. */
export class StorageTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(ms: number) {
    super(`S3 request timed out after ${ms} ms`);
    this.name = 'StorageTimeoutError';
  }
}

/** Rejects after `ms`; the underlying request is left to settle on its own. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageTimeoutError(ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
