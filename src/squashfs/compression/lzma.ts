/**
 * lzma in SquashFS is the legacy "lzma-alone" layout: a 13-byte header (properties byte,
 * u32 dictionary size, u64 uncompressed size) and a raw LZMA1 stream ending in an end
 * marker. mksquashfs writes the real uncompressed size into the header (st
 * `lzma_xz_wrapper.c`); squashfs-tools and -ng patch it to "unknown" before handing the
 * block to liblzma. @napi-rs/lzma is the other way round: it accepts the known size with
 * the end marker and stops at that size (a header that says 1000 bytes over a 64 MiB
 * stream fails instead of decoding it), so we keep the real size, which bounds the
 * output. A header with the size "unknown" has no bound and is refused. The dictionary
 * size is clamped to the output limit before decoding, so a damaged header cannot make the
 * decoder reserve up to 4 GiB (a dictionary at least as large as the output is enough).
 */
import { napiLzma } from './napi-lzma.ts';
import type { Decompressor } from './decompressor.ts';
import { checkMaxOutput, checkOutput, decompressError } from './fail.ts';
import { countedCopy } from './counted.ts';

const HEADER = 13;

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/** Validates the header and returns the input with the dictionary clamped if needed. */
export function prepareLzma(input: Uint8Array, maxOutput: number): Uint8Array {
  if (input.length < HEADER + 5) throw decompressError('lzma', `block of ${input.length} bytes is shorter than a header`);
  const props = input[0]!;
  if (props >= 9 * 5 * 5) throw decompressError('lzma', `properties byte ${props} is not below 225`);
  const low = u32le(input, 5);
  const high = u32le(input, 9);
  if (low === 0xffffffff && high === 0xffffffff) {
    throw decompressError('lzma', 'the header does not give the uncompressed size, so the output cannot be bounded');
  }
  if (high !== 0 || low > maxOutput) {
    throw decompressError('lzma', `the header declares ${high * 2 ** 32 + low} bytes, over the limit of ${maxOutput}`);
  }
  const dict = u32le(input, 1);
  // The smallest power of two >= the output limit, and at least 4 KiB (LZMA's minimum).
  const enough = Math.max(4096, 2 ** Math.ceil(Math.log2(maxOutput)));
  if (dict <= enough) return input;
  const copy = new Uint8Array(input);
  new DataView(copy.buffer).setUint32(1, enough, true);
  return copy;
}

export function createLzmaDecompressor(): Decompressor {
  const { lzma } = napiLzma();
  return {
    name: 'lzma',
    decompressSync(input, maxOutput) {
      checkMaxOutput('lzma', maxOutput);
      const prepared = prepareLzma(input, maxOutput);
      let out: Uint8Array;
      try {
        out = lzma.decompressSync(prepared);
      } catch (err) {
        throw decompressError('lzma', 'damaged lzma stream', err);
      }
      return checkOutput('lzma', out, maxOutput);
    },
    async decompress(input, maxOutput) {
      checkMaxOutput('lzma', maxOutput);
      const prepared = prepareLzma(input, maxOutput);
      let out: Uint8Array;
      try {
        out = countedCopy(await lzma.decompress(prepared));
      } catch (err) {
        throw decompressError('lzma', 'damaged lzma stream', err);
      }
      return checkOutput('lzma', out, maxOutput);
    },
  };
}
