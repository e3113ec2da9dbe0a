import type { ObjectStorage } from '@banatie/core';
import { FsObjectStorage } from './fs.storage.js';
import { S3ObjectStorage, type S3StorageOptions } from './s3.storage.js';

export { FsObjectStorage } from './fs.storage.js';
export { S3ObjectStorage, type S3StorageOptions } from './s3.storage.js';

export type StorageOptions = { driver: 'fs'; dir: string } | { driver: 's3'; s3: S3StorageOptions };

export function createObjectStorage(opts: StorageOptions): ObjectStorage {
  return opts.driver === 'fs' ? new FsObjectStorage(opts.dir) : new S3ObjectStorage(opts.s3);
}

/** Storage key of an image's original bytes. */
export function imageObjectKey(projectId: string, imageId: string): string {
  return `${projectId}/${imageId}`;
}

/** Variants (resized/converted renditions) are cached under this prefix and removed with the image. */
export function variantPrefix(projectId: string, imageId: string): string {
  return `${projectId}/variants/${imageId}/`;
}
