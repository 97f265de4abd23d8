/**
 * lz4 in SquashFS is one raw LZ4 block (no frame), from `LZ4_compress_default` or, with
 * -Xhc, `LZ4_compress_HC`; both decode the same way. See docs/decompressors.md for the
 * measurement behind the choice of decoder.
 */
import type { Decompressor } from './decompressor.ts';
import { checkMaxOutput, decompressError } from './fail.ts';
import { lz4BlockDecompress } from './lz4-block.ts';
import { runInWorker } from './worker-pool.ts';
import { INLINE_LIMIT } from './lzo.ts';

export function createLz4Decompressor(): Decompressor {
  return {
    name: 'lz4',
    decompressSync(input, maxOutput) {
      checkMaxOutput('lz4', maxOutput);
      try {
        return lz4BlockDecompress(input, maxOutput);
      } catch (err) {
        throw decompressError('lz4', 'damaged LZ4 block', err);
      }
    },
    async decompress(input, maxOutput) {
      checkMaxOutput('lz4', maxOutput);
      if (maxOutput <= INLINE_LIMIT) return this.decompressSync(input, maxOutput);
      try {
        return await runInWorker('lz4', input, maxOutput);
      } catch (err) {
        throw decompressError('lz4', 'damaged LZ4 block', err);
      }
    },
  };
}
