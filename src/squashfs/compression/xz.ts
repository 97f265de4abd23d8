/**
 * xz in SquashFS is a complete .xz stream per block (liblzma `lzma_stream_buffer_encode`,
 * CRC32 check), optionally with a BCJ filter before LZMA2 (`-Xbcj`). Decoded by
 * @napi-rs/lzma (Rust lzma-rust2, prebuilt; >= 1.5.3 handles every BCJ filter). That
 * decoder has no output limit, so `xzShape` first sums the LZMA2 chunk sizes and refuses a
 * block that would exceed `maxOutput` before any byte is decoded. The async call runs in
 * the libuv threadpool.
 */
import { napiLzma } from './napi-lzma.ts';
import type { Decompressor } from './decompressor.ts';
import { checkMaxOutput, checkOutput, decompressError } from './fail.ts';
import { xzShape } from './xz-bound.ts';
import { countedCopy } from './counted.ts';

export function createXzDecompressor(): Decompressor {
  const { xz } = napiLzma();
  return {
    name: 'xz',
    decompressSync(input, maxOutput) {
      checkMaxOutput('xz', maxOutput);
      xzShape(input, maxOutput);
      let out: Uint8Array;
      try {
        out = xz.decompressSync(input);
      } catch (err) {
        throw decompressError('xz', 'damaged .xz stream', err);
      }
      return checkOutput('xz', out, maxOutput);
    },
    async decompress(input, maxOutput) {
      checkMaxOutput('xz', maxOutput);
      xzShape(input, maxOutput);
      let out: Uint8Array;
      try {
        out = countedCopy(await xz.decompress(input));
      } catch (err) {
        throw decompressError('xz', 'damaged .xz stream', err);
      }
      return checkOutput('xz', out, maxOutput);
    },
  };
}
