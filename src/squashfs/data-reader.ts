/**
 * File data: full blocks stored contiguously from `blocksStart` (bit 24 of a size word =
 * stored uncompressed, size 0 = sparse), then an optional tail inside a fragment block.
 * Every block must decompress to exactly the expected length: the block size, or what
 * is left of the file for its last block. Sparse blocks are zeros of the same length.
 * Decompressed fragment blocks are kept in a small LRU (as promises, so concurrent
 * readers share one decompression).
 */
import type { FileLayout } from './entry.ts';
import type { ImageContext } from './context.ts';
import { SquashfsError } from './errors.ts';
import { NO_FRAGMENT } from './inode.ts';

export const UNCOMPRESSED_BIT = 0x0100_0000;

export class DataReader {
  readonly #ctx: ImageContext;
  readonly #fragments = new Map<number, Promise<Uint8Array>>();
  /** The cached fragment blocks whose promise has settled (same keys as `#fragments`). */
  readonly #ready = new Map<number, Uint8Array>();
  readonly #zeros: Uint8Array;

  constructor(ctx: ImageContext) {
    this.#ctx = ctx;
    this.#zeros = new Uint8Array(ctx.superblock.blockSize);
  }

  get blockSize(): number {
    return this.#ctx.superblock.blockSize;
  }

  /** `length` zero bytes (a shared buffer: do not modify). */
  zeros(length: number): Uint8Array {
    return this.#zeros.subarray(0, length);
  }

  /** Decodes one on-disk data block (`raw` is its `word & 0xFFFFFF` bytes). */
  async decodeBlock(raw: Uint8Array, word: number, expected: number, offset: number, table = 'data block'): Promise<Uint8Array> {
    if (word & UNCOMPRESSED_BIT) {
      if (raw.length !== expected) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', table, offset, `stored block is ${raw.length} bytes, expected ${expected}`);
      }
      return raw;
    }
    let out: Uint8Array;
    try {
      out = await this.#ctx.decompressor.decompress(raw, this.#ctx.superblock.blockSize);
    } catch (cause) {
      throw new SquashfsError('UAI_SQFS_DECOMPRESS', table, offset, `${raw.length}-byte block: ${(cause as Error).message}`, { cause });
    }
    if (expected >= 0 ? out.length !== expected : out.length === 0 || out.length > this.#ctx.superblock.blockSize) {
      throw new SquashfsError('UAI_SQFS_CORRUPTED', table, offset, `block decompressed to ${out.length} bytes, expected ${expected >= 0 ? expected : `1..${this.#ctx.superblock.blockSize}`}`);
    }
    return out;
  }

  /** Reads and decodes one data block. */
  async readBlock(offset: number, word: number, expected: number, signal?: AbortSignal): Promise<Uint8Array> {
    const raw = await this.#ctx.source.read(offset, word & 0x00ff_ffff, { signal });
    return this.decodeBlock(raw, word, expected, offset);
  }

  /** The decompressed fragment block `index` (cached). */
  fragmentBlock(index: number, signal?: AbortSignal): Promise<Uint8Array> {
    const cached = this.#fragments.get(index);
    if (cached) {
      this.#fragments.delete(index);
      this.#fragments.set(index, cached);
      return cached;
    }
    const entry = this.#ctx.fragments.get(index);
    const promise = this.#ctx.source
      .read(entry.start, entry.diskSize, { signal })
      .then((raw) => this.decodeBlock(raw, entry.uncompressed ? UNCOMPRESSED_BIT | entry.diskSize : entry.diskSize, entry.uncompressed ? entry.diskSize : -1, entry.start, 'fragment block'));
    promise.then(
      (block) => {
        if (this.#fragments.get(index) === promise) this.#ready.set(index, block);
      },
      () => {
        if (this.#fragments.get(index) === promise) this.#fragments.delete(index);
      },
    );
    this.#fragments.set(index, promise);
    while (this.#fragments.size > this.#ctx.limits.fragmentCacheBlocks) {
      const oldest = this.#fragments.keys().next().value as number;
      this.#fragments.delete(oldest);
      this.#ready.delete(oldest);
    }
    return promise;
  }

  /**
   * The tail of a file when its fragment block is already decompressed and in range,
   * else undefined (then `fragmentTail` gives the bytes or the error). Saves a promise
   * per small file on the hot path.
   */
  fragmentTailNow(layout: FileLayout, length: number): Uint8Array | undefined {
    const block = this.#ready.get(layout.fragment);
    if (!block || layout.fragmentOffset + length > block.length) return undefined;
    return block.subarray(layout.fragmentOffset, layout.fragmentOffset + length);
  }

  /** The tail of a file that ends in a fragment (`length` = size % block size). */
  async fragmentTail(layout: FileLayout, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    const block = await this.fragmentBlock(layout.fragment, signal);
    if (layout.fragmentOffset + length > block.length) {
      throw new SquashfsError('UAI_SQFS_OUT_OF_BOUNDS', 'fragment block', this.#ctx.fragments.get(layout.fragment).start, `tail of ${length} bytes at offset ${layout.fragmentOffset} passes the ${block.length}-byte fragment ${layout.fragment}`);
    }
    return block.subarray(layout.fragmentOffset, layout.fragmentOffset + length);
  }
}

/** How a file's bytes are cut into pieces: blocks (all full but maybe the last), then an optional fragment tail. */
export interface FilePlan {
  readonly blockCount: number;
  /** Expected decompressed length of the last block (the others are full). */
  readonly lastLength: number;
  /** Bytes in the fragment tail (0 = none). */
  readonly tailLength: number;
}

/** Checks that a file's size, blocks and fragment agree, and says how long each piece is. */
export function planFile(layout: FileLayout, size: number, blockSize: number, path: string): FilePlan {
  const blockCount = layout.blockSizes.length;
  const hasFragment = layout.fragment !== NO_FRAGMENT;
  const tailLength = hasFragment ? size - blockCount * blockSize : 0;
  const lastLength = blockCount === 0 ? 0 : hasFragment ? blockSize : size - (blockCount - 1) * blockSize;
  const ok = blockCount === 0 ? (hasFragment ? size < blockSize : size === 0) : tailLength >= 0 && tailLength < blockSize && lastLength > 0 && lastLength <= blockSize;
  if (!ok) {
    throw new SquashfsError('UAI_SQFS_CORRUPTED', 'inode table', undefined, `${path}: ${size} bytes do not match ${blockCount} blocks of ${blockSize} bytes${hasFragment ? ' and a fragment' : ''}`);
  }
  return { blockCount, lastLength, tailLength };
}
