// Minimal typing for the parts of s3rver (no bundled types) the test harness uses.
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: { name: string; configs?: Array<string | Buffer> }[];
  }

  interface FilesystemStore {
    deleteObject(bucket: string, key: string): Promise<void>;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    store: FilesystemStore;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }

  export = S3rver;
}
