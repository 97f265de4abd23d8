/**
 * lzo in SquashFS is a raw LZO1X stream (liblzo2 `lzo1x_*` compressors, any -Xalgorithm;
 * all decode with the same LZO1X decoder). No npm package is sound (native builds tied
 * to one Node ABI, or wasm without an output length), so `lzo1x.ts` is our own
 * bounds-checked decoder. Small blocks decode inline; blocks over 16 KiB go to the
 * worker pool so several decode in parallel.
 */
import type { Decompressor } from './decompressor.ts';
import { checkMaxOutput, decompressError } from './fail.ts';
import { lzo1xDecompress } from './lzo1x.ts';
import { runInWorker } from './worker-pool.ts';

/** Below this output size a worker round trip costs more than the decoding. */
export const INLINE_LIMIT = 16 * 1024;

export function createLzoDecompressor(): Decompressor {
  return {
    name: 'lzo',
    decompressSync(input, maxOutput) {
      checkMaxOutput('lzo', maxOutput);
      try {
        return lzo1xDecompress(input, maxOutput);
      } catch (err) {
        throw decompressError('lzo', 'damaged LZO1X stream', err);
      }
    },
    async decompress(input, maxOutput) {
      checkMaxOutput('lzo', maxOutput);
      if (maxOutput <= INLINE_LIMIT) return this.decompressSync(input, maxOutput);
      try {
        return await runInWorker('lzo', input, maxOutput);
      } catch (err) {
        throw decompressError('lzo', 'damaged LZO1X stream', err);
      }
    },
  };
}
