/**
 * Inodes: a 16-byte common header (type, mode, uid/gid indexes, mtime, number) and a
 * per-type body, for all 14 types (basic 1..7, extended 8..14). Every size is bounded by
 * the bytes left in the inode table before anything is allocated.
 */
import type { EntryType } from './entry.ts';
import type { Limits } from './limits.ts';
import type { MetadataTable } from './meta-reader.ts';
import type { Superblock } from './superblock.ts';
import { SquashfsError } from './errors.ts';
import { readU64, refBlock, refOffset } from './binary.ts';

export const NO_FRAGMENT = 0xffff_ffff;
export const NO_XATTR = 0xffff_ffff;

/** Entry type per basic inode type (index = type, 1..7). */
export const KINDS: ReadonlyArray<EntryType | undefined> = [undefined, 'dir', 'file', 'symlink', 'block', 'char', 'fifo', 'socket'];

export interface Inode {
  /** On-disk type, 1..14. */
  type: number;
  /** The basic type (1..7): what directory entries record. */
  basicType: number;
  kind: EntryType;
  mode: number;
  uidIndex: number;
  gidIndex: number;
  mtime: number;
  number: number;
  nlink: number;
  /** File bytes, symlink target length, or directory listing size (+3, as on disk). */
  size: number;
  xattrIndex: number;
  /** Directories: listing location (directory-table relative block, offset). */
  dirBlock: number;
  dirOffset: number;
  parentInode: number;
  /** Files. */
  blocksStart: number;
  fragment: number;
  fragmentOffset: number;
  blockSizes: Uint32Array | undefined;
  /** Symlinks. */
  target: Uint8Array | undefined;
  /** Devices: the raw new_encode_dev value. */
  rdev: number;
}

const EMPTY_BLOCKS = new Uint32Array(0);

/** Bytes of each inode type's body after the 16-byte common header, before any variable part (index = type, 1..14). */
export const INODE_BODY_BYTES: readonly number[] = [0, 16, 16, 8, 8, 8, 4, 4, 24, 40, 8, 12, 12, 8, 8];

/** Decodes the inode at reference `ref` in the inode table. */
export function decodeInode(table: MetadataTable, ref: number, sb: Superblock, limits: Limits): Inode {
  const start = table.resolve(refBlock(ref), refOffset(ref), () => `inode ref ${ref}`);
  const h = table.seek(start, 16, 'inode header');
  let view = table.view;
  const type = view.getUint16(h, true);
  if (type < 1 || type > 14) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, table.imageOffset(start), `inode ref ${ref}: type ${type} is not 1..14`);
  }
  const basicType = type > 7 ? type - 7 : type;
  const number = view.getUint32(h + 12, true);
  if (number < 1 || number > sb.inodes) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, table.imageOffset(start), `inode ref ${ref}: number ${number} is not 1..${sb.inodes}`);
  }
  const inode: Inode = {
    type,
    basicType,
    kind: KINDS[basicType]!,
    mode: view.getUint16(h + 2, true) & 0o7777,
    uidIndex: view.getUint16(h + 4, true),
    gidIndex: view.getUint16(h + 6, true),
    mtime: view.getUint32(h + 8, true),
    number,
    nlink: 1,
    size: 0,
    xattrIndex: NO_XATTR,
    dirBlock: 0,
    dirOffset: 0,
    parentInode: 0,
    blocksStart: 0,
    fragment: NO_FRAGMENT,
    fragmentOffset: 0,
    blockSizes: undefined,
    target: undefined,
    rdev: 0,
  };
  const body = start + 16;
  const what = (): string => `inode ${number} (type ${type})`;
  // The body's fixed part: p is where it starts in `view`.
  const p = table.seek(body, INODE_BODY_BYTES[type]!, what);
  view = table.view;
  switch (type) {
    case 1: // basic directory
      inode.dirBlock = view.getUint32(p, true);
      inode.nlink = view.getUint32(p + 4, true);
      inode.size = view.getUint16(p + 8, true);
      inode.dirOffset = view.getUint16(p + 10, true);
      inode.parentInode = view.getUint32(p + 12, true);
      break;
    case 8: // extended directory (the index after it is not needed: we resolve by ref)
      inode.nlink = view.getUint32(p, true);
      inode.size = view.getUint32(p + 4, true);
      inode.dirBlock = view.getUint32(p + 8, true);
      inode.parentInode = view.getUint32(p + 12, true);
      inode.dirOffset = view.getUint16(p + 18, true);
      inode.xattrIndex = view.getUint32(p + 20, true);
      break;
    case 2: // basic file
      inode.blocksStart = view.getUint32(p, true);
      inode.fragment = view.getUint32(p + 4, true);
      inode.fragmentOffset = view.getUint32(p + 8, true);
      inode.size = view.getUint32(p + 12, true);
      inode.blockSizes = readBlockList(table, body + 16, inode, sb, what);
      break;
    case 9: // extended file
      inode.blocksStart = readU64(view, p, table.name, table.imageOffset(body), `${what()} start_block`);
      inode.size = readU64(view, p + 8, table.name, table.imageOffset(body), `${what()} file_size`);
      inode.nlink = view.getUint32(p + 24, true);
      inode.fragment = view.getUint32(p + 28, true);
      inode.fragmentOffset = view.getUint32(p + 32, true);
      inode.xattrIndex = view.getUint32(p + 36, true);
      inode.blockSizes = readBlockList(table, body + 40, inode, sb, what);
      break;
    case 3: // basic symlink
    case 10: {
      inode.nlink = view.getUint32(p, true);
      const size = view.getUint32(p + 4, true);
      const extra = type === 10 ? 4 : 0;
      if (size + extra > table.remaining(body + 8)) {
        throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', table.name, table.imageOffset(start), `${what()}: symlink_size ${size} passes the end of the inode table`);
      }
      if (size > limits.maxSymlinkTarget) {
        throw new SquashfsError('UAI_SQFS_LIMIT', table.name, table.imageOffset(start), `${what()}: symlink_size ${size} is over the limit of ${limits.maxSymlinkTarget}`);
      }
      inode.size = size;
      inode.target = table.bytesAt(body + 8, size, what).slice();
      if (type === 10) {
        const x = table.seek(body + 8 + size, 4, what);
        inode.xattrIndex = table.view.getUint32(x, true);
      }
      break;
    }
    case 4: // basic block device
    case 5: // basic char device
    case 11:
    case 12:
      inode.nlink = view.getUint32(p, true);
      inode.rdev = view.getUint32(p + 4, true);
      if (type > 7) inode.xattrIndex = view.getUint32(p + 8, true);
      break;
    default: // 6, 7, 13, 14: fifo, socket
      inode.nlink = view.getUint32(p, true);
      if (type > 7) inode.xattrIndex = view.getUint32(p + 4, true);
      break;
  }
  return inode;
}

