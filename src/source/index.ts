export type { ByteSource, ReadOptions } from './byte-source.ts';
export { SourceError, type SourceErrorCode } from './errors.ts';
export { FileSource, type FileSourceOptions } from './file.ts';
export { MemorySource } from './memory.ts';
export { HttpSource, safeUrl, type HttpSourceOptions } from './http.ts';
export {
  S3Source,
  createS3Client,
  getS3Object,
  parseS3Url,
  s3Error,
  type S3ClientOptions,
  type S3Credentials,
  type S3SourceOptions,
} from './s3.ts';
export { ReadAheadSource, isTransientSourceError, type ReadAheadOptions, type ReadAheadStats } from './read-ahead.ts';
export { downloadToFile, type DownloadOptions, type DownloadResult } from './download.ts';
