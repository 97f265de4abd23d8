/**
 * The facade: `SquashfsImage.open` reads the superblock, picks the decompressor, loads
 * the ID, fragment and xattr tables and decompresses the whole inode and directory
 * tables once. After that, walking and lookups are pure in-memory work; only file data
 * is read from the source, which is told so (`ByteSource.release` of the table area).
 */
import { storedBytes } from './stored-bytes.ts';
import type { ByteSource } from '../source/byte-source.ts';
import type { WarningHandler } from '../errors.ts';
import type { Entry } from './entry.ts';
import type { ImageContext } from './context.ts';
import type { Superblock } from './superblock.ts';
import { throwIfAborted } from '../errors.ts';
import { SquashfsError } from './errors.ts';
import { readSuperblock } from './superblock.ts';
import { decodeCompressorOptions, type CompressorOptions } from './compressor-options.ts';
import { loadDecompressor } from './codec.ts';
import { resolveLimits, type Limits } from './limits.ts';
import { IdTable } from './id-table.ts';
import { FragmentTable } from './fragment-table.ts';
import { XattrReader } from './xattr-reader.ts';
import { MetadataTable } from './meta-reader.ts';
import { firstLocation } from './table.ts';
import { DataReader } from './data-reader.ts';
import { ReadAhead, type WalkItem } from './read-ahead.ts';
import { walkTree, type WalkOptions } from './walk.ts';
import { lookupPath } from './lookup.ts';
import { scanInodeTable, type InodeTotals } from './inode-scan.ts';

export interface OpenOptions {
  signal?: AbortSignal;
  limits?: Partial<Limits>;
  onWarning?: WarningHandler;
}

export interface WalkWithDataOptions extends WalkOptions {
  /** Which regular files get `data` (default: all). */
  wantData?: (entry: Entry) => boolean;
  /** Most decompressed bytes read ahead of the consumer (default 4 MiB, at least 16 blocks). */
  readAheadBytes?: number;
}

export interface ImageStats {
  /** Distinct inodes reached (hard links counted once). */
  inodes: number;
  files: number;
  dirs: number;
  symlinks: number;
  devices: number;
  fifos: number;
  sockets: number;
  /** Bytes of regular files, each hard-linked inode counted once. */
  bytes: number;
  /** Xattr name/value pairs over distinct inodes. */
  xattrEntries: number;
}

// Decoded data in flight: 4 MiB (32 blocks of 128 KiB) still keeps the four libuv pool
// threads busy; against 16 MiB it cut peak RSS by 17-45 MiB (builds and tar of the 1 GiB
// images) at equal time (docs/performance.md, session 3). At least 16 blocks for images with
// larger blocks (up to 1 MiB), so each pool thread always has one queued.
const DEFAULT_READ_AHEAD = 4 * 1024 * 1024;
const MIN_BLOCKS_AHEAD = 16;

export class SquashfsImage {
  readonly superblock: Superblock;
  readonly compressorOptions: CompressorOptions | undefined;
  /** The loaded limits (defaults merged with the caller's). */
  readonly limits: Limits;
  readonly #ctx: ImageContext;
  readonly #data: DataReader;

  private constructor(ctx: ImageContext, compressorOptions: CompressorOptions | undefined) {
    this.#ctx = ctx;
    this.superblock = ctx.superblock;
    this.limits = ctx.limits;
    this.compressorOptions = compressorOptions;
    this.#data = new DataReader(ctx);
  }

