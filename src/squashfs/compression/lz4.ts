/**
 * lz4 in SquashFS is one raw LZ4 block (no frame), from `LZ4_compress_default` or, with
 * -Xhc, `LZ4_compress_HC`; both decode the same way.
 *
 * Decoder: lz4-napi (Rust lz4_flex, prebuilt) with a 4-byte little-endian size prefix set
 * to `maxOutput`: measured on this machine it never returns more than the prefix (a 32 MiB
 * bomb fails with "output is too small"), returns the real length of shorter blocks,
 * rejects exactly the same damaged blocks as our own decoder, and is ~4x faster (about
 * 830 vs 180 MB/s). Both calls decode synchronously on the caller's thread (see
 * `decompress` below for why), the input copied into one reused prefixed buffer. Our bounds-checked
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

/**
 * The input with lz4-napi's 4-byte size prefix, in one scratch buffer reused by every
 * call (the decode is synchronous, so no other call can be using it): no fresh buffer
 * per block.
 */
function prefixer(): (input: Uint8Array, maxOutput: number) => Uint8Array {
  let scratch = Buffer.allocUnsafe(0);
  return (input, maxOutput) => {
    if (scratch.length < 4 + input.length) scratch = Buffer.allocUnsafe(Math.max(4 + input.length, 132 * 1024));
    scratch.writeUInt32LE(maxOutput, 0);
    scratch.set(input, 4);
    return scratch.subarray(0, 4 + input.length);
  };
}

/** `native: false` forces our TypeScript decoder (tests compare the two). */
export function createLz4Decompressor(options?: { native?: boolean }): Decompressor {
  const native = options?.native === false ? undefined : loadNative();
  const empty = (input: Uint8Array): void => {
    if (input.length === 0) throw decompressError('lz4', 'empty LZ4 block');
  };
  if (native) {
    const withSizePrefix = prefixer();
    const decode = (input: Uint8Array, maxOutput: number): Uint8Array => {
      checkMaxOutput('lz4', maxOutput);
      empty(input);
      let out: Uint8Array;
      try {
        out = native.uncompressSync(withSizePrefix(input, maxOutput));
      } catch (err) {
        throw decompressError('lz4', 'damaged LZ4 block or output over the limit', err);
      }
      return checkOutput('lz4', out, maxOutput);
    };
    return {
      name: 'lz4',
      decompressSync: decode,
      // Synchronous on purpose (docs/performance.md, session 2): lz4-napi's async call hands
      // back buffers V8 does not count, so garbage piled up natively (+90 MB peak RSS on
      // the rootfs benchmark) at no CPU gain; a block decodes in ~0.1 ms anyway.
      decompress: async (input, maxOutput) => decode(input, maxOutput),
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
