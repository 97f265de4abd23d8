/**
 * Hard limits that keep a hostile image from costing unbounded time or memory.
 * Every limit can be raised (or lowered) per `SquashfsImage.open` call.
 */
export interface Limits {
  /** Most entries one walk may yield (default 5,000,000). */
  maxEntries: number;
  /**
   * Most file bytes one walk may declare, counting each hard-linked inode once
   * (default: 64 × the image size + 1 GiB). Catches overlapping-data bombs before any
   * data is read.
   */
  maxOutputBytes: number;
  /** Longest symlink target in bytes (default 65535, like unsquashfs). */
  maxSymlinkTarget: number;
  /** Deepest directory nesting (default 4096). */
  maxDepth: number;
  /** Most symlinks `lookup` follows for one path (default 40, like Linux). */
  maxLinkFollows: number;
  /** Decompressed fragment blocks kept in the LRU cache (default 8). */
  fragmentCacheBlocks: number;
  /**
   * Most bytes one metadata table (inodes, directories, xattrs) may decompress to
   * (default 512 MiB; a 600k-entry rootfs needs a few tens of MiB). Stops metadata bombs.
   * It also bounds the table on disk, which is read whole: more than this plus 2 bytes
   * per 8 KiB (what full blocks stored uncompressed take) is refused before it is read.
   */
  maxMetadataBytes: number;
  /**
   * Decoded bytes of the inode and directory tables kept from `open` (default 8 MiB,
   * about 130k entries), offered to the inode table first and the rest to the directory
   * table. Tables within it are decoded once and held as one buffer of their decoded size
   * (so they never hold more than this, however their blocks are cut); the tables of
   * larger images stay compressed in memory and their blocks are decoded when read (again
   * on each pass). It trades memory for the CPU of decoding metadata twice or more.
   */
  decodedTableBytes: number;
}

const GiB = 1024 * 1024 * 1024;

/** The defaults for an image of `imageBytes` bytes, overridden by `partial`. */
export function resolveLimits(imageBytes: number, partial: Partial<Limits> = {}): Limits {
  const limits: Limits = {
    maxEntries: 5_000_000,
    maxOutputBytes: Math.min(Number.MAX_SAFE_INTEGER, 64 * imageBytes + GiB),
    maxSymlinkTarget: 65535,
    maxDepth: 4096,
    maxLinkFollows: 40,
    fragmentCacheBlocks: 8,
    maxMetadataBytes: 512 * 1024 * 1024,
    decodedTableBytes: 8 * 1024 * 1024,
  };
  for (const [key, value] of Object.entries(partial) as Array<[keyof Limits, number | undefined]>) {
    if (value === undefined) continue;
    if (!(key in limits)) throw new TypeError(`unknown SquashFS limit '${key}'`);
    if (typeof value !== 'number' || !(value >= 0)) throw new TypeError(`SquashFS limit '${key}' must be a number ≥ 0`);
    limits[key] = value;
  }
  if (limits.fragmentCacheBlocks < 1) limits.fragmentCacheBlocks = 1;
  return limits;
}
