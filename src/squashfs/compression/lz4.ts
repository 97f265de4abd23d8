/**
 * lz4 in SquashFS is one raw LZ4 block (no frame), from `LZ4_compress_default` or, with
 * -Xhc, `LZ4_compress_HC`; both decode the same way.
 *
 * Decoder: lz4-napi (Rust lz4_flex, prebuilt) with a 4-byte little-endian size prefix set
 * to `maxOutput`: measured on this machine it never returns more than the prefix (a 32 MiB
 * bomb fails with "output is too small"), returns the real length of shorter blocks,
 * rejects exactly the same damaged blocks as our own decoder, and is ~4x faster (about
 * 830 vs 180 MB/s); its async call runs in the libuv threadpool. Our bounds-checked
 * TypeScript decoder (`lz4-block.ts`, in the worker pool) is the fallback when the
 * native package cannot be loaded on a platform. Numbers: docs/decompressors.md.
 */
import { createRequire } from 'node:module';
import type { Decompressor } from './decompressor.ts';
import { checkMaxOutput, checkOutput, decompressError } from './fail.ts';
import { lz4BlockDecompress } from './lz4-block.ts';
import { INLINE_LIMIT } from './lzo.ts';
import { runInWorker } from './worker-pool.ts';

interface Lz4Napi {
  uncompressSync(data: Uint8Array): Buffer;
  uncompress(data: Uint8Array): Promise<Buffer>;
}

function loadNative(): Lz4Napi | undefined {
  try {
    return createRequire(import.meta.url)('lz4-napi') as Lz4Napi;
  } catch {
    return undefined;
  }
}

function withSizePrefix(input: Uint8Array, maxOutput: number): Buffer {
  const prefixed = Buffer.allocUnsafe(4 + input.length);
  prefixed.writeUInt32LE(maxOutput, 0);
  prefixed.set(input, 4);
  return prefixed;
}

/** `native: false` forces our TypeScript decoder (tests compare the two). */
export function createLz4Decompressor(options?: { native?: boolean }): Decompressor {
  const native = options?.native === false ? undefined : loadNative();
  const empty = (input: Uint8Array): void => {
    if (input.length === 0) throw decompressError('lz4', 'empty LZ4 block');
  };
  if (native) {
    return {
      name: 'lz4',
      decompressSync(input, maxOutput) {
        checkMaxOutput('lz4', maxOutput);
        empty(input);
        let out: Uint8Array;
        try {
          out = native.uncompressSync(withSizePrefix(input, maxOutput));
        } catch (err) {
          throw decompressError('lz4', 'damaged LZ4 block or output over the limit', err);
        }
        return checkOutput('lz4', out, maxOutput);
      },
      async decompress(input, maxOutput) {
        checkMaxOutput('lz4', maxOutput);
        empty(input);
        let out: Uint8Array;
        try {
          out = await native.uncompress(withSizePrefix(input, maxOutput));
        } catch (err) {
          throw decompressError('lz4', 'damaged LZ4 block or output over the limit', err);
        }
        return checkOutput('lz4', out, maxOutput);
      },
    };
  }
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
