/**
 * Walks the structure of a .xz stream without decoding it, to learn how many bytes it
 * will produce. @napi-rs/lzma decodes a whole stream into memory and ignores the sizes
 * in the block header and the index (measured: a 39 KB stream whose headers said 1000
 * bytes decoded to 256 MiB), so a crafted block could exhaust memory. LZMA2, however,
 * is cut into chunks that each declare their uncompressed size, and a decoder cannot
 * produce more than those sizes add up to (a chunk has no end marker: the decoder stops
 * at the declared size). Summing them before decoding bounds the output exactly.
 *
 * Layout (xz file format 1.2.1): stream header (12 B) · blocks · index · footer (12 B).
 * Block: header (size byte·4+4 B, CRC32) · filtered data (LZMA2 last) · padding to 4 ·
 * check. LZMA2 chunk control byte: 0x00 end; 0x01/0x02 stored chunk (u16be size-1);
 * 0x80-0xFF LZMA chunk (5 bits + u16be unpacked size-1, u16be packed size-1, and a
 * properties byte when bits 5-6 are >= 2).
 */
import { crc32 } from 'node:zlib';
import { decompressError } from './fail.ts';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const CHECK_SIZES = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const LZMA2_ID = 0x21;

export interface XzShape {
  /** Sum of the declared uncompressed sizes of every LZMA2 chunk of every block. */
  uncompressedSize: number;
  /** Filter ids of the first block's chain, in order (e.g. [0x04, 0x21] for x86 + LZMA2). */
  filters: number[];
  blocks: number;
}

function fail(reason: string): never {
  throw decompressError('xz', reason);
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

function crcOk(b: Uint8Array, start: number, end: number): boolean {
  return (crc32(b.subarray(start, end)) >>> 0) === u32le(b, end);
}

/** Reads a multibyte integer (7 bits a byte, at most 9 bytes); returns [value, next]. */
function vli(b: Uint8Array, at: number, end: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 9; i++) {
    if (at + i >= end) fail(`integer runs past the block header at byte ${at}`);
    const byte = b[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) fail(`integer at byte ${at} is not in its shortest form`);
      return [value, at + i + 1];
    }
  }
  return fail(`integer at byte ${at} is longer than 9 bytes`);
}

/** Parses a block header at `at`; returns the filter ids and where the data starts. */
function blockHeader(b: Uint8Array, at: number): { filters: number[]; dataStart: number } {
  const size = (b[at]! + 1) * 4;
  const end = at + size - 4;
  if (at + size > b.length) fail(`block header at byte ${at} (${size} bytes) runs past the input`);
  if (!crcOk(b, at, end)) fail(`block header CRC32 mismatch at byte ${at}`);
  const flags = b[at + 1]!;
  if (flags & 0x3c) fail(`block header at byte ${at} has reserved flag bits 0x${flags.toString(16)}`);
  let pos = at + 2;
  if (flags & 0x40) pos = vli(b, pos, end)[1];
  if (flags & 0x80) pos = vli(b, pos, end)[1];
  const filters: number[] = [];
  for (let i = 0; i <= (flags & 3); i++) {
    const [id, p1] = vli(b, pos, end);
    const [propsSize, p2] = vli(b, p1, end);
    pos = p2 + propsSize;
    if (pos > end) fail(`filter properties run past the block header at byte ${at}`);
    filters.push(id);
  }
  if (filters[filters.length - 1] !== LZMA2_ID) fail(`the last filter is 0x${filters.at(-1)?.toString(16)}, not LZMA2`);
  for (let p = pos; p < end; p++) if (b[p] !== 0) fail(`block header padding is not zero at byte ${p}`);
  return { filters, dataStart: at + size };
}

/** Walks LZMA2 chunks from `at`; returns the uncompressed total and the end marker's next byte. */
function lzma2Chunks(b: Uint8Array, at: number, limit: number): [number, number] {
  let total = 0;
  let pos = at;
  for (;;) {
    if (pos >= b.length) fail(`LZMA2 data runs past the input at byte ${pos}`);
    const control = b[pos]!;
    if (control === 0x00) return [total, pos + 1];
    if (control === 0x01 || control === 0x02) {
      if (pos + 3 > b.length) fail(`LZMA2 chunk header truncated at byte ${pos}`);
      const size = ((b[pos + 1]! << 8) | b[pos + 2]!) + 1;
      total += size;
      pos += 3 + size;
    } else if (control >= 0x80) {
      const header = (control & 0x60) >= 0x40 ? 6 : 5;
      if (pos + header > b.length) fail(`LZMA2 chunk header truncated at byte ${pos}`);
      total += ((control & 0x1f) << 16) + ((b[pos + 1]! << 8) | b[pos + 2]!) + 1;
      pos += header + ((b[pos + 3]! << 8) | b[pos + 4]!) + 1;
    } else {
      fail(`invalid LZMA2 control byte 0x${control.toString(16)} at byte ${pos}`);
    }
    if (total > limit) fail(`LZMA2 chunks declare more than the limit of ${limit} bytes`);
  }
}

/**
 * Checks the stream's frame (exactly one stream, filling the input) and sums its chunk
 * sizes; throws `UAI_SQFS_DECOMPRESS` if the structure is broken or the output would exceed
 * `limit`. The decoder still verifies the
 * contents (CRCs, index); this only guarantees it cannot be asked for more than `limit`.
 */
export function xzShape(b: Uint8Array, limit: number): XzShape {
  if (b.length < 24 || MAGIC.some((m, i) => b[i] !== m)) fail('block does not start with the .xz magic fd 37 7a 58 5a 00');
  if (b[6] !== 0 || (b[7]! & 0xf0) !== 0 || !crcOk(b, 6, 8)) fail('bad .xz stream header flags or CRC32');
  const checkSize = CHECK_SIZES[b[7]! & 0x0f]!;
  let pos = 12;
  let total = 0;
  let blocks = 0;
  let filters: number[] = [];
  while (pos < b.length && b[pos] !== 0x00) {
    const header = blockHeader(b, pos);
    if (blocks === 0) filters = header.filters;
    const [size, after] = lzma2Chunks(b, header.dataStart, limit - total);
    total += size;
    blocks++;
    pos = after + ((4 - ((after - header.dataStart) % 4)) % 4) + checkSize;
  }
  if (blocks === 0) fail('the .xz stream has no block');
  // The footer ends the input and its backward size must lead exactly to where the blocks
  // ended: so there is one stream, and no block the walk did not see (a second, concatenated
  // stream would otherwise be decoded without a bound).
  const footer = b.length - 12;
  if (footer < pos || b[footer + 10] !== 0x59 || b[footer + 11] !== 0x5a) fail('the .xz footer is missing (truncated or concatenated stream?)');
  if ((crc32(b.subarray(footer + 4, footer + 10)) >>> 0) !== u32le(b, footer) || b[footer + 8] !== b[6] || b[footer + 9] !== b[7]) fail('bad .xz stream footer');
  const indexStart = footer - (u32le(b, footer + 4) + 1) * 4;
  if (indexStart !== pos) fail(`the .xz index starts at byte ${indexStart}, the blocks end at ${pos}`);
  return { uncompressedSize: total, filters, blocks };
}
