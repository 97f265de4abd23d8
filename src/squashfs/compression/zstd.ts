/**
 * zstd in SquashFS is one zstd frame per block (`ZSTD_compressCCtx`). node:zlib has a
 * zstd decoder since Node 22.15 / 23.8; `maxOutputLength` bounds the output and the async
 * path runs in the libuv threadpool, on long-lived ZstdDecompress streams reset between
 * blocks (zlib-lanes.ts). A truncated frame is an "unexpected end of file" error on both
 * paths: the one-shot call ends its frame, and every lane write does (`ZSTD_e_end`).
 */
import * as zlib from 'node:zlib';
import type { Decompressor } from './decompressor.ts';
import { checkMaxOutput, checkOutput, decompressError } from './fail.ts';
import { laneOptions, ZlibLanes, type ZlibDecoderFactory } from './zlib-lanes.ts';

type ZstdSync = (input: Uint8Array, options: zlib.ZlibOptions) => Buffer;
type ZstdStream = (options: zlib.ZlibOptions) => ReturnType<ZlibDecoderFactory>;

// Looked up at run time so that an older Node fails with a clear error, not at import.
const zstdSync = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;
const zstdStream = (zlib as unknown as { createZstdDecompress?: ZstdStream }).createZstdDecompress;
/** `ZSTD_e_end` (2), the flush flag that ends a frame. */
const ZSTD_E_END = (zlib.constants as unknown as { ZSTD_e_end?: number }).ZSTD_e_end ?? 2;

function zstdOptions(maxOutput: number): zlib.ZlibOptions {
  // One byte over the limit: a block that fills the limit exactly then ends inside the
  // first chunk, instead of making zlib allocate a second, unused chunk to find the end.
  return { chunkSize: Math.max(64, maxOutput + 1), maxOutputLength: maxOutput };
}

const DAMAGED = 'damaged zstd frame or output over the limit';

function noZstd(): Error {
  return decompressError('zstd', `this Node (${process.version}) has no zstd in node:zlib; use Node >= 22.15`);
}

function frameCheck(input: Uint8Array): void {
  // A frame starts with the magic 28 B5 2F FD; anything else (a skippable frame, a
  // damaged header) is not what mksquashfs writes.
  if (input.length < 4 || input[0] !== 0x28 || input[1] !== 0xb5 || input[2] !== 0x2f || input[3] !== 0xfd) {
    throw decompressError('zstd', 'block does not start with the zstd frame magic 28 b5 2f fd');
  }
}

/**
 * The stream behind a zstd lane. Every write ends a frame (`ZSTD_e_end`): without it
 * node:zlib does not check that the frame was complete, and a truncated block would come
 * back short instead of failing. Bytes after the frame are read as the start of another
 * frame (an error, or output past the limit): stricter than the one-shot call, which
 * ignores them.
 */
export function zstdLaneStream(chunkSize: number): ReturnType<ZlibDecoderFactory> {
  if (!zstdStream) throw noZstd();
  return zstdStream(laneOptions(chunkSize, { flush: ZSTD_E_END }));
}

export function createZstdDecompressor(): Decompressor {
  if (!zstdSync || !zstdStream) throw noZstd();
  const sync = zstdSync;
  const lanes = new ZlibLanes('zstd', zstdLaneStream, DAMAGED);
  return {
    name: 'zstd',
    decompressSync(input, maxOutput) {
      checkMaxOutput('zstd', maxOutput);
      frameCheck(input);
      let out: Uint8Array;
      try {
        out = sync(input, zstdOptions(maxOutput));
      } catch (err) {
        throw decompressError('zstd', DAMAGED, err);
      }
      return checkOutput('zstd', out, maxOutput);
    },
    async decompress(input, maxOutput) {
      checkMaxOutput('zstd', maxOutput);
      frameCheck(input);
      return await lanes.decode(input, maxOutput);
    },
    close() {
      lanes.close();
    },
  };
}
