/**
 * The six SquashFS codecs behind one `Decompressor` interface, chosen by the superblock's
 * compression id (kernel squashfs_fs.h: 1 gzip, 2 lzma, 3 lzo, 4 xz, 5 lz4, 6 zstd).
 */
import { SquashfsError } from '../errors.ts';
import type { CompressorName, Decompressor } from './decompressor.ts';
import { createGzipDecompressor } from './gzip.ts';
import { createLz4Decompressor } from './lz4.ts';
import { createLzmaDecompressor } from './lzma.ts';
import { createLzoDecompressor } from './lzo.ts';
import { createXzDecompressor } from './xz.ts';
import { createZstdDecompressor } from './zstd.ts';

export type { CompressorName, Decompressor } from './decompressor.ts';
export { decodeCompressorOptions, type CompressorOptions, type GzipOptions, type XzOptions, type Lz4Options, type ZstdOptions, type LzoOptions } from './options.ts';
export { stopDecoderWorkers } from './worker-pool.ts';

/** Compression ids of the superblock's `compression` field, by name. */
export const COMPRESSOR_IDS: Readonly<Record<CompressorName, number>> = Object.freeze({ gzip: 1, lzma: 2, lzo: 3, xz: 4, lz4: 5, zstd: 6 });

const FACTORIES: Record<number, () => Decompressor> = {
  1: createGzipDecompressor,
  2: createLzmaDecompressor,
  3: createLzoDecompressor,
  4: createXzDecompressor,
  5: createLz4Decompressor,
  6: createZstdDecompressor,
};

/** The name of a compression id, or undefined for ids SquashFS does not define. */
export function compressorName(id: number): CompressorName | undefined {
  return (Object.keys(COMPRESSOR_IDS) as CompressorName[]).find((n) => COMPRESSOR_IDS[n] === id);
}

/**
 * The decompressor for a superblock compression id. `options` (the compressor-options
 * payload, if the image has one) is accepted but not needed: every codec decodes its
 * blocks without it (a damaged options block is the reader's to report). Unknown ids throw
 * `UAI_SQFS_UNSUPPORTED` pointing at the superblock's compression field (offset 20).
 */
export function createDecompressor(id: number, options?: Uint8Array): Decompressor {
  const factory = FACTORIES[id];
  if (!factory) {
    throw new SquashfsError('UAI_SQFS_UNSUPPORTED', 'superblock', 20, `unknown compressor id ${id} (known: 1 gzip, 2 lzma, 3 lzo, 4 xz, 5 lz4, 6 zstd)`);
  }
  void options; // no codec needs its options to decode; decodeCompressorOptions names them
  return factory();
}