  static async open(source: ByteSource, options: OpenOptions = {}): Promise<SquashfsImage> {
    const { signal, onWarning } = options;
    throwIfAborted(signal);
    const { superblock: sb, compressorOptionsBytes } = await readSuperblock(source, { signal });
    const limits = resolveLimits(sb.bytesUsed, options.limits);
    const compressorOptions = compressorOptionsBytes ? decodeCompressorOptions(sb.compressor, compressorOptionsBytes, onWarning) : undefined;
    const decompressor = loadDecompressor(sb.compressionId, sb.compressor, compressorOptionsBytes);

    // Tables after the directory table, back to front; each bounds the one before it.
    const ids = await IdTable.load(source, sb, decompressor, { lower: sb.directoryTableStart, signal });
    const xattrs = await XattrReader.load(source, sb, decompressor, {
      lower: sb.idTableStart + Math.ceil((sb.idCount * 4) / 8192) * 8,
      maxBytes: limits.maxMetadataBytes,
      signal,
      onWarning,
    });
    const exportFirst = sb.lookupTableStart === undefined ? undefined : await firstLocation(source, 'export table', sb.lookupTableStart, sb.idTableStart, signal);
    const fragmentUpper = sb.lookupTableStart ?? sb.idTableStart;
    const fragments = await FragmentTable.load(source, sb, decompressor, { lower: sb.directoryTableStart, upper: Math.min(fragmentUpper, ids.firstBlock), signal });
    const candidates = [ids.firstBlock, sb.idTableStart, fragments.firstBlock, sb.fragmentTableStart, exportFirst, sb.lookupTableStart, sb.bytesUsed];
    const directoryEnd = Math.min(...candidates.filter((x): x is number => x !== undefined));
    if (directoryEnd <= sb.directoryTableStart) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', 'superblock', 72, `directory table start ${sb.directoryTableStart} is not below the next table (${directoryEnd})`);
    }
    // The inode and directory tables share `decodedTableBytes`: both are kept decoded on small images.
    const keep = limits.decodedTableBytes;
    const inodes = await MetadataTable.load(source, decompressor, { name: 'inode table', start: sb.inodeTableStart, end: sb.directoryTableStart, maxBytes: limits.maxMetadataBytes, keepDecoded: keep, signal });
    const directories = await MetadataTable.load(source, decompressor, {
      name: 'directory table',
      start: sb.directoryTableStart,
      end: directoryEnd,
      maxBytes: limits.maxMetadataBytes,
      keepDecoded: keep - inodes.keptBytes,
      signal,
    });
    // Every table from the inode table to the end is in memory now: nothing reads those
    // bytes again, nor the padding after bytes_used, so a caching source can free them
    // (S3: the pinned 8 MiB tail).
    source.release?.([{ offset: sb.inodeTableStart, length: source.size - sb.inodeTableStart }]);
    const ctx: ImageContext = { source, superblock: sb, decompressor, inodes, directories, ids, fragments, xattrs, limits, onWarning };
    return new SquashfsImage(ctx, compressorOptions);
  }

  /** Every entry, depth-first pre-order, children in on-disk (sorted) order, root first. */
  async *walk(options: WalkOptions = {}): AsyncGenerator<Entry, void, undefined> {
    let n = 0;
    for (const entry of walkTree(this.#ctx, options)) {
      if ((++n & 255) === 0) throwIfAborted(options.signal);
      yield entry;
    }
  }

  /**
   * The walk, with `data` on regular files that `wantData` accepts. Data is read ahead
   * across files; read `data` before asking for the next item or it is discarded.
   */
  walkWithData(options: WalkWithDataOptions = {}): AsyncGenerator<WalkItem, void, undefined> {
    const wantData = options.wantData ?? (() => true);
    const readAhead = new ReadAhead(this.#data, walkTree(this.#ctx, options), {
      wantData,
      budget: options.readAheadBytes ?? Math.max(DEFAULT_READ_AHEAD, MIN_BLOCKS_AHEAD * this.superblock.blockSize),
      signal: options.signal,
    });
    return readAhead.run();
  }

  /** Resolves a path (symlinks followed inside the image; the last one only with followLast). */
  async lookup(path: string | Uint8Array, options: { followLast?: boolean; signal?: AbortSignal } = {}): Promise<Entry> {
    throwIfAborted(options.signal);
    return lookupPath(this.#ctx, path, options);
  }

  /** The bytes of a regular file, in order (buffers may be shared: do not modify). */
  async *readFile(entry: Entry, options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array, void, undefined> {
    if (entry.type !== 'file' || !entry.layout) {
      throw new SquashfsError('UAI_SQFS_UNSUPPORTED', 'data', undefined, `${entry.path} is a ${entry.type}, not a regular file`);
    }
    if (storedBytes(entry, this.superblock.blockSize) > this.limits.maxOutputBytes) {
      throw new SquashfsError('UAI_SQFS_LIMIT', 'data', undefined, `${entry.path}: ${entry.size} bytes of non-sparse data is over limits.maxOutputBytes`);
    }
    const readAhead = new ReadAhead(this.#data, [entry][Symbol.iterator](), {
      wantData: () => true,
      budget: 8 * 1024 * 1024,
      signal: options.signal,
    });
    for await (const item of readAhead.run()) {
      if (item.data) yield* item.data;
    }
  }

  /**
   * Inodes and regular-file bytes from one pass over the inode table, without walking the
   * tree: what `build` estimates its progress total from (rootfs: milliseconds, where
   * `stats()` walks for a few hundred). Inodes no directory reaches are counted too.
   */
  inodeTotals(): InodeTotals {
    return scanInodeTable(this.#ctx.inodes, this.superblock);
  }

  /** Counts for `inspect`: one metadata walk, no data read. */
  async stats(options: { signal?: AbortSignal } = {}): Promise<ImageStats> {
    const stats: ImageStats = { inodes: 0, files: 0, dirs: 0, symlinks: 0, devices: 0, fifos: 0, sockets: 0, bytes: 0, xattrEntries: 0 };
    const seen = new Set<number>();
    for (const entry of walkTree(this.#ctx, options)) {
      if (seen.has(entry.inodeRef)) continue;
      seen.add(entry.inodeRef);
      stats.inodes++;
      stats.xattrEntries += entry.xattrs.size;
      switch (entry.type) {
        case 'file':
          stats.files++;
          stats.bytes += entry.size;
          break;
        case 'dir':
          stats.dirs++;
          break;
        case 'symlink':
          stats.symlinks++;
          break;
        case 'char':
        case 'block':
          stats.devices++;
          break;
        case 'fifo':
          stats.fifos++;
          break;
        case 'socket':
          stats.sockets++;
          break;
      }
    }
    return stats;
  }

  /** Closes the source the image was opened on and frees the decoder streams kept between blocks. */
  async close(): Promise<void> {
    this.#ctx.decompressor.close?.();
    await this.#ctx.source.close();
  }
}
