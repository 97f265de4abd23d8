/**
 * The 96-byte superblock and the optional compressor-options block after it. Decoded
 * into a temporary, validated field by field, then returned (squashfs-tools-ng
 * `read_super.c` does the same).
 */
import type { ByteSource } from '../source/byte-source.ts';
import type { CompressorName } from './compression/decompressor.ts';
import { isAllOnes64, readRef, readU64, viewOf } from './binary.ts';
import { SquashfsError } from './errors.ts';

export const SUPERBLOCK_SIZE = 96;
export const SQUASHFS_MAGIC = 0x73717368;
export const METADATA_SIZE = 8192;

export interface Superblock {
  /** 0x73717368 ("hsqs" on disk). */
  readonly magic: number;
  /** Inode count; inode numbers are 1..inodes. */
  readonly inodes: number;
  /** Creation time, seconds since the epoch (unsigned 32-bit). */
  readonly mkfsTime: number;
  /** Data block size: a power of two, 4 KiB..1 MiB. */
  readonly blockSize: number;
  /** Entries in the fragment table. */
  readonly fragments: number;
  /** The raw compressor id (1..6). */
  readonly compressionId: number;
  readonly compressor: CompressorName;
  /** log2(blockSize). */
  readonly blockLog: number;
  /** The raw flag bits (see `superblockFlagNames`). */
  readonly flags: number;
  /** Entries in the ID table. */
  readonly idCount: number;
  readonly versionMajor: number;
  readonly versionMinor: number;
  /** The root directory's inode reference `(block << 16) | offset`. */
  readonly rootInodeRef: number;
  /** Bytes of the image in use (the file may be longer). */
  readonly bytesUsed: number;
  readonly idTableStart: number;
  /** Absent (`undefined`) when the on-disk value is ~0. */
  readonly xattrIdTableStart: number | undefined;
  readonly inodeTableStart: number;
  readonly directoryTableStart: number;
  /** Absent (`undefined`) when the on-disk value is ~0. */
  readonly fragmentTableStart: number | undefined;
  /** The NFS export table; absent (`undefined`) when the on-disk value is ~0. */
  readonly lookupTableStart: number | undefined;
  /** Where data blocks may start: after the superblock and the compressor options. */
  readonly dataStart: number;
}

const COMPRESSORS: Record<number, CompressorName> = { 1: 'gzip', 2: 'lzma', 3: 'lzo', 4: 'xz', 5: 'lz4', 6: 'zstd' };

const FLAG_NAMES: Array<[number, string]> = [
  [0x0001, 'uncompressed-inodes'],
  [0x0002, 'uncompressed-data'],
  [0x0004, 'check'],
  [0x0008, 'uncompressed-fragments'],
  [0x0010, 'no-fragments'],
  [0x0020, 'always-fragments'],
  [0x0040, 'duplicates'],
  [0x0080, 'exportable'],
  [0x0100, 'uncompressed-xattrs'],
  [0x0200, 'no-xattrs'],
  [0x0400, 'compressor-options'],
  [0x0800, 'uncompressed-ids'],
];

export const FLAG_COMPRESSOR_OPTIONS = 0x0400;

/** The names of the flag bits set in `flags` (unknown bits as `0x…`). */
export function superblockFlagNames(flags: number): string[] {
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of FLAG_NAMES) {
    if (flags & bit) names.push(name);
    rest &= ~bit;
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names;
}

export interface SuperblockResult {
  superblock: Superblock;
  /** The raw payload of the compressor-options block, if flag 0x0400 is set. */
  compressorOptionsBytes: Uint8Array | undefined;
}

const T = 'superblock';

