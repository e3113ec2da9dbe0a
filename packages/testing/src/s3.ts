import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface S3rverHandle {
  endPoint: '127.0.0.1';
  port: number;
  useSSL: false;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: 'us-east-1';
  close(): Promise<void>;
}

const DEFAULT_BUCKET = 'banatie';

/**
 * Starts an in-process S3 server (s3rver) on a free port with a fresh data
 * directory. The returned object can be spread into the S3 storage options.
 * The bucket is only pre-created when `opts.bucket` is given; otherwise it is
 * named `banatie` and left for the storage adapter's `init()` to create.
 */
export async function startS3rver(opts: { bucket?: string } = {}): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 'banatie-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: opts.bucket ? [{ name: opts.bucket }] : [],
  });
  tolerateConcurrentDeletes(server);
  try {
    const { port } = await server.run();
    return {
      endPoint: '127.0.0.1',
      port,
      useSSL: false,
      // s3rver accepts these credentials by default.
      accessKey: 'S3RVER',
      secretKey: 'S3RVER',
      bucket: opts.bucket ?? DEFAULT_BUCKET,
      region: 'us-east-1',
      close: async () => {
        await server.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
}

/**
 * s3rver's DeleteObjects handler deletes keys in parallel, and each delete then
 * prunes empty parent directories without expecting a sibling delete to have
 * pruned them first, answering 500 (ENOENT/ENOTEMPTY). The object files are
 * already gone at that point, so those pruning errors are safe to ignore.
 */
function tolerateConcurrentDeletes(server: S3rver): void {
  const { store } = server;
  const deleteObject = store.deleteObject.bind(store);
  store.deleteObject = async (bucket, key) => {
    try {
      await deleteObject(bucket, key);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY') throw err;
    }
  };
}
