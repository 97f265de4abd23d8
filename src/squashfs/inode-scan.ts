/**
 * One pass over the inode table from its first byte to its last, without the
 * directory tree: how many inodes there are and how many bytes their regular files hold.
 * It is what `build` needs for its progress total, at a small part of a walk's cost
 * (a walk resolves every directory entry, its name, path and xattrs; this reads each
 * inode's header and length fields only). Inodes are stored back to back, so each one's
 * length, found from its type and size fields, gives where the next starts. A length
 * that passes the end of the table, an unknown type or more inodes than the superblock
 * counts is `UAI_SQFS_CORRUPTED` (a `file_size` past 2^53 `UAI_SQFS_OVERFLOW`), at the
 * inode's image offset.
 */
import type { MetadataTable } from './meta-reader.ts';
import type { Superblock } from './superblock.ts';
import { SquashfsError } from './errors.ts';
import { INODE_BODY_BYTES, NO_FRAGMENT, blockCount } from './inode.ts';
import { readU64 } from './binary.ts';

export interface InodeTotals {
  /** Inodes in the table (each hard-linked inode once). */
  inodes: number;
  /** Regular-file inodes. */
  files: number;
  /** Their `file_size` summed: the file bytes a tar of the image holds, hard links once. */
  fileBytes: number;
}

function corrupted(table: MetadataTable, start: number, inode: number, why: string): SquashfsError {
  return new SquashfsError('UAI_SQFS_CORRUPTED', table.name, table.imageOffset(start), `inode scan, inode ${inode} at uncompressed offset ${start}: ${why}`);
}

export function scanInodeTable(table: MetadataTable, sb: Superblock): InodeTotals {
  const end = table.length;
  const totals: InodeTotals = { inodes: 0, files: 0, fileBytes: 0 };
  let pos = 0;
  while (pos < end) {
    const start = pos;
    if (totals.inodes >= sb.inodes) throw corrupted(table, start, totals.inodes + 1, `the table goes on after the ${sb.inodes} inodes the superblock counts`);
    if (start + 16 > end) throw corrupted(table, start, totals.inodes + 1, 'the 16-byte header passes the table end');
    const h = table.seek(start, 2, 'inode scan');
    const type = table.view.getUint16(h, true);
    if (type < 1 || type > 14) throw corrupted(table, start, totals.inodes + 1, `type ${type} is not 1..14`);
    if (start + 16 + INODE_BODY_BYTES[type]! > end) throw corrupted(table, start, totals.inodes + 1, `the type-${type} body passes the table end`);
    let length = 16 + INODE_BODY_BYTES[type]!;
    // The body's fixed part: p is where it starts in `view`.
    const p = table.seek(start + 16, INODE_BODY_BYTES[type]!, 'inode scan');
    const view = table.view;
    switch (type) {
      case 2: // basic file: u32 file_size at +12, block list after
      case 9: {
        // extended file: u64 file_size at +8
        const size = type === 2 ? view.getUint32(p + 12, true) : readU64(view, p + 8, table.name, table.imageOffset(start), `inode scan, inode ${totals.inodes + 1} file_size`);
        const fragment = view.getUint32(type === 2 ? p + 4 : p + 28, true);
        length += blockCount(size, fragment !== NO_FRAGMENT, sb.blockSize) * 4;
        totals.files++;
        totals.fileBytes += size;
        break;
      }
      case 3: // symlink: u32 target length at +4, the target after the fixed part
      case 10: // (extended: then a u32 xattr index)
        length += view.getUint32(p + 4, true) + (type === 10 ? 4 : 0);
        break;
      case 8: {
        // extended directory: u16 index count at +16, each index entry 12 bytes + name_size + 1
        let count = view.getUint16(p + 16, true);
        while (count-- > 0) {
          if (start + length + 12 > end) throw corrupted(table, start, totals.inodes + 1, 'a directory index entry passes the table end');
          const n = table.seek(start + length + 8, 4, 'inode scan');
          length += 12 + table.view.getUint32(n, true) + 1;
        }
        break;
      }
    }
    if (start + length > end) throw corrupted(table, start, totals.inodes + 1, `its ${length} bytes pass the table end`);
    totals.inodes++;
    pos = start + length;
  }
  return totals;
}
