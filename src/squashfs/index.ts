export type { Entry, EntryType, FileLayout } from './entry.ts';
export { SquashfsError, type SquashfsErrorCode } from './errors.ts';
export { SquashfsImage, type OpenOptions, type WalkWithDataOptions, type ImageStats } from './image.ts';
export type { WalkOptions } from './walk.ts';
export type { WalkItem } from './read-ahead.ts';
export type { Superblock } from './superblock.ts';
export { superblockFlagNames } from './superblock.ts';
export type { CompressorOptions } from './compressor-options.ts';
export { resolveLimits, type Limits } from './limits.ts';
