/**
 * Directory listings: runs of a 12-byte header (u32 count-1, u32 inode-table block, u32
 * base inode number) and up to 256 entries (u16 offset, s16 inode delta, u16 basic type,
 * u16 name size-1, name). Names are checked (not empty, `.`, `..`, no `/` or NUL) and
 * must be strictly increasing (no duplicates, sorted), as squashfs-tools 4.5.1 demands.
 */
import type { Inode } from './inode.ts';
import type { MetadataTable } from './meta-reader.ts';
import type { Superblock } from './superblock.ts';
import { SquashfsError } from './errors.ts';
import { showName } from './binary.ts';

export interface DirEntry {
  /** The name bytes (a view into the directory listing: do not modify). */
  name: Uint8Array;
  /** The inode reference `(block << 16) | offset`. */
  ref: number;
  /** The inode number the entry claims. */
  number: number;
  /** The basic type (1..7) the entry claims. */
  type: number;
}

const NO_ENTRIES: DirEntry[] = [];

/** Compares two byte strings: < 0, 0, > 0. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The reason a name is refused, or undefined when it is a sane single path component. */
export function badNameReason(name: Uint8Array): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name[0] === 0x2e && (name.length === 1 || (name.length === 2 && name[1] === 0x2e))) return 'is . or ..';
  for (let i = 0; i < name.length; i++) {
    if (name[i] === 0x2f) return 'contains /';
    if (name[i] === 0) return 'contains NUL';
  }
  return undefined;
}

/** Every entry of directory `dir`, in on-disk order, validated. */
export function readDirectory(table: MetadataTable, dir: Inode, sb: Superblock): DirEntry[] {
  if (dir.size <= 3) return NO_ENTRIES;
  const what = `directory inode ${dir.number}`;
  const listingStart = table.resolve(dir.dirBlock, dir.dirOffset, what);
  if (listingStart + dir.size - 3 > table.length) {
    throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', table.name, table.imageOffset(listingStart), `${what}: listing of ${dir.size - 3} bytes passes the end of the directory table`);
  }
  // The listing as one run of bytes: positions below are in `bytes` (messages name the table's).
  const first = table.seek(listingStart, dir.size - 3, what);
  const { bytes, view } = table;
  const end = first + dir.size - 3;
  const at = (p: number): number => table.imageOffset(listingStart + p - first);
  let pos = first;
  const entries: DirEntry[] = [];
  let previous: Uint8Array | undefined;
  while (pos < end) {
    if (pos + 12 > end) {
      throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, at(pos), `${what}: ${end - pos} bytes left, too few for a header`);
    }
    const count = view.getUint32(pos, true) + 1;
    const block = view.getUint32(pos + 4, true);
    const base = view.getUint32(pos + 8, true);
    if (count > 256) {
      throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, at(pos), `${what}: header claims ${count} entries, more than 256`);
    }
    pos += 12;
    for (let i = 0; i < count; i++) {
      if (pos + 8 > end) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, at(pos), `${what}: entry passes the end of the listing`);
      }
      const offset = view.getUint16(pos, true);
      const delta = view.getInt16(pos + 2, true);
      const type = view.getUint16(pos + 4, true);
      const nameSize = view.getUint16(pos + 6, true) + 1;
      if (offset >= 8192) {
        throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', table.name, at(pos), `${what}: entry inode offset ${offset} is not below 8192`);
      }
      if (type < 1 || type > 7) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, at(pos), `${what}: entry type ${type} is not 1..7`);
      }
      if (nameSize > 256 || pos + 8 + nameSize > end) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, at(pos), `${what}: name of ${nameSize} bytes is longer than 256 or passes the listing`);
      }
      const name = bytes.subarray(pos + 8, pos + 8 + nameSize);
      const reason = badNameReason(name);
      if (reason) {
        throw new SquashfsError('UAI_SQFS_BAD_NAME', table.name, at(pos), `${what}: name ${showName(name)} ${reason}`);
      }
      if (previous) {
        const order = compareBytes(previous, name);
        if (order >= 0) {
          throw new SquashfsError('UAI_SQFS_BAD_NAME', table.name, at(pos), `${what}: name ${showName(name)} ${order === 0 ? 'appears twice' : `is not sorted after ${showName(previous)}`}`);
        }
      }
      const number = base + delta;
      if (number < 1 || number > sb.inodes) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', table.name, at(pos), `${what}: entry ${showName(name)} inode number ${number} is not 1..${sb.inodes}`);
      }
      entries.push({ name, ref: block * 0x1_0000 + offset, number, type });
      previous = name;
      pos += 8 + nameSize;
    }
  }
  return entries;
}
