/**
 * The fragment table: 16-byte entries (u64 start, u32 size word, u32 unused) naming the
 * blocks that pack the tails of small files.
 */
import type { ByteSource } from '../source/byte-source.ts';
import type { Decompressor } from './compression/decompressor.ts';
import type { Superblock } from './superblock.ts';
import { SquashfsError } from './errors.ts';
import { loadLookupTable } from './table.ts';
import { readU64, viewOf } from './binary.ts';

export interface FragmentEntry {
  /** Absolute image offset of the fragment block. */
  start: number;
  /** On-disk size (bits 0..23). */
  diskSize: number;
  /** Stored without compression (bit 24). */
  uncompressed: boolean;
}

const T = 'fragment table';

export class FragmentTable {
  readonly #view: DataView;
  readonly count: number;
  readonly #superblock: Superblock;
  /** Absolute offset of the first metadata block, if any. */
  readonly firstBlock: number | undefined;

  private constructor(view: DataView, count: number, superblock: Superblock, firstBlock: number | undefined) {
    this.#view = view;
    this.count = count;
    this.#superblock = superblock;
    this.firstBlock = firstBlock;
  }

  static async load(
    source: ByteSource,
    superblock: Superblock,
    decompressor: Decompressor,
    options: { lower: number; upper: number; signal?: AbortSignal },
  ): Promise<FragmentTable> {
    if (superblock.fragments === 0 || superblock.fragmentTableStart === undefined) {
      return new FragmentTable(new DataView(new ArrayBuffer(0)), 0, superblock, undefined);
    }
    const table = await loadLookupTable(source, decompressor, {
      name: T,
      listStart: superblock.fragmentTableStart,
      count: superblock.fragments,
      entrySize: 16,
      lower: options.lower,
      upper: options.upper,
      signal: options.signal,
    });
    return new FragmentTable(viewOf(table.bytes), superblock.fragments, superblock, Math.min(...table.locations));
  }

  /** The entry at `index`, validated against the data area. */
  get(index: number): FragmentEntry {
    const sb = this.#superblock;
    if (!(index < this.count)) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, sb.fragmentTableStart, `fragment index ${index} is not below the fragment count ${this.count}`);
    }
    const start = readU64(this.#view, index * 16, T, sb.fragmentTableStart, `fragment ${index} start`);
    const word = this.#view.getUint32(index * 16 + 8, true);
    const diskSize = word & 0x00ff_ffff;
    if (word >>> 25 !== 0 || diskSize === 0 || diskSize > sb.blockSize) {
      throw new SquashfsError('UAI_SQFS_CORRUPTED', T, sb.fragmentTableStart, `fragment ${index} size word 0x${word.toString(16)} is not a block of 1..${sb.blockSize} bytes`);
    }
    if (start < sb.dataStart || start + diskSize > sb.inodeTableStart) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', T, start, `fragment ${index} block [${start}, ${start + diskSize}) is outside the data area [${sb.dataStart}, ${sb.inodeTableStart})`);
    }
    return { start, diskSize, uncompressed: (word & 0x0100_0000) !== 0 };
  }
}
