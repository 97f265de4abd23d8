/**
 * File data: full blocks stored contiguously from `blocksStart` (bit 24 of a size word =
 * stored uncompressed, size 0 = sparse), then an optional tail inside a fragment block.
 * Every block must decompress to exactly the expected length: the block size, or what
 * is left of the file for its last block. Sparse blocks are zeros of the same length.
 * Decompressed fragment blocks are kept in a small LRU (as promises, so concurrent
 * readers share one decompression). Compressed bytes are read into recycled buffers
 * (`buffer-pool.ts`) when the source can read into the caller's memory.
 */
import type { FileLayout } from './entry.ts';
import type { ImageContext } from './context.ts';
import { SquashfsError } from './errors.ts';
import { NO_FRAGMENT } from './inode.ts';
import { BufferPool, type PooledBuffer } from './buffer-pool.ts';

export const UNCOMPRESSED_BIT = 0x0100_0000;

/** Longest run of adjacent blocks read with one source read (and the run buffers' size). */
export const MAX_RUN = 1024 * 1024;

/** Compressed bytes read for decoding; `recycled` ones must not be handed out. */
export interface RawBytes extends PooledBuffer {
  /** True when `bytes` is a pooled buffer that is reused after `release()`. */
  readonly recycled: boolean;
}

const noop = (): void => {};

export class DataReader {
  readonly #ctx: ImageContext;
  readonly #fragments = new Map<number, Promise<Uint8Array>>();
  /** The cached fragment blocks whose promise has settled (same keys as `#fragments`). */
  readonly #ready = new Map<number, Uint8Array>();
  readonly #zeros: Uint8Array;
  /** Buffers for one block (fragment blocks, single-block runs) and for runs of blocks. */
  readonly #blockPool: BufferPool;
  readonly #runPool: BufferPool;

  constructor(ctx: ImageContext) {
    this.#ctx = ctx;
    this.#zeros = new Uint8Array(ctx.superblock.blockSize);
    this.#blockPool = new BufferPool(ctx.superblock.blockSize, 32);
    this.#runPool = new BufferPool(Math.max(MAX_RUN, ctx.superblock.blockSize), 16);
  }

  /** Pooled buffers handed out and not yet released (tests check that none leak). */
  get buffersOutstanding(): number {
    return this.#blockPool.outstanding + this.#runPool.outstanding;
  }

  /**
   * Reads `length` compressed bytes at `offset`, into a recycled buffer when the source
   * has `readInto`. Call `release()` once every decode that reads them has settled.
   */
  async readRaw(offset: number, length: number, signal?: AbortSignal): Promise<RawBytes> {
    const source = this.#ctx.source;
    if (!source.readInto) return { bytes: await source.read(offset, length, { signal }), release: noop, recycled: false };
    const pooled = (length <= this.blockSize ? this.#blockPool : this.#runPool).acquire(length);
    try {
      await source.readInto(offset, pooled.bytes, { signal });
    } catch (err) {
      pooled.release();
      throw err;
    }
    return { bytes: pooled.bytes, release: pooled.release, recycled: true };
  }

  get blockSize(): number {
    return this.#ctx.superblock.blockSize;
  }

  /** `length` zero bytes (a shared buffer: do not modify). */
  zeros(length: number): Uint8Array {
    return this.#zeros.subarray(0, length);
  }

  /**
   * Decodes one on-disk data block (`raw` is its `word & 0xFFFFFF` bytes). `recycled`:
   * `raw` is a pooled buffer, so a stored (uncompressed) block is copied out of it.
   */
  async decodeBlock(raw: Uint8Array, word: number, expected: number, offset: number, table = 'data block', recycled = false): Promise<Uint8Array> {
    if (word & UNCOMPRESSED_BIT) {
      if (raw.length !== expected) {
        throw new SquashfsError('UAI_SQFS_CORRUPTED', table, offset, `stored block is ${raw.length} bytes, expected ${expected}`);
      }
      return recycled ? raw.slice() : raw;
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
  async readBlock(offset: number, word: number, expected: number, signal?: AbortSignal, table = 'data block'): Promise<Uint8Array> {
    const raw = await this.readRaw(offset, word & 0x00ff_ffff, signal);
    try {
      return await this.decodeBlock(raw.bytes, word, expected, offset, table, raw.recycled);
    } finally {
      raw.release();
    }
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
    const word = entry.uncompressed ? UNCOMPRESSED_BIT | entry.diskSize : entry.diskSize;
    const promise = this.readBlock(entry.start, word, entry.uncompressed ? entry.diskSize : -1, signal, 'fragment block');
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
