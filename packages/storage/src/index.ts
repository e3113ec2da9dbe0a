import type { ObjectStorage } from '@banatie/core';
import { FsObjectStorage } from './fs.storage.js';
import { S3ObjectStorage, type S3StorageOptions } from './s3.storage.js';

export { FsObjectStorage } from './fs.storage.js';
export { S3ObjectStorage, type S3StorageOptions } from './s3.storage.js';

export type StorageOptions = { driver: 'fs'; dir: string } | { driver: 's3'; s3: S3StorageOptions };

export function createObjectStorage(opts: StorageOptions): ObjectStorage {
  return opts.driver === 'fs' ? new FsObjectStorage(opts.dir) : new S3ObjectStorage(opts.s3);
}

// The key scheme lives in core (one definition); re-exported under the names storage tests use.
export { imageStorageKey as imageObjectKey, imageVariantPrefix as variantPrefix } from '@banatie/core';
