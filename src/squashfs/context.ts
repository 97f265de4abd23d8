/** Everything an open image has loaded: shared by walk, lookup and the data reader. */
import type { ByteSource } from '../source/byte-source.ts';
import type { WarningHandler } from '../errors.ts';
import type { Decompressor } from './compression/decompressor.ts';
import type { FragmentTable } from './fragment-table.ts';
import type { IdTable } from './id-table.ts';
import type { Limits } from './limits.ts';
import type { MetadataTable } from './meta-reader.ts';
import type { Superblock } from './superblock.ts';
import type { XattrReader } from './xattr-reader.ts';

export interface ImageContext {
  readonly source: ByteSource;
  readonly superblock: Superblock;
  readonly decompressor: Decompressor;
  readonly inodes: MetadataTable;
  readonly directories: MetadataTable;
  readonly ids: IdTable;
  readonly fragments: FragmentTable;
  readonly xattrs: XattrReader;
  readonly limits: Limits;
  readonly onWarning: WarningHandler | undefined;
}