/** Entries in a file inode's block list: full blocks, and the partial last one unless it is in a fragment. */
export function blockCount(size: number, hasFragment: boolean, blockSize: number): number {
  const full = Math.floor(size / blockSize);
  return hasFragment || size % blockSize === 0 ? full : full + 1;
}

/** The block-size list of a file inode, checked word by word against the data area. */
function readBlockList(table: MetadataTable, pos: number, inode: Inode, sb: Superblock, what: () => string): Uint32Array {
  const hasFragment = inode.fragment !== NO_FRAGMENT;
  if (hasFragment && inode.fragment >= sb.fragments) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', table.name, table.imageOffset(pos), `${what()}: fragment index ${inode.fragment} is not below the fragment count ${sb.fragments}`);
  }
  const count = blockCount(inode.size, hasFragment, sb.blockSize);
  if (count === 0) return EMPTY_BLOCKS;
  if (count * 4 > table.remaining(pos)) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', table.name, table.imageOffset(pos), `${what()}: file_size ${inode.size} needs ${count} block sizes, which pass the end of the inode table`);
  }
  const at = table.seek(pos, count * 4, what);
  const view = table.view;
  const sizes = new Uint32Array(count);
  let disk = 0;
  for (let i = 0; i < count; i++) {
    const word = view.getUint32(at + i * 4, true);
    const size = word & 0x00ff_ffff;
    if (word >>> 25 !== 0 || size > sb.blockSize) {
      throw new SquashfsError('UAI_SQFS_OVERFLOW', table.name, table.imageOffset(pos), `${what()}: block ${i} size word 0x${word.toString(16)} is not a block of at most ${sb.blockSize} bytes`);
    }
    sizes[i] = word;
    disk += size;
  }
  if (disk > 0 && (inode.blocksStart < sb.dataStart || inode.blocksStart + disk > sb.inodeTableStart)) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', table.name, table.imageOffset(pos), `${what()}: data [${inode.blocksStart}, ${inode.blocksStart + disk}) is outside the data area [${sb.dataStart}, ${sb.inodeTableStart})`);
  }
  return sizes;
}

/** Linux new_decode_dev: the major number. */
export function deviceMajor(rdev: number): number {
  return (rdev & 0xfff00) >>> 8;
}

/** Linux new_decode_dev: the minor number. */
export function deviceMinor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
}
