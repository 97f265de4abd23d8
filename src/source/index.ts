export type { ByteSource, ReadOptions } from './byte-source.ts';
export { SourceError, type SourceErrorCode } from './errors.ts';
export { FileSource, type FileSourceOptions } from './file.ts';
export { MemorySource } from './memory.ts';