/** Reads and validates the superblock (and the compressor-options block). */
export async function readSuperblock(source: ByteSource, options: { signal?: AbortSignal } = {}): Promise<SuperblockResult> {
  if (source.size < SUPERBLOCK_SIZE) {
    throw new SquashfsError('UAI_SQFS_BAD_MAGIC', T, 0, `${source.name} is ${source.size} bytes, shorter than a superblock`);
  }
  const raw = await source.read(0, SUPERBLOCK_SIZE, { signal: options.signal });
  const v = viewOf(raw);
  const magic = v.getUint32(0, true);
  if (magic !== SQUASHFS_MAGIC) {
    const hint = magic === 0x68737173 ? ' (a big-endian image, not supported)' : '';
    throw new SquashfsError('UAI_SQFS_BAD_MAGIC', T, 0, `${source.name}: magic 0x${magic.toString(16)} is not 0x73717368${hint}`);
  }
  const versionMajor = v.getUint16(28, true);
  const versionMinor = v.getUint16(30, true);
  if (versionMajor !== 4 || versionMinor !== 0) {
    throw new SquashfsError('UAI_SQFS_VERSION', T, 28, `version ${versionMajor}.${versionMinor} is not 4.0`);
  }
  const blockSize = v.getUint32(12, true);
  const blockLog = v.getUint16(22, true);
  if (blockSize < 4096 || blockSize > 1048576 || (blockSize & (blockSize - 1)) !== 0) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', T, 12, `block_size ${blockSize} is not a power of two from 4 KiB to 1 MiB`);
  }
  if (1 << blockLog !== blockSize || blockLog > 20) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', T, 22, `block_log ${blockLog} does not match block_size ${blockSize}`);
  }
  const compressionId = v.getUint16(20, true);
  const compressor = COMPRESSORS[compressionId];
  if (!compressor) throw new SquashfsError('UAI_SQFS_UNSUPPORTED', T, 20, `unknown compressor id ${compressionId}`);
  const flags = v.getUint16(24, true);
  const rootInodeRef = readRef(v, 32, T, 32, 'root_inode');
  if (rootInodeRef % 0x10000 >= 8192) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, 32, `root_inode offset ${rootInodeRef % 0x10000} is not below 8192`);
  }
  const bytesUsed = readU64(v, 40, T, 40, 'bytes_used');
  if (bytesUsed > source.size) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, 40, `bytes_used ${bytesUsed} passes the end of ${source.name} (${source.size} bytes)`);
  }
  const optional = (pos: number, field: string): number | undefined => (isAllOnes64(v, pos) ? undefined : readU64(v, pos, T, pos, field));

  let dataStart = SUPERBLOCK_SIZE;
  let compressorOptionsBytes: Uint8Array | undefined;
  if (flags & FLAG_COMPRESSOR_OPTIONS) {
    if (bytesUsed < SUPERBLOCK_SIZE + 2) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', 'compressor options', SUPERBLOCK_SIZE, 'block passes bytes_used');
    const header = viewOf(await source.read(SUPERBLOCK_SIZE, 2, { signal: options.signal })).getUint16(0, true);
    const size = header & 0x7fff;
    if (!(header & 0x8000) || size === 0 || size > 64) {
      throw new SquashfsError('UAI_SQFS_CORRUPTED', 'compressor options', SUPERBLOCK_SIZE, `header 0x${header.toString(16)} is not an uncompressed block of 1..64 bytes`);
    }
    if (SUPERBLOCK_SIZE + 2 + size > bytesUsed) throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', 'compressor options', SUPERBLOCK_SIZE, 'block passes bytes_used');
    compressorOptionsBytes = (await source.read(SUPERBLOCK_SIZE + 2, size, { signal: options.signal })).slice();
    dataStart += 2 + size;
  }

  const superblock: Superblock = {
    magic,
    inodes: v.getUint32(4, true),
    mkfsTime: v.getUint32(8, true),
    blockSize,
    fragments: v.getUint32(16, true),
    compressionId,
    compressor,
    blockLog,
    flags,
    idCount: v.getUint16(26, true),
    versionMajor,
    versionMinor,
    rootInodeRef,
    bytesUsed,
    idTableStart: readU64(v, 48, T, 48, 'id_table_start'),
    xattrIdTableStart: optional(56, 'xattr_id_table_start'),
    inodeTableStart: readU64(v, 64, T, 64, 'inode_table_start'),
    directoryTableStart: readU64(v, 72, T, 72, 'directory_table_start'),
    fragmentTableStart: optional(80, 'fragment_table_start'),
    lookupTableStart: optional(88, 'lookup_table_start'),
    dataStart,
  };
  checkTableOrder(superblock);
  return { superblock, compressorOptionsBytes };
}

/** The table chain: data < inodes < directories ≤ fragments ≤ export ≤ ids ≤ xattrs ≤ bytes_used. */
function checkTableOrder(sb: Superblock): void {
  if (sb.inodes === 0) throw new SquashfsError('UAI_SQFS_CORRUPTED', T, 4, 'inode count is 0');
  if (sb.idCount === 0) throw new SquashfsError('UAI_SQFS_CORRUPTED', T, 26, 'ID table is empty');
  const chain: Array<[string, number, number | undefined]> = [
    ['inode_table_start', 64, sb.inodeTableStart],
    ['directory_table_start', 72, sb.directoryTableStart],
    ['fragment_table_start', 80, sb.fragmentTableStart],
    ['lookup_table_start', 88, sb.lookupTableStart],
    ['id_table_start', 48, sb.idTableStart],
    ['xattr_id_table_start', 56, sb.xattrIdTableStart],
  ];
  let previous = sb.dataStart;
  let previousName = 'the superblock';
  for (const [name, pos, value] of chain) {
    if (value === undefined) continue;
    // The inode table is never empty (it holds the root), so the directory table starts after it.
    if (value < previous || (name === 'directory_table_start' && value === previous)) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, pos, `${name} ${value} lies before ${previousName} (${previous})`);
    }
    if (value >= sb.bytesUsed) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, pos, `${name} ${value} is not below bytes_used ${sb.bytesUsed}`);
    }
    previous = value;
    previousName = name;
  }
  if (sb.fragments > 0 && sb.fragmentTableStart === undefined) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', T, 80, `${sb.fragments} fragments but no fragment table`);
  }
}
