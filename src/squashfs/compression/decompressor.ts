/**
 * One interface over the six SquashFS codecs (one file each beside this one).
 * Implementations must never return more than `maxOutput` bytes and must throw a
 * SquashfsError with code `UAI_SQFS_DECOMPRESS` on damaged input or oversized output;
 * callers check the exact expected length themselves.
 */
export type CompressorName = 'gzip' | 'lzma' | 'lzo' | 'xz' | 'lz4' | 'zstd';

export interface Decompressor {
  readonly name: CompressorName;
  /** Synchronous: for 8 KiB metadata blocks, where an async hop costs more than the work. */
  decompressSync(input: Uint8Array, maxOutput: number): Uint8Array;
  /**
   * For data and fragment blocks: parallel (libuv pool or workers), except where decoding
   * inline costs less than the hop (lz4, see lz4.ts). The input is only read until the
   * promise settles (the reader recycles it afterwards); the output must not alias it.
   */
  decompress(input: Uint8Array, maxOutput: number): Promise<Uint8Array>;
  /** Frees what the codec keeps between blocks (gzip/zstd: idle decoder streams); later calls still work. */
  close?(): void;
}
